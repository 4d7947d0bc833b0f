//! Loading SLOs: at start, on reload (for new or changed SLOs) and on a rebuild.
//!
//! Two phases. First each series' state is read from the store: its running totals
//! ([`super::checkpoint`], one row) and newest buckets when they are there and still match its
//! windows, else every bucket of its longest window (the first start after an upgrade, after a
//! repair or a damaged read). Then what is missing is asked of the sources in batches: every
//! series with the same range to fill (after a restart, the minutes the daemon was down) in one
//! batched call per source, as the tick does, never one request per SLO; long ranges (a first
//! start) in calls small enough that memory stays flat. Each call's buckets are committed with the
//! running totals they give, so a load cut short resumes where it stopped.

use super::checkpoint;
use super::sanity::SanityState;
use super::tick::absorb;
use super::tracked::{ColdPlan, RECENT, Recent, Tracked, cache_cold, slo_windows};
use super::{Engine, SloState};
use crate::budget::{Bucket, Rolling, Series};
use crate::config::Slo;
use crate::duration::Dur;
use crate::maintenance::Maintenance;
use crate::source::sanity::Sanity;
use crate::source::{Ask, BucketRange, Counts, Source, SourceError};
use crate::store::keys::{Role, SeriesKey};
use crate::store::{CHUNK, Store, StoreError, Write};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::{debug, info, warn};

/// Series read from the store by one blocking task.
const LOAD_BATCH: usize = 512;
/// Buckets asked of a source in one batched call while loading: bounds the memory of a first
/// start (about 33 MB of buckets a call) whatever the number of SLOs, while 30 days of 32 SLOs
/// (64 selectors) still fill Prometheus's batched requests.
const CALL_BUCKETS: usize = 1_400_000;
/// Batched calls in flight at once while loading (each source still bounds its requests).
const CALLS_IN_FLIGHT: usize = 2;
/// How often a long load says how far it is.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// Most series loaded at once whose `history loaded` lines are logged at info; beyond, at debug.
const HISTORY_LINES_AT_INFO: usize = 100;

/// One series to load: what to ask, over which windows, and what to mask.
#[derive(Clone)]
struct Plan {
    key: SeriesKey,
    ask: Ask,
    windows: Vec<Dur>,
    /// Its calendar periods (the SLO's; none for an SLA's own counts).
    calendars: Vec<crate::calendar::Calendar>,
    mask: Vec<Maintenance>,
    /// The corrections' windows: applied to what the sums count, never to what is stored.
    corrections: Vec<Maintenance>,
    source: Result<Arc<dyn Source>, SourceError>,
}

/// A range to ask of the source for one series. What the sums count there is what the store
/// holds (read when the answer comes, so a load never holds a month of buckets per series).
struct Hole {
    start: i64,
    count: usize,
    /// A failed range asked again (it leaves the series' heal list once answered).
    heal: bool,
}

/// A loaded series with its last error and what its answers showed.
type Loaded = (Tracked, Option<String>, Sanity);

