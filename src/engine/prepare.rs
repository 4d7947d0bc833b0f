//! Loading SLOs: each series' window is read from the store, the buckets it lacks are asked of
//! its source, and rolling sums are built. Runs at start, on reload (for new or changed SLOs)
//! and on a rebuild.

use super::tracked::{RECENT, Recent, Tracked, slo_windows};
use super::{Engine, SloState};
use crate::budget::{Bucket, Rolling, Series};
use crate::config::Slo;
use crate::duration::Dur;
use crate::maintenance::Maintenance;
use crate::source::{Ask, BucketRange, Counts, Source, SourceError};
use crate::store::keys::{Role, SeriesKey};
use crate::store::{CHUNK, Store, StoreError, Write};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;
use tracing::{info, warn};

/// SLO histories loaded at once during startup or reload.
const PREPARE_CONCURRENCY: usize = 16;

/// One series to load: what to ask, over which windows, and what to mask.
struct Plan {
    key: SeriesKey,
    ask: Ask,
    windows: Vec<Dur>,
    mask: Vec<Maintenance>,
    source: Result<Arc<dyn Source>, SourceError>,
}

impl Engine {
    /// Builds states for `slos`, reusing `keep` (by series key and windows) where possible.
    pub(super) async fn prepare_all(
        &self,
        slos: Vec<Slo>,
        at: i64,
        mut keep: HashMap<SeriesKey, Tracked>,
    ) -> Result<Vec<SloState>, StoreError> {
        let width = self.width();
        let store = Arc::clone(&self.shared.store);
        // Each preparation holds a whole window of buckets (about 2 MB for 30 days of minutes)
        // while it waits for the source; bound how many run at once so memory stays flat.
        let permits = Arc::new(tokio::sync::Semaphore::new(PREPARE_CONCURRENCY));
        let mut tasks = tokio::task::JoinSet::new();
        let mut reused: Vec<(Option<Tracked>, Option<Tracked>)> = Vec::new();
        for (i, slo) in slos.iter().enumerate() {
            let mut plans = vec![(false, self.plan_series(slo, Role::Slo, &slo.counts))];
            if let Some(spec) = slo.sla.as_ref().and_then(|s| s.counts.as_ref()) {
                plans.push((true, self.plan_series(slo, Role::Sla, spec)));
            }
            let mut found = [None, None];
            for (is_sla, plan) in plans {
                let kept = keep.remove(&plan.key).filter(|t| t.windows == plan.windows);
                if kept.is_some() {
                    found[usize::from(is_sla)] = kept;
                    continue;
                }
                let (store, permits) = (Arc::clone(&store), Arc::clone(&permits));
                tasks.spawn(async move {
                    let _permit = permits.acquire_owned().await;
                    (i, is_sla, prepare(&store, plan, at, width).await)
                });
            }
            let [main, sla] = found;
            reused.push((main, sla));
        }
        let mut fresh: HashMap<(usize, bool), Tracked> = HashMap::new();
        let mut failed: HashMap<usize, String> = HashMap::new();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((i, is_sla, Ok((t, error)))) => {
                    // A long backfill is progress, not a stall: `/healthz` stays green through it.
                    self.shared.health.beat();
                    fresh.insert((i, is_sla), t);
                    if let Some(e) = error {
                        failed.insert(i, e);
                    }
                }
                Ok((_, _, Err(e))) => return Err(e),
                Err(e) => {
                    return Err(StoreError::Db {
                        path: String::new(),
                        message: format!("backfill task failed: {e}"),
                    });
                }
            }
        }
        let mut out = Vec::with_capacity(slos.len());
        let mut per_service: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, ((main, sla), slo)) in reused.into_iter().zip(&slos).enumerate() {
            let Some(main) = main.or_else(|| fresh.remove(&(i, false))) else {
                continue;
            };
            let sla = sla.or_else(|| fresh.remove(&(i, true)));
            *per_service.entry(slo.service.as_str()).or_default() += 1;
            out.push(SloState {
                slo: Arc::new(slo.clone()),
                main,
                sla,
                last_error: failed.remove(&i),
            });
        }
        for (service, n) in per_service {
            info!(service, slos = n, "service ready");
        }
        Ok(out)
    }

    fn plan_series(&self, slo: &Slo, role: Role, spec: &crate::config::CountSpec) -> Plan {
        let key = SeriesKey::new(&slo.id, spec, self.width(), role);
        let windows = match role {
            Role::Slo => slo_windows(slo),
            Role::Sla => vec![slo.periods[0]],
        };
        Plan {
            key,
            ask: Ask {
                slo: slo.id.clone(),
                spec: spec.clone(),
                role,
            },
            windows,
            mask: self.config.maintenance_for(slo),
            source: self.sources.for_slo(slo).cloned(),
        }
    }
}

