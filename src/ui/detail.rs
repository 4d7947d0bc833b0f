//! One SLO: its numbers now, the burn-down of every period's budget, the SLI against the objective
//! and the SLA, burn rates with the policy's factors, event rates and coverage (missing data and
//! maintenance shaded), its alerts with who was told, its silences, the corrections that apply
//! to it and its definition.
//!
//! The view ([`Detail`]) is built by pure functions from the status model ([`Row::from_status`],
//! [`alerts`], [`policy_rules`], [`exhaustion`]) and the history the server reads; the render
//! functions below only lay it out.

use super::chart::{Chart, Line, Rule, Span, spans_where};
use super::html::{Html, html};
use super::list::{Row, gate_word, members_href, sla_word};
use super::trial::Shown;
use super::{budget_bar, burn, human_secs, pct, slo_path, url_enc};
use crate::config::Slo;
use crate::duration::Dur;
use crate::history::{PastPeriod, Point};
use crate::sli::fingerprint::Counted;
use crate::sli::{Compare, CountSpec};
use crate::status::{AlertStatus, SloStatus};
use crate::store::keys::SeriesKey;

/// One alert record as the page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// `page` or `ticket`.
    pub severity: &'static str,
    /// Firing now.
    pub firing: bool,
    /// The rule that fired (`1h/5m`, `budget`).
    pub rule: Option<String>,
    /// RFC 3339.
    pub fired_at: Option<String>,
    /// RFC 3339.
    pub resolved_at: Option<String>,
    /// Highest burn rate of the episode; `None` when it never fired.
    pub peak: Option<f64>,
    /// Receivers told about the episode.
    pub notified: Vec<String>,
}

impl Alert {
    /// One severity's alert from the status model.
    pub fn from_status(severity: &'static str, a: &AlertStatus) -> Alert {
        Alert {
            severity,
            firing: a.firing,
            rule: a.rule.clone(),
            fired_at: a.fired_at.clone(),
            resolved_at: a.resolved_at.clone(),
            peak: a.fired_at.is_some().then_some(a.peak_burn_rate),
            notified: a.notified.clone(),
        }
    }
}

/// The page and ticket alerts of an SLO, by severity; none where nothing tracks alerts.
pub fn alerts(status: &SloStatus) -> Vec<Alert> {
    status
        .alerts
        .as_ref()
        .map(|a| {
            vec![
                Alert::from_status("page", &a.page),
                Alert::from_status("ticket", &a.ticket),
            ]
        })
        .unwrap_or_default()
}

/// A burn-rate rule of the SLO's policy.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyRule {
    /// `page` or `ticket`.
    pub severity: &'static str,
    /// `1h`.
    pub long: String,
    /// `5m`.
    pub short: String,
    /// 14.4.
    pub factor: f64,
}

/// The SLO's burn-rate rules, as its status carries them.
pub fn policy_rules(status: &SloStatus) -> Vec<PolicyRule> {
    status
        .rules
        .iter()
        .map(|r| PolicyRule {
            severity: r.severity.as_str(),
            long: r.long.clone(),
            short: r.short.clone(),
            factor: r.factor,
        })
        .collect()
}

/// When one period's budget runs out at the 1h burn rate.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodExhaustion {
    /// `30d`.
    pub period: String,
    /// Seconds; `0` spent, `None` not burning.
    pub at_1h: Option<f64>,
}

/// Every period's time to exhaustion at the 1h burn, in the config's period order.
pub fn exhaustion(slo: &Slo, status: &SloStatus) -> Vec<PeriodExhaustion> {
    slo.periods
        .iter()
        .map(|p| {
            let period = p.to_string();
            PeriodExhaustion {
                at_1h: status
                    .periods
                    .get(&period)
                    .and_then(|x| x.time_to_exhaustion_seconds.h1),
                period,
            }
        })
        .collect()
}

/// One period's history over its own length.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodHistory {
    /// `30d`.
    pub period: String,
    /// Seconds per point (the auto step).
    pub step: i64,
    /// The points, oldest first.
    pub points: Vec<Point>,
}

/// One past whole period and the pages the current policy fires in it.
#[derive(Debug, Clone, PartialEq)]
pub struct PastRow {
    /// Its length, `7d` or `30d`.
    pub length: String,
    /// Its SLI, budget used and coverage.
    pub period: PastPeriod,
    /// Pages fired in it by the replay.
    pub pages: usize,
}

