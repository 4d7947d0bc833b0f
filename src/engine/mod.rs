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
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::Instant;
use tracing::{info, warn};

/// SLO histories loaded at once during startup or reload.
const PREPARE_CONCURRENCY: usize = 16;

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
    /// The SLO as configured (shared, so publishing a snapshot copies no strings).
    pub slo: Arc<Slo>,
    /// Its numbers at the snapshot time.
    pub eval: Evaluation,
    /// SLI of the SLA's own counts (or the SLO's) over the first period.
    pub sla_sli: Option<f64>,
    /// Store series id of the current definition: a changed query gets a new one.
    pub series: u64,
    /// The last query error, if the last tick had one.
    pub last_error: Option<String>,
    /// Alert state: page, then ticket.
    pub alerts: [crate::alert::state::Record; 2],
}

/// State shared between the engine, the HTTP server and the reloader.
pub struct Shared {
    /// The daemon's own health.
    pub health: Health,
    /// The latest evaluation.
    pub snapshot: RwLock<Arc<Snapshot>>,
    /// The store, for history requests.
    pub store: Arc<Store>,
    /// Wakes the notification dispatcher when the outbox got something.
    pub outbox_wake: tokio::sync::Notify,
    /// Notification outcomes per receiver.
    pub notifications: crate::notify::Counters,
    /// Notifications waiting in the outbox per receiver when the dispatcher's latest pass began
    /// (at most about a second old).
    pub pending: std::sync::Mutex<BTreeMap<String, u64>>,
    /// Silences, as stored; the API edits both.
    pub silences: RwLock<Vec<crate::alert::silence::Silence>>,
}

