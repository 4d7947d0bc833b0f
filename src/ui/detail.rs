//! One SLO: its numbers now, the burn-down of every period's budget, the SLI against the objective
//! and the SLA, burn rates with the policy's factors, event rates and coverage (missing data and
//! maintenance shaded), its alerts with who was told, its silences and its definition.

use super::chart::{Chart, Line, Rule, spans_where};
use super::list::Row;
use super::{budget_bar, burn, esc, human_secs, pct};
use crate::duration::Dur;
use crate::history::Point;
use crate::sli::fingerprint::Counted;
use crate::sli::{Compare, CountSpec};
use crate::store::keys::SeriesKey;
use std::fmt::Write as _;

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
    /// Highest burn rate of the episode.
    pub peak: Option<f64>,
    /// Receivers told about the episode.
    pub notified: Vec<String>,
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
    /// Every definition the store holds for this SLO: version and its key (the queries it
    /// counted), the current one included.
    pub versions: Vec<(u64, String)>,
    /// Time to exhaustion at the 1h burn per period, seconds.
    pub exhaustion: Vec<(String, Option<f64>)>,
    /// Page and ticket.
    pub alerts: Vec<Alert>,
    /// The policy's burn-rate rules.
    pub rules: Vec<PolicyRule>,
    /// The windows `burn` of every history point holds, in order.
    pub windows: Vec<String>,
    /// Per period: its history over the period (auto step).
    pub histories: Vec<(String, i64, Vec<Point>)>,
    /// What the current policy fires on the stored history of the longest period (the replay
    /// `backtest` runs): drawn on the time axis and listed.
    pub episodes: Vec<super::trial::Shown>,
    /// Past whole periods (`7d`, `30d`): each one's SLI, budget used and coverage, and the pages
    /// the current policy fires in it.
    pub past: Vec<(String, Vec<crate::history::PastPeriod>, Vec<usize>)>,
    /// Silences matching this SLO: id, comment, ends at, status.
    pub silences: Vec<(String, String, String, String)>,
    /// Grafana dashboard link, when `alerting.dashboard_url` is set.
    pub dashboard: Option<String>,
}

/// A stored definition key (`events|-|sel:…|sel:…|60`: the fingerprint, then the bucket width)
/// as a person reads it: each side with its query, then the bucket width. A key that cannot be
/// read back is shown whole.
pub fn describe_version(key: &str) -> Vec<(String, Option<String>)> {
    let whole = || vec![("definition".to_string(), Some(key.to_string()))];
    let stored = SeriesKey::from_stored(key.to_string());
    let (Some(width), Some((fp, _))) = (stored.width(), key.rsplit_once('|')) else {
        return whole();
    };
    let Some(counted) = CountSpec::read_fingerprint(fp) else {
        return whole();
    };
    let mut out: Vec<(String, Option<String>)> = match counted {
        Counted::Events(sides) => sides
            .into_iter()
            .map(|s| {
                let name = match s.source {
                    Some(src) => format!("{} ({src})", s.role),
                    None => s.role.to_string(),
                };
                (name, Some(s.query))
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
                ("query".into(), Some(query)),
                (
                    format!("a {slice} slice is good when the value is {cmp}"),
                    None,
                ),
            ]
        }
    };
    out.push((
        format!("{} buckets", Dur::from_secs(width.max(0) as u64)),
        None,
    ));
    out
}

fn series(points: &[Point], f: impl Fn(&Point) -> Option<f64>) -> Vec<(i64, Option<f64>)> {
    points.iter().map(|p| (p.time, f(p))).collect()
}

