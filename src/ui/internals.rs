//! The page on slowburn itself: readiness, the last evaluation and its age, the last reload (with
//! the refused file's errors), every source's requests and failures, and the outbox.

use super::esc;
use std::fmt::Write as _;

/// One receiver's outbox.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Receiver {
    /// Its name in slo.yaml.
    pub name: String,
    /// Notifications waiting.
    pub pending: u64,
    /// Attempts by result (`sent`, `retry`, `failed`, `dropped`).
    pub outcomes: Vec<(String, u64)>,
}

/// What the page shows; gathered by the server from the daemon's health and counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Internals {
    /// Version and revision.
    pub version: String,
    /// Backfill finished.
    pub ready: bool,
    /// Last evaluation, RFC 3339, and its age in seconds.
    pub last_eval: Option<(String, i64)>,
    /// Ticks completed since start.
    pub ticks: u64,
    /// SLOs running.
    pub slos: usize,
    /// The last reload's errors, if it was refused.
    pub reload_error: Option<String>,
    /// Per source: name, requests, failed requests, untrusted answers.
    pub sources: Vec<(String, u64, u64, u64)>,
    /// Failed queries per (SLO, source).
    pub source_errors: Vec<(String, String, u64)>,
    /// Per receiver: waiting in the outbox, and outcome counts.
    pub receivers: Vec<Receiver>,
    /// Stored values found damaged since start.
    pub damaged: u64,
    /// Scheduled backups: where they go, and the newest verified copy (RFC 3339, age in
    /// seconds); `None` when `backup:` is not configured.
    pub backup: Option<(String, Option<(String, i64)>)>,
}

/// The page's body.
pub fn render(i: &Internals) -> String {
    let mut s = String::from("<h1>slowburn</h1><section class=\"now\"><dl>");
    let _ = write!(s, "<div><dt>Version</dt><dd>{}</dd></div>", esc(&i.version));
    let _ = write!(
        s,
        r#"<div><dt>Ready</dt><dd class="{}">{}</dd></div>"#,
        if i.ready { "ok" } else { "warn" },
        if i.ready { "yes" } else { "backfilling" }
    );
    let _ = write!(
        s,
        "<div><dt>Last evaluation</dt><dd>{}</dd></div><div><dt>Ticks</dt><dd>{}</dd></div><div><dt>SLOs</dt><dd>{}</dd></div><div><dt>Damaged stored values</dt><dd>{}</dd></div>",
        i.last_eval
            .as_ref()
            .map(|(t, age)| format!("{} ({age} s ago)", esc(t)))
            .unwrap_or_else(|| "not yet".into()),
        i.ticks,
        i.slos,
        i.damaged
    );
    s.push_str("</dl></section><section><h2>Backups</h2>");
    match &i.backup {
        None => s.push_str(r#"<p id="backup">No scheduled backups (`backup:` in slo.yaml); `slowburn store backup` takes one by hand.</p>"#),
        Some((to, None)) => {
            let _ = write!(
                s,
                r#"<p class="warn" id="backup">No verified backup in {} yet.</p>"#,
                esc(to)
            );
        }
        Some((to, Some((t, age)))) => {
            let _ = write!(
                s,
                r#"<p class="ok" id="backup">Last good backup {} ({age} s ago) in {}.</p>"#,
                esc(t),
                esc(to)
            );
        }
    }
    s.push_str("</section><section><h2>Last reload</h2>");
    match &i.reload_error {
        None => s.push_str(r#"<p class="ok" id="reload">The running config is the file's.</p>"#),
        Some(e) => {
            let _ = write!(
                s,
                r#"<p class="bad" id="reload">The last reload was refused; the previous config keeps running:</p><pre class="config-error">{}</pre>"#,
                esc(e)
            );
        }
    }
    s.push_str(r#"</section><section><h2>Sources</h2><table><thead><tr><th>Source</th><th>Requests</th><th>Failed</th><th>Untrusted answers</th></tr></thead><tbody>"#);
    for (name, req, failed, untrusted) in &i.sources {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{req}</td><td>{failed}</td><td>{untrusted}</td></tr>",
            esc(name)
        );
    }
    s.push_str("</tbody></table>");
    if !i.source_errors.is_empty() {
        s.push_str("<table><thead><tr><th>SLO</th><th>Source</th><th>Failed queries</th></tr></thead><tbody>");
        for (slo, src, n) in &i.source_errors {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{n}</td></tr>",
                esc(slo),
                esc(src)
            );
        }
        s.push_str("</tbody></table>");
    }
    s.push_str(r#"</section><section><h2>Outbox</h2><table><thead><tr><th>Receiver</th><th>Waiting</th><th>Outcomes</th></tr></thead><tbody>"#);
    for r in &i.receivers {
        let o: Vec<String> = r
            .outcomes
            .iter()
            .map(|(k, n)| format!("{k}: {n}"))
            .collect();
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.name),
            r.pending,
            esc(&o.join(", "))
        );
    }
    s.push_str("</tbody></table></section>");
    s
}
