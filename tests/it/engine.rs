//! The engine without a network: a scripted in-memory source (named `prometheus`, as the SLOs
//! refer to it) answers from a known truth, and tokio's paused clock makes its scripted latency
//! free. Every test drives `Engine::start`/`tick`/`reload` at explicit bucket boundaries and
//! checks the store and the published snapshot bucket by bucket against that truth.

use slowburn::alert::policy::Severity;
use slowburn::budget::{Bucket, WindowSum};
use slowburn::config::{Config, CountSpec, EventQuery};
use slowburn::duration::Dur;
use slowburn::engine::{Engine, Shared};
use slowburn::notify::{Action, Notification};
use slowburn::source::{
    Ask, BoxFuture, BucketRange, Counts, QueryStats, Source, SourceError, SourceKind, Sources,
};
use slowburn::store::Store;
use slowburn::store::keys::{Role, SeriesKey};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const W: i64 = 60;
/// A bucket boundary well after any history the tests use.
const T0: i64 = 1_800_000_000 / W * W;
const DAY: i64 = 86400;

/// Events per bucket: a little diurnal-looking variation, 0.05% errors, and 100% errors in the
/// outage buckets; an errors selector containing `v2` counts twice as many errors.
fn truth(ask: &Ask, t: i64, outage: Option<(i64, i64)>) -> Bucket {
    let total = 1000.0 + ((t / W) % 7) as f64 * 10.0 + ask.slo.len() as f64;
    let v2 = match &*ask.spec {
        CountSpec::Events {
            bad: Some(EventQuery::Selector(s)),
            ..
        } => s.contains("v2"),
        _ => false,
    };
    let mut bad = if (t / W) % 4 == 0 { 2.0 } else { 0.0 };
    if v2 {
        bad *= 2.0;
    }
    if outage.is_some_and(|(a, b)| t >= a && t < b) {
        bad = total;
    }
    Bucket::known(total - bad, total)
}

#[derive(Default)]
struct Script {
    /// The wall clock as the scripted backend sees it.
    now: i64,
    /// While set, buckets that ended less than one bucket before `now` answer with only half
    /// their events (samples not yet ingested).
    late: bool,
    /// Every request fails while set.
    down: bool,
    /// `[start, end)` of 100% errors.
    outage: Option<(i64, i64)>,
    /// Every request: the SLO ids asked and the range.
    asked: Vec<(Vec<String>, BucketRange)>,
}

/// The scripted source: named `prometheus`, answers [`truth`], fails on command.
struct Scripted {
    script: Mutex<Script>,
    stats: QueryStats,
}

impl Scripted {
    fn new() -> Arc<Self> {
        Arc::new(Scripted {
            script: Mutex::new(Script::default()),
            stats: QueryStats::default(),
        })
    }
    fn with<R>(&self, f: impl FnOnce(&mut Script) -> R) -> R {
        f(&mut self.script.lock().unwrap())
    }
}

impl Source for Scripted {
    fn name(&self) -> &str {
        "prometheus"
    }

    fn counts_many<'a>(
        &'a self,
        asks: &'a [Ask],
        range: BucketRange,
    ) -> BoxFuture<'a, Vec<Counts>> {
        Box::pin(async move {
            // A slow backend: free under the paused clock, and proof that nothing waits on
            // wall time.
            tokio::time::sleep(Duration::from_secs(2)).await;
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let (now, late, down, outage) = self.with(|s| {
                s.asked
                    .push((asks.iter().map(|a| a.slo.to_string()).collect(), range));
                (s.now, s.late, s.down, s.outage)
            });
            asks.iter()
                .map(|ask| {
                    if down {
                        return Counts::failed(
                            range,
                            SourceError::Unavailable {
                                backend: "prometheus".into(),
                                url: "scripted".into(),
                                query: ask.slo.to_string(),
                                attempts: 1,
                                message: "scripted outage".into(),
                            },
                        );
                    }
                    let buckets = (0..range.count as i64)
                        .map(|k| {
                            let t = range.start + k * range.width;
                            match truth(ask, t, outage) {
                                Bucket::Known { good, total } if late && t + 2 * W > now => {
                                    Bucket::known(good / 2.0, total / 2.0)
                                }
                                b => b,
                            }
                        })
                        .collect();
                    Counts {
                        buckets,
                        ..Counts::default()
                    }
                })
                .collect()
        })
    }

    fn health(&self) -> BoxFuture<'_, Result<(), SourceError>> {
        Box::pin(async { Ok(()) })
    }

    fn stats(&self) -> &QueryStats {
        &self.stats
    }
}

