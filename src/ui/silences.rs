//! Silences: the list with an Expire button per active one, and a form to create one. Changes go
//! through the API with the token the person enters once per tab (`app.js` keeps it in the tab's
//! sessionStorage and sends it as a bearer header; never a cookie, never in the URL).

use super::html::{Html, html};
use crate::alert::silence::Silence;
use crate::time::rfc3339;

/// One silence as the page lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct SilenceRow {
    /// Its id.
    pub id: String,
    /// The SLO it matches; empty when it matches by labels only.
    pub slo: String,
    /// `key=value, …`.
    pub labels: String,
    /// `page`, `ticket` or `any`.
    pub severity: &'static str,
    /// RFC 3339.
    pub starts_at: String,
    /// RFC 3339.
    pub ends_at: String,
    /// Why.
    pub comment: String,
    /// Who.
    pub created_by: String,
    /// `pending`, `active` or `expired` at `now`.
    pub status: &'static str,
}

impl SilenceRow {
    /// The row of one stored silence at `now`: the same fields the API's JSON carries.
    pub fn from_silence(s: &Silence, now: i64) -> SilenceRow {
        SilenceRow {
            id: s.id.clone(),
            slo: s.slo.clone().unwrap_or_default(),
            labels: s
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", "),
            severity: s.severity.map_or("any", |x| x.as_str()),
            starts_at: rfc3339(s.starts_at),
            ends_at: rfc3339(s.ends_at),
            comment: s.comment.clone(),
            created_by: s.created_by.clone(),
            status: s.status(now),
        }
    }
}

/// One row with its Expire button (none once expired).
fn row(x: &SilenceRow) -> Html {
    let expire = if x.status == "expired" {
        Html::new()
    } else {
        html! { "<button type=\"button\" class=\"expire\" data-id=\"" (x.id) "\">Expire</button>" }
    };
    html! {
        "<tr data-id=\"" (x.id) "\" class=\"status-" (x.status) "\"><td>" (x.slo) "</td><td>"
        (x.labels) "</td><td>" (x.severity) "</td><td>" (x.starts_at) "</td><td>" (x.ends_at)
        "</td><td>" (x.comment) "</td><td>" (x.created_by) "</td><td>" (x.status) "</td><td>"
        (expire) "</td></tr>"
    }
}

/// The form that creates a silence through the API.
fn form(slo_ids: &[String]) -> Html {
    let options: Html = slo_ids
        .iter()
        .map(|id| html! { "<option value=\"" (id) "\">" (id) "</option>" })
        .collect();
    html! {
        r#"<h2>New silence</h2><form id="silence-form" class="stack">"#
        r#"<label>API token <input type="password" id="token" autocomplete="off" placeholder="kept for this tab only"></label>"#
        r#"<label>SLO <select name="slo" required>"# (options)
        r#"</select></label><label>Severity <select name="severity"><option value="">page and ticket</option><option value="page">page</option><option value="ticket">ticket</option></select></label>"#
        r#"<label>For (hours) <input type="number" name="hours" min="0.1" step="0.1" value="2" required></label>"#
        r#"<label>Comment <input type="text" name="comment" required maxlength="500"></label>"#
        r#"<label>Created by <input type="text" name="created_by" required maxlength="100"></label>"#
        r#"<button type="submit">Create silence</button></form>"#
    }
}

/// The silences page's body from the silences to list and the SLO ids.
pub fn render(silences: &[SilenceRow], slo_ids: &[String], token_configured: bool) -> Html {
    let mut h = Html::from_static("<h1>Silences</h1>");
    if !token_configured {
        h.push_static(r#"<p class="warn-box">This daemon has no API token (SLOWBURN_API_TOKEN or --api-token-file), so silences can be read here but not changed.</p>"#);
    }
    h.push_static(r#"<p id="status" role="status" aria-live="polite"></p>"#);
    h.push_static(r#"<table class="silences"><thead><tr><th>SLO</th><th>Labels</th><th>Severity</th><th>From</th><th>Until</th><th>Comment</th><th>By</th><th>Status</th><th></th></tr></thead><tbody>"#);
    for x in silences {
        h.push(&row(x));
    }
    h.push_static("</tbody></table>");
    if silences.is_empty() {
        h.push_static(r#"<p class="empty">No silences.</p>"#);
    }
    h.push(&form(slo_ids));
    h
}