impl Shared {
    /// A fresh state around an open store.
    pub fn new(store: Arc<Store>) -> Arc<Self> {
        Arc::new(Shared {
            health: Health::default(),
            snapshot: RwLock::new(Arc::new(Snapshot::default())),
            store,
            outbox_wake: tokio::sync::Notify::new(),
            notifications: Default::default(),
            pending: Default::default(),
            silences: RwLock::new(Vec::new()),
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

/// The bucket width written at the end of a [`series_key`] (before an optional `|sla`).
pub fn width_of_key(key: &str) -> Option<i64> {
    let key = key.strip_suffix("|sla").unwrap_or(key);
    key.rsplit_once('|')?.1.parse().ok()
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
    /// The newest buckets as the rolling sums count them: the old values of re-queried buckets and
    /// the buckets leaving short windows come from here, not from the store.
    recent: Recent,
    /// Packed store chunks at the trailing edges of long windows, reused for 64 ticks each.
    cold: Vec<(i64, Vec<u8>)>,
}

/// Buckets kept in memory per series: enough for the lag window and the 5m–1h windows at 1m.
const RECENT: usize = CHUNK;
/// Packed chunks cached per series (one per long-window edge, plus slack).
const COLD_CHUNKS: usize = 12;

/// The last [`RECENT`] buckets before `end`, oldest first.
struct Recent {
    end: i64,
    width: i64,
    buckets: std::collections::VecDeque<Bucket>,
}

impl Recent {
    fn start(&self) -> i64 {
        self.end - self.buckets.len() as i64 * self.width
    }
    /// The bucket at `t` if held; `None` outside.
    fn get(&self, t: i64) -> Option<Bucket> {
        if t < self.start() || t >= self.end {
            return None;
        }
        self.buckets
            .get(((t - self.start()) / self.width) as usize)
            .copied()
    }
    fn set(&mut self, t: i64, b: Bucket) {
        if t >= self.start() && t < self.end {
            let i = ((t - self.start()) / self.width) as usize;
            if let Some(slot) = self.buckets.get_mut(i) {
                *slot = b;
            }
        }
    }
    fn push(&mut self, b: Bucket) {
        self.buckets.push_back(b);
        self.end += self.width;
        while self.buckets.len() > RECENT {
            self.buckets.pop_front();
        }
    }
}

struct SloState {
    slo: Arc<Slo>,
    main: Tracked,
    sla: Option<Tracked>,
    last_error: Option<String>,
}

/// Windows tracked for an SLO: the burn windows, its periods and its alert policy's windows.
fn slo_windows(slo: &Slo) -> Vec<Dur> {
    let mut w: Vec<Dur> = crate::budget::BURN_WINDOWS.to_vec();
    w.extend(slo.periods.iter().copied());
    w.extend(slo.policy.windows());
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
    /// Alert records by `slo id|severity`, loaded from the store at start.
    alerts: HashMap<String, crate::alert::state::Record>,
    /// The first instant this process evaluated alerts (for the no-data rule).
    first_alert_eval: Option<i64>,
    /// Set when memory may disagree with the store (a failure after a commit, an unreadable
    /// leaving bucket, a stall longer than a window, a failed reload): the next tick rebuilds every
    /// series from the store instead of risking counts that drift for good.
    needs_rebuild: bool,
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
            alerts: HashMap::new(),
            first_alert_eval: None,
            needs_rebuild: false,
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
        for (key, bytes) in self.shared.store.alerts()? {
            if let Some(r) = crate::alert::state::Record::decode(&bytes) {
                self.alerts.insert(key, r);
            }
        }
        let slos = self.config.slos.clone();
        self.slos = self.prepare_all(slos, at, HashMap::new()).await?;
        self.evaluate_alerts(at);
        self.publish(at);
        Ok(())
    }

    /// Runs every SLO's alert policy on its current window sums and moves the state machines,
    /// persisting every transition before it is logged (notifications will follow the same path).
    fn evaluate_alerts(&mut self, at: i64) {
        use crate::alert::policy::{Severity, holding};
        use crate::alert::state::{Send, Transition, sends, step, supersede};
        use crate::notify::Action;
        let silences = match self.shared.silences.read() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        };
        let watching_since = *self.first_alert_eval.get_or_insert(at);
        let mut outbox: Vec<Vec<u8>> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        for s in &self.slos {
            let mut hits = holding(&s.slo.policy, s.slo.objective, &s.slo.periods, |w| {
                s.main.rolling.window(w)
            });
            // "No data" means the coverage *stayed* at 0: this process must have watched it for
            // that long, so a first start next to a fresh Prometheus does not ticket at once.
            if let Some(d) = s.slo.policy.no_data_after
                && at - watching_since < d.as_secs() as i64
            {
                hits.retain(|h| !h.name.starts_with("no data"));
            }
            let page = crate::backtest::strongest(&hits, Severity::Page);
            let ticket = crate::backtest::strongest(&hits, Severity::Ticket);
            let page = page.as_ref().map(|(r, b)| (r.as_str(), *b));
            let ticket = ticket.as_ref().map(|(r, b)| (r.as_str(), *b));
            let maintenance = self
                .config
                .maintenance
                .iter()
                .find(|m| m.applies(&s.slo.id, &s.slo.labels) && m.covers(at))
                .map(|m| format!("maintenance `{}`", m.name));
            for (severity, holds) in supersede(page, ticket) {
                let key = format!("{}|{}", s.slo.id, severity.as_str());
                seen.insert(key.clone());
                let prev = self.alerts.get(&key).cloned().unwrap_or_default();
                let (mut next, transition) = step(&prev, holds, at);
                let muted = maintenance.clone().or_else(|| {
                    silences
                        .iter()
                        .find(|x| x.mutes(&s.slo.id, &s.slo.labels, severity, at))
                        .map(|x| format!("silence {}", x.id))
                });
                let routed = self
                    .config
                    .receivers
                    .iter()
                    .filter(|r| r.routes(&s.slo, severity))
                    .map(|r| {
                        (
                            r.name.as_str(),
                            r.repeat_interval.map(|d| d.as_secs() as i64),
                        )
                    });
                let sends = sends(&mut next, transition.as_ref(), muted.is_some(), routed, at);
                if next != prev
                    && let Err(e) = self.shared.store.put_alert(&key, &next.encode())
                {
                    warn!(slo = %s.slo.id, error = %e, "cannot store the alert state");
                }
                if !sends.is_empty() {
                    let mut details = alert_details(s, &next, at, &self.config);
                    for (receiver, send) in sends {
                        let action = match send {
                            Send::Trigger { .. } => Action::Trigger,
                            Send::Resolve => Action::Resolve,
                        };
                        details["repeat"] =
                            serde_json::json!(send == Send::Trigger { repeat: true });
                        outbox.push(
                            crate::notify::Notification {
                                receiver,
                                slo: s.slo.id.clone(),
                                severity,
                                action,
                                created_at: at,
                                attempts: 0,
                                next_attempt: 0,
                                details: details.clone(),
                            }
                            .encode(),
                        );
                    }
                }
                match transition {
                    Some(Transition::Fired) => warn!(
                        slo = %s.slo.id,
                        severity = severity.as_str(),
                        rule = next.rule.as_deref().unwrap_or(""),
                        burn_rate = next.peak_burn_rate,
                        muted_by = muted.as_deref().unwrap_or(""),
                        "alert firing"
                    ),
                    Some(Transition::Resolved) => info!(
                        slo = %s.slo.id,
                        severity = severity.as_str(),
                        "alert resolved"
                    ),
                    None => {}
                }
                self.alerts.insert(key, next);
            }
        }
        self.resolve_removed(&seen, at, &mut outbox);
        if !outbox.is_empty() {
            // Every notification of the tick is stored, in one transaction, before anything is
            // sent: a crash now means a re-send, not a loss, and Slack can group the tick.
            match self.shared.store.outbox_push(&outbox) {
                Ok(_) => self.shared.outbox_wake.notify_one(),
                Err(e) => warn!(error = %e, "cannot store notifications"),
            }
        }
    }

    /// Alerts of SLOs no longer in slo.yaml (`seen` holds the keys still there): their receivers
    /// get a resolve, and the records are forgotten.
    fn resolve_removed(&mut self, seen: &HashSet<String>, at: i64, outbox: &mut Vec<Vec<u8>>) {
        use crate::alert::policy::Severity;
        use crate::notify::Action;
        let gone: Vec<String> = self
            .alerts
            .keys()
            .filter(|k| !seen.contains(*k))
            .cloned()
            .collect();
        for key in gone {
            let Some(rec) = self.alerts.remove(&key) else {
                continue;
            };
            let Some((slo, sev)) = key.rsplit_once('|') else {
                continue;
            };
            let severity = if sev == "page" {
                Severity::Page
            } else {
                Severity::Ticket
            };
            if rec.firing() {
                info!(
                    slo,
                    severity = sev,
                    "SLO removed from the config while firing; resolving"
                );
            }
            for receiver in rec.sent.keys() {
                outbox.push(
                    crate::notify::Notification {
                        receiver: receiver.clone(),
                        slo: slo.to_string(),
                        severity,
                        action: Action::Resolve,
                        created_at: at,
                        attempts: 0,
                        next_attempt: 0,
                        details: serde_json::json!({"slo": slo, "reason": "SLO removed from the configuration"}),
                    }
                    .encode(),
                );
            }
            if let Err(e) = self.shared.store.delete_alert(&key) {
                warn!(slo, error = %e, "cannot delete the alert state of a removed SLO");
            }
        }
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
        // Each preparation holds a whole window of buckets (about 2 MB for 30 days of minutes)
        // while it waits for Prometheus; bound how many run at once so memory stays flat.
        let permits = Arc::new(tokio::sync::Semaphore::new(PREPARE_CONCURRENCY));
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
            let mask = self.config.maintenance_for(slo);
            if main.is_none() {
                let (store, source, spec, id, mask) = (
                    Arc::clone(&store),
                    Arc::clone(&self.source),
                    slo.counts.clone(),
                    slo.id.clone(),
                    mask.clone(),
                );
                let permits = Arc::clone(&permits);
                tasks.spawn(async move {
                    let _permit = permits.acquire_owned().await;
                    let t =
                        prepare(&store, &source, &id, key, spec, windows, at, width, &mask).await;
                    (i, false, t)
                });
            }
            if let (Some(spec), None) = (sla_spec, &sla) {
                let (store, source, id) =
                    (Arc::clone(&store), Arc::clone(&self.source), slo.id.clone());
                let key = format!("{}|sla", series_key(&slo.id, &spec, width));
                let permits = Arc::clone(&permits);
                tasks.spawn(async move {
                    let _permit = permits.acquire_owned().await;
                    let t = prepare(
                        &store,
                        &source,
                        &id,
                        key,
                        spec,
                        sla_windows,
                        at,
                        width,
                        &mask,
                    )
                    .await;
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
                slo: Arc::new(slo.clone()),
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
        let old_config = std::mem::replace(&mut self.config, config);
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
        match self.prepare_all(slos, at, keep).await {
            Ok(states) => {
                self.slos = states;
                let ids: Vec<&str> = self.slos.iter().map(|s| s.slo.id.as_str()).collect();
                if let Ok(mut m) = self.shared.health.source_errors.lock() {
                    m.retain(|id, _| ids.contains(&id.as_str()));
                }
                self.publish(at);
                Ok(())
            }
            Err(e) => {
                // Keep serving the old config: its states are rebuilt from the store next tick.
                self.config = old_config;
                self.needs_rebuild = true;
                Err(e)
            }
        }
    }

    /// Rebuilds every series from the store (and queries what it lacks).
    async fn rebuild(&mut self, at: i64) -> Result<(), StoreError> {
        warn!("rebuilding every SLO's window sums from the store");
        let slos = self.config.slos.clone();
        self.slos = self.prepare_all(slos, at, HashMap::new()).await?;
        self.needs_rebuild = false;
        Ok(())
    }

    /// One evaluation at the bucket boundary `at`.
    pub async fn tick(&mut self, at: i64) -> Result<(), StoreError> {
        let width = self.width();
        let lag = i64::from(self.config.engine.lag);
        // A stall longer than a window (a suspended host) leaves nothing to slide: start over.
        let stalled = self.slos.iter().any(|s| {
            std::iter::once(&s.main)
                .chain(s.sla.as_ref())
                .any(|t| t.rolling.at() < at - t.span)
        });
        if self.needs_rebuild || stalled {
            return self.rebuild(at).await.map(|()| self.publish(at));
        }
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
        // 2. Query everything concurrently (the source bounds requests in flight). Jobs over the
        //    same range (normally every SLO's lag window) share batched requests.
        let mut tasks = tokio::task::JoinSet::new();
        let mut groups: BTreeMap<(i64, usize), Vec<usize>> = BTreeMap::new();
        for (j, job) in jobs.iter().enumerate() {
            let range = BucketRange {
                start: job.start,
                count: job.count,
                width,
            };
            let spec = self.tracked(job).spec.clone();
            if job.heal {
                let source = Arc::clone(&self.source);
                tasks.spawn(async move { vec![(j, source.counts(&spec, range).await)] });
            } else {
                groups.entry((job.start, job.count)).or_default().push(j);
            }
        }
        for ((start, count), idx) in groups {
            let specs: Vec<CountSpec> = idx
                .iter()
                .map(|j| self.tracked(&jobs[*j]).spec.clone())
                .collect();
            let source = Arc::clone(&self.source);
            let range = BucketRange {
                start,
                count,
                width,
            };
            tasks.spawn(async move {
                let counts = source.counts_many(&specs, range).await;
                idx.into_iter().zip(counts).collect::<Vec<_>>()
            });
        }
        let mut results: Vec<Option<crate::source::prometheus::Counts>> =
            (0..jobs.len()).map(|_| None).collect();
        let masks: Vec<Vec<crate::maintenance::Maintenance>> = self
            .slos
            .iter()
            .map(|s| self.config.maintenance_for(&s.slo))
            .collect();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(done) => {
                    for (j, mut counts) in done {
                        // Buckets in a maintenance window are recorded as excluded, not as good.
                        let job = &jobs[j];
                        crate::maintenance::mask(
                            &masks[job.slo],
                            job.start,
                            width,
                            &mut counts.buckets,
                        );
                        results[j] = Some(counts);
                    }
                }
                Err(e) => {
                    warn!(error = %e, "a query task failed; its buckets are retried next tick")
                }
            }
        }
        // 3. Old values of buckets far back (heal jobs) come from the store, before the commit;
        //    recent ones from memory. Then commit the new counts of the whole tick at once.
        let store = Arc::clone(&self.shared.store);
        let mut olds: Vec<Option<Vec<Bucket>>> = Vec::with_capacity(jobs.len());
        for job in &jobs {
            olds.push(if job.heal {
                let t = self.tracked(job);
                Some(store.get(t.series, job.start, width, job.count)?)
            } else {
                None
            });
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
        // From here on the store is ahead of memory until step 4 completes.
        self.needs_rebuild = true;
        let mut unreadable = false;
        // 4. Move the rolling sums: corrections first (heal jobs, then re-queried buckets), then
        //    new buckets, reading leaving buckets from memory or the committed store.
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
            let stored_old = olds[j].take();
            let t = self.tracked_mut(job);
            if job.heal {
                ranges::remove(&mut t.heal, job.start, job.start + job.count as i64 * width);
            }
            for &(s0, e0) in &counts.failed {
                ranges::add(&mut t.heal, s0, e0, CHUNK as i64 * width);
            }
            let Tracked {
                rolling,
                recent,
                cold,
                series,
                ..
            } = t;
            let span = width * CHUNK as i64;
            for (k, new) in counts.buckets.iter().enumerate() {
                let s = job.start + k as i64 * width;
                // What the rolling sums count for this bucket now.
                let old = if s >= rolling.at() {
                    Bucket::Missing
                } else if let Some(b) = recent.get(s) {
                    b
                } else {
                    stored_old
                        .as_ref()
                        .and_then(|o| o.get(k).copied())
                        .unwrap_or(Bucket::Missing)
                };
                let eff = match new {
                    Bucket::Known { .. } | Bucket::Excluded => *new,
                    Bucket::Missing => old,
                };
                if !matches!(new, Bucket::Missing) {
                    let chunk_start = s.div_euclid(span) * span;
                    cold.retain(|(c, _)| *c != chunk_start);
                }
                if s < rolling.at() {
                    if eff != old {
                        rolling.correct(s, old, eff);
                        recent.set(s, eff);
                    }
                } else if s == rolling.at() {
                    rolling.advance(eff, |leaving| {
                        recent.get(leaving).unwrap_or_else(|| {
                            cold_bucket(cold, &reader, *series, width, leaving, &mut unreadable)
                        })
                    });
                    recent.push(eff);
                }
            }
        }
        self.needs_rebuild = unreadable;
        self.evaluate_alerts(at);
        for (i, s) in self.slos.iter_mut().enumerate() {
            s.last_error = errors.remove(&i).map(|e| e.join("; "));
        }
        // 5. Retention, hourly.
        if at - self.last_retention >= 3600 {
            self.last_retention = at;
            let longest = self.slos.iter().map(|s| s.main.span).max().unwrap_or(0);
            let cutoff = at - longest - self.config.engine.retention_margin.as_secs() as i64;
            let keys: HashMap<u64, i64> = store
                .series_keys()
                .unwrap_or_default()
                .into_iter()
                .map(|(k, id)| (id, width_of_key(&k).unwrap_or(width)))
                .collect();
            match store.delete_before(cutoff, |id| keys.get(&id).copied().unwrap_or(width)) {
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
                let alert = |sev: &str| {
                    self.alerts
                        .get(&format!("{}|{sev}", s.slo.id))
                        .cloned()
                        .unwrap_or_default()
                };
                SloView {
                    slo: Arc::clone(&s.slo),
                    eval,
                    sla_sli,
                    series: s.main.series,
                    last_error: s.last_error.clone(),
                    alerts: [alert("page"), alert("ticket")],
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

/// What a notification says about an SLO's alert: enough to act on without opening a dashboard.
fn alert_details(
    s: &SloState,
    rec: &crate::alert::state::Record,
    at: i64,
    config: &Config,
) -> serde_json::Value {
    let eval = s.main.rolling.evaluate(s.slo.objective, &s.slo.periods);
    let mut burn = serde_json::Map::new();
    for (w, _, r) in &eval.burn {
        burn.insert(w.to_string(), serde_json::json!(r));
    }
    let mut remaining = serde_json::Map::new();
    let mut exhaustion = serde_json::Map::new();
    for p in &eval.periods {
        remaining.insert(p.period.to_string(), serde_json::json!(p.remaining));
        exhaustion.insert(p.period.to_string(), serde_json::json!(p.exhaustion_1h));
    }
    serde_json::json!({
        "slo": s.slo.id,
        "service": s.slo.service,
        "name": s.slo.name,
        "objective": s.slo.objective,
        "description": s.slo.description,
        "rule": rec.rule,
        "burn_rate": rec.peak_burn_rate,
        "burn_rates": burn,
        "error_budget_remaining": remaining,
        "time_to_exhaustion_seconds": exhaustion,
        "queries": s.slo.counts.queries(),
        "fired_at": rec.fired_at.map(crate::report::rfc3339),
        "at": crate::report::rfc3339(at),
        "labels": s.slo.labels,
        "dashboard": config.dashboard_link(&s.slo),
    })
}

/// A stored bucket far back (the trailing edge of a long window), through the per-series cache of
/// packed chunks; unreadable data counts as missing, with a warning.
fn cold_bucket(
    cold: &mut Vec<(i64, Vec<u8>)>,
    reader: &Reader,
    series: u64,
    width: i64,
    start: i64,
    unreadable: &mut bool,
) -> Bucket {
    let span = width * CHUNK as i64;
    let chunk_start = start.div_euclid(span) * span;
    let slot = ((start - chunk_start) / width) as usize;
    if !cold.iter().any(|(c, _)| *c == chunk_start) {
        let bytes = match reader.chunk(series, chunk_start) {
            Ok(b) => b.unwrap_or_default(),
            Err(e) => {
                warn!(series, error = %e, "store read failed; the window sums will be rebuilt");
                *unreadable = true;
                return Bucket::Missing;
            }
        };
        if cold.len() >= COLD_CHUNKS {
            cold.remove(0);
        }
        cold.push((chunk_start, bytes));
    }
    let Some((_, bytes)) = cold.iter().find(|(c, _)| *c == chunk_start) else {
        return Bucket::Missing;
    };
    if bytes.is_empty() {
        return Bucket::Missing;
    }
    match codec::decode_one(bytes, slot) {
        Ok(b) => b,
        Err(e) => {
            warn!(series, error = %e, "unreadable chunk; the window sums will be rebuilt");
            *unreadable = true;
            Bucket::Missing
        }
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
    mask: &[crate::maintenance::Maintenance],
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
        stored.iter().map(|b| !matches!(b, Bucket::Missing)),
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
        let mut counts = source.counts(&spec, range).await;
        crate::maintenance::mask(mask, s, width, &mut counts.buckets);
        for (k, b) in counts.buckets.iter().enumerate() {
            let idx = ((s - start) / width) as usize + k;
            if let (Bucket::Known { .. } | Bucket::Excluded, Some(slot)) = (b, stored.get_mut(idx))
            {
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
    Ok(Tracked {
        key,
        series,
        spec,
        windows,
        span,
        rolling,
        heal,
        recent,
        cold: Vec::new(),
    })
}