/// One series between the two phases.
struct Loading {
    slot: (usize, bool),
    tracked: Tracked,
    mask: Vec<Maintenance>,
    source: Result<Arc<dyn Source>, SourceError>,
    holes: Vec<Hole>,
    /// Holes not answered yet; the running totals are stored once this is 0.
    open: usize,
    from_sums: bool,
    fetched: usize,
    errors: usize,
    last_error: Option<String>,
    /// What its answers showed that counts cannot mean.
    sanity: Sanity,
    took: Duration,
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
        let mut reused: Vec<(Option<Tracked>, Option<Tracked>)> = Vec::new();
        let mut plans: Vec<((usize, bool), Plan)> = Vec::new();
        for (i, slo) in slos.iter().enumerate() {
            let mut wanted = vec![(false, self.plan_series(slo, Role::Slo, &slo.counts))];
            if let Some(spec) = slo.sla.as_ref().and_then(|s| s.counts.as_ref()) {
                wanted.push((true, self.plan_series(slo, Role::Sla, spec)));
            }
            let mut found = [None, None];
            for (is_sla, plan) in wanted {
                // Kept only when it sums the same periods under the same corrections: a changed
                // calendar period or time zone reaches back elsewhere and is summed again.
                let same = |t: &Tracked| {
                    t.windows == plan.windows
                        && t.mask == plan.corrections
                        && t.rolling
                            .calendars()
                            .iter()
                            .map(|c| c.period.calendar)
                            .eq(plan.calendars.iter().copied())
                };
                match keep.remove(&plan.key).filter(same) {
                    Some(kept) => found[usize::from(is_sla)] = Some(kept),
                    None => plans.push(((i, is_sla), plan)),
                }
            }
            let [main, sla] = found;
            reused.push((main, sla));
        }
        let progress = &self.shared.health.progress;
        progress.begin(plans.len() as u64);
        let loaded = async {
            let loading = self
                .read_all(&store, plans.clone(), at, width, self.trust_sums)
                .await?;
            match self.fill_all(&store, loading, width).await {
                // A chunk leaving a window could not be read while resuming from stored sums:
                // those sums counted it, so every series is summed from its buckets instead.
                Err(StoreError::Corrupt { .. }) if self.trust_sums => {
                    warn!(
                        "a stored chunk was unreadable while resuming from stored sums; summing every series from its buckets"
                    );
                    let loading = self.read_all(&store, plans, at, width, false).await?;
                    self.fill_all(&store, loading, width).await
                }
                other => other,
            }
        };
        let logger = async {
            let mut every = tokio::time::interval(PROGRESS_EVERY);
            every.tick().await;
            loop {
                every.tick().await;
                if let Some(r) = progress.read() {
                    info!(progress = %r, "loading SLO histories");
                }
            }
        };
        let loaded = tokio::select! {
            r = loaded => r,
            () = logger => unreachable!("the progress logger never ends"),
        };
        progress.end();
        let mut fresh = loaded?;
        let mut out = Vec::with_capacity(slos.len());
        let mut per_service: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, ((main, sla), slo)) in reused.into_iter().zip(&slos).enumerate() {
            let mut last_error = None;
            let mut found = Sanity::default();
            let mut take = |is_sla: bool| {
                fresh.remove(&(i, is_sla)).map(|(t, e, s)| {
                    last_error = last_error.take().or(e);
                    if !is_sla {
                        found = s;
                    }
                    t
                })
            };
            let main = main.or_else(|| take(false));
            let sla = sla.or_else(|| take(true));
            let Some(main) = main else { continue };
            *per_service.entry(slo.service.as_str()).or_default() += 1;
            // The backfill's answers are judged as a tick's are.
            let mut sanity = SanityState::default();
            let no_data = slo
                .policy
                .no_data_after
                .map_or(1800, |d| d.as_secs() as i64);
            for (kind, why) in sanity.take(&found, at, no_data) {
                warn!(slo = %slo.id, kind, queries = %slo.counts.queries().join(", "), "sanity: {why}");
            }
            out.push(SloState {
                slo: Arc::new(slo.clone()),
                main,
                sla,
                last_error,
                sanity,
            });
        }
        for (service, n) in per_service {
            info!(service, slos = n, "service ready");
        }
        Ok(out)
    }

    /// Phase one: every series' state from the store, on blocking threads.
    async fn read_all(
        &self,
        store: &Arc<Store>,
        plans: Vec<((usize, bool), Plan)>,
        at: i64,
        width: i64,
        trust_sums: bool,
    ) -> Result<Vec<Loading>, StoreError> {
        let keys: Vec<&str> = plans.iter().map(|(_, p)| p.key.as_str()).collect();
        let ids = store.series_ids(&keys)?;
        drop(keys);
        let rows = if trust_sums {
            store.sums(&ids)?
        } else {
            vec![None; ids.len()]
        };
        let mut work: Vec<_> = plans.into_iter().zip(ids).zip(rows).collect();
        let mut tasks = tokio::task::JoinSet::new();
        let mut out = Vec::with_capacity(work.len());
        // Two at a time: the store reads are CPU (decoding chunks), and there are two cores.
        let permits = Arc::new(tokio::sync::Semaphore::new(2));
        while !work.is_empty() {
            let batch: Vec<_> = work.drain(..LOAD_BATCH.min(work.len())).collect();
            let (store, permits) = (Arc::clone(store), Arc::clone(&permits));
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                tokio::task::spawn_blocking(move || {
                    batch
                        .into_iter()
                        .map(|(((slot, plan), id), row)| {
                            read(&store, slot, plan, id, row, at, width)
                        })
                        .collect::<Result<Vec<_>, StoreError>>()
                })
                .await
            });
        }
        while let Some(joined) = tasks.join_next().await {
            let batch = joined.map_err(task_failed)?.map_err(task_failed)??;
            // Reading 30 days of buckets is progress, not a stall: `/healthz` stays green.
            self.shared.health.beat();
            out.extend(batch);
        }
        Ok(out)
    }

    /// Phase two: the holes of every series asked of its source in batched calls, each call's
    /// buckets committed with the running totals of the series it completes.
    #[allow(clippy::type_complexity)]
    async fn fill_all(
        &self,
        store: &Arc<Store>,
        mut loading: Vec<Loading>,
        width: i64,
    ) -> Result<HashMap<(usize, bool), Loaded>, StoreError> {
        let progress = &self.shared.health.progress;
        // Calls group the series asking the same range of the same source.
        type Key = (String, i64, usize, bool);
        let mut groups: BTreeMap<Key, Vec<(usize, usize)>> = BTreeMap::new();
        let mut done_now = Vec::new();
        for (l, s) in loading.iter_mut().enumerate() {
            s.open = s.holes.len();
            if s.open == 0 {
                done_now.push(l);
            }
            for (h, hole) in s.holes.iter().enumerate() {
                let name = match &s.source {
                    Ok(src) => src.name().to_string(),
                    Err(_) => String::new(),
                };
                progress.plan_buckets(hole.count as u64);
                groups
                    .entry((name, hole.start, hole.count, hole.heal))
                    .or_default()
                    .push((l, h));
            }
        }
        // Series with nothing to ask: store the running totals of those summed from buckets.
        let mut sums = super::checkpoint::Rows::default();
        for l in done_now.iter().filter(|l| !loading[**l].from_sums) {
            loading[*l].tracked.checkpoint(&mut sums);
        }
        let sums = sums.rows();
        if !sums.is_empty() {
            store.commit(&[], &sums)?;
        }
        progress.series(done_now.len() as u64);
        let permits = Arc::new(tokio::sync::Semaphore::new(CALLS_IN_FLIGHT));
        let mut tasks = tokio::task::JoinSet::new();
        for ((_, start, count, _), members) in groups {
            let range = BucketRange {
                start,
                count,
                width,
            };
            for call in members.chunks((CALL_BUCKETS / count.max(1)).max(1)) {
                let call = call.to_vec();
                let asks: Vec<Ask> = call
                    .iter()
                    .map(|(l, _)| loading[*l].tracked.ask.clone())
                    .collect();
                let source = loading[call[0].0].source.clone();
                let permits = Arc::clone(&permits);
                tasks.spawn(async move {
                    let _permit = permits.acquire_owned().await;
                    let counts = match &source {
                        Ok(s) => s.counts_many(&asks, range).await,
                        Err(e) => asks
                            .iter()
                            .map(|_| Counts::failed(range, e.clone()))
                            .collect(),
                    };
                    (call, range, counts)
                });
            }
        }
        // While the sources answer, the chunks that moving the sums on will read.
        read_cold_ahead(store, &mut loading, width).await;
        let mut reader = store.reader()?;
        while let Some(joined) = tasks.join_next().await {
            let (call, range, counts) = joined.map_err(task_failed)?;
            let mut unreadable = false;
            let mut answered: Vec<(usize, Counts)> = Vec::with_capacity(call.len());
            for ((l, h), mut c) in call.into_iter().zip(counts) {
                let s = &mut loading[l];
                crate::maintenance::mask(&s.mask, range.start, width, &mut c.buckets);
                let heal = s.holes[h].heal;
                // Only the part before the sums' end is a correction; the rest is new.
                let before = ((s.tracked.rolling.at() - range.start) / width)
                    .clamp(0, range.count as i64) as usize;
                let olds = if before > 0 {
                    // As the sums were built: a damaged chunk reads as missing buckets, one in a
                    // correction as excluded.
                    let mut olds = store.get(s.tracked.series, range.start, width, before)?;
                    crate::maintenance::mask(&s.tracked.mask, range.start, width, &mut olds);
                    Some(olds)
                } else {
                    None
                };
                let t = &mut s.tracked;
                absorb(
                    t,
                    range,
                    &c,
                    olds.as_deref(),
                    heal,
                    &reader,
                    &mut unreadable,
                );
                s.fetched += c
                    .buckets
                    .iter()
                    .filter(|b| !matches!(b, Bucket::Missing))
                    .count();
                s.errors += c.errors.len();
                s.sanity.merge(c.sanity.clone());
                if let Some(e) = c.errors.first() {
                    warn!(slo = %t.ask.slo, error = %e, "backfill query failed; buckets stay missing until healed");
                    s.last_error = Some(e.to_string());
                }
                s.open -= 1;
                answered.push((l, c));
            }
            if unreadable {
                // A bucket leaving a window could not be read: these sums are not to be kept.
                return Err(StoreError::Corrupt {
                    path: String::new(),
                    source: crate::store::codec::CodecError(
                        "a chunk leaving a window was unreadable while loading",
                    ),
                });
            }
            let writes: Vec<Write<'_>> = answered
                .iter()
                .map(|(l, c)| Write {
                    series: loading[*l].tracked.series,
                    start: range.start,
                    width,
                    buckets: &c.buckets,
                })
                .collect();
            let complete: Vec<usize> = answered
                .iter()
                .map(|(l, _)| *l)
                .filter(|l| loading[*l].open == 0)
                .collect();
            let mut sums = super::checkpoint::Rows::default();
            for l in &complete {
                loading[*l].tracked.checkpoint(&mut sums);
            }
            store.commit(&writes, &sums.rows())?;
            drop(writes);
            for (l, _) in &answered {
                loading[*l].tracked.committed();
            }
            reader = store.reader()?;
            progress.buckets((answered.len() * range.count) as u64);
            progress.series(complete.len() as u64);
            self.shared.health.beat();
        }
        let mut out = HashMap::with_capacity(loading.len());
        // A line per series tells a small fleet's operator what each SLO resumed from; at
        // thousands it is noise (and a tenth of a restart's CPU), so it goes to debug and the
        // summary says it all.
        let each_at_info = loading.len() <= HISTORY_LINES_AT_INFO;
        let (mut from_sums, mut fetched, mut failed) = (0usize, 0usize, 0usize);
        for s in loading {
            let t = &s.tracked;
            from_sums += usize::from(s.from_sums);
            fetched += s.fetched;
            failed += s.errors;
            let known = t
                .rolling
                .window(t.windows.iter().copied().max().unwrap_or_default());
            macro_rules! loaded {
                ($level:ident) => {
                    $level!(
                        slo = %t.ask.slo,
                        from_stored_sums = s.from_sums,
                        fetched_buckets = s.fetched,
                        coverage = known.coverage(),
                        failed_queries = s.errors,
                        took_ms = s.took.as_millis() as u64,
                        "history loaded"
                    )
                };
            }
            if each_at_info {
                loaded!(info);
            } else {
                loaded!(debug);
            }
            out.insert(s.slot, (s.tracked, s.last_error, s.sanity));
        }
        if !out.is_empty() {
            info!(
                series = out.len(),
                from_stored_sums = from_sums,
                fetched_buckets = fetched,
                failed_queries = failed,
                "histories loaded"
            );
        }
        Ok(out)
    }

    fn plan_series(&self, slo: &Slo, role: Role, spec: &crate::config::CountSpec) -> Plan {
        let key = SeriesKey::new(&slo.id, spec, self.width(), role);
        let (windows, calendars) = match role {
            Role::Slo => (slo_windows(slo), slo.calendars.clone()),
            Role::Sla => (vec![slo.periods[0]], Vec::new()),
        };
        Plan {
            key,
            ask: Ask {
                slo: slo.id.as_str().into(),
                spec: Arc::new(spec.clone()),
                role,
            },
            windows,
            calendars,
            mask: self.config.maintenance_for(slo),
            corrections: self.corrections_for(slo),
            source: self.sources.for_slo(slo).cloned(),
        }
    }
}

