//! `slowburn report --calendar 2026-11` and the daemon's `/reports/{period}`: every SLO over one
//! calendar month, quarter or ISO week, whatever its own windows, as an SLA review reads it:
//! attainment, budget, coverage, excluded buckets, bad minutes, the alert episodes its policy
//! fires, the SLA, and roll-ups per service and per label value.
//!
//! The numbers come from the same place as every other report: [`super::build_with`] sums the
//! period's buckets as one window ending at the period's end (or now, for the current period), and
//! [`crate::backtest::run`] replays the SLO's policy, over its own periods, for the episodes. The
//! renderers (JSON, table, CSV, Markdown, a printable HTML page) are pure.

use super::Report;
use super::render::pct;
use crate::backtest::Episode;
use crate::budget::{WindowSum, grid_ceil};
use crate::calendar::{Period, parse_period};
use crate::config::{Config, Slo};
use crate::duration::Dur;
use crate::source::Sources;
use crate::status::finite;
use crate::time::rfc3339;
use crate::ui::html::{Html, html};
use chrono_tz::Tz;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Why a calendar report cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// The period is not written as one.
    #[error("{0}")]
    Period(String),
    /// The period has not begun.
    #[error("{label} begins at {from}: a report covers a past or the current period")]
    NotBegun {
        /// As given.
        label: String,
        /// Its start, RFC 3339.
        from: String,
    },
}

/// One SLO over the period.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The SLO (a grouped SLO's member).
    pub slo: Slo,
    /// The period in the SLO's time zone (or the one asked for).
    pub period: Period,
    /// The end of the summed buckets: the period's end, or now while it runs.
    pub through: i64,
    /// Its sums over `[from, through)`.
    pub sum: WindowSum,
    /// Buckets whose own SLI was below the objective.
    pub bad_buckets: u64,
    /// Bucket width in seconds.
    pub width: i64,
    /// The SLA's SLI over the period, if it has an SLA.
    pub sla_sli: Option<f64>,
    /// Alert episodes its policy fires on this history that were firing within the period (one
    /// may have fired before it began).
    pub incidents: Vec<Episode>,
    /// The first evaluation replayed: an episode firing there fired at an unknown earlier time.
    pub replayed_from: i64,
    /// Query failures that left buckets missing.
    pub errors: Vec<String>,
}

impl Entry {
    /// When an episode fired, `None` when it was firing already at the first evaluation replayed
    /// (three days before the period): it began earlier, nobody knows when from this history.
    pub fn fired(&self, e: &Episode) -> Option<i64> {
        (e.fired_at > self.replayed_from).then_some(e.fired_at)
    }

    /// Good / total over the period.
    pub fn sli(&self) -> Option<f64> {
        self.sum.sli()
    }
    /// Whether the SLI met the objective; `None` without traffic.
    pub fn objective_met(&self) -> Option<bool> {
        self.sli().map(|s| s >= self.slo.objective)
    }
    /// Minutes in buckets below the objective.
    pub fn bad_minutes(&self) -> f64 {
        self.bad_buckets as f64 * self.width as f64 / 60.0
    }
    /// Whether the SLA was met; `None` without an SLA or traffic.
    pub fn sla_met(&self) -> Option<bool> {
        let sla = self.slo.sla.as_ref()?;
        self.sla_sli.map(|s| s >= sla.objective)
    }
}

/// Events summed over several SLOs: their SLI weighted by events, not averaged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rollup {
    /// `service` or `label=value`.
    pub key: String,
    /// SLOs summed.
    pub slos: usize,
    /// SLOs that met their objective.
    pub met: usize,
    /// Good events.
    pub good: f64,
    /// All events.
    pub total: f64,
}

impl Rollup {
    /// Σgood / Σtotal.
    pub fn sli(&self) -> Option<f64> {
        (self.total > 0.0).then(|| self.good / self.total)
    }
}