fn slo(service: &str, name: &str, errors: &str) -> String {
    format!(
        "  - service: {service}\n    name: {name}\n    objective: 99.9\n    sli:\n      ratio:\n        errors: {errors}{{svc=\"{service}\"}}\n        total: requests_total{{svc=\"{service}\"}}\n"
    )
}

fn config(slos: &[String]) -> Config {
    let text = format!(
        "prometheus: {{url: \"http://127.0.0.1:9\"}}\ndefaults: {{bucket: 1m, windows: [30d, 7d]}}\nengine: {{lag: 3, heal_interval: 1m}}\nreceivers:\n  - name: hook\n    webhook: {{url: \"http://127.0.0.1:9/hook\"}}\nslos:\n{}",
        slos.concat()
    );
    slowburn::config::parse_str(&text, "engine-test.yaml", &|_| None).expect("valid config")
}

struct Rig {
    _dir: tempfile::TempDir,
    store: Arc<Store>,
    shared: Arc<Shared>,
    source: Arc<Scripted>,
    engine: Engine,
}

fn rig(cfg: Config) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let shared = Shared::new(Arc::clone(&store));
    let source = Scripted::new();
    source.with(|s| s.late = true);
    let sources = Sources::with(vec![(
        SourceKind::Prometheus,
        Arc::clone(&source) as Arc<dyn Source>,
    )]);
    let engine = Engine::new(cfg, sources, Arc::clone(&shared));
    Rig {
        _dir: dir,
        store,
        shared,
        source,
        engine,
    }
}

impl Rig {
    async fn start(&mut self, at: i64) {
        self.source.with(|s| s.now = at);
        self.engine.start(at).await.unwrap();
    }
    async fn tick(&mut self, at: i64) {
        self.source.with(|s| s.now = at);
        self.engine.tick(at).await.unwrap();
    }
    fn ask(&self, id: &str) -> Ask {
        let slo = self
            .engine
            .config()
            .slos
            .iter()
            .find(|s| s.id == id)
            .unwrap();
        Ask::slo(slo)
    }
    fn series(&self, ask: &Ask) -> Option<u64> {
        let key = SeriesKey::new(&ask.slo, &ask.spec, W, Role::Slo);
        self.store
            .series_keys()
            .unwrap()
            .into_iter()
            .find(|(k, _)| k == key.as_str())
            .map(|(_, id)| id)
    }
    fn stored(&self, id: &str, from: i64, to: i64) -> Vec<Bucket> {
        let ask = self.ask(id);
        let series = self.series(&ask).expect("a stored series");
        self.store
            .get(series, from, W, ((to - from) / W) as usize)
            .unwrap()
    }
    fn window(&self, id: &str, w: Dur) -> WindowSum {
        let snap = self.shared.snapshot();
        let v = snap.slos.iter().find(|v| v.slo.id == id).unwrap();
        v.eval
            .periods
            .iter()
            .map(|p| (p.period, p.sum))
            .chain(v.eval.burn.iter().map(|(d, s, _)| (*d, *s)))
            .find(|(d, _)| *d == w)
            .map(|(_, s)| s)
            .unwrap()
    }
    fn notifications(&self) -> Vec<Notification> {
        self.store
            .outbox()
            .unwrap()
            .into_iter()
            .map(|(id, b)| Notification::decode(id, &b).unwrap())
            .collect()
    }
}

