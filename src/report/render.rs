//! The pure renderers of a [`Report`]: the JSON contract (the typed status the daemon's API
//! serves too, so scripts and `slowburn gate` read both the same way) and the table for people.

use super::Report;
use crate::status::SloStatus;
use crate::time::rfc3339;
use serde::Serialize;

/// The JSON contract of `report`: the instant and every SLO's typed status, serialized by serde,
/// so the report and the daemon's API cannot drift apart field by field.
#[derive(Debug, Clone, Serialize)]
pub struct ReportJson {
    /// Evaluation instant (RFC 3339).
    pub at: String,
    /// One status per SLO, in config order.
    pub slos: Vec<SloStatus>,
}

/// The JSON contract of `report`.
pub fn to_json(report: &Report) -> ReportJson {
    ReportJson {
        at: rfc3339(report.at),
        slos: report.slos.iter().map(|r| r.status()).collect(),
    }
}

/// A ratio as a percentage with `digits` decimals, `-` when unknown: every text report's cells.
pub(super) fn pct(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{:.*}%", digits, x * 100.0),
        _ => "-".into(),
    }
}

/// The table for people: one row per SLO and period; colours only when `color` (a terminal).
pub fn to_table(report: &Report, color: bool) -> String {
    let header = [
        "SLO",
        "OBJECTIVE",
        "PERIOD",
        "SLI",
        "BUDGET LEFT",
        "COVERAGE",
        "BURN 1h",
        "BURN 6h",
        "SLA",
    ];
    let rows = table_rows(report);
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for (row, _) in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String], remaining: Option<f64>| -> String {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            let padded = format!("{c:<w$}  ");
            if color && i == 4 && !c.is_empty() {
                let code = match remaining {
                    Some(x) if x < 0.0 => "31",
                    Some(x) if x < 0.25 => "33",
                    Some(_) => "32",
                    None => "0",
                };
                s.push_str(&format!("\x1b[{code}m{padded}\x1b[0m"));
            } else {
                s.push_str(&padded);
            }
        }
        s.trim_end().to_string()
    };
    let mut out = line(&header.map(String::from), None);
    out.push('\n');
    for (row, rem) in &rows {
        out.push_str(&line(row, *rem));
        out.push('\n');
    }
    for r in &report.slos {
        for e in &r.errors {
            out.push_str(&format!("warning: {}: {e}\n", r.slo.id));
        }
    }
    out
}

fn num_str(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{x:.2}"))
}

/// One row per SLO and period, with the remaining budget that colours it.
fn table_rows(report: &Report) -> Vec<(Vec<String>, Option<f64>)> {
    let mut rows: Vec<(Vec<String>, Option<f64>)> = Vec::new();
    for r in &report.slos {
        let burn = |i: usize| num_str(r.eval.burn.get(i).and_then(|b| b.2));
        for (k, p) in r.eval.periods.iter().enumerate() {
            let sla = match (&r.slo.sla, k) {
                (Some(s), 0) => match r.sla_sli {
                    Some(x) if x >= s.objective => format!("met ({})", pct(Some(s.objective), 2)),
                    Some(_) => format!("MISSED ({})", pct(Some(s.objective), 2)),
                    None => "-".into(),
                },
                _ => String::new(),
            };
            rows.push((
                vec![
                    if k == 0 {
                        r.slo.id.clone()
                    } else {
                        String::new()
                    },
                    if k == 0 {
                        pct(Some(r.slo.objective), 3)
                    } else {
                        String::new()
                    },
                    p.name(),
                    pct(p.sli, 3),
                    pct(p.remaining, 1),
                    pct(Some(p.sum.coverage()), 1),
                    burn(2),
                    burn(4),
                    sla,
                ],
                p.remaining,
            ));
        }
    }
    rows
}