/// A calendar report.
#[derive(Debug, Clone)]
pub struct CalendarReport {
    /// The period as given (`2026-11`).
    pub label: String,
    /// When it was made.
    pub generated_at: i64,
    /// One entry per SLO, in config order.
    pub entries: Vec<Entry>,
}

impl CalendarReport {
    /// Per service, in name order.
    pub fn by_service(&self) -> Vec<Rollup> {
        rollup(
            self.entries
                .iter()
                .map(|e| (e.slo.service.clone(), e))
                .collect(),
        )
    }

    /// Per value of every SLO label and group label (`team=web`), in order.
    pub fn by_label(&self) -> Vec<Rollup> {
        rollup(
            self.entries
                .iter()
                .flat_map(|e| {
                    e.slo
                        .labels
                        .iter()
                        .chain(e.slo.group.iter())
                        .map(move |(k, v)| (format!("{k}={v}"), e))
                        .collect::<Vec<_>>()
                })
                .collect(),
        )
    }
}

fn rollup(pairs: Vec<(String, &Entry)>) -> Vec<Rollup> {
    let mut out: BTreeMap<String, Rollup> = BTreeMap::new();
    for (key, e) in pairs {
        let r = out.entry(key.clone()).or_insert_with(|| Rollup {
            key,
            ..Rollup::default()
        });
        r.slos += 1;
        r.met += usize::from(e.objective_met().unwrap_or(false));
        r.good += e.sum.good;
        r.total += e.sum.total;
    }
    out.into_values().collect()
}

/// The SLOs of `config` over the calendar period `label`, in `tz` when given, else each SLO's
/// own time zone; `now` bounds the current period.
pub async fn build(
    config: &Config,
    sources: &Sources,
    label: &str,
    tz: Option<Tz>,
    now: i64,
) -> Result<CalendarReport, CalendarError> {
    let width = config.bucket.as_secs() as i64;
    // Checked before anything is asked, and named as people write it.
    let label = parse_period(label, Tz::UTC)
        .map_err(CalendarError::Period)?
        .label();
    let label = label.as_str();
    // SLOs of one zone share the period's bounds, so they are asked together.
    let mut zones: BTreeMap<&str, (Tz, Vec<usize>)> = BTreeMap::new();
    for (i, slo) in config.slos.iter().enumerate() {
        let zone = tz.unwrap_or(slo.timezone);
        zones
            .entry(zone.name())
            .or_insert((zone, Vec::new()))
            .1
            .push(i);
    }
    let mut entries: Vec<Option<Entry>> = vec![None; config.slos.len()];
    for (zone, members) in zones.into_values() {
        let period = parse_period(label, zone).map_err(CalendarError::Period)?;
        let from = grid_ceil(period.from, width);
        let through = crate::time::align(period.to.min(now), config.bucket);
        if through - from < width {
            return Err(CalendarError::NotBegun {
                label: label.to_string(),
                from: rfc3339(period.from),
            });
        }
        let span = Dur::from_secs((through - from) as u64);
        let mut sub = config.clone();
        sub.slos = members
            .iter()
            .map(|&i| {
                let mut s = config.slos[i].clone();
                s.periods = vec![span];
                s.calendars = Vec::new();
                s
            })
            .collect();
        let report: Report = super::build(&sub, sources, through).await;
        // The episodes are the daemon's: its policy over the SLO's own periods, not the span.
        let mut own = config.clone();
        own.slos = members.iter().map(|&i| config.slos[i].clone()).collect();
        // Replayed from 3 days before (the longest burn window), so an alert already firing
        // when the period begins shows when it really fired, not as fired at the start.
        let replay_from = from - crate::budget::BURN_WINDOWS[6].as_secs() as i64;
        let (episodes, _) = crate::backtest::run(&own, sources, replay_from, through).await;
        for (r, &i) in report.slos.into_iter().zip(&members) {
            let sum = r.eval.periods.first().map(|p| p.sum).unwrap_or_default();
            let incidents = episodes
                .iter()
                .filter(|e| {
                    e.slo == r.slo.id
                        && e.fired_at < through
                        && e.resolved_at.is_none_or(|t| t > from)
                })
                .cloned()
                .collect();
            entries[i] = Some(Entry {
                slo: config.slos[i].clone(),
                period,
                through,
                sum,
                bad_buckets: r.bad_buckets,
                width,
                sla_sli: r.sla_sli,
                incidents,
                replayed_from: replay_from,
                errors: r.errors,
            });
        }
    }
    Ok(CalendarReport {
        label: label.to_string(),
        generated_at: now,
        entries: entries.into_iter().flatten().collect(),
    })
}

