//! `slowburn report`: one evaluation of every SLO at one instant, as JSON (a contract for scripts)
//! or as a table (for people).
//!
//! JSON shape: `{"at", "slos": [SloStatus]}` ([`crate::status::SloStatus`]: `{"id", "service",
//! "name", "objective", "periods": {"30d": {"good", "total", "sli", "error_budget_remaining",
//! "coverage", "excluded_buckets", "time_to_exhaustion_seconds"}}, "burn_rates": {"5m", …, "3d"},
//! "coverage": {"5m", …}, "rules": [{"severity", "name", "long", "short", "factor", …, "holds"}],
//! "sla": {"objective", "sli", "met"}, "errors": […]}`). Counts are events; undefined values (no
//! traffic, no data) are `null`.

pub mod render;

pub use render::{ReportJson, to_json, to_table};

use crate::budget::{self, Evaluation, Series};
use crate::config::{Config, Slo};
use crate::duration::Dur;
use crate::maintenance::Maintenance;
use crate::source::{Ask, BucketRange, Source, Sources};
use crate::status::{self, RuleStatus, SloStatus};
use crate::store::keys::Role;
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
    /// The SLO's own burn-rate rules evaluated over the fetched history: what the gate reads as
    /// "a page-level burn", by the same test the daemon alerts with.
    pub rules: Vec<RuleStatus>,
    /// Query failures that left buckets missing.
    pub errors: Vec<String>,
}

impl SloReport {
    /// The typed status of this SLO (no alerts: `report` tracks none), the contract of
    /// `report --format json` and what the gate decides on.
    pub fn status(&self) -> SloStatus {
        status::build(
            &self.slo,
            &self.eval,
            self.rules.clone(),
            self.sla_sli,
            self.errors.clone(),
            None,
        )
    }
}

/// The whole report.
#[derive(Debug, Clone)]
pub struct Report {
    /// Evaluation instant (unix seconds, a bucket boundary).
    pub at: i64,
    /// One entry per SLO, in config order.
    pub slos: Vec<SloReport>,
}

/// Fetches the history every SLO needs (its longest period before `at`) and evaluates it.
pub async fn build(config: &Config, sources: &Sources, at: i64) -> Report {
    let width = config.bucket.as_secs() as i64;
    let mut tasks = tokio::task::JoinSet::new();
    let mut unsourced: Vec<(usize, String)> = Vec::new();
    for (i, slo) in config.slos.iter().enumerate() {
        let source = match sources.for_slo(slo) {
            Ok(s) => Arc::clone(s),
            Err(e) => {
                unsourced.push((i, e.to_string()));
                continue;
            }
        };
        let slo = slo.clone();
        let mask = config.maintenance_for(&slo);
        tasks.spawn(async move { (i, evaluate_one(slo, source, mask, at, width).await) });
    }
    let mut slos: Vec<Option<SloReport>> = vec![None; config.slos.len()];
    while let Some(joined) = tasks.join_next().await {
        if let Ok((i, r)) = joined {
            slos[i] = Some(r);
        }
    }
    // A task that panicked, or an SLO whose source is not there, still yields its SLO, with
    // every bucket unknown and the reason.
    let slos = slos
        .into_iter()
        .zip(&config.slos)
        .enumerate()
        .map(|(i, (r, slo))| {
            r.unwrap_or_else(|| {
                let empty = Series::new(at, config.bucket);
                SloReport {
                    slo: slo.clone(),
                    eval: budget::evaluate(&empty, slo.objective, &slo.periods, at),
                    sla_sli: None,
                    rules: status::rules(&slo.policy, slo.objective, |w| empty.window(at, w)),
                    errors: vec![
                        unsourced
                            .iter()
                            .find(|(k, _)| *k == i)
                            .map(|(_, e)| e.clone())
                            .unwrap_or_else(|| "internal error while evaluating this SLO".into()),
                    ],
                }
            })
        })
        .collect();
    Report { at, slos }
}

/// One SLO: its history from its source (the longest period, and at least the 3 days the burn
/// windows need), maintenance masked, evaluated at `at`; an SLA with its own counts is fetched too.
async fn evaluate_one(
    slo: Slo,
    source: Arc<dyn Source>,
    mask: Vec<Maintenance>,
    at: i64,
    width: i64,
) -> SloReport {
    let longest = slo
        .periods
        .iter()
        .copied()
        .max()
        .unwrap_or(Dur::from_secs(30 * 86400));
    let span = longest.max(Dur::from_secs(3 * 86400));
    let count = (span.as_secs() as i64 / width) as usize;
    let range = BucketRange::ending_at(at, count, width);
    let fetch = |ask: Ask| {
        let (source, mask) = (Arc::clone(&source), &mask);
        async move {
            let mut c = source.counts(&ask, range).await;
            crate::maintenance::mask(mask, range.start, width, &mut c.buckets);
            let series =
                Series::from_buckets(range.start, Dur::from_secs(width as u64), &c.buckets);
            (series, c.errors)
        }
    };
    let (series, errs) = fetch(Ask::slo(&slo)).await;
    let eval = budget::evaluate(&series, slo.objective, &slo.periods, at);
    let rules = status::rules(&slo.policy, slo.objective, |w| series.window(at, w));
    let mut errors: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    let sla_sli = match slo.sla.as_ref().map(|s| s.counts.clone()) {
        None => None,
        Some(None) => eval.periods.first().and_then(|p| p.sli),
        Some(Some(spec)) => {
            let ask = Ask {
                slo: slo.id.clone(),
                spec,
                role: Role::Sla,
            };
            let (s, errs) = fetch(ask).await;
            errors.extend(errs.iter().map(|e| e.to_string()));
            s.window(at, slo.periods[0]).sli()
        }
    };
    SloReport {
        slo,
        eval,
        sla_sli,
        rules,
        errors,
    }
}