/// The chunks at the long windows' trailing edges that moving the loading series' sums to the
/// end of their holes will read, one ordered scan per chunk start on a blocking thread.
async fn read_cold_ahead(store: &Arc<Store>, loading: &mut [Loading], width: i64) {
    let mut plan = ColdPlan::new(loading.iter().enumerate().filter_map(|(l, s)| {
        let upto = s
            .holes
            .iter()
            .map(|h| h.start + h.count as i64 * width)
            .max()?;
        Some((l, &s.tracked, upto))
    }));
    if plan.is_empty() {
        return;
    }
    let reading = Arc::clone(store);
    let read = tokio::task::spawn_blocking(move || {
        let found = plan.read(&reading.reader()?);
        found.map(|f| (plan, f))
    })
    .await
    .map_err(task_failed)
    .and_then(|r| r);
    match read {
        Ok((plan, mut found)) => {
            for (l, needs) in plan.into_needs() {
                cache_cold(&mut loading[l].tracked, &mut found, &needs);
            }
        }
        // Each chunk is then read when the sums reach it, and a failure reported there.
        Err(e) => warn!(error = %e, "reading the long windows' edges ahead failed"),
    }
}

fn task_failed(e: impl std::fmt::Display) -> StoreError {
    StoreError::Db {
        path: String::new(),
        message: format!("loading task failed: {e}"),
    }
}

