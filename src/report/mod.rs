//! `slowburn report`: one evaluation of every SLO at one instant, as JSON (a contract for scripts)
//! or as a table (for people).
//!
//! JSON shape: `{"at", "slos": [SloStatus]}` ([`crate::status::SloStatus`]: `{"id", "service",
//! "name", "objective", "periods": {"30d": {"good", "total", "sli", "error_budget_remaining",
//! "coverage", "excluded_buckets", "time_to_exhaustion_seconds"}}, "burn_rates": {"5m", …, "3d"},
//! "coverage": {"5m", …}, "rules": [{"severity", "name", "long", "short", "factor", …, "holds"}],
//! "sla": {"objective", "sli", "met"}, "errors": […]}`). Counts are events; undefined values (no
//! traffic, no data) are `null`.

pub mod calendar;
pub mod render;

pub use render::{ReportJson, to_json, to_table};

use crate::budget::{self, Bucket, Evaluation, Series};
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
    /// Buckets of its first period whose own SLI is below the objective: the "bad minutes" of
    /// a calendar report, at the bucket's width.
    pub bad_buckets: u64,
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

/// Buckets per piece of history asked at once: about one Prometheus request (its 11,000-point
/// limit), so the report folds a piece into window sums and drops it before the next.
const PIECE: usize = crate::store::CHUNK * 150;
/// Buckets held at once per call (a piece of many SLOs): bounds memory for any number of SLOs.
const CALL_BUCKETS: usize = 1_400_000;
/// Pieces being asked at once.
const IN_FLIGHT: usize = 3;

/// What one SLO (or its SLA's own counts) is summed over.
struct Target {
    slo: usize,
    ask: Ask,
    span: i64,
    /// Calendar periods summed from their start.
    calendars: Vec<crate::calendar::Calendar>,
    /// Where its first period begins and its objective: buckets there below the objective are
    /// counted as bad (the SLO's own counts only).
    bad_from: Option<(i64, f64)>,
    windows: Vec<Dur>,
    mask: Vec<Maintenance>,
    source: Arc<dyn Source>,
}

/// Fetches the history every SLO needs (its longest period before `at`) and evaluates it.
pub async fn build(config: &Config, sources: &Sources, at: i64) -> Report {
    build_with(config, sources, at, &|_, _| {}).await
}

