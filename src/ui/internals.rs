//! The page on slowburn itself: readiness, the last evaluation and its age, the last reload (with
//! the refused file's errors), every source's requests and failures, and the outbox.

use super::html::{Html, html};

/// A moment and how long ago it was.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stamp {
    /// RFC 3339.
    pub at: String,
    /// Seconds since.
    pub age: i64,
}

/// One source's request counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceStats {
    /// Its name (`prometheus`, `loki`).
    pub name: String,
    /// Requests sent.
    pub requests: u64,
    /// Requests that failed.
    pub failed: u64,
    /// Answers not trusted (partial, or breaking the contract).
    pub untrusted: u64,
}

/// Failed queries of one SLO on one source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceErrors {
    /// The SLO's id.
    pub slo: String,
    /// The source's name.
    pub source: String,
    /// Failed queries since start.
    pub failed: u64,
}

/// How many notification attempts ended one way.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// `sent`, `retry`, `failed`, `dropped`.
    pub result: String,
    /// Attempts.
    pub count: u64,
}

/// One receiver's outbox.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Receiver {
    /// Its name in slo.yaml.
    pub name: String,
    /// Notifications waiting.
    pub pending: u64,
    /// Attempts by result.
    pub outcomes: Vec<Outcome>,
}

/// Scheduled backups: where they go and the newest verified copy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Backups {
    /// The configured directory.
    pub to: String,
    /// The newest verified copy, if any.
    pub last: Option<Stamp>,
}

/// What the page shows; gathered by the server from the daemon's health and counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Internals {
    /// Version and revision.
    pub version: String,
    /// Backfill finished.
    pub ready: bool,
    /// How far a load of SLO histories is (the backfill at start, a reload's new SLOs).
    pub progress: Option<String>,
    /// Last evaluation.
    pub last_eval: Option<Stamp>,
    /// Ticks completed since start.
    pub ticks: u64,
    /// SLOs running.
    pub slos: usize,
    /// `1 of 3` when this daemon owns one shard of the file's SLOs (`run --shard`).
    pub shard: Option<String>,
    /// The last reload's errors, if it was refused.
    pub reload_error: Option<String>,
    /// Per source: its counters.
    pub sources: Vec<SourceStats>,
    /// Failed queries per SLO and source.
    pub source_errors: Vec<SourceErrors>,
    /// Per receiver: waiting in the outbox, and outcome counts.
    pub receivers: Vec<Receiver>,
    /// Stored values found damaged since start.
    pub damaged: u64,
    /// Scheduled backups; `None` when `backup:` is not configured.
    pub backup: Option<Backups>,
}

/// The page's body.
pub fn render(i: &Internals) -> Html {
    html! {
        "<h1>slowburn</h1>" (now(i)) (backup_section(i.backup.as_ref()))
        (reload_section(i.reload_error.as_deref())) (sources_section(i)) (outbox_section(i))
    }
}

/// Version, readiness, the last evaluation and the counters.
fn now(i: &Internals) -> Html {
    let (ready_class, ready) = if i.ready {
        ("ok", "yes")
    } else {
        ("warn", "backfilling")
    };
    let last = match &i.last_eval {
        Some(s) => html! { (s.at) " (" (s.age) " s ago)" },
        None => Html::from_static("not yet"),
    };
    let progress = match &i.progress {
        Some(p) => {
            html! { "<div><dt>Loading</dt><dd class=\"warn\" id=\"progress\">" (p) "</dd></div>" }
        }
        None => Html::from_static(""),
    };
    let shard = match &i.shard {
        Some(s) => html! { " (shard " (s) ")" },
        None => Html::from_static(""),
    };
    html! {
        "<section class=\"now\"><dl><div><dt>Version</dt><dd>" (i.version)
        "</dd></div><div><dt>Ready</dt><dd class=\"" (ready_class) "\">" (ready)
        "</dd></div>" (progress) "<div><dt>Last evaluation</dt><dd>" (last)
        "</dd></div><div><dt>Ticks</dt><dd>" (i.ticks) "</dd></div><div><dt>SLOs</dt><dd id=\"slos\">" (i.slos)
        (shard) "</dd></div><div><dt>Damaged stored values</dt><dd>" (i.damaged) "</dd></div></dl></section>"
    }
}

fn backup_section(b: Option<&Backups>) -> Html {
    let line = match b {
        None => Html::from_static(
            r#"<p id="backup">No scheduled backups (`backup:` in slo.yaml); `slowburn store backup` takes one by hand.</p>"#,
        ),
        Some(Backups { to, last: None }) => {
            html! { "<p class=\"warn\" id=\"backup\">No verified backup in " (to) " yet.</p>" }
        }
        Some(Backups {
            to,
            last: Some(last),
        }) => html! {
            "<p class=\"ok\" id=\"backup\">Last good backup " (last.at) " (" (last.age)
            " s ago) in " (to) ".</p>"
        },
    };
    html! { "<section><h2>Backups</h2>" (line) "</section>" }
}

fn reload_section(error: Option<&str>) -> Html {
    let line = match error {
        None => {
            Html::from_static(r#"<p class="ok" id="reload">The running config is the file's.</p>"#)
        }
        Some(e) => html! {
            "<p class=\"bad\" id=\"reload\">The last reload was refused; the previous config keeps running:</p><pre class=\"config-error\">"
            (e) "</pre>"
        },
    };
    html! { "<section><h2>Last reload</h2>" (line) "</section>" }
}

fn sources_section(i: &Internals) -> Html {
    let mut h = Html::from_static(
        r#"<section><h2>Sources</h2><table><thead><tr><th>Source</th><th>Requests</th><th>Failed</th><th>Untrusted answers</th></tr></thead><tbody>"#,
    );
    for s in &i.sources {
        h.push(&html! {
            "<tr><td>" (s.name) "</td><td>" (s.requests) "</td><td>" (s.failed) "</td><td>"
            (s.untrusted) "</td></tr>"
        });
    }
    h.push_static("</tbody></table>");
    if !i.source_errors.is_empty() {
        h.push_static(
            "<table><thead><tr><th>SLO</th><th>Source</th><th>Failed queries</th></tr></thead><tbody>",
        );
        for e in &i.source_errors {
            h.push(&html! {
                "<tr><td>" (e.slo) "</td><td>" (e.source) "</td><td>" (e.failed) "</td></tr>"
            });
        }
        h.push_static("</tbody></table>");
    }
    h.push_static("</section>");
    h
}

fn outbox_section(i: &Internals) -> Html {
    let mut h = Html::from_static(
        r#"<section><h2>Outbox</h2><table><thead><tr><th>Receiver</th><th>Waiting</th><th>Outcomes</th></tr></thead><tbody>"#,
    );
    for r in &i.receivers {
        let o: Vec<String> = r
            .outcomes
            .iter()
            .map(|x| format!("{}: {}", x.result, x.count))
            .collect();
        h.push(&html! {
            "<tr><td>" (r.name) "</td><td>" (r.pending) "</td><td>" (o.join(", ")) "</td></tr>"
        });
    }
    h.push_static("</tbody></table></section>");
    h
}