/// One series' state from the store: from its running totals when they match (one row and its
/// newest chunk or two), else summed from every bucket of its longest window.
fn read(
    store: &Store,
    slot: (usize, bool),
    plan: Plan,
    series: u64,
    row: Option<Vec<u8>>,
    at: i64,
    width: i64,
) -> Result<Loading, StoreError> {
    let t0 = Instant::now();
    // A calendar period reaches back to its start: as far as its longest period can.
    let span = plan
        .windows
        .iter()
        .copied()
        .chain(
            plan.calendars
                .iter()
                .map(|c| Dur::from_secs(c.unit.max_secs() as u64)),
        )
        .max()
        .unwrap_or_default()
        .as_secs() as i64;
    let start = at - span;
    let resumed = row
        .as_deref()
        .and_then(checkpoint::decode)
        .filter(|c| {
            let w: Vec<Dur> = c.rolling.sums().iter().map(|(d, _)| *d).collect();
            let calendars: Vec<crate::calendar::Calendar> = c
                .rolling
                .calendars()
                .iter()
                .map(|s| s.period.calendar)
                .collect();
            c.rolling.width() == width
                && c.corrections == checkpoint::fingerprint(&plan.corrections)
                && w == plan.windows
                && calendars == plan.calendars
                && c.rolling.at() <= at
                && c.rolling.at() >= start
        })
        .and_then(|c| {
            let from = c.rolling.at() - RECENT as i64 * width;
            let recent = store
                .reader()
                .ok()?
                .buckets(series, from, width, RECENT)
                .ok()?;
            Some((c, recent))
        });
    let (tracked, holes, from_sums) = match resumed {
        Some((c, mut recent)) => {
            let end = c.rolling.at();
            // As the stored sums counted them: excluded inside a correction.
            crate::maintenance::mask(
                &plan.corrections,
                end - recent.len() as i64 * width,
                width,
                &mut recent,
            );
            let mut heal = c.heal;
            super::ranges::trim_before(&mut heal, start);
            let mut holes: Vec<Hole> = heal
                .iter()
                .filter(|(s, _)| *s < end)
                .map(|&(s, e)| Hole {
                    start: s,
                    count: ((e.min(end) - s) / width) as usize,
                    heal: true,
                })
                .collect();
            if end < at {
                holes.push(Hole {
                    start: end,
                    count: ((at - end) / width) as usize,
                    heal: false,
                });
            }
            let tracked = Tracked {
                key: plan.key,
                series,
                ask: plan.ask,
                windows: plan.windows,
                span,
                rolling: c.rolling,
                heal,
                recent: Recent {
                    end,
                    width,
                    buckets: recent.into(),
                },
                cold: Vec::new(),
                unknown_until: c.unknown_until,
                pending: BTreeMap::new(),
                mask: plan.corrections,
            };
            (tracked, holes, true)
        }
        None => {
            let n = (span / width) as usize;
            let mut stored = store.get(series, start, width, n)?;
            let mut ranges = Vec::new();
            for (s, e) in super::ranges::missing(
                stored.iter().map(|b| !matches!(b, Bucket::Missing)),
                start,
                width,
            ) {
                super::ranges::add(&mut ranges, s, e, CHUNK as i64 * width);
            }
            let holes = ranges
                .into_iter()
                .map(|(s, e)| Hole {
                    start: s,
                    count: ((e - s) / width) as usize,
                    heal: false,
                })
                .collect();
            // Holes are found in what is stored; the sums count a correction's buckets excluded.
            crate::maintenance::mask(&plan.corrections, start, width, &mut stored);
            let series_sums = Series::from_buckets(start, Dur::from_secs(width as u64), &stored);
            let tracked = Tracked {
                key: plan.key,
                series,
                ask: plan.ask,
                rolling: Rolling::from_series(&series_sums, at, &plan.windows)
                    .with_calendars(&plan.calendars, |from| {
                        series_sums.window(at, Dur::from_secs((at - from).max(0) as u64))
                    }),
                windows: plan.windows,
                span,
                heal: Vec::new(),
                recent: Recent {
                    end: at,
                    width,
                    buckets: stored[stored.len().saturating_sub(RECENT)..]
                        .iter()
                        .copied()
                        .collect(),
                },
                cold: Vec::new(),
                unknown_until: None,
                pending: BTreeMap::new(),
                mask: plan.corrections,
            };
            (tracked, holes, false)
        }
    };
    Ok(Loading {
        slot,
        tracked,
        mask: plan.mask,
        source: plan.source,
        holes,
        open: 0,
        from_sums,
        fetched: 0,
        errors: 0,
        last_error: None,
        sanity: Sanity::default(),
        took: t0.elapsed(),
    })
}