/// [`build`], calling `progress(buckets answered, buckets to ask)` as answers come (a progress
/// bar on a terminal).
///
/// SLOs of one source over the same span are asked together, a piece of history at a time: the
/// source batches their selectors (one request for 64 selectors, identical ones once) and each
/// piece is folded into window sums and dropped, so memory stays flat whatever the number of SLOs
/// and the length of their periods.
pub async fn build_with(
    config: &Config,
    sources: &Sources,
    at: i64,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Report {
    let width = config.bucket.as_secs() as i64;
    let mut targets: Vec<Target> = Vec::new();
    let mut unsourced: Vec<(usize, String)> = Vec::new();
    for (i, slo) in config.slos.iter().enumerate() {
        let source = match sources.for_slo(slo) {
            Ok(s) => Arc::clone(s),
            Err(e) => {
                unsourced.push((i, e.to_string()));
                continue;
            }
        };
        // A calendar period reaches back to its start.
        let elapsed = slo.calendars.iter().map(|c| {
            let from = budget::grid_ceil(c.period_at(at).from, width);
            Dur::from_secs((at - from).max(0) as u64)
        });
        let longest = slo
            .periods
            .iter()
            .copied()
            .chain(elapsed)
            .max()
            .unwrap_or(Dur::from_secs(30 * 86400));
        let span = longest.max(Dur::from_secs(3 * 86400)).as_secs() as i64;
        let mut windows: Vec<Dur> = budget::BURN_WINDOWS.to_vec();
        windows.extend(slo.periods.iter().copied());
        windows.extend(slo.policy.windows());
        windows.sort();
        windows.dedup();
        let mask = config.maintenance_for(slo);
        targets.push(Target {
            slo: i,
            ask: Ask::slo(slo),
            span,
            calendars: slo.calendars.clone(),
            bad_from: Some((at - slo.periods[0].as_secs() as i64, slo.objective)),
            windows,
            mask: mask.clone(),
            source: Arc::clone(&source),
        });
        if let Some(spec) = slo.sla.as_ref().and_then(|s| s.counts.clone()) {
            targets.push(Target {
                slo: i,
                ask: Ask {
                    slo: slo.id.as_str().into(),
                    spec: Arc::new(spec),
                    role: Role::Sla,
                },
                span,
                calendars: Vec::new(),
                bad_from: None,
                windows: vec![slo.periods[0]],
                mask,
                source,
            });
        }
    }
    let empty = Series::new(at, config.bucket);
    let mut sums: Vec<budget::Rolling> = targets
        .iter()
        .map(|t| {
            budget::Rolling::from_series(&empty, at, &t.windows)
                .with_calendars(&t.calendars, |_| budget::WindowSum::default())
        })
        .collect();
    let mut errors: Vec<Vec<String>> = vec![Vec::new(); targets.len()];
    let mut bad: Vec<u64> = vec![0; targets.len()];
    // Calls: targets of one source and span, as many as a call may hold, asked piece by piece.
    let mut groups: std::collections::BTreeMap<(String, i64), Vec<usize>> = Default::default();
    for (k, t) in targets.iter().enumerate() {
        groups
            .entry((t.source.name().to_string(), t.span))
            .or_default()
            .push(k);
    }
    let mut calls: Vec<(Vec<usize>, BucketRange)> = Vec::new();
    let mut total = 0u64;
    for ((_, span), members) in groups {
        let start = at - span;
        let count = (span / width) as usize;
        for call in members.chunks((CALL_BUCKETS / PIECE).max(1)) {
            let mut done = 0;
            while done < count {
                let n = PIECE.min(count - done);
                calls.push((
                    call.to_vec(),
                    BucketRange {
                        start: start + done as i64 * width,
                        count: n,
                        width,
                    },
                ));
                total += (n * call.len()) as u64;
                done += n;
            }
        }
    }
    let targets = Arc::new(targets);
    let permits = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let mut tasks = tokio::task::JoinSet::new();
    for (members, range) in calls {
        let (targets, permits) = (Arc::clone(&targets), Arc::clone(&permits));
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let asks: Vec<Ask> = members.iter().map(|k| targets[*k].ask.clone()).collect();
            let counts = targets[members[0]].source.counts_many(&asks, range).await;
            (members, range, counts)
        });
    }
    let mut answered = 0u64;
    let mut lost: Vec<String> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (members, range, counts) = match joined {
            Ok(r) => r,
            Err(e) => {
                lost.push(format!("a query task failed: {e}"));
                continue;
            }
        };
        let missing = vec![Bucket::Missing; range.count];
        for (k, mut c) in members.iter().copied().zip(counts) {
            crate::maintenance::mask(&targets[k].mask, range.start, width, &mut c.buckets);
            if let Some((from, objective)) = targets[k].bad_from {
                bad[k] += c
                    .buckets
                    .iter()
                    .enumerate()
                    .filter(|(j, b)| {
                        range.start + *j as i64 * width >= from
                            && matches!(b, Bucket::Known { good, total } if *total > 0.0 && good / total < objective)
                    })
                    .count() as u64;
            }
            sums[k].replace(
                range.start,
                &missing[..c.buckets.len().min(range.count)],
                &c.buckets,
            );
            errors[k].extend(c.errors.iter().map(|e| e.to_string()));
        }
        answered += (members.len() * range.count) as u64;
        progress(answered, total);
    }
    let mut main: Vec<Option<usize>> = vec![None; config.slos.len()];
    let mut sla: Vec<Option<usize>> = vec![None; config.slos.len()];
    for (k, t) in targets.iter().enumerate() {
        match t.ask.role {
            Role::Sla => sla[t.slo] = Some(k),
            _ => main[t.slo] = Some(k),
        }
    }
    let slos = config
        .slos
        .iter()
        .enumerate()
        .map(|(i, slo)| {
            let Some(k) = main[i] else {
                // An SLO whose source is not there still yields its SLO, every bucket unknown.
                return SloReport {
                    slo: slo.clone(),
                    eval: budget::evaluate(&empty, slo.objective, &slo.periods, at),
                    sla_sli: None,
                    rules: status::rules(&slo.policy, slo.objective, |w| empty.window(at, w)),
                    bad_buckets: 0,
                    errors: vec![
                        unsourced
                            .iter()
                            .find(|(j, _)| *j == i)
                            .map(|(_, e)| e.clone())
                            .unwrap_or_else(|| "internal error while evaluating this SLO".into()),
                    ],
                };
            };
            let eval = sums[k].evaluate(slo.objective, &slo.periods);
            let rules = status::rules(&slo.policy, slo.objective, |w| sums[k].window(w));
            let mut errs = std::mem::take(&mut errors[k]);
            let sla_sli = match (&slo.sla, sla[i]) {
                (None, _) => None,
                (Some(_), Some(j)) => {
                    errs.extend(std::mem::take(&mut errors[j]));
                    sums[j].window(slo.periods[0]).sli()
                }
                (Some(_), None) => eval.periods.first().and_then(|p| p.sli),
            };
            errs.extend(lost.iter().cloned());
            SloReport {
                slo: slo.clone(),
                eval,
                sla_sli,
                rules,
                errors: errs,
                bad_buckets: bad[k],
            }
        })
        .collect();
    Report { at, slos }
}