/// A silence that matches this SLO.
#[derive(Debug, Clone, PartialEq)]
pub struct SilenceLine {
    /// Its id.
    pub id: String,
    /// Why it was made.
    pub comment: String,
    /// When it ends, RFC 3339.
    pub ends_at: String,
    /// `active` or `pending`.
    pub status: String,
}

/// A correction that applies to this SLO: a past range its budgets do not count.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrectionLine {
    /// Its id (what `DELETE /api/v1/corrections/{id}` takes).
    pub id: String,
    /// Start (unix seconds): the charts shade from here.
    pub start: i64,
    /// End (unix seconds, exclusive).
    pub end: i64,
    /// Why it was made.
    pub reason: String,
    /// Who asked for it.
    pub author: String,
}

/// A definition the store holds for this SLO.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredVersion {
    /// Its series id.
    pub version: u64,
    /// Its stored key.
    pub key: SeriesKey,
}

/// Everything the detail page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Detail {
    /// The same row as the list's.
    pub row: Row,
    /// Free text from slo.yaml.
    pub description: Option<String>,
    /// `ratio`, `latency`, `timeslice`.
    pub sli: String,
    /// `prometheus`, `loki`, `mixed`.
    pub source: String,
    /// The queries slowburn runs.
    pub queries: Vec<String>,
    /// Store definition version (a changed query starts a new one).
    pub version: u64,
    /// Every definition the store holds for this SLO, the current one included.
    pub versions: Vec<StoredVersion>,
    /// Time to exhaustion at the 1h burn per period.
    pub exhaustion: Vec<PeriodExhaustion>,
    /// Page and ticket.
    pub alerts: Vec<Alert>,
    /// The policy's burn-rate rules.
    pub rules: Vec<PolicyRule>,
    /// The windows `burn` of every history point holds, in order.
    pub windows: Vec<String>,
    /// Per period: its history over the period (auto step).
    pub histories: Vec<PeriodHistory>,
    /// What the current policy fires on the stored history of the longest period (the replay
    /// `backtest` runs): drawn on the time axis and listed.
    pub episodes: Vec<Shown>,
    /// Past whole periods (`7d`, `30d`), newest first per length.
    pub past: Vec<PastRow>,
    /// Silences matching this SLO.
    pub silences: Vec<SilenceLine>,
    /// Corrections that apply to this SLO.
    pub corrections: Vec<CorrectionLine>,
    /// Grafana dashboard link, when `alerting.dashboard_url` is set.
    pub dashboard: Option<String>,
}

/// One line of what a stored definition counted: a side with its query, or a sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionPart {
    /// `bad`, `total (loki)`, `1m buckets`, a sentence, or `definition` for a key shown whole.
    pub what: String,
    /// The query, when the line has one.
    pub query: Option<String>,
}

impl VersionPart {
    fn new(what: impl Into<String>, query: Option<String>) -> VersionPart {
        VersionPart {
            what: what.into(),
            query,
        }
    }
}

/// A stored definition key of `slo_id` as a person reads it: each side with its query, then the
/// bucket width. A key that cannot be read back is shown whole.
pub fn describe_version(key: &SeriesKey, slo_id: &str) -> Vec<VersionPart> {
    let whole = || {
        let text = key.definition_of(slo_id).unwrap_or(key.as_str());
        vec![VersionPart::new("definition", Some(text.to_string()))]
    };
    let Some((fp, width)) = key.fingerprint_of(slo_id) else {
        return whole();
    };
    let Some(counted) = CountSpec::read_fingerprint(fp) else {
        return whole();
    };
    let mut out: Vec<VersionPart> = match counted {
        Counted::Events(sides) => sides
            .into_iter()
            .map(|s| {
                let name = match s.source {
                    Some(src) => format!("{} ({src})", s.role),
                    None => s.role.to_string(),
                };
                VersionPart::new(name, Some(s.query))
            })
            .collect(),
        Counted::Timeslice {
            query,
            good_when,
            slice,
        } => {
            let cmp = match good_when {
                Compare::Above(t) => format!("above {t}"),
                Compare::Below(t) => format!("below {t}"),
            };
            vec![
                VersionPart::new("query", Some(query)),
                VersionPart::new(
                    format!("a {slice} slice is good when the value is {cmp}"),
                    None,
                ),
            ]
        }
    };
    out.push(VersionPart::new(
        format!("{} buckets", Dur::from_secs(width.max(0) as u64)),
        None,
    ));
    out
}

