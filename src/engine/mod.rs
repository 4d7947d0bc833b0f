//! The engine: sources → store → budget core, once per bucket, for every SLO.
//!
//! [`Engine::start`] opens every SLO's history from the store, queries the buckets that are missing
//! (all of them on the first start), and builds rolling window sums. [`Engine::tick`] then runs at
//! every bucket boundary: it re-queries the last `lag` buckets (late samples), re-queries failed
//! ranges every `heal_interval`, commits everything of the tick in one durable transaction, and
//! moves the rolling sums forward, reading the buckets that leave each window from the store.
//! The result is published as an immutable [`Snapshot`] that the HTTP server reads.

pub mod health;
pub mod ranges;

use crate::budget::{Bucket, Evaluation, Rolling, Series};
use crate::config::{Config, CountSpec, Slo};
use crate::duration::Dur;
use crate::source::BucketRange;
use crate::source::prometheus::PrometheusSource;
use crate::store::{CHUNK, Reader, Store, StoreError, Write, codec};
use health::Health;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Instant;
use tracing::{info, warn};

/// What the HTTP server reads: the latest evaluation of every SLO.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Evaluation time (unix seconds, a bucket boundary); 0 before the first evaluation.
    pub at: i64,
    /// Bucket width in seconds.
    pub width: i64,
    /// One entry per SLO, in config order.
    pub slos: Vec<SloView>,
}

/// One SLO in a [`Snapshot`].
#[derive(Debug, Clone)]
pub struct SloView {
    /// The SLO as configured.
    pub slo: Slo,
    /// Its numbers at the snapshot time.
    pub eval: Evaluation,
    /// SLI of the SLA's own counts (or the SLO's) over the first period.
    pub sla_sli: Option<f64>,
    /// Store series id of the current definition: a changed query gets a new one.
    pub series: u64,
    /// The last query error, if the last tick had one.
    pub last_error: Option<String>,
}

/// State shared between the engine, the HTTP server and the reloader.
pub struct Shared {
    /// The daemon's own health.
    pub health: Health,
    /// The latest evaluation.
    pub snapshot: RwLock<Arc<Snapshot>>,
    /// The store, for history requests.
    pub store: Arc<Store>,
}

impl Shared {
    /// A fresh state around an open store.
    pub fn new(store: Arc<Store>) -> Arc<Self> {
        Arc::new(Shared {
            health: Health::default(),
            snapshot: RwLock::new(Arc::new(Snapshot::default())),
            store,
        })
    }

    /// The latest snapshot (cheap: an `Arc` clone).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.snapshot.read() {
            Ok(s) => Arc::clone(&s),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }
}

/// The store key of one definition: a changed query or bucket width starts a new series.
pub fn series_key(slo_id: &str, spec: &CountSpec, width: i64) -> String {
    format!("{slo_id}|{}|{width}", spec.fingerprint())
}

/// One stored series being tracked: the SLO's counts or an SLA's own counts.
struct Tracked {
    key: String,
    series: u64,
    spec: CountSpec,
    windows: Vec<Dur>,
    span: i64,
    rolling: Rolling,
    heal: Vec<(i64, i64)>,
}

struct SloState {
    slo: Slo,
    main: Tracked,
    sla: Option<Tracked>,
    last_error: Option<String>,
}

/// Windows tracked for an SLO: the burn windows and its periods.
fn slo_windows(slo: &Slo) -> Vec<Dur> {
    let mut w: Vec<Dur> = crate::budget::BURN_WINDOWS.to_vec();
    w.extend(slo.periods.iter().copied());
    w.sort();
    w.dedup();
    w
}

/// The engine itself; owned by the run loop.
pub struct Engine {
    config: Config,
    source: Arc<PrometheusSource>,
    shared: Arc<Shared>,
    slos: Vec<SloState>,
    last_heal: i64,
    last_retention: i64,
}

/// A query the tick will run for one tracked series.
struct Job {
    slo: usize,
    sla: bool,
    start: i64,
    count: usize,
    heal: bool,
}