fn rollup_json(r: &Rollup, field: &str) -> Value {
    json!({
        field: r.key,
        "slos": r.slos,
        "objectives_met": r.met,
        "good": r.good,
        "total": r.total,
        "sli": finite(r.sli()),
    })
}

/// The JSON contract: per SLO a `calendar` object, then the roll-ups.
pub fn to_json(r: &CalendarReport) -> Value {
    let slos: Vec<Value> = r
        .entries
        .iter()
        .map(|e| {
            let incidents: Vec<Value> = e
                .incidents
                .iter()
                .map(|x| {
                    json!({
                        "severity": x.severity.as_str(),
                        "rule": x.rule,
                        "fired": e.fired(x).map(rfc3339),
                        "began_before_period": x.fired_at < e.period.from,
                        "resolved": x.resolved_at.map(rfc3339),
                        "peak_burn": x.peak_burn_rate,
                    })
                })
                .collect();
            let sla = e.slo.sla.as_ref().map(
                |s| json!({"objective": s.objective, "sli": finite(e.sla_sli), "met": e.sla_met()}),
            );
            let group = (!e.slo.group.is_empty()).then(|| json!(e.slo.group));
            json!({
                "id": e.slo.id,
                "service": e.slo.service,
                "name": e.slo.name,
                "labels": e.slo.labels,
                "group": group,
                "objective": e.slo.objective,
                "errors": e.errors,
                "calendar": {
                    "period": r.label,
                    "timezone": e.period.calendar.tz.name(),
                    "from": rfc3339(e.period.from),
                    "to": rfc3339(e.period.to),
                    "through": rfc3339(e.through),
                    "complete": e.through >= e.period.to,
                    "good": e.sum.good,
                    "total": e.sum.total,
                    "sli": finite(e.sli()),
                    "objective_met": e.objective_met(),
                    "error_budget_remaining": finite(e.sum.remaining(e.slo.objective)),
                    "coverage": e.sum.coverage(),
                    "excluded_buckets": e.sum.excluded,
                    "bad_minutes": e.bad_minutes(),
                    "incidents": incidents,
                    "sla": sla,
                }
            })
        })
        .collect();
    json!({
        "period": r.label,
        "generated_at": rfc3339(r.generated_at),
        "slos": slos,
        "rollups": {
            "services": r.by_service().iter().map(|x| rollup_json(x, "service")).collect::<Vec<_>>(),
            "labels": r.by_label().iter().map(|x| rollup_json(x, "label")).collect::<Vec<_>>(),
        }
    })
}

fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "-",
    }
}

/// One row per SLO, the cells every text format shares.
fn rows(r: &CalendarReport) -> Vec<[String; 11]> {
    r.entries
        .iter()
        .map(|e| {
            [
                e.slo.id.clone(),
                pct(Some(e.slo.objective), 3),
                pct(e.sli(), 4),
                yes_no(e.objective_met()).into(),
                pct(e.sum.remaining(e.slo.objective), 1),
                pct(Some(e.sum.coverage()), 1),
                e.sum.excluded.to_string(),
                format!("{:.0}", e.bad_minutes()),
                e.incidents.len().to_string(),
                e.slo
                    .sla
                    .as_ref()
                    .map(|s| format!("{} {}", pct(Some(s.objective), 2), yes_no(e.sla_met())))
                    .unwrap_or_else(|| "-".into()),
                format!("{:.0}/{:.0}", e.sum.good, e.sum.total),
            ]
        })
        .collect()
}