fn series(points: &[Point], f: impl Fn(&Point) -> Option<f64>) -> Vec<(i64, Option<f64>)> {
    points.iter().map(|p| (p.time, f(p))).collect()
}

/// The crumbs above a member's heading and the line under it: its definition (a link to the list
/// of its members, worst first) and the values that make it this member. Nothing for an SLO that
/// is not grouped.
fn member_lines(r: &Row) -> (Html, Html) {
    if !r.is_member() {
        return (Html::new(), Html::new());
    }
    let link = html! { "<a href=\"" (members_href(&r.definition)) "\">" (r.definition) "</a>" };
    (
        html! { " / " (link) },
        html! {
            "<p class=\"member\">One member of the grouped SLO " (link) ": <code>" (r.group_text())
            "</code></p>"
        },
    )
}

/// The detail page's body.
pub fn render(d: &Detail) -> Html {
    let r = &d.row;
    let (crumb, member) = member_lines(r);
    html! {
        "<p class=\"crumbs\"><a href=\"/\">SLOs</a> / <a href=\"/?service=" (url_enc(&r.service))
        "\">" (r.service) "</a>" (crumb) "</p><h1>" (r.id) "</h1>" (member)
        (d.description.as_ref().map(|x| html! { "<p class=\"description\">" (x) "</p>" }).unwrap_or_default())
        (r.error.as_ref().map(|e| html! { "<p class=\"error-row\">⚠ " (e) "</p>" }).unwrap_or_default())
        (now_section(d))
        (alerts_section(d))
        (history_section(d))
        (episodes_section(d))
        (past_section(d))
        (silences_section(d))
        (corrections_section(d))
        (definition_section(d))
    }
}

/// One `<div><dt>…</dt><dd>…</dd></div>` of the numbers-now list.
fn item(term: &Html, value: &Html) -> Html {
    html! { "<div><dt>" (term) "</dt><dd>" (value) "</dd></div>" }
}

/// The numbers now: objective, each period's SLI, budget and coverage, exhaustion, burn rates,
/// the SLA and the gate.
fn now_section(d: &Detail) -> Html {
    let r = &d.row;
    let mut h = html! {
        "<section class=\"now\"><dl>"
        (item(&Html::from_static("Objective"), &Html::text(&pct(Some(r.objective)))))
    };
    for p in &r.periods {
        h.push(&html! {
            "<div><dt>SLI " (p.period) "</dt><dd class=\"sli\" data-period=\"" (p.period) "\">"
            (pct(p.sli)) "</dd></div><div><dt>Budget left " (p.period)
            "</dt><dd class=\"remaining\" data-period=\"" (p.period) "\">" (budget_bar(p.remaining))
            "</dd></div><div><dt>Coverage " (p.period) "</dt><dd>" (pct(Some(p.coverage)))
            "</dd></div>"
        });
    }
    for e in &d.exhaustion {
        let t = match e.at_1h {
            Some(0.0) => "spent".to_string(),
            Some(x) => human_secs(x),
            None => "not burning".to_string(),
        };
        h.push(&item(
            &html! { "Exhausted in (" (e.period) ", at the 1h burn)" },
            &Html::text(&t),
        ));
    }
    h.push(&item(
        &Html::from_static("Burn 1h / 6h"),
        &html! { (burn(r.burn_1h)) " / " (burn(r.burn_6h)) },
    ));
    if let Some(sla) = &r.sla {
        let word = sla_word(sla.met);
        h.push(&html! {
            "<div><dt>SLA " (pct(Some(sla.objective))) "</dt><dd class=\"sla-" (word) "\">" (word)
            ": " (pct(sla.sli)) "</dd></div>"
        });
    }
    let g = gate_word(&r.gate);
    h.push(&html! {
        "<div><dt>Deploy gate</dt><dd class=\"gate gate-" (g) "\">" (g) ": " (r.gate.reason)
        "</dd></div></dl>"
    });
    if let Some(link) = &d.dashboard {
        h.push(&html! { "<p><a class=\"grafana\" href=\"" (link) "\">Open in Grafana</a></p>" });
    }
    h.push_static("</section>");
    h
}