/// The truth of `[from, to)`, bucket by bucket, with the newest bucket before `now` half-counted
/// (as the scripted backend answers it).
fn expected(ask: &Ask, from: i64, to: i64, outage: Option<(i64, i64)>) -> Vec<Bucket> {
    (from..to)
        .step_by(W as usize)
        .map(|t| truth(ask, t, outage))
        .collect()
}

fn sum(buckets: &[Bucket]) -> (f64, f64) {
    buckets.iter().fold((0.0, 0.0), |(g, t), b| match b {
        Bucket::Known { good, total } => (g + good, t + total),
        _ => (g, t),
    })
}

const D30: Dur = Dur::from_secs(30 * 86400);
const D7: Dur = Dur::from_secs(7 * 86400);
const H1: Dur = Dur::from_secs(3600);

#[tokio::test(start_paused = true)]
async fn backfill_stores_every_bucket_and_the_budgets_equal_the_truth() {
    let mut r = rig(config(&[slo("api", "avail", "errors_total")]));
    r.start(T0).await;
    let ask = r.ask("api/avail");
    let stored = r.stored("api/avail", T0 - 30 * DAY, T0);
    let want = expected(&ask, T0 - 30 * DAY, T0, None);
    // Every bucket but the newest, whose samples were still arriving, equals the truth.
    let n = stored.len();
    assert_eq!(stored[..n - 1], want[..n - 1]);
    let Bucket::Known { total, .. } = stored[n - 1] else {
        panic!("newest bucket missing")
    };
    assert_eq!(
        total * 2.0,
        sum(&want[n - 1..]).1,
        "the late bucket is half-counted"
    );
    for (period, days) in [(D30, 30), (D7, 7)] {
        let got = r.window("api/avail", period);
        let (g, t) = sum(&stored[n - days * 1440..]);
        assert_eq!((got.good, got.total), (g, t), "{period}");
        assert_eq!(got.coverage(), 1.0);
    }
}