const HEADER: [&str; 11] = [
    "SLO",
    "OBJECTIVE",
    "SLI",
    "MET",
    "BUDGET LEFT",
    "COVERAGE",
    "EXCLUDED",
    "BAD MIN",
    "INCIDENTS",
    "SLA",
    "GOOD/TOTAL",
];

/// Aligned columns for people.
pub fn to_table(r: &CalendarReport) -> String {
    let mut out = format!("{}\n", heading(r));
    let rows = rows(r);
    let mut w: Vec<usize> = HEADER.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (k, c) in row.iter().enumerate() {
            w[k] = w[k].max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(k, c)| format!("{c:<width$}", width = w[k]))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    out.push_str(&line(HEADER.to_vec()));
    for row in &rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// The period and its bounds, in words.
fn heading(r: &CalendarReport) -> String {
    match r.entries.first() {
        Some(e) => format!(
            "{} ({} to {}, {}{})",
            r.label,
            rfc3339(e.period.from),
            rfc3339(e.period.to),
            e.period.calendar.tz.name(),
            if e.through < e.period.to {
                format!(", so far: through {}", rfc3339(e.through))
            } else {
                String::new()
            }
        ),
        None => r.label.clone(),
    }
}

/// RFC 4180 CSV: one row per SLO with the JSON's fields.
pub fn to_csv(r: &CalendarReport) -> String {
    let field = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let num = |v: Option<f64>| finite(v).map(|x| x.to_string()).unwrap_or_default();
    let flag = |v: Option<bool>| v.map(|b| b.to_string()).unwrap_or_default();
    let mut out = String::from(
        "slo,service,name,period,timezone,from,to,through,good,total,sli,objective,objective_met,error_budget_remaining,coverage,excluded_buckets,bad_minutes,incidents,sla_objective,sla_sli,sla_met\r\n",
    );
    for e in &r.entries {
        let cells = [
            field(&e.slo.id),
            field(&e.slo.service),
            field(&e.slo.name),
            field(&r.label),
            e.period.calendar.tz.name().to_string(),
            rfc3339(e.period.from),
            rfc3339(e.period.to),
            rfc3339(e.through),
            e.sum.good.to_string(),
            e.sum.total.to_string(),
            num(e.sli()),
            e.slo.objective.to_string(),
            flag(e.objective_met()),
            num(e.sum.remaining(e.slo.objective)),
            e.sum.coverage().to_string(),
            e.sum.excluded.to_string(),
            e.bad_minutes().to_string(),
            e.incidents.len().to_string(),
            num(e.slo.sla.as_ref().map(|s| s.objective)),
            num(e.sla_sli),
            flag(e.sla_met()),
        ];
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

/// A Markdown table (GitHub's dialect), for a review document or a pull request.
pub fn to_markdown(r: &CalendarReport) -> String {
    let cell = |s: &str| s.replace('|', "\\|");
    let mut out = format!("## SLO report {}\n\n", cell(&heading(r)));
    out.push_str(&format!("| {} |\n", HEADER.join(" | ")));
    out.push_str(&format!("|{}\n", "---|".repeat(HEADER.len())));
    for row in rows(r) {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out.push_str(
        "\n### By service\n\n| SERVICE | SLOS | MET | SLI | GOOD/TOTAL |\n|---|---|---|---|---|\n",
    );
    for s in r.by_service() {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:.0}/{:.0} |\n",
            cell(&s.key),
            s.slos,
            s.met,
            pct(s.sli(), 4),
            s.good,
            s.total
        ));
    }
    out
}

const PRINT_CSS: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#111}h1{font-size:1.5em;margin:0 0 .2em}p.sub{color:#555;margin:0 0 1.5em}table{border-collapse:collapse;width:100%;margin-bottom:1.5em;page-break-inside:auto}tr{page-break-inside:avoid}th,td{border-bottom:1px solid #ccc;padding:.3em .5em;text-align:left;font-variant-numeric:tabular-nums}th{background:#f2f2f2}td.no{color:#b00;font-weight:600}td.yes{color:#060}h2{font-size:1.15em;margin:1.2em 0 .4em}ul{margin:.2em 0}@page{size:A4 landscape;margin:12mm}@media print{body{margin:0}}";

/// A printable, self-contained page (no script, no external style): what a browser prints to
/// PDF for an SLA review, and what the daemon serves at `/reports/{period}`.
pub fn to_html(r: &CalendarReport) -> String {
    let class = |v: Option<bool>| match v {
        Some(true) => Html::from_static("yes"),
        Some(false) => Html::from_static("no"),
        None => Html::new(),
    };
    let mut body = Html::new();
    for (e, row) in r.entries.iter().zip(rows(r)) {
        let cells = Html::join(
            row.iter().enumerate().map(|(k, c)| match k {
                3 => html! { "<td class=\"" (class(e.objective_met())) "\">" (c.as_str()) "</td>" },
                9 => html! { "<td class=\"" (class(e.sla_met())) "\">" (c.as_str()) "</td>" },
                _ => html! { "<td>" (c.as_str()) "</td>" },
            }),
            "",
        );
        body.push(&html! { "<tr data-slo=\"" (e.slo.id.as_str()) "\">" (cells) "</tr>" });
    }
    let head = Html::join(HEADER.iter().map(|h| html! { "<th>" (*h) "</th>" }), "");
    // One row per roll-up, by service and by label alike.
    let rollups = |list: Vec<Rollup>| {
        Html::join(
            list.iter().map(|s| {
            html! { "<tr><td>" (s.key.as_str()) "</td><td>" (s.slos) "</td><td>" (s.met) "</td><td>" (pct(s.sli(), 4)) "</td><td>" (format!("{:.0}/{:.0}", s.good, s.total)) "</td></tr>" }
            }),
            "",
        )
    };
    let (services, labels) = (rollups(r.by_service()), rollups(r.by_label()));
    let incidents = Html::join(
        r.entries.iter().flat_map(|e| {
            e.incidents.iter().map(move |x| {
                html! { "<tr><td>" (e.slo.id.as_str()) "</td><td>" (x.severity.as_str()) "</td><td>" (x.rule.as_str()) "</td><td>" (e.fired(x).map_or_else(|| format!("before {}", rfc3339(e.replayed_from)), rfc3339)) "</td><td>" (x.resolved_at.map(rfc3339).unwrap_or_else(|| "still firing".into())) "</td><td>" (format!("{:.1}x", x.peak_burn_rate)) "</td></tr>" }
            })
        }),
        "",
    );
    let page = html! {
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>SLO report "
        (r.label.as_str())
        "</title><style>" (Html::from_static(PRINT_CSS)) "</style></head><body>\n<h1>SLO report "
        (r.label.as_str()) "</h1><p class=\"sub\">" (heading(r)) " · generated " (rfc3339(r.generated_at))
        "</p>\n<table id=\"slos\"><thead><tr>" (head) "</tr></thead><tbody>" (body)
        "</tbody></table>\n<h2>By service</h2><table id=\"services\"><thead><tr><th>Service</th><th>SLOs</th><th>Objectives met</th><th>SLI (events)</th><th>Good/total</th></tr></thead><tbody>"
        (services)
        "</tbody></table>\n<h2>By label</h2><table id=\"labels\"><thead><tr><th>Label</th><th>SLOs</th><th>Objectives met</th><th>SLI (events)</th><th>Good/total</th></tr></thead><tbody>"
        (labels)
        "</tbody></table>\n<h2>Incidents</h2><table id=\"incidents\"><thead><tr><th>SLO</th><th>Severity</th><th>Rule</th><th>Fired</th><th>Resolved</th><th>Peak burn</th></tr></thead><tbody>"
        (incidents)
        "</tbody></table>\n</body></html>\n"
    };
    page.into_string()
}