/// The daemon's live alert state and the policy's rules.
fn alerts_section(d: &Detail) -> Html {
    let mut h = Html::from_static(
        r#"<section><h2>Alerts</h2><p class="description">The daemon's live state: what it has fired and sent since it began evaluating (a backfill of older history sends nothing; the episodes that history holds are further down).</p><table class="alerts"><thead><tr><th>Severity</th><th>State</th><th>Rule</th><th>Fired</th><th>Resolved</th><th>Peak burn</th><th>Sent to</th></tr></thead><tbody>"#,
    );
    for a in &d.alerts {
        let state = if a.firing {
            "firing"
        } else if a.fired_at.is_some() {
            "resolved"
        } else {
            "never fired"
        };
        let sent = if a.notified.is_empty() {
            "–".to_string()
        } else {
            a.notified.join(", ")
        };
        h.push(&html! {
            "<tr><td class=\"alert-" (a.severity) "\">" (a.severity) "</td><td>" (state) "</td><td>"
            (a.rule.as_deref().unwrap_or("–")) "</td><td>" (a.fired_at.as_deref().unwrap_or("–"))
            "</td><td>" (a.resolved_at.as_deref().unwrap_or("–")) "</td><td>" (burn(a.peak))
            "</td><td>" (sent) "</td></tr>"
        });
    }
    h.push_static(r#"</tbody></table><table class="rules"><thead><tr><th>Policy rule</th><th>Long</th><th>Short</th><th>Factor</th></tr></thead><tbody>"#);
    for p in &d.rules {
        h.push(&html! {
            "<tr><td>" (p.severity) "</td><td>" (p.long) "</td><td>" (p.short) "</td><td>"
            (p.factor) "</td></tr>"
        });
    }
    h.push_static("</tbody></table></section>");
    h
}

const CLASSES: [&str; 4] = ["s0", "s1", "s2", "s3"];

/// Missing data, maintenance and corrections along one history.
fn gap_spans(h: &PeriodHistory, corrections: &[CorrectionLine]) -> Vec<Span> {
    let pts = &h.points;
    let times: Vec<i64> = pts.iter().map(|p| p.time).collect();
    let ranges: Vec<(i64, i64)> = corrections.iter().map(|c| (c.start, c.end)).collect();
    // A point's step ends at its time: corrected when its step overlaps a correction.
    let corrected = |i: usize| {
        let (from, to) = (pts[i].time - h.step, pts[i].time);
        ranges.iter().any(|&(s, e)| s < to && e > from)
    };
    let mut v = spans_where(
        &times,
        h.step,
        |i| pts[i].step_coverage < 1.0 && pts[i].step_excluded == 0,
        "gap",
    );
    v.extend(spans_where(
        &times,
        h.step,
        |i| pts[i].step_excluded > 0 && !corrected(i),
        "maintenance",
    ));
    v.extend(ranges.iter().map(|&(from, to)| Span {
        from,
        to,
        class: "correction",
    }));
    v
}

/// The burn-down of every period, over its own length, with the replay's episodes shaded.
fn budget_chart(d: &Detail) -> Html {
    let mut spans = d
        .histories
        .first()
        .map(|h| gap_spans(h, &d.corrections))
        .unwrap_or_default();
    // The current policy's episodes on the stored history, on the time axis.
    let t = |x: &str| chrono::DateTime::parse_from_rfc3339(x).map_or(0, |t| t.timestamp());
    for e in &d.episodes {
        spans.push(Span {
            from: t(&e.fired_at),
            to: e.resolved_at.as_deref().map_or(i64::MAX, t),
            class: if e.severity == "page" {
                "page"
            } else {
                "ticket"
            },
        });
    }
    Chart {
        title: "Error budget left (burn-down)".into(),
        id: "chart-budget".into(),
        lines: d
            .histories
            .iter()
            .enumerate()
            .map(|(i, h)| Line {
                name: format!("{} budget left", h.period),
                class: CLASSES[i % CLASSES.len()],
                points: series(&h.points, |x| x.remaining),
            })
            .collect(),
        rules: vec![
            Rule {
                y: 0.0,
                label: "spent".into(),
                class: "bad",
            },
            Rule {
                y: 0.25,
                label: "25%".into(),
                class: "warn",
            },
        ],
        spans,
        format: |v| format!("{:.0}%", v * 100.0),
        include: vec![1.0],
    }
    .render()
}

/// The first period's SLI per step against the objective and the SLA.
fn sli_chart(r: &Row, h: &PeriodHistory, corrections: &[CorrectionLine]) -> Html {
    let mut rules = vec![Rule {
        y: r.objective,
        label: "objective".into(),
        class: "objective",
    }];
    if let Some(sla) = &r.sla {
        rules.push(Rule {
            y: sla.objective,
            label: "SLA".into(),
            class: "sla",
        });
    }
    Chart {
        title: format!(
            "SLI per {} step, last {}",
            human_secs(h.step as f64),
            h.period
        ),
        id: "chart-sli".into(),
        lines: vec![Line {
            name: "SLI".into(),
            class: "s0",
            points: series(&h.points, |x| x.sli),
        }],
        rules,
        spans: gap_spans(h, corrections),
        format: |v| format!("{:.2}%", v * 100.0),
        include: vec![],
    }
    .render()
}

/// Burn rates over the windows the policy's rules use as long windows, with its factors.
fn burn_chart(d: &Detail, h: &PeriodHistory) -> Html {
    let mut lines = Vec::new();
    for (i, w) in d.windows.iter().enumerate() {
        if !d.rules.iter().any(|r| &r.long == w) {
            continue;
        }
        lines.push(Line {
            name: format!("burn {w}"),
            class: CLASSES[lines.len() % CLASSES.len()],
            points: series(&h.points, |x| x.burn.get(i).copied().flatten()),
        });
    }
    Chart {
        title: "Burn rate per alert window (dashed: the policy's factors)".into(),
        id: "chart-burn".into(),
        lines,
        rules: d
            .rules
            .iter()
            .map(|p| Rule {
                y: p.factor,
                label: format!("{} {}×", p.severity, p.factor),
                class: if p.severity == "page" { "bad" } else { "warn" },
            })
            .collect(),
        spans: gap_spans(h, &d.corrections),
        format: |v| format!("{v:.1}×"),
        include: vec![0.0],
    }
    .render()
}

/// Events per second (all and bad) and the period's coverage.
fn traffic_charts(h: &PeriodHistory, corrections: &[CorrectionLine]) -> Html {
    let events = Chart {
        title: "Events per second".into(),
        id: "chart-events".into(),
        lines: vec![
            Line {
                name: "all".into(),
                class: "s0",
                points: series(&h.points, |x| Some(x.total_rate)),
            },
            Line {
                name: "bad".into(),
                class: "bad",
                points: series(&h.points, |x| Some(x.bad_rate)),
            },
        ],
        rules: vec![],
        spans: gap_spans(h, corrections),
        format: |v| format!("{v:.2}"),
        include: vec![0.0],
    };
    let coverage = Chart {
        title: format!("Coverage of the {} period", h.period),
        id: "chart-coverage".into(),
        lines: vec![Line {
            name: "coverage".into(),
            class: "s1",
            points: series(&h.points, |x| Some(x.coverage)),
        }],
        rules: vec![],
        spans: gap_spans(h, corrections),
        format: |v| format!("{:.0}%", v * 100.0),
        include: vec![0.0, 1.0],
    };
    html! { (events.render()) (coverage.render()) }
}

/// Every chart: the burn-down of each period, then the first period's SLI, burns and traffic.
fn history_section(d: &Detail) -> Html {
    let mut h = html! { "<section><h2>History</h2>" (budget_chart(d)) };
    if let Some(first) = d.histories.first() {
        h.push(&sli_chart(&d.row, first, &d.corrections));
        h.push(&burn_chart(d, first));
        h.push(&traffic_charts(first, &d.corrections));
    }
    h.push_static("</section>");
    h
}

/// The replay's episodes, with a link to try another policy.
fn episodes_section(d: &Detail) -> Html {
    let r = &d.row;
    let mut h = html! {
        "<section><h2>Episodes in the stored history</h2><p class=\"description\">What the current policy fires when the stored buckets are replayed through the daemon's decision (shaded on the burn-down). <a id=\"try\" href=\""
        (slo_path(&r.id)) "/try\">Try another policy on this history</a>.</p><table class=\"episodes\" id=\"episodes\"><thead><tr><th>Severity</th><th>Rule</th><th>Fired</th><th>Resolved</th><th>Peak burn</th><th>Detected after</th></tr></thead><tbody>"
    };
    for e in &d.episodes {
        h.push(&html! {
            "<tr><td class=\"alert-" (e.severity) "\">" (e.severity) "</td><td>" (e.rule)
            "</td><td>" (e.fired_at) "</td><td>" (e.resolved_at.as_deref().unwrap_or("still firing"))
            "</td><td>" (burn(Some(e.peak))) "</td><td>"
            (e.detection.map_or("–".into(), |x| human_secs(x as f64))) "</td></tr>"
        });
    }
    h.push_static("</tbody></table></section>");
    h
}

/// Past whole periods: attainment, budget used, coverage and pages.
fn past_section(d: &Detail) -> Html {
    let mut h = Html::from_static(
        r#"<section><h2>Past periods</h2><table class="past" id="past"><thead><tr><th>Period</th><th>Ending</th><th>Attainment</th><th>Objective met</th><th>Budget used</th><th>Coverage</th><th>Pages</th></tr></thead><tbody>"#,
    );
    for row in &d.past {
        let p = &row.period;
        let met = match p.sli {
            Some(x) if x >= d.row.objective => "yes",
            Some(_) => "no",
            None => "no data",
        };
        let end = chrono::DateTime::from_timestamp(p.end, 0)
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default();
        h.push(&html! {
            "<tr><td>" (row.length) "</td><td>" (end) "</td><td>" (pct(p.sli))
            "</td><td class=\"met-" (met) "\">" (met) "</td><td>" (pct(p.used)) "</td><td>"
            (pct(Some(p.coverage))) "</td><td>" (row.pages) "</td></tr>"
        });
    }
    h.push_static("</tbody></table></section>");
    h
}

/// The silences that match this SLO.
fn silences_section(d: &Detail) -> Html {
    let mut h = Html::from_static("<section><h2>Silences</h2>");
    if d.silences.is_empty() {
        h.push_static(r#"<p>None. <a href="/silences">Create one</a>.</p>"#);
    } else {
        h.push_static("<ul>");
        for x in &d.silences {
            h.push(&html! {
                "<li>" (x.id) " until " (x.ends_at) " (" (x.status) "): " (x.comment) "</li>"
            });
        }
        h.push_static("</ul>");
    }
    h.push_static("</section>");
    h
}

/// The corrections that apply to this SLO (none: the section is left out).
fn corrections_section(d: &Detail) -> Html {
    if d.corrections.is_empty() {
        return Html::default();
    }
    let mut h = Html::from_static(
        "<section><h2>Corrections</h2><p>These ranges do not count in its budgets.</p><ul>",
    );
    for c in &d.corrections {
        h.push(&html! {
            "<li>" (crate::time::rfc3339(c.start)) " – " (crate::time::rfc3339(c.end)) ": " (c.reason) " (by " (c.author) ", " (c.id) ")</li>"
        });
    }
    h.push_static("</ul></section>");
    h
}

/// What the SLO counts: its SLI kind, source, version, labels, queries and stored versions.
fn definition_section(d: &Detail) -> Html {
    let r = &d.row;
    let mut h = html! {
        "<section><h2>Definition</h2><dl class=\"definition\"><div><dt>SLI</dt><dd>" (d.sli)
        "</dd></div><div><dt>Source</dt><dd>" (d.source)
        "</dd></div><div><dt>Version</dt><dd>" (d.version) "</dd></div>"
    };
    if !r.labels.is_empty() {
        let l: Vec<String> = r.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        h.push(&html! { "<div><dt>Labels</dt><dd>" (l.join(", ")) "</dd></div>" });
    }
    h.push_static("</dl><ul class=\"queries\">");
    for q in &d.queries {
        h.push(&html! { "<li><code>" (q) "</code></li>" });
    }
    h.push_static("</ul>");
    if !d.versions.is_empty() {
        h.push(&versions_table(d));
    }
    h.push_static("</section>");
    h
}

/// The definitions the store holds for this SLO, each as the queries it counted.
fn versions_table(d: &Detail) -> Html {
    let mut h = Html::from_static(
        r#"<h3>Versions in the store</h3><table class="versions" id="versions"><thead><tr><th>Version</th><th>What it counted</th></tr></thead><tbody>"#,
    );
    for v in &d.versions {
        let current = if v.version == d.version {
            " (current)"
        } else {
            ""
        };
        let what = Html::join(
            describe_version(&v.key, &d.row.id)
                .into_iter()
                .map(|p| match p.query {
                    Some(q) => html! { (p.what) " <code>" (q) "</code>" },
                    None => Html::text(&p.what),
                }),
            "<br>",
        );
        h.push(&html! {
            "<tr><td>" (v.version) (current) "</td><td>" (what) "</td></tr>"
        });
    }
    h.push_static("</tbody></table>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn describe(definition: &str) -> Vec<(String, Option<String>)> {
        let key = SeriesKey::from_stored(format!("api/x|{definition}"));
        describe_version(&key, "api/x")
            .into_iter()
            .map(|p| (p.what, p.query))
            .collect()
    }

    #[test]
    fn stored_definitions_read_as_their_queries() {
        let v = describe(r#"events|-|sel:x{code=~"5.."}|sel:x|60"#);
        assert_eq!(
            v,
            [
                ("bad".to_string(), Some(r#"x{code=~"5.."}"#.to_string())),
                ("total".to_string(), Some("x".to_string())),
                ("1m buckets".to_string(), None),
            ]
        );
        // LogQL's pipes stay inside their query.
        let v = describe(
            r#"mixed|-|loki:sel:{app="web"} |= "error" | json|prometheus:expr:sum(rate(x[5m]))|30"#,
        );
        assert_eq!(
            v[0],
            (
                "bad (loki)".to_string(),
                Some(r#"{app="web"} |= "error" | json"#.to_string())
            )
        );
        assert_eq!(
            v[1],
            (
                "total (prometheus)".to_string(),
                Some("sum(rate(x[5m]))".to_string())
            )
        );
        assert_eq!(v[2].0, "30s buckets");
        let v = describe("timeslice|avg(up)|Above(0.9)|5m|60");
        assert_eq!(v[0], ("query".to_string(), Some("avg(up)".to_string())));
        assert_eq!(v[1].0, "a 5m slice is good when the value is above 0.9");
        // What this version cannot split is shown whole.
        assert_eq!(
            describe("something|else")[0],
            ("definition".to_string(), Some("something|else".to_string()))
        );
        assert_eq!(describe("events|a|b|60")[0].0, "definition");
    }

    #[test]
    fn a_members_page_names_its_definition_and_values() {
        let yaml = "slos:\n  - {service: api, name: avail, objective: 99, group_by: [route], sli: {ratio: {errors: 'x{code=\"500\"}', total: x}}}\n  - {service: api, name: plain, objective: 99, sli: {ratio: {errors: 'y{code=\"500\"}', total: y}}}\n";
        let cfg = crate::config::parse_str(yaml, "t.yaml", &|_| None).expect("valid config");
        let values: crate::config::group::Values = [("route".to_string(), "/a b".to_string())]
            .into_iter()
            .collect();
        let row_of = |slo: &Slo| {
            let status = SloStatus {
                id: slo.id.clone(),
                service: slo.service.clone(),
                name: slo.name.clone(),
                group: (!slo.group.is_empty()).then(|| slo.group.clone()),
                objective: slo.objective,
                periods: Default::default(),
                burn_rates: Default::default(),
                coverage: Default::default(),
                rules: vec![],
                alerts: None,
                sla: None,
                errors: vec![],
            };
            Row::from_status(slo, &status, None)
        };
        let m = row_of(&crate::config::group::member(&cfg.slos[0], &values));
        let (crumb, line) = member_lines(&m);
        assert_eq!(
            crumb.as_str(),
            r#" / <a href="/?slo=api%2Favail">api/avail</a>"#
        );
        assert_eq!(
            line.as_str(),
            r#"<p class="member">One member of the grouped SLO <a href="/?slo=api%2Favail">api/avail</a>: <code>route=&quot;/a b&quot;</code></p>"#
        );
        let (crumb, line) = member_lines(&row_of(&cfg.slos[1]));
        assert!(crumb.is_empty() && line.is_empty());
    }
}