#[tokio::test(start_paused = true)]
async fn ticks_re_read_late_buckets_within_lag_and_keep_sums_exact() {
    let mut r = rig(config(&[slo("api", "avail", "errors_total")]));
    r.start(T0).await;
    let ask = r.ask("api/avail");
    for k in 1..=10 {
        let at = T0 + k * W;
        r.tick(at).await;
        // Bucket by bucket: everything older than the newest equals the truth (the late half
        // of each bucket was picked up by the next tick's re-read), the newest is half-counted.
        let stored = r.stored("api/avail", T0 - 10 * W, at);
        let want = expected(&ask, T0 - 10 * W, at, None);
        let n = stored.len();
        assert_eq!(stored[..n - 1], want[..n - 1], "tick {k}");
        assert_eq!(
            sum(&stored[n - 1..]).1 * 2.0,
            sum(&want[n - 1..]).1,
            "tick {k}"
        );
        // The rolling sums equal a fresh sum of the stored buckets for every window.
        for (w, buckets) in [(H1, 60), (D7, 7 * 1440)] {
            let from = at - buckets as i64 * W;
            let got = r.window("api/avail", w);
            let (g, t) = sum(&r.stored("api/avail", from, at));
            assert_eq!((got.good, got.total), (g, t), "tick {k} window {w}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn failures_leave_buckets_missing_then_heal() {
    let mut r = rig(config(&[slo("api", "avail", "errors_total")]));
    r.start(T0).await;
    let ask = r.ask("api/avail");
    r.source.with(|s| s.down = true);
    for k in 1..=4 {
        r.tick(T0 + k * W).await;
    }
    let at = T0 + 4 * W;
    let stored = r.stored("api/avail", T0, at);
    assert_eq!(
        stored,
        vec![Bucket::Missing; 4],
        "failed buckets are missing, not zero"
    );
    let hour = r.window("api/avail", H1);
    assert_eq!(hour.known, 56, "coverage tells: 56 of 60 buckets known");
    assert!(hour.coverage() < 1.0);
    let snap = r.shared.snapshot();
    let err = snap.slos[0].last_error.as_deref().unwrap_or("");
    assert!(err.contains("scripted outage"), "{err}");
    // Back: the next ticks re-query the failed range (heal_interval 1m) and every bucket is exact.
    r.source.with(|s| s.down = false);
    r.tick(at + W).await;
    r.tick(at + 2 * W).await;
    let end = at + 2 * W;
    let stored = r.stored("api/avail", T0 - W, end);
    let want = expected(&ask, T0 - W, end, None);
    let n = stored.len();
    assert_eq!(stored[..n - 1], want[..n - 1], "healed bucket by bucket");
    let hour = r.window("api/avail", H1);
    assert_eq!(hour.coverage(), 1.0);
    let (g, t) = sum(&r.stored("api/avail", end - 3600, end));
    assert_eq!((hour.good, hour.total), (g, t));
    assert!(r.shared.snapshot().slos[0].last_error.is_none());
}

/// The source-outage part of the soak (issue 11, item 19): two hours down
/// (`SLOWBURN_SOAK_OUTAGE_HOURS`), 120 buckets, more than the 64 the engine holds in memory; when
/// the source is back every bucket heals to the truth and every window equals the stored sums.
#[tokio::test(start_paused = true)]
async fn a_long_outage_heals_beyond_the_buckets_held_in_memory() {
    let hours: i64 = std::env::var("SLOWBURN_SOAK_OUTAGE_HOURS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let mut r = rig(config(&[slo("api", "avail", "errors_total")]));
    r.start(T0).await;
    let ask = r.ask("api/avail");
    r.source.with(|s| s.down = true);
    let n = hours * 3600 / W;
    assert!(n > 64, "longer than the in-memory buckets");
    for k in 1..=n {
        r.tick(T0 + k * W).await;
    }
    let at = T0 + n * W;
    assert_eq!(
        r.stored("api/avail", T0, at),
        vec![Bucket::Missing; n as usize]
    );
    assert_eq!(r.window("api/avail", H1).known, 0);
    r.source.with(|s| s.down = false);
    r.tick(at + W).await;
    r.tick(at + 2 * W).await;
    let end = at + 2 * W;
    let stored = r.stored("api/avail", T0 - W, end);
    let want = expected(&ask, T0 - W, end, None);
    let len = stored.len();
    assert_eq!(
        stored[..len - 1],
        want[..len - 1],
        "healed bucket by bucket"
    );
    for (w, span) in [
        (H1, 3600),
        (Dur::from_secs(6 * 3600), 6 * 3600),
        (D7, 7 * DAY),
    ] {
        let win = r.window("api/avail", w);
        assert_eq!(win.coverage(), 1.0, "{w}");
        let (g, t) = sum(&r.stored("api/avail", end - span, end));
        assert_eq!((win.good, win.total), (g, t), "{w} equals the stored sums");
    }
}

#[tokio::test(start_paused = true)]
async fn reload_adds_changes_and_removes_slos() {
    let before = [
        slo("api", "avail", "errors_total"),
        slo("keep", "avail", "errors_total"),
        slo("gone", "avail", "errors_total"),
    ];
    let mut r = rig(config(&before));
    r.start(T0).await;
    r.tick(T0 + W).await;
    let keep_series = r.series(&r.ask("keep/avail")).unwrap();
    let old_api = r.ask("api/avail");
    let old_api_series = r.series(&old_api).unwrap();
    r.source.with(|s| s.asked.clear());
    let after = config(&[
        slo("api", "avail", "errors_v2_total"),
        slo("keep", "avail", "errors_total"),
        slo("new", "avail", "errors_total"),
    ]);
    let at = T0 + 2 * W;
    r.source.with(|s| s.now = at);
    r.engine.reload(after, at).await.unwrap();
    let snap = r.shared.snapshot();
    let ids: Vec<&str> = snap.slos.iter().map(|v| v.slo.id.as_str()).collect();
    assert_eq!(ids, ["api/avail", "keep/avail", "new/avail"]);
    // The changed definition is a new series, backfilled from its own truth.
    let api = r.ask("api/avail");
    let api_series = r.series(&api).unwrap();
    assert_ne!(api_series, old_api_series);
    let stored = r.stored("api/avail", at - 30 * DAY, at - W);
    assert_eq!(stored, expected(&api, at - 30 * DAY, at - W, None));
    assert_ne!(
        stored,
        expected(&old_api, at - 30 * DAY, at - W, None),
        "new counts"
    );
    // The new SLO is backfilled; the unchanged one kept its state and was not re-read.
    let new = r.ask("new/avail");
    assert_eq!(
        r.stored("new/avail", at - 30 * DAY, at - W),
        expected(&new, at - 30 * DAY, at - W, None)
    );
    assert_eq!(r.series(&r.ask("keep/avail")), Some(keep_series));
    let asked = r.source.with(|s| s.asked.clone());
    assert!(
        asked
            .iter()
            .all(|(ids, _)| !ids.contains(&"keep/avail".to_string())),
        "{asked:?}"
    );
    // The removed SLO is no longer evaluated; the next tick carries on for the others.
    r.tick(at + W).await;
    let snap = r.shared.snapshot();
    assert_eq!(snap.slos.len(), 3);
    assert!(snap.slos.iter().all(|v| v.slo.id != "gone/avail"));
    assert_eq!(snap.at, at + W);
}

#[tokio::test(start_paused = true)]
async fn an_outage_pages_on_the_workbook_tick_and_resolves_when_the_short_window_clears() {
    let mut r = rig(config(&[slo("api", "avail", "errors_total")]));
    // Five minutes of 100% errors from T0 + 10 buckets: within 7d's budget, so only burn rules.
    let (a, b) = (T0 + 10 * W, T0 + 15 * W);
    r.source.with(|s| {
        s.outage = Some((a, b));
        // Every answer complete, so detection is the Workbook's alone (late samples would
        // delay it by the bucket they arrive in).
        s.late = false;
    });
    r.start(T0).await;
    let mut fired = None;
    let mut resolved = None;
    let mut at = T0;
    while at < b + 3600 {
        at += W;
        r.tick(at).await;
        let page = &r.shared.snapshot().slos[0].alerts[0];
        if page.firing() && fired.is_none() {
            fired = Some(at);
        }
        if !page.firing() && fired.is_some() && resolved.is_none() {
            resolved = Some(at);
        }
    }
    // 1h/5m at 14.4: a 100% burn crosses it 51.8 s in (the Workbook), so the first tick after
    // the first outage bucket is in: the outage start plus one bucket.
    assert_eq!(fired, Some(a + W), "fired on the Workbook's tick");
    // 6h/30m is the last page rule to let go: when the last outage bucket leaves its 30 minutes.
    assert_eq!(
        resolved,
        Some(b + 1800),
        "resolved when 30m no longer holds the outage"
    );
    let sent: Vec<(Severity, Action, i64)> = r
        .notifications()
        .into_iter()
        .filter(|n| n.receiver == "hook")
        .map(|n| (n.severity, n.action, n.created_at))
        .collect();
    // One page trigger and its resolve. Five minutes of 100% errors also spend over 10% of the
    // budget within a day, so the 1d/2h ticket holds; the page superseded it while it fired,
    // and it takes over on the tick the page resolves.
    assert_eq!(
        sent,
        [
            (Severity::Page, Action::Trigger, a + W),
            (Severity::Page, Action::Resolve, b + 1800),
            (Severity::Ticket, Action::Trigger, b + 1800),
        ],
        "stored in the outbox in order"
    );
    let ticket = &r.shared.snapshot().slos[0].alerts[1];
    assert_eq!(ticket.rule.as_deref(), Some("1d/2h"));
}