/// Loads one series' window from the store, queries its missing buckets and builds rolling sums.
/// Also returns the last failed query's message, if any.
async fn prepare(
    store: &Store,
    plan: Plan,
    at: i64,
    width: i64,
) -> Result<(Tracked, Option<String>), StoreError> {
    let t0 = Instant::now();
    let slo_id = plan.ask.slo.as_str();
    let series = store.series_id(plan.key.as_str())?;
    let longest = plan
        .windows
        .iter()
        .copied()
        .max()
        .unwrap_or(Dur::from_secs(0));
    let span = longest.as_secs() as i64;
    let start = at - span;
    let n = (span / width) as usize;
    let mut stored = store.get(series, start, width, n)?;
    let mut holes = Vec::new();
    for (s, e) in super::ranges::missing(
        stored.iter().map(|b| !matches!(b, Bucket::Missing)),
        start,
        width,
    ) {
        super::ranges::add(&mut holes, s, e, CHUNK as i64 * width);
    }
    let Fill {
        heal,
        fetched,
        writes,
        errors,
        last_error,
        unknown_until,
    } = fill(&plan, holes, &mut stored, start, width).await;
    let w: Vec<Write<'_>> = writes
        .iter()
        .map(|(s, b)| Write {
            series,
            start: *s,
            width,
            buckets: b,
        })
        .collect();
    store.put_many(&w)?;
    let known = stored
        .iter()
        .filter(|b| matches!(b, Bucket::Known { .. }))
        .count();
    let series_sums = Series::from_buckets(start, Dur::from_secs(width as u64), &stored);
    let rolling = Rolling::from_series(&series_sums, at, &plan.windows);
    let recent = Recent {
        end: at,
        width,
        buckets: stored[stored.len().saturating_sub(RECENT)..]
            .iter()
            .copied()
            .collect(),
    };
    info!(
        slo = slo_id,
        fetched_buckets = fetched,
        coverage = known as f64 / n.max(1) as f64,
        failed_queries = errors,
        took_ms = t0.elapsed().as_millis() as u64,
        "history loaded"
    );
    Ok((
        Tracked {
            key: plan.key,
            series,
            ask: plan.ask,
            windows: plan.windows,
            span,
            rolling,
            heal,
            recent,
            cold: Vec::new(),
            unknown_until,
        },
        last_error,
    ))
}

/// What [`fill`] fetched for one series' holes.
struct Fill {
    heal: Vec<(i64, i64)>,
    fetched: usize,
    writes: Vec<(i64, Vec<Bucket>)>,
    errors: usize,
    /// The last failure's message, shown with the SLO until a tick succeeds.
    last_error: Option<String>,
    /// End of the newest range the source cannot know (before the data it holds).
    unknown_until: Option<i64>,
}

/// Asks the source for each hole of `stored` (which starts at `start`), masks maintenance, and
/// fills in what came back; failed ranges are returned to heal later.
async fn fill(
    plan: &Plan,
    holes: Vec<(i64, i64)>,
    stored: &mut [Bucket],
    start: i64,
    width: i64,
) -> Fill {
    let slo_id = plan.ask.slo.as_str();
    let mut heal = Vec::new();
    let mut fetched = 0usize;
    let mut writes: Vec<(i64, Vec<Bucket>)> = Vec::new();
    let mut errors = 0usize;
    let mut last_error = None;
    let mut unknown_until: Option<i64> = None;
    for (s, e) in holes {
        let range = BucketRange {
            start: s,
            count: ((e - s) / width) as usize,
            width,
        };
        let mut counts = match &plan.source {
            Ok(source) => source.counts(&plan.ask, range).await,
            Err(e) => Counts::failed(range, e.clone()),
        };
        crate::maintenance::mask(&plan.mask, s, width, &mut counts.buckets);
        for (k, b) in counts.buckets.iter().enumerate() {
            let idx = ((s - start) / width) as usize + k;
            if let (Bucket::Known { .. } | Bucket::Excluded, Some(slot)) = (b, stored.get_mut(idx))
            {
                *slot = *b;
                fetched += 1;
            }
        }
        for &(fs, fe) in &counts.failed {
            super::ranges::add(&mut heal, fs, fe, CHUNK as i64 * width);
        }
        let newest_unknown = counts.unknown.iter().map(|r| r.1).max();
        unknown_until = unknown_until.max(newest_unknown);
        errors += counts.errors.len();
        if let Some(e) = counts.errors.first() {
            warn!(slo = slo_id, error = %e, "backfill query failed; buckets stay missing until healed");
            last_error = Some(e.to_string());
        }
        writes.push((s, counts.buckets));
    }
    Fill {
        heal,
        fetched,
        writes,
        errors,
        last_error,
        unknown_until,
    }
}
