//! The Loki source against a FAKE Loki (`fakes/loki.rs`; no Loki runs here) that follows
//! protocols.md section 4 strictly: per-bucket counts equal the log lines exactly (random
//! sub-second times and lines exactly on bucket edges), empty steps are zero, failed requests are
//! missing and heal when asked again, long ranges are split under Loki's limits, tenancy and
//! retention behave as documented. With `LOKI_URL` set, one test also asks a real Loki. The
//! histories here hold a line from before the range, so Loki holds every bucket; ranges that
//! begin before Loki's data are `loki_retention.rs`.

use crate::common;
use crate::fakes::loki::{FakeLoki, Line};
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
        spec: std::sync::Arc::new(CountSpec::Events {
            good: None,
            bad: Some(EventQuery::Selector(
                r#"{app="backend"} | json | status >= 500"#.into(),
            )),
            total: Some(EventQuery::Selector(r#"{app="backend"}"#.into())),
        }),
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
    // A query Loki refuses is refused once, with Loki's plain-text message. (This was
    // `{app=~"x.*"}` while the fake knew no regex matchers; it reads them as Loki does now, so
    // the refused query is the one Loki refuses: a selector that every stream matches.)
    let bad = Ask {
        spec: std::sync::Arc::new(CountSpec::Events {
            good: None,
            bad: Some(EventQuery::Selector(r#"{app=~".*"}"#.into())),
            total: Some(EventQuery::Selector(r#"{app="backend"}"#.into())),
        }),
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
    assert!(
        e.contains("HTTP 400") && e.contains("empty-compatible value"),
        "{e}"
    );
    assert!(e.contains(r#"{app=~".*"}"#), "the query is named: {e}");
    // Two requests: the search for where each selector's lines begin, the refused one not
    // retried; an SLI whose start cannot be known sends no counting query.
    assert_eq!(f.requests.load(Ordering::Relaxed), n + 2, "400 not retried");
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

/// Loki's refusal of a selector that every stream matches (`pkg/logql/syntax/parser.go`).
const EMPTY_COMPATIBLE: &str = "queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will";

/// Percent-encodes a URL query parameter.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One metric range query straight to the fake at `port` (seconds, step in seconds): the
/// status and the body.
fn range_query(port: u16, query: &str, start: i64, end: i64, step: i64) -> (u16, String) {
    let url = format!(
        "http://127.0.0.1:{port}/loki/api/v1/query_range?query={}&start={}&end={}&step={step}s",
        enc(query),
        start * NS,
        end * NS
    );
    common::http::get(&url).expect("the fake answers")
}

/// The values of a matrix answer's only series, oldest first (none without a series).
fn values(body: &str) -> Vec<f64> {
    let v: serde_json::Value = serde_json::from_str(body).expect("JSON");
    let result = v["data"]["result"].as_array().expect("a result");
    assert!(result.len() <= 1, "one series at most: {body}");
    let Some(series) = result.first() else {
        return Vec::new();
    };
    series["values"]
        .as_array()
        .expect("values")
        .iter()
        .map(|p| p[1].as_str().and_then(|x| x.parse().ok()))
        .collect::<Option<Vec<f64>>>()
        .expect("numbers")
}

/// The fake's pipelines are Loki 3.x's (protocols.md section 9): a numeric filter drops a line
/// that lacks its label, so a plain-text line in a JSON stream no longer fails the query;
/// `unwrap` skips such lines; `| json` flattens nested keys and skips arrays and nulls; the
/// pattern filters `|>` and `!>` work. A value a filter cannot read still fails a metric query,
/// as counting lines `| json` could not read does; selectors every stream matches and a grouped
/// `count_over_time` are Loki's parse errors.
#[test]
fn pipelines_follow_loki_3() {
    let t0 = 1_767_225_600;
    let line = |s: i64, app: &str, body: &str| Line {
        ts: (t0 + s) * NS,
        stream: BTreeMap::from([("app".to_string(), app.to_string())]),
        body: body.to_string(),
    };
    let f = FakeLoki::new(
        vec![
            line(10, "backend", r#"{"status":503,"duration_ms":120}"#),
            line(20, "backend", "worker pool started"),
            line(30, "backend", r#"{"status":200}"#),
            line(
                40,
                "backend",
                r#"{"req":{"status":500,"route":"/pay"},"tags":["a"],"user":null}"#,
            ),
            line(50, "edge", r#"{"status":"n/a"}"#),
        ],
        None,
    );
    let port = common::serve(f.router());
    // One step at t0 + 60: the window (t0, t0 + 60] holds every line.
    let get = |q: &str| range_query(port, q, t0 + 60, t0 + 60, 60);
    let counted = |q: &str| -> Vec<f64> {
        let (status, body) = get(q);
        assert_eq!(status, 200, "{q}: {body}");
        values(&body)
    };
    let refused = |q: &str| -> String {
        let (status, body) = get(q);
        assert_eq!(status, 400, "{q}: {body}");
        body
    };
    assert_eq!(
        counted(r#"sum(count_over_time({app="backend"} | json | status >= 500 [60s]))"#),
        [1.0],
        "the plain-text line is dropped, not an error"
    );
    assert_eq!(
        counted(
            r#"sum(count_over_time({app="backend"} | json | req_status = 500 | req_route = "/pay" | tags = "" | user = "" [60s]))"#
        ),
        [1.0],
        "nested keys flattened, arrays and nulls no labels"
    );
    assert_eq!(
        counted(r#"sum(max_over_time({app="backend"} | json | unwrap duration_ms [60s]))"#),
        [120.0],
        "lines without the field are skipped"
    );
    assert_eq!(
        counted(r#"sum(count_over_time({app="backend"} |> "worker <_>" [60s]))"#),
        [1.0]
    );
    assert_eq!(
        counted(
            r#"sum(count_over_time({app="backend"} !> "worker <_>" | json | __error__="" [60s]))"#
        ),
        [3.0]
    );
    assert_eq!(
        counted(r#"sum(count_over_time({app=~"back.*"} |~ "pool|route" [60s]))"#),
        [2.0]
    );
    let e = refused(r#"sum(count_over_time({app="backend"} | json [60s]))"#);
    assert!(e.starts_with("pipeline error: 'JSONParserErr'"), "{e}");
    let e = refused(r#"sum(count_over_time({app="edge"} | json | status >= 500 [60s]))"#);
    assert!(e.starts_with("pipeline error: 'LabelFilterErr'"), "{e}");
    for sel in [r#"{app=~".*"}"#, r#"{env!="dev"}"#, r#"{app=""}"#] {
        let e = refused(&format!("sum(count_over_time({sel} [60s]))"));
        assert_eq!(e, format!("parse error : {EMPTY_COMPATIBLE}\n"), "{sel}");
    }
    assert_eq!(
        refused(r#"count_over_time({app="backend"} [60s]) by (app)"#),
        "parse error : grouping not allowed for count_over_time aggregation\n"
    );
}

/// Loki's distributor keeps the valid entries of a push and answers 400 listing the refused
/// ones (protocols.md section 9); the fake refused the whole push before.
#[test]
fn a_push_keeps_its_valid_entries_and_lists_the_refused_ones() {
    let f = FakeLoki::new(Vec::new(), None);
    let port = common::serve(f.router());
    let now = slowburn::time::now_secs() * NS;
    let old = now - 200 * 3600 * NS;
    let body = serde_json::json!({"streams": [
        {"stream": {"app": "backend"}, "values": [
            [now.to_string(), "kept"],
            [old.to_string(), "too old"],
            [(now + 1).to_string(), "kept too"],
        ]},
        {"stream": {}, "values": [[now.to_string(), "no labels"]]},
    ]});
    let url = format!("http://127.0.0.1:{port}/loki/api/v1/push");
    let (status, text) =
        common::http::request("POST", &url, &[], &body.to_string()).expect("the fake answers");
    assert_eq!(status, 400, "{text}");
    assert!(
        text.contains("entry for stream '{app=\"backend\"}' has timestamp too old")
            && text.contains("error at least one label pair is required per stream")
            && text.starts_with("1 errors like: "),
        "{text}"
    );
    let kept: Vec<String> = f.lines().into_iter().map(|l| l.body).collect();
    assert_eq!(kept, ["kept", "kept too"]);
    // All valid: 204.
    let body = serde_json::json!({"streams": [
        {"stream": {"app": "backend"}, "values": [[(now + 2).to_string(), "third"]]},
    ]});
    let (status, _) =
        common::http::request("POST", &url, &[], &body.to_string()).expect("the fake answers");
    assert_eq!(status, 204);
    assert_eq!(f.lines().len(), 3);
}

/// `max_query_lookback` (off by default): a range that ends before it answers an empty 200 (a
/// matrix without series) and nothing older is read within a longer range, so data out of reach
/// looks like no lines at all, as in Loki (protocols.md section 9).
#[test]
fn ranges_before_max_query_lookback_answer_empty() {
    let now = slowburn::time::now_secs() / W * W;
    let app = BTreeMap::from([("app".to_string(), "backend".to_string())]);
    let at = |ago: i64| Line {
        ts: (now - ago) * NS + 1,
        stream: app.clone(),
        body: "ok".into(),
    };
    let f = FakeLoki::new(vec![at(7200), at(600)], None);
    f.max_query_lookback_secs.store(3600, Ordering::Relaxed);
    let port = common::serve(f.router());
    let q = r#"sum(count_over_time({app="backend"} [60s]))"#;
    let (status, body) = range_query(port, q, now - 3 * 3600, now - 5400, W);
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(v["data"]["resultType"], "matrix", "{body}");
    assert_eq!(v["data"]["result"], serde_json::json!([]), "{body}");
    let (status, body) = range_query(port, q, now - 3 * 3600, now, W);
    assert_eq!(status, 200, "{body}");
    assert_eq!(values(&body), [1.0], "only the line within the lookback");
    f.max_query_lookback_secs.store(0, Ordering::Relaxed);
    let (_, body) = range_query(port, q, now - 3 * 3600, now, W);
    assert_eq!(values(&body), [1.0, 1.0], "both lines with the limit off");
}

/// A test can make the fake answer as a loaded Loki does: the querier's 504 past
/// `query_timeout` and the frontend's 429 when its queue is full, each with Loki's text, one
/// answer per count; then queries succeed again.
#[test]
fn a_timeout_and_a_full_queue_answer_with_lokis_texts() {
    let f = FakeLoki::new(Vec::new(), None);
    let port = common::serve(f.router());
    let q = r#"sum(count_over_time({app="backend"} [60s]))"#;
    let t = 1_767_225_600;
    f.timeout_next.store(1, Ordering::Relaxed);
    let (status, body) = range_query(port, q, t, t + 600, W);
    assert_eq!(status, 504);
    assert_eq!(
        body,
        "request timed out, decrease the duration of the request or add more label matchers (prefer exact match over regex match) to reduce the amount of data processed"
    );
    f.busy_next.store(1, Ordering::Relaxed);
    assert_eq!(
        range_query(port, q, t, t + 600, W),
        (429, "too many outstanding requests".to_string())
    );
    assert_eq!(range_query(port, q, t, t + 600, W).0, 200);
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