impl Engine {
    /// An engine with no SLO loaded yet; call [`Engine::start`].
    pub fn new(config: Config, source: Arc<PrometheusSource>, shared: Arc<Shared>) -> Self {
        Engine {
            config,
            source,
            shared,
            slos: Vec::new(),
            last_heal: 0,
            last_retention: 0,
        }
    }

    /// The running config.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Replaces the source (after a reload changed `prometheus:`).
    pub fn set_source(&mut self, source: Arc<PrometheusSource>) {
        self.source = source;
    }

    /// The bucket boundary of the last evaluation.
    pub fn last_at(&self) -> i64 {
        self.shared.snapshot().at
    }

    fn width(&self) -> i64 {
        self.config.bucket.as_secs() as i64
    }

    /// Loads every SLO from the store and backfills what is missing up to `at`, then publishes
    /// the first snapshot.
    pub async fn start(&mut self, at: i64) -> Result<(), StoreError> {
        let slos = self.config.slos.clone();
        self.slos = self.prepare_all(slos, at, HashMap::new()).await?;
        self.publish(at);
        Ok(())
    }

    /// Builds states for `slos`, reusing `keep` (by series key and windows) where possible.
    async fn prepare_all(
        &self,
        slos: Vec<Slo>,
        at: i64,
        mut keep: HashMap<String, Tracked>,
    ) -> Result<Vec<SloState>, StoreError> {
        let width = self.width();
        let store = Arc::clone(&self.shared.store);
        let mut tasks = tokio::task::JoinSet::new();
        let mut reused: Vec<(usize, Option<Tracked>, Option<Tracked>)> = Vec::new();
        for (i, slo) in slos.iter().enumerate() {
            let windows = slo_windows(slo);
            let key = series_key(&slo.id, &slo.counts, width);
            let main = keep.remove(&key).filter(|t| t.windows == windows);
            let sla_spec = slo.sla.as_ref().and_then(|s| s.counts.clone());
            let sla_windows = vec![slo.periods[0]];
            let sla = sla_spec.as_ref().and_then(|spec| {
                keep.remove(&format!("{}|sla", series_key(&slo.id, spec, width)))
                    .filter(|t| t.windows == sla_windows)
            });
            if main.is_none() {
                let (store, source, spec, id) = (
                    Arc::clone(&store),
                    Arc::clone(&self.source),
                    slo.counts.clone(),
                    slo.id.clone(),
                );
                tasks.spawn(async move {
                    let t = prepare(&store, &source, &id, key, spec, windows, at, width).await;
                    (i, false, t)
                });
            }
            if let (Some(spec), None) = (sla_spec, &sla) {
                let (store, source, id) =
                    (Arc::clone(&store), Arc::clone(&self.source), slo.id.clone());
                let key = format!("{}|sla", series_key(&slo.id, &spec, width));
                tasks.spawn(async move {
                    let t = prepare(&store, &source, &id, key, spec, sla_windows, at, width).await;
                    (i, true, t)
                });
            }
            reused.push((i, main, sla));
        }
        let mut fresh: HashMap<(usize, bool), Tracked> = HashMap::new();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((i, is_sla, Ok(t))) => {
                    fresh.insert((i, is_sla), t);
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
        for ((i, main, sla), slo) in reused.into_iter().zip(&slos) {
            let Some(main) = main.or_else(|| fresh.remove(&(i, false))) else {
                continue;
            };
            let sla = sla.or_else(|| fresh.remove(&(i, true)));
            *per_service.entry(slo.service.as_str()).or_default() += 1;
            out.push(SloState {
                slo: slo.clone(),
                main,
                sla,
                last_error: None,
            });
        }
        for (service, n) in per_service {
            info!(service, slos = n, "service ready");
        }
        Ok(out)
    }

    /// Applies a new config: unchanged SLOs keep their state, new or changed ones are backfilled,
    /// removed ones stop being evaluated (their stored data ages out with retention).
    pub async fn reload(&mut self, config: Config, at: i64) -> Result<(), StoreError> {
        let width = config.bucket.as_secs() as i64;
        let mut keep = HashMap::new();
        let old_ids: Vec<String> = self.slos.iter().map(|s| s.slo.id.clone()).collect();
        let old_keys: HashMap<String, String> = self
            .slos
            .iter()
            .map(|s| (s.slo.id.clone(), s.main.key.clone()))
            .collect();
        for s in std::mem::take(&mut self.slos) {
            keep.insert(s.main.key.clone(), s.main);
            if let Some(t) = s.sla {
                keep.insert(t.key.clone(), t);
            }
        }
        let bucket_changed = width != self.width();
        self.config = config;
        if bucket_changed {
            keep.clear();
        }
        let slos = self.config.slos.clone();
        for slo in &slos {
            let key = series_key(&slo.id, &slo.counts, width);
            match old_keys.get(&slo.id) {
                None => info!(slo = %slo.id, "new SLO: backfilling"),
                Some(k) if *k != key => {
                    info!(slo = %slo.id, "definition changed: recording a new definition version and re-querying history")
                }
                Some(_) => {}
            }
        }
        for id in &old_ids {
            if !slos.iter().any(|s| &s.id == id) {
                info!(slo = %id, "SLO removed: no longer evaluated or exported; its stored data is kept until retention");
            }
        }
        self.slos = self.prepare_all(slos, at, keep).await?;
        self.publish(at);
        Ok(())
    }

    /// One evaluation at the bucket boundary `at`.
    pub async fn tick(&mut self, at: i64) -> Result<(), StoreError> {
        let width = self.width();
        let lag = i64::from(self.config.engine.lag);
        let heal_due = at - self.last_heal >= self.config.engine.heal_interval.as_secs() as i64;
        if heal_due {
            self.last_heal = at;
        }
        // 1. Decide what to query.
        let mut jobs = Vec::new();
        for (i, s) in self.slos.iter_mut().enumerate() {
            for (t, sla) in
                std::iter::once((&mut s.main, false)).chain(s.sla.as_mut().map(|t| (t, true)))
            {
                let oldest = at - t.span;
                let from = t.rolling.at().min(at - lag * width).max(oldest);
                if from < at {
                    jobs.push(Job {
                        slo: i,
                        sla,
                        start: from,
                        count: ((at - from) / width) as usize,
                        heal: false,
                    });
                }
                ranges::trim_before(&mut t.heal, oldest);
                if heal_due {
                    for &(s0, e0) in &t.heal {
                        let e0 = e0.min(from);
                        if e0 > s0 {
                            jobs.push(Job {
                                slo: i,
                                sla,
                                start: s0,
                                count: ((e0 - s0) / width) as usize,
                                heal: true,
                            });
                        }
                    }
                }
            }
        }
        // 2. Query everything concurrently (the source bounds requests in flight).
        let mut tasks = tokio::task::JoinSet::new();
        for (j, job) in jobs.iter().enumerate() {
            let s = &self.slos[job.slo];
            let spec = if job.sla {
                s.sla.as_ref().map(|t| t.spec.clone())
            } else {
                Some(s.main.spec.clone())
            };
            let Some(spec) = spec else { continue };
            let source = Arc::clone(&self.source);
            let range = BucketRange {
                start: job.start,
                count: job.count,
                width,
            };
            tasks.spawn(async move { (j, source.counts(&spec, range).await) });
        }
        let mut results: Vec<Option<crate::source::prometheus::Counts>> =
            (0..jobs.len()).map(|_| None).collect();
        while let Some(Ok((j, counts))) = tasks.join_next().await {
            results[j] = Some(counts);
        }
        // 3. Read what is stored now, then commit the new counts of the whole tick at once.
        let store = Arc::clone(&self.shared.store);
        let mut olds = Vec::with_capacity(jobs.len());
        for job in &jobs {
            let t = self.tracked(job);
            olds.push(store.get(t.series, job.start, width, job.count)?);
        }
        let writes: Vec<Write<'_>> = jobs
            .iter()
            .zip(&results)
            .filter_map(|(job, r)| {
                r.as_ref().map(|c| Write {
                    series: self.tracked(job).series,
                    start: job.start,
                    width,
                    buckets: &c.buckets,
                })
            })
            .collect();
        store.put_many(&writes)?;
        drop(writes);
        // 4. Move the rolling sums: corrections first (heal jobs, then re-queried buckets), then
        //    new buckets, reading leaving buckets from the committed store.
        let reader = store.reader()?;
        let mut errors: HashMap<usize, Vec<String>> = HashMap::new();
        let mut order: Vec<usize> = (0..jobs.len()).collect();
        order.sort_by_key(|j| (!jobs[*j].heal, jobs[*j].start));
        for j in order {
            let job = &jobs[j];
            let Some(counts) = &results[j] else { continue };
            if !counts.errors.is_empty() {
                let id = self.slos[job.slo].slo.id.clone();
                self.shared
                    .health
                    .source_error(&id, counts.errors.len() as u64);
                for e in &counts.errors {
                    warn!(slo = %id, error = %e, "query failed; its buckets are missing until healed");
                }
                errors
                    .entry(job.slo)
                    .or_default()
                    .extend(counts.errors.iter().map(|e| e.to_string()));
            }
            let old = &olds[j];
            let t = self.tracked_mut(job);
            if job.heal {
                ranges::remove(&mut t.heal, job.start, job.start + job.count as i64 * width);
            }
            for &(s0, e0) in &counts.failed {
                ranges::add(&mut t.heal, s0, e0, CHUNK as i64 * width);
            }
            let mut cache = ChunkCache::new(&reader, t.series, width);
            for (k, new) in counts.buckets.iter().enumerate() {
                let s = job.start + k as i64 * width;
                let eff = match new {
                    Bucket::Known { .. } => *new,
                    Bucket::Missing => old[k],
                };
                if s < t.rolling.at() {
                    if eff != old[k] {
                        t.rolling.correct(s, old[k], eff);
                    }
                } else if s == t.rolling.at() {
                    t.rolling.advance(eff, |leaving| cache.bucket(leaving));
                }
            }
        }
        for (i, s) in self.slos.iter_mut().enumerate() {
            s.last_error = errors.remove(&i).map(|e| e.join("; "));
        }
        // 5. Retention, hourly.
        if at - self.last_retention >= 3600 {
            self.last_retention = at;
            let longest = self.slos.iter().map(|s| s.main.span).max().unwrap_or(0);
            let cutoff = at - longest - self.config.engine.retention_margin.as_secs() as i64;
            match store.delete_before(cutoff, |_| width) {
                Ok(0) => {}
                Ok(n) => info!(rows = n, "retention removed old chunks"),
                Err(e) => warn!(error = %e, "retention failed"),
            }
        }
        self.publish(at);
        Ok(())
    }

    fn tracked(&self, job: &Job) -> &Tracked {
        let s = &self.slos[job.slo];
        match (&s.sla, job.sla) {
            (Some(t), true) => t,
            _ => &s.main,
        }
    }

    fn tracked_mut(&mut self, job: &Job) -> &mut Tracked {
        let s = &mut self.slos[job.slo];
        match (&mut s.sla, job.sla) {
            (Some(t), true) => t,
            _ => &mut s.main,
        }
    }

    /// Evaluates every SLO from its rolling sums and publishes the snapshot.
    fn publish(&self, at: i64) {
        let slos = self
            .slos
            .iter()
            .map(|s| {
                let eval = s.main.rolling.evaluate(s.slo.objective, &s.slo.periods);
                let sla_sli = match (&s.slo.sla, &s.sla) {
                    (None, _) => None,
                    (Some(_), Some(t)) => t.rolling.window(s.slo.periods[0]).sli(),
                    (Some(_), None) => eval.periods.first().and_then(|p| p.sli),
                };
                SloView {
                    slo: s.slo.clone(),
                    eval,
                    sla_sli,
                    series: s.main.series,
                    last_error: s.last_error.clone(),
                }
            })
            .collect();
        let snap = Arc::new(Snapshot {
            at,
            width: self.width(),
            slos,
        });
        match self.shared.snapshot.write() {
            Ok(mut g) => *g = snap,
            Err(p) => *p.into_inner() = snap,
        }
        self.shared
            .health
            .last_eval
            .store(at, std::sync::atomic::Ordering::Relaxed);
        self.shared
            .health
            .ticks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Reads the buckets that leave windows, one decoded chunk at a time.
struct ChunkCache<'a> {
    reader: &'a Reader,
    series: u64,
    width: i64,
    chunks: Vec<(i64, [Bucket; CHUNK])>,
}

impl<'a> ChunkCache<'a> {
    fn new(reader: &'a Reader, series: u64, width: i64) -> Self {
        ChunkCache {
            reader,
            series,
            width,
            chunks: Vec::new(),
        }
    }

    fn bucket(&mut self, start: i64) -> Bucket {
        let span = self.width * CHUNK as i64;
        let chunk_start = start.div_euclid(span) * span;
        let slot = ((start - chunk_start) / self.width) as usize;
        if let Some((_, c)) = self.chunks.iter().find(|(s, _)| *s == chunk_start) {
            return c[slot];
        }
        let decoded = match self.reader.chunk(self.series, chunk_start) {
            Ok(Some(bytes)) => codec::decode(&bytes).unwrap_or_else(|e| {
                warn!(series = self.series, error = %e, "unreadable chunk counted as missing");
                [Bucket::Missing; CHUNK]
            }),
            Ok(None) => [Bucket::Missing; CHUNK],
            Err(e) => {
                warn!(series = self.series, error = %e, "store read failed; bucket counted as missing");
                [Bucket::Missing; CHUNK]
            }
        };
        let b = decoded[slot];
        self.chunks.push((chunk_start, decoded));
        b
    }
}

/// Loads one series' window from the store, queries its missing buckets and builds rolling sums.
#[allow(clippy::too_many_arguments)]
async fn prepare(
    store: &Store,
    source: &Arc<PrometheusSource>,
    slo_id: &str,
    key: String,
    spec: CountSpec,
    windows: Vec<Dur>,
    at: i64,
    width: i64,
) -> Result<Tracked, StoreError> {
    let t0 = Instant::now();
    let series = store.series_id(&key)?;
    let longest = windows.iter().copied().max().unwrap_or(Dur::from_secs(0));
    let span = longest.as_secs() as i64;
    let start = at - span;
    let n = (span / width) as usize;
    let mut stored = store.get(series, start, width, n)?;
    let mut holes = Vec::new();
    for (s, e) in ranges::missing(
        stored.iter().map(|b| matches!(b, Bucket::Known { .. })),
        start,
        width,
    ) {
        ranges::add(&mut holes, s, e, CHUNK as i64 * width);
    }
    let mut heal = Vec::new();
    let mut fetched = 0usize;
    let mut writes: Vec<(i64, Vec<Bucket>)> = Vec::new();
    let mut errors = 0usize;
    for (s, e) in holes {
        let range = BucketRange {
            start: s,
            count: ((e - s) / width) as usize,
            width,
        };
        let counts = source.counts(&spec, range).await;
        for (k, b) in counts.buckets.iter().enumerate() {
            let idx = ((s - start) / width) as usize + k;
            if let (Bucket::Known { .. }, Some(slot)) = (b, stored.get_mut(idx)) {
                *slot = *b;
                fetched += 1;
            }
        }
        for &(fs, fe) in &counts.failed {
            ranges::add(&mut heal, fs, fe, CHUNK as i64 * width);
        }
        errors += counts.errors.len();
        if let Some(e) = counts.errors.first() {
            warn!(slo = slo_id, error = %e, "backfill query failed; buckets stay missing until healed");
        }
        writes.push((s, counts.buckets));
    }
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
    let rolling = Rolling::from_series(&series_sums, at, &windows);
    info!(
        slo = slo_id,
        fetched_buckets = fetched,
        coverage = known as f64 / n.max(1) as f64,
        failed_queries = errors,
        took_ms = t0.elapsed().as_millis() as u64,
        "history loaded"
    );
    Ok(Tracked {
        key,
        series,
        spec,
        windows,
        span,
        rolling,
        heal,
    })
}