/// The detail page's body.
pub fn render(d: &Detail) -> String {
    let r = &d.row;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<p class="crumbs"><a href="/">SLOs</a> / <a href="/?service={}">{}</a></p><h1>{}</h1>"#,
        super::url_enc(&r.service),
        esc(&r.service),
        esc(&r.id)
    );
    if let Some(desc) = &d.description {
        let _ = write!(s, r#"<p class="description">{}</p>"#, esc(desc));
    }
    if let Some(e) = &r.error {
        let _ = write!(s, r#"<p class="error-row">⚠ {}</p>"#, esc(e));
    }
    s.push_str(r#"<section class="now"><dl>"#);
    let _ = write!(
        s,
        "<div><dt>Objective</dt><dd>{}</dd></div>",
        pct(Some(r.objective))
    );
    for p in &r.periods {
        let _ = write!(
            s,
            r#"<div><dt>SLI {0}</dt><dd class="sli" data-period="{0}">{1}</dd></div><div><dt>Budget left {0}</dt><dd class="remaining" data-period="{0}">{2}</dd></div><div><dt>Coverage {0}</dt><dd>{3}</dd></div>"#,
            esc(&p.period),
            pct(p.sli),
            budget_bar(p.remaining),
            pct(Some(p.coverage))
        );
    }
    for (p, e) in &d.exhaustion {
        let t = match e {
            Some(0.0) => "spent".to_string(),
            Some(x) => human_secs(*x),
            None => "not burning".to_string(),
        };
        let _ = write!(
            s,
            "<div><dt>Exhausted in ({}, at the 1h burn)</dt><dd>{t}</dd></div>",
            esc(p)
        );
    }
    let _ = write!(
        s,
        "<div><dt>Burn 1h / 6h</dt><dd>{} / {}</dd></div>",
        burn(r.burn_1h),
        burn(r.burn_6h)
    );
    if let Some((o, sli, met)) = &r.sla {
        let word = match met {
            Some(true) => "met",
            Some(false) => "missed",
            None => "no data",
        };
        let _ = write!(
            s,
            r#"<div><dt>SLA {}</dt><dd class="sla-{word}">{word}: {}</dd></div>"#,
            pct(Some(*o)),
            pct(*sli)
        );
    }
    let _ = write!(
        s,
        r#"<div><dt>Deploy gate</dt><dd class="gate gate-{0}">{0}: {1}</dd></div>"#,
        if r.gate.0 { "go" } else { "hold" },
        esc(&r.gate.1)
    );
    s.push_str("</dl>");
    if let Some(link) = &d.dashboard {
        let _ = write!(
            s,
            r#"<p><a class="grafana" href="{}">Open in Grafana</a></p>"#,
            esc(link)
        );
    }
    s.push_str("</section>");

    s.push_str(r#"<section><h2>Alerts</h2><p class="description">The daemon's live state: what it has fired and sent since it began evaluating (a backfill of older history sends nothing; the episodes that history holds are further down).</p><table class="alerts"><thead><tr><th>Severity</th><th>State</th><th>Rule</th><th>Fired</th><th>Resolved</th><th>Peak burn</th><th>Sent to</th></tr></thead><tbody>"#);
    for a in &d.alerts {
        let _ = write!(
            s,
            r#"<tr><td class="alert-{sev}">{sev}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            if a.firing {
                "firing"
            } else if a.fired_at.is_some() {
                "resolved"
            } else {
                "never fired"
            },
            esc(a.rule.as_deref().unwrap_or("–")),
            esc(a.fired_at.as_deref().unwrap_or("–")),
            esc(a.resolved_at.as_deref().unwrap_or("–")),
            burn(a.peak),
            if a.notified.is_empty() {
                "–".to_string()
            } else {
                esc(&a.notified.join(", "))
            },
            sev = a.severity
        );
    }
    s.push_str("</tbody></table>");
    s.push_str(r#"<table class="rules"><thead><tr><th>Policy rule</th><th>Long</th><th>Short</th><th>Factor</th></tr></thead><tbody>"#);
    for p in &d.rules {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            p.severity,
            esc(&p.long),
            esc(&p.short),
            p.factor
        );
    }
    s.push_str("</tbody></table></section>");

    // The burn-down of every period, over its own length.
    let classes = ["s0", "s1", "s2", "s3"];
    let first = d.histories.first();
    let spans = |pts: &[Point], step: i64| {
        let times: Vec<i64> = pts.iter().map(|p| p.time).collect();
        let mut v = spans_where(
            &times,
            step,
            |i| pts[i].step_coverage < 1.0 && pts[i].step_excluded == 0,
            "gap",
        );
        v.extend(spans_where(
            &times,
            step,
            |i| pts[i].step_excluded > 0,
            "maintenance",
        ));
        v
    };
    s.push_str("<section><h2>History</h2>");
    let budget = Chart {
        title: "Error budget left (burn-down)".into(),
        id: "chart-budget".into(),
        lines: d
            .histories
            .iter()
            .enumerate()
            .map(|(i, (p, _, pts))| Line {
                name: format!("{p} budget left"),
                class: classes[i % classes.len()],
                points: series(pts, |x| x.remaining),
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
        spans: {
            let mut v = first
                .map(|(_, step, pts)| spans(pts, *step))
                .unwrap_or_default();
            // The current policy's episodes on the stored history, on the time axis.
            let t = |x: &str| chrono::DateTime::parse_from_rfc3339(x).map_or(0, |t| t.timestamp());
            for e in &d.episodes {
                v.push(super::chart::Span {
                    from: t(&e.fired_at),
                    to: e.resolved_at.as_deref().map_or(i64::MAX, t),
                    class: if e.severity == "page" {
                        "page"
                    } else {
                        "ticket"
                    },
                });
            }
            v
        },
        format: |v| format!("{:.0}%", v * 100.0),
        include: vec![1.0],
    };
    s.push_str(&budget.render());
    if let Some((period, step, pts)) = first {
        let mut rules = vec![Rule {
            y: r.objective,
            label: "objective".into(),
            class: "objective",
        }];
        if let Some((o, _, _)) = r.sla {
            rules.push(Rule {
                y: o,
                label: "SLA".into(),
                class: "sla",
            });
        }
        s.push_str(
            &Chart {
                title: format!("SLI per {} step, last {period}", human_secs(*step as f64)),
                id: "chart-sli".into(),
                lines: vec![Line {
                    name: "SLI".into(),
                    class: "s0",
                    points: series(pts, |x| x.sli),
                }],
                rules,
                spans: spans(pts, *step),
                format: |v| format!("{:.2}%", v * 100.0),
                include: vec![],
            }
            .render(),
        );
        let longs: Vec<&PolicyRule> = d.rules.iter().collect();
        let mut lines = Vec::new();
        for (i, w) in d.windows.iter().enumerate() {
            if !longs.iter().any(|r| &r.long == w) {
                continue;
            }
            lines.push(Line {
                name: format!("burn {w}"),
                class: classes[lines.len() % classes.len()],
                points: series(pts, |x| x.burn.get(i).copied().flatten()),
            });
        }
        s.push_str(
            &Chart {
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
                spans: spans(pts, *step),
                format: |v| format!("{v:.1}×"),
                include: vec![0.0],
            }
            .render(),
        );
        s.push_str(
            &Chart {
                title: "Events per second".into(),
                id: "chart-events".into(),
                lines: vec![
                    Line {
                        name: "all".into(),
                        class: "s0",
                        points: series(pts, |x| Some(x.total_rate)),
                    },
                    Line {
                        name: "bad".into(),
                        class: "bad",
                        points: series(pts, |x| Some(x.bad_rate)),
                    },
                ],
                rules: vec![],
                spans: spans(pts, *step),
                format: |v| format!("{v:.2}"),
                include: vec![0.0],
            }
            .render(),
        );
        s.push_str(
            &Chart {
                title: format!("Coverage of the {period} period"),
                id: "chart-coverage".into(),
                lines: vec![Line {
                    name: "coverage".into(),
                    class: "s1",
                    points: series(pts, |x| Some(x.coverage)),
                }],
                rules: vec![],
                spans: spans(pts, *step),
                format: |v| format!("{:.0}%", v * 100.0),
                include: vec![0.0, 1.0],
            }
            .render(),
        );
    }
    s.push_str("</section>");

    let _ = write!(
        s,
        r#"<section><h2>Episodes in the stored history</h2><p class="description">What the current policy fires when the stored buckets are replayed through the daemon's decision (shaded on the burn-down). <a id="try" href="/slos/{}/{}/try">Try another policy on this history</a>.</p>"#,
        super::url_enc(&r.service),
        super::url_enc(&r.name)
    );
    s.push_str(r#"<table class="episodes" id="episodes"><thead><tr><th>Severity</th><th>Rule</th><th>Fired</th><th>Resolved</th><th>Peak burn</th><th>Detected after</th></tr></thead><tbody>"#);
    for e in &d.episodes {
        let _ = write!(
            s,
            r#"<tr><td class="alert-{sev}">{sev}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            esc(&e.rule),
            esc(&e.fired_at),
            esc(e.resolved_at.as_deref().unwrap_or("still firing")),
            burn(Some(e.peak)),
            e.detection.map_or("–".into(), |x| human_secs(x as f64)),
            sev = e.severity
        );
    }
    s.push_str("</tbody></table></section>");

    s.push_str(r#"<section><h2>Past periods</h2><table class="past" id="past"><thead><tr><th>Period</th><th>Ending</th><th>Attainment</th><th>Objective met</th><th>Budget used</th><th>Coverage</th><th>Pages</th></tr></thead><tbody>"#);
    for (len, rows, pages) in &d.past {
        for (p, pages) in rows.iter().zip(pages) {
            let met = match p.sli {
                Some(x) if x >= r.objective => "yes",
                Some(_) => "no",
                None => "no data",
            };
            let end = chrono::DateTime::from_timestamp(p.end, 0)
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default();
            let _ = write!(
                s,
                r#"<tr><td>{}</td><td>{end}</td><td>{}</td><td class="met-{met}">{met}</td><td>{}</td><td>{}</td><td>{pages}</td></tr>"#,
                esc(len),
                pct(p.sli),
                pct(p.used),
                pct(Some(p.coverage))
            );
        }
    }
    s.push_str("</tbody></table></section>");

    s.push_str(r#"<section><h2>Silences</h2>"#);
    if d.silences.is_empty() {
        s.push_str(r#"<p>None. <a href="/silences">Create one</a>.</p>"#);
    } else {
        s.push_str("<ul>");
        for (id, comment, ends, status) in &d.silences {
            let _ = write!(
                s,
                "<li>{} until {} ({}): {}</li>",
                esc(id),
                esc(ends),
                esc(status),
                esc(comment)
            );
        }
        s.push_str("</ul>");
    }
    s.push_str("</section>");

    s.push_str(r#"<section><h2>Definition</h2><dl class="definition">"#);
    let _ = write!(
        s,
        "<div><dt>SLI</dt><dd>{}</dd></div><div><dt>Source</dt><dd>{}</dd></div><div><dt>Version</dt><dd>{}</dd></div>",
        esc(&d.sli),
        esc(&d.source),
        d.version
    );
    if !r.labels.is_empty() {
        let l: Vec<String> = r.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = write!(
            s,
            "<div><dt>Labels</dt><dd>{}</dd></div>",
            esc(&l.join(", "))
        );
    }
    s.push_str("</dl><ul class=\"queries\">");
    for q in &d.queries {
        let _ = write!(s, "<li><code>{}</code></li>", esc(q));
    }
    s.push_str("</ul>");
    if !d.versions.is_empty() {
        s.push_str(r#"<h3>Versions in the store</h3><table class="versions" id="versions"><thead><tr><th>Version</th><th>What it counted</th></tr></thead><tbody>"#);
        for (v, key) in &d.versions {
            let current = if *v == d.version { " (current)" } else { "" };
            let what: Vec<String> = describe_version(key)
                .into_iter()
                .map(|(k, q)| match q {
                    Some(q) => format!("{} <code>{}</code>", esc(&k), esc(&q)),
                    None => esc(&k),
                })
                .collect();
            let _ = write!(
                s,
                "<tr><td>{v}{current}</td><td>{}</td></tr>",
                what.join("<br>")
            );
        }
        s.push_str("</tbody></table>");
    }
    s.push_str("</section>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_definitions_read_as_their_queries() {
        let v = describe_version(r#"events|-|sel:x{code=~"5.."}|sel:x|60"#);
        assert_eq!(
            v,
            [
                ("bad".to_string(), Some(r#"x{code=~"5.."}"#.to_string())),
                ("total".to_string(), Some("x".to_string())),
                ("1m buckets".to_string(), None),
            ]
        );
        // LogQL's pipes stay inside their query.
        let v = describe_version(
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
        let v = describe_version("timeslice|avg(up)|Above(0.9)|5m|60");
        assert_eq!(v[0], ("query".to_string(), Some("avg(up)".to_string())));
        assert_eq!(v[1].0, "a 5m slice is good when the value is above 0.9");
        // What this version cannot split is shown whole.
        assert_eq!(describe_version("something|else")[0].0, "definition");
        assert_eq!(describe_version("events|a|b|60")[0].0, "definition");
    }
}
