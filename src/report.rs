//! `slowburn report`: one evaluation of every SLO at one instant, as JSON (a contract for scripts)
//! or as a table (for people).
//!
//! JSON shape: `{"at", "slos": [{"id", "service", "name", "objective", "periods": {"30d": {"good",
//! "total", "sli", "error_budget_remaining", "coverage", "time_to_exhaustion_seconds"}}, "burn_rates":
//! {"5m", …, "3d"}, "coverage": {"5m", …}, "sla": {"objective", "sli", "met"}, "errors": […]}]}`.
//! Counts are events; undefined values (no traffic, no data) are `null`.

use crate::budget::{self, Evaluation, Series};
use crate::config::{Config, Slo};
use crate::duration::Dur;
use crate::source::BucketRange;
use crate::source::prometheus::PrometheusSource;
use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use std::sync::Arc;

/// One SLO's evaluation plus what went wrong while fetching it.
#[derive(Debug, Clone)]
pub struct SloReport {
    /// The SLO as configured.
    pub slo: Slo,
    /// The numbers.
    pub eval: Evaluation,
    /// SLI over the first period for the SLA's own counts (or the SLO's), if an SLA is set.
    pub sla_sli: Option<f64>,
    /// Query failures that left buckets missing.
    pub errors: Vec<String>,
}

/// The whole report.
#[derive(Debug, Clone)]
pub struct Report {
    /// Evaluation instant (unix seconds, a bucket boundary).
    pub at: i64,
    /// One entry per SLO, in config order.
    pub slos: Vec<SloReport>,
}

/// Rounds a unix time down to a bucket boundary.
pub fn align(t: i64, bucket: Dur) -> i64 {
    let w = bucket.as_secs().max(1) as i64;
    t.div_euclid(w) * w
}

/// Fetches the history every SLO needs (its longest period before `at`) and evaluates it.
pub async fn build(config: &Config, source: &Arc<PrometheusSource>, at: i64) -> Report {
    let width = config.bucket.as_secs() as i64;
    let mut tasks = tokio::task::JoinSet::new();
    for (i, slo) in config.slos.iter().enumerate() {
        let (slo, source) = (slo.clone(), Arc::clone(source));
        let mask = config.maintenance_for(&slo);
        tasks.spawn(async move {
            let longest = slo
                .periods
                .iter()
                .copied()
                .max()
                .unwrap_or(Dur::from_secs(30 * 86400));
            // Burn windows reach back 3 days even when the SLO's period is shorter.
            let span = longest.max(Dur::from_secs(3 * 86400));
            let count = (span.as_secs() as i64 / width) as usize;
            let range = BucketRange::ending_at(at, count, width);
            let mut counts = source.counts(&slo.counts, range).await;
            crate::maintenance::mask(&mask, range.start, width, &mut counts.buckets);
            let series =
                Series::from_buckets(range.start, Dur::from_secs(width as u64), &counts.buckets);
            let eval = budget::evaluate(&series, slo.objective, &slo.periods, at);
            let mut errors: Vec<String> = counts.errors.iter().map(|e| e.to_string()).collect();
            let sla_sli = match &slo.sla {
                None => None,
                Some(sla) => match &sla.counts {
                    None => eval.periods.first().and_then(|p| p.sli),
                    Some(spec) => {
                        let mut c = source.counts(spec, range).await;
                        crate::maintenance::mask(&mask, range.start, width, &mut c.buckets);
                        errors.extend(c.errors.iter().map(|e| e.to_string()));
                        let s = Series::from_buckets(
                            range.start,
                            Dur::from_secs(width as u64),
                            &c.buckets,
                        );
                        s.window(at, slo.periods[0]).sli()
                    }
                },
            };
            (
                i,
                SloReport {
                    slo,
                    eval,
                    sla_sli,
                    errors,
                },
            )
        });
    }
    let mut slos: Vec<Option<SloReport>> = vec![None; config.slos.len()];
    while let Some(joined) = tasks.join_next().await {
        if let Ok((i, r)) = joined {
            slos[i] = Some(r);
        }
    }
    // A task that panicked still yields its SLO, with every bucket unknown and the reason.
    let slos = slos
        .into_iter()
        .zip(&config.slos)
        .map(|(r, slo)| {
            r.unwrap_or_else(|| SloReport {
                slo: slo.clone(),
                eval: budget::evaluate(
                    &Series::new(at, config.bucket),
                    slo.objective,
                    &slo.periods,
                    at,
                ),
                sla_sli: None,
                errors: vec!["internal error while evaluating this SLO".into()],
            })
        })
        .collect();
    Report { at, slos }
}

fn num(v: Option<f64>) -> Value {
    v.filter(|x| x.is_finite())
        .map_or(Value::Null, |x| json!(x))
}

/// RFC 3339 (seconds, `Z`) of a unix time, as every JSON timestamp of slowburn is written.
pub fn rfc3339(t: i64) -> String {
    Utc.timestamp_opt(t, 0)
        .single()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// One SLO as JSON: the shape shared by `report --format json` and the daemon's API, so scripts
/// (and `slowburn gate`) read both the same way.
pub fn slo_json(slo: &Slo, eval: &Evaluation, sla_sli: Option<f64>, errors: &[String]) -> Value {
    let mut periods = serde_json::Map::new();
    for p in &eval.periods {
        periods.insert(
            p.period.to_string(),
            json!({
                "good": p.sum.good,
                "total": p.sum.total,
                "sli": num(p.sli),
                "error_budget_remaining": num(p.remaining),
                "coverage": p.sum.coverage(),
                "excluded_buckets": p.sum.excluded,
                "time_to_exhaustion_seconds": {"1h": num(p.exhaustion_1h), "6h": num(p.exhaustion_6h)},
            }),
        );
    }
    let mut burn = serde_json::Map::new();
    let mut coverage = serde_json::Map::new();
    for (w, sum, rate) in &eval.burn {
        burn.insert(w.to_string(), num(*rate));
        coverage.insert(w.to_string(), json!(sum.coverage()));
    }
    let mut o = json!({
        "id": slo.id,
        "service": slo.service,
        "name": slo.name,
        "objective": slo.objective,
        "periods": periods,
        "burn_rates": burn,
        "coverage": coverage,
        "errors": errors,
    });
    if let Some(sla) = &slo.sla {
        o["sla"] = json!({
            "objective": sla.objective,
            "sli": num(sla_sli),
            "met": sla_sli.map(|s| s >= sla.objective),
        });
    }
    o
}

/// The JSON contract of `report`.
pub fn to_json(report: &Report) -> Value {
    let slos: Vec<Value> = report
        .slos
        .iter()
        .map(|r| slo_json(&r.slo, &r.eval, r.sla_sli, &r.errors))
        .collect();
    json!({"at": rfc3339(report.at), "slos": slos})
}

fn pct(v: Option<f64>, digits: usize) -> String {
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
                    p.period.to_string(),
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
