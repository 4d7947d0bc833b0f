//! The Loki source against a FAKE Loki (`fakes/loki.rs`; no Loki runs here) that follows
//! protocols.md section 4 strictly: per-bucket counts equal the log lines exactly (random
//! sub-second times and lines exactly on bucket edges), empty steps are zero, failed requests are
//! missing and heal when asked again, long ranges are split under Loki's limits, tenancy and
//! retention behave as documented. With `LOKI_URL` set, one test also asks a real Loki. The
//! histories here hold a line from before the range, so Loki holds every bucket; ranges that
//! begin before Loki's data are `loki_retention.rs`.

mod common;
#[path = "fakes/loki.rs"]
mod fake;

use fake::{FakeLoki, Line};
use proptest::prelude::*;
use slowburn::budget::Bucket;
use slowburn::config::{CountSpec, EventQuery, LokiSettings};
use slowburn::duration::Dur;
use slowburn::source::loki::LokiSource;
use slowburn::source::{Ask, BucketRange, Source};
use slowburn::store::keys::Role;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

const NS: i64 = 1_000_000_000;
const W: i64 = 60;

fn settings(port: u16, tenant: Option<&str>, points: u32) -> LokiSettings {
    LokiSettings {
        url: format!("http://127.0.0.1:{port}"),
        tenant: tenant.map(str::to_string),
        headers: Vec::new(),
        basic_auth: None,
        timeout: Dur::from_secs(30),
        max_concurrency: 4,
        retries: 1,
        max_points_per_query: points,
        retention: None,
    }
}

