//! Silences: the list with an Expire button per active one, and a form to create one. Changes go
//! through the API with the token the person enters once per tab (`app.js` keeps it in the tab's
//! sessionStorage and sends it as a bearer header; never a cookie, never in the URL).

use super::esc;
use serde_json::Value;
use std::fmt::Write as _;

/// The silences page's body from `GET /api/v1/silences`'s `silences` and the SLO ids.
pub fn render(silences: &[Value], slo_ids: &[String], token_configured: bool) -> String {
    let mut s = String::from("<h1>Silences</h1>");
    if !token_configured {
        s.push_str(r#"<p class="warn-box">This daemon has no API token (SLOWBURN_API_TOKEN or --api-token-file), so silences can be read here but not changed.</p>"#);
    }
    s.push_str(r#"<p id="status" role="status" aria-live="polite"></p>"#);
    s.push_str(r#"<table class="silences"><thead><tr><th>SLO</th><th>Labels</th><th>Severity</th><th>From</th><th>Until</th><th>Comment</th><th>By</th><th>Status</th><th></th></tr></thead><tbody>"#);
    for v in silences {
        let t = |k: &str| v[k].as_str().unwrap_or("").to_string();
        let labels = v["labels"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, x)| format!("{k}={}", x.as_str().unwrap_or("")))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        let status = t("status");
        let expire = if status == "expired" {
            String::new()
        } else {
            format!(
                r#"<button type="button" class="expire" data-id="{}">Expire</button>"#,
                esc(&t("id"))
            )
        };
        let _ = write!(
            s,
            r#"<tr data-id="{}" class="status-{}"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{expire}</td></tr>"#,
            esc(&t("id")),
            esc(&status),
            esc(&t("slo")),
            esc(&labels),
            esc(v["severity"].as_str().unwrap_or("any")),
            esc(&t("starts_at")),
            esc(&t("ends_at")),
            esc(&t("comment")),
            esc(&t("created_by")),
            esc(&status),
        );
    }
    s.push_str("</tbody></table>");
    if silences.is_empty() {
        s.push_str(r#"<p class="empty">No silences.</p>"#);
    }
    s.push_str(r#"<h2>New silence</h2><form id="silence-form" class="stack">"#);
    s.push_str(r#"<label>API token <input type="password" id="token" autocomplete="off" placeholder="kept for this tab only"></label>"#);
    s.push_str(r#"<label>SLO <select name="slo" required>"#);
    for id in slo_ids {
        let _ = write!(s, r#"<option value="{0}">{0}</option>"#, esc(id));
    }
    s.push_str(r#"</select></label><label>Severity <select name="severity"><option value="">page and ticket</option><option value="page">page</option><option value="ticket">ticket</option></select></label>"#);
    s.push_str(r#"<label>For (hours) <input type="number" name="hours" min="0.1" step="0.1" value="2" required></label>"#);
    s.push_str(
        r#"<label>Comment <input type="text" name="comment" required maxlength="500"></label>"#,
    );
    s.push_str(r#"<label>Created by <input type="text" name="created_by" required maxlength="100"></label>"#);
    s.push_str(r#"<button type="submit">Create silence</button></form>"#);
    s
}