fn ask() -> Ask {
    Ask {
        slo: "backend/logs".into(),
        spec: CountSpec::Events {
            good: None,
            bad: Some(EventQuery::Selector(
                r#"{app="backend"} | json | status >= 500"#.into(),
            )),
            total: Some(EventQuery::Selector(r#"{app="backend"}"#.into())),
        },
        role: Role::Slo,
    }
}

/// Deterministic lines over `[start, start + buckets·W)`: random sub-second times, some exactly
/// on bucket edges, some minutes empty, one stream of another app that must not count, and one
/// line in the minute before `start` (Loki holds the app's lines from before the range, so its
/// first buckets are known even when empty). Returns the lines and the true `(errors, total)`
/// per bucket `(s, s + W]`.
fn history(start: i64, buckets: usize, seed: u64) -> (Vec<Line>, Vec<(f64, f64)>) {
    let mut rng = seed.max(1);
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let stream = |app: &str| BTreeMap::from([("app".to_string(), app.to_string())]);
    let mut lines = vec![Line {
        ts: (start - W / 2) * NS,
        stream: stream("backend"),
        body: r#"{"level":"info","status":200,"duration_ms":1}"#.into(),
    }];
    let mut truth = vec![(0.0, 0.0); buckets];
    for i in 0..buckets {
        // Every 7th minute has no line at all.
        if i % 7 == 3 {
            continue;
        }
        let n = (next() % 6) as usize;
        for k in 0..n {
            let lo = (start + i as i64 * W) * NS;
            // A line exactly on the bucket's end edge belongs to this bucket ((s, s + W]).
            let ts = if k == 0 && i % 5 == 0 {
                lo + W * NS
            } else {
                lo + 1 + (next() % (W as u64 * NS as u64 - 1)) as i64
            };
            let err = next() % 4 == 0;
            let status = if err { 503 } else { 200 };
            lines.push(Line {
                ts,
                stream: stream("backend"),
                body: format!(
                    r#"{{"level":"info","status":{status},"duration_ms":{}}}"#,
                    next() % 400
                ),
            });
            let b = ((ts + W * NS - 1) / (W * NS) - start / W - 1) as usize;
            if b < buckets {
                truth[b].1 += 1.0;
                if err {
                    truth[b].0 += 1.0;
                }
            }
        }
        lines.push(Line {
            ts: (start + i as i64 * W) * NS + 5,
            stream: stream("other"),
            body: r#"{"status":500}"#.into(),
        });
    }
    (lines, truth)
}

fn good_total(b: &Bucket) -> Option<(f64, f64)> {
    match b {
        Bucket::Known { good, total } => Some((*good, *total)),
        _ => None,
    }
}

#[tokio::test]
async fn per_bucket_counts_equal_the_lines_and_empty_steps_are_zero() {
    let start = 1_767_225_600; // 2026-01-01T00:00:00Z, aligned to the minute
    let buckets = 2 * 1440;
    let (lines, truth) = history(start, buckets, 42);
    let f = FakeLoki::new(lines, None);
    let port = common::serve(f.router());
    // 500 points per request: six requests, each checked by the fake's limits.
    let src = LokiSource::new(&settings(port, None, 500)).expect("source");
    let r = BucketRange {
        start,
        count: buckets,
        width: W,
    };
    let c = src.counts(&ask(), r).await;
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    let mut empty = 0;
    for (i, (b, (bad, total))) in c.buckets.iter().zip(&truth).enumerate() {
        let (g, t) = good_total(b).unwrap_or_else(|| panic!("bucket {i} missing"));
        assert_eq!((t - g, t), (*bad, *total), "bucket {i}");
        empty += usize::from(*total == 0.0);
    }
    assert!(empty > buckets / 10, "the history must have empty minutes");
    // Every request used ns integers on the epoch grid and stayed under 11,000 points.
    let ranges = f.ranges.read().expect("ranges").clone();
    assert!(ranges.len() >= 2 * 6, "{}", ranges.len());
    for (s, e, step) in ranges {
        assert_eq!(step, W * NS);
        assert_eq!(s % (W * NS), 0);
        assert!((e - s) / step < 11_000);
    }
}

#[tokio::test]
async fn failed_requests_are_missing_and_heal() {
    let start = 1_767_225_600;
    let (lines, truth) = history(start, 600, 7);
    let f = FakeLoki::new(lines, None);
    let port = common::serve(f.router());
    let src = LokiSource::new(&settings(port, None, 1440)).expect("source");
    let r = BucketRange {
        start,
        count: 600,
        width: W,
    };
    f.down.store(true, Ordering::Relaxed);
    let c = src.counts(&ask(), r).await;
    assert!(c.buckets.iter().all(|b| *b == Bucket::Missing));
    assert_eq!(c.failed, vec![(start, start + 600 * W)]);
    let e = c.errors[0].to_string();
    assert!(
        e.contains("fake: injected failure") && e.contains("2 attempt"),
        "{e}"
    );
    // A 5xx is retried: one failure then success gives exact counts.
    f.down.store(false, Ordering::Relaxed);
    f.fail_next.store(1, Ordering::Relaxed);
    let c = src.counts(&ask(), r).await;
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    let got: Vec<(f64, f64)> = c
        .buckets
        .iter()
        .map(|b| good_total(b).map(|(g, t)| (t - g, t)).expect("known"))
        .collect();
    assert_eq!(got, truth);
}

#[tokio::test]
async fn long_ranges_split_under_the_query_length_and_a_400_is_not_retried() {
    // 40 days of 10-minute buckets: 5,760 points would fit 11,000 but span more than 721h.
    let start = 1_767_225_600;
    // One line just before the range: Loki holds the app's lines from before it.
    let before = Line {
        ts: (start - 300) * NS,
        stream: BTreeMap::from([("app".to_string(), "backend".to_string())]),
        body: r#"{"status":200}"#.into(),
    };
    let f = FakeLoki::new(vec![before], None);
    let port = common::serve(f.router());
    let src = LokiSource::new(&settings(port, None, 11_000)).expect("source");
    let r = BucketRange {
        start,
        count: 40 * 144,
        width: 600,
    };
    let c = src.counts(&ask(), r).await;
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    // No line in the range but one before it: every bucket is a known zero, not missing.
    assert!(c.buckets.iter().all(|b| *b == Bucket::known(0.0, 0.0)));
    let n = f.requests.load(Ordering::Relaxed);
    // A query the fake (like Loki) cannot parse is rejected once, with its plain-text message.
    let bad = Ask {
        spec: CountSpec::Events {
            good: None,
            bad: Some(EventQuery::Selector(r#"{app=~"x.*"}"#.into())),
            total: Some(EventQuery::Selector(r#"{app="backend"}"#.into())),
        },
        ..ask()
    };
    let r = BucketRange {
        start,
        count: 10,
        width: W,
    };
    let c = src.counts(&bad, r).await;
    assert!(c.buckets.iter().all(|b| *b == Bucket::Missing));
    let e = c.errors[0].to_string();
    assert!(e.contains("HTTP 400") && e.contains("regex"), "{e}");
    assert!(e.contains(r#"{app=~"x.*"}"#), "the query is named: {e}");
    // One request: the search for where `{app=~"x.*"}`'s lines begin is refused and not
    // retried, and an SLI whose start cannot be known sends no counting query.
    assert_eq!(f.requests.load(Ordering::Relaxed), n + 1, "400 not retried");
}

#[tokio::test]
async fn tenancy_and_retention() {
    let now = slowburn::time::now_secs() / W * W;
    let (lines, _) = history(now - 3 * 86400, 3 * 1440, 3);
    let f = FakeLoki::new(lines, Some("team-a"));
    let port = common::serve(f.router());
    let r = BucketRange {
        start: now - 3 * 86400,
        count: 3 * 1440,
        width: W,
    };
    let c = LokiSource::new(&settings(port, None, 1440))
        .expect("source")
        .counts(&ask(), r)
        .await;
    let e = c.errors[0].to_string();
    assert!(e.contains("no org id") && e.contains("loki.tenant"), "{e}");
    let mut s = settings(port, Some("team-a"), 1440);
    s.retention = Some(Dur::from_secs(86400));
    let src = LokiSource::new(&s).expect("source");
    let c = src.counts(&ask(), r).await;
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    let missing = c.buckets.iter().filter(|b| **b == Bucket::Missing).count();
    // Two days of buckets, plus the one the retention's edge cuts when the clock is mid-minute.
    assert!(
        missing == 2 * 1440 || missing == 2 * 1440 + 1,
        "buckets older than the retention are missing: {missing}"
    );
    assert!(
        c.buckets[missing..].iter().all(|b| *b != Bucket::Missing),
        "only the oldest ones"
    );
    assert_eq!(c.unknown, vec![(r.start, r.start + missing as i64 * W)]);
    assert!(c.failed.is_empty(), "not worth asking again");
}

/// Backfill of one log SLO over 30 days at 1-minute buckets: the figure in BENCHMARKS.md.
#[tokio::test]
async fn backfill_30_days_finishes() {
    let start = 1_767_225_600;
    let buckets = 30 * 1440;
    let (lines, truth) = history(start, buckets, 11);
    let total_lines = lines.len();
    let f = FakeLoki::new(lines, None);
    let port = common::serve(f.router());
    let src = LokiSource::new(&settings(port, None, 1440)).expect("source");
    let r = BucketRange {
        start,
        count: buckets,
        width: W,
    };
    let t0 = Instant::now();
    let c = src.counts(&ask(), r).await;
    let took = t0.elapsed();
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    let sum = |k: usize| -> (f64, f64) {
        c.buckets[buckets - k..]
            .iter()
            .filter_map(good_total)
            .fold((0.0, 0.0), |a, (g, t)| (a.0 + t - g, a.1 + t))
    };
    let want = |k: usize| -> (f64, f64) {
        truth[buckets - k..]
            .iter()
            .fold((0.0, 0.0), |a, (b, t)| (a.0 + b, a.1 + t))
    };
    assert_eq!(sum(buckets), want(buckets), "30d");
    assert_eq!(sum(7 * 1440), want(7 * 1440), "7d");
    eprintln!(
        "30d backfill of one log SLO: {} lines, {} requests, {} response bytes, {:.2?}",
        total_lines,
        f.requests.load(Ordering::Relaxed),
        f.bytes.load(Ordering::Relaxed),
        took
    );
}

/// Against a real Loki when `LOKI_URL` is set (not in CI): the source answers and a count runs.
#[tokio::test]
async fn real_loki_when_configured() {
    let Ok(url) = std::env::var("LOKI_URL") else {
        eprintln!("SKIPPED: set LOKI_URL (and LOKI_TENANT) to run against a real Loki");
        return;
    };
    let mut s = settings(0, std::env::var("LOKI_TENANT").ok().as_deref(), 1440);
    s.url = url;
    let src: Arc<LokiSource> = LokiSource::new(&s).expect("source");
    src.health().await.expect("GET /ready");
    let now = slowburn::time::now_secs() / W * W;
    let c = src.counts(&ask(), BucketRange::ending_at(now, 60, W)).await;
    assert!(c.errors.is_empty(), "{:?}", c.errors);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]
    /// Any seed: the counts equal the lines.
    #[test]
    fn any_history_counts_exactly(seed in 1u64..u64::MAX) {
        let start = 1_767_225_600;
        let (lines, truth) = history(start, 120, seed);
        let f = FakeLoki::new(lines, None);
        let port = common::serve(f.router());
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let c = rt.block_on(async {
            let src = LokiSource::new(&settings(port, None, 50)).expect("source");
            src.counts(&ask(), BucketRange { start, count: 120, width: W }).await
        });
        let got: Vec<Option<(f64, f64)>> = c.buckets.iter().map(|b| good_total(b).map(|(g, t)| (t - g, t))).collect();
        let want: Vec<Option<(f64, f64)>> = truth.into_iter().map(Some).collect();
        prop_assert_eq!(got, want);
    }
}

/// The compose stack's config, with its log SLOs, validates offline.
#[test]
fn the_compose_config_with_log_slos_validates() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docker/slo.yaml");
    let (code, out, err) = common::slowburn(&["validate", "-c", path]);
    assert_eq!(code, 0, "{out}{err}");
    let text = std::fs::read_to_string(path).expect("docker/slo.yaml");
    assert!(
        text.contains("source: loki"),
        "the compose config has a log SLO"
    );
}
