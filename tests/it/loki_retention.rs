//! Loki beyond its retention is not "no traffic" (issue 22 item 3). A FAKE Loki
//! (`fakes/loki.rs`; no Loki runs here) holds a service's lines from seven days ago only, and
//! answers anything older with an empty 200, as a Loki with seven days of retention or of
//! `max_query_lookback` does. A 30-day range reads its buckets before the first line as missing
//! (coverage below 1, not asked again), and from the bucket of the first line on exactly the
//! lines; an errors filter that matched nothing yet does not move the start; a selector Loki
//! holds no line of at all counts zero (nothing tells retention from silence). `validate --online` and the daemon's SLO row say where
//! the lines begin. What only a real Loki can confirm: that its retention and lookback answer
//! empty as the fake does (protocols.md section 9).

use crate::common::{Daemon, serve, slowburn, write_config};
use crate::fakes::loki::{FakeLoki, Line};
use serde_json::Value;
use slowburn::budget::Bucket;
use slowburn::config::{CountSpec, EventQuery, LokiSettings};
use slowburn::duration::Dur;
use slowburn::source::loki::LokiSource;
use slowburn::source::{Ask, BucketRange, Source};
use slowburn::store::keys::Role;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

const NS: i64 = 1_000_000_000;
const W: i64 = 60;
const DAY: i64 = 86_400;

fn settings(port: u16) -> LokiSettings {
    LokiSettings {
        url: format!("http://127.0.0.1:{port}"),
        tenant: None,
        headers: Vec::new(),
        basic_auth: None,
        timeout: Dur::from_secs(30),
        max_concurrency: 4,
        retries: 1,
        max_points_per_query: 1440,
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

/// The app's lines: one every five minutes from `first` (unix seconds, plus a fraction) to
/// half an hour past now; every tenth is an error (status 503), but only from `errors_from`.
fn lines(first: i64, errors_from: i64) -> Vec<Line> {
    let until = slowburn::time::now_secs() + 1800;
    let mut out = Vec::new();
    let mut t = first;
    let mut k = 0;
    while t < until {
        let status = if k % 10 == 0 && t >= errors_from {
            503
        } else {
            200
        };
        out.push(Line {
            ts: t * NS + 123_456,
            stream: BTreeMap::from([("app".to_string(), "backend".to_string())]),
            body: format!(r#"{{"status":{status}}}"#),
        });
        t += 300;
        k += 1;
    }
    out
}

/// (errors, total) of the lines in `(from, to]` (unix seconds).
fn truth(lines: &[Line], from: i64, to: i64) -> (f64, f64) {
    lines
        .iter()
        .filter(|l| l.ts > from * NS && l.ts <= to * NS)
        .fold((0.0, 0.0), |(e, t), l| {
            let bad = if l.body.contains("503") { 1.0 } else { 0.0 };
            (e + bad, t + 1.0)
        })
}

/// (errors, total) of the known buckets.
fn sums(buckets: &[Bucket]) -> (f64, f64) {
    buckets.iter().fold((0.0, 0.0), |(e, t), b| match b {
        Bucket::Known { good, total } => (e + total - good, t + total),
        _ => (e, t),
    })
}

#[tokio::test]
async fn buckets_before_lokis_first_line_are_missing_not_zero() {
    let now = slowburn::time::now_secs() / W * W;
    // The first line is 17 s into the minute that starts seven days ago: its bucket starts there.
    let held = now - 7 * DAY;
    let all = lines(held + 17, now - 4 * DAY);
    let f = FakeLoki::new(all.clone(), None);
    let src = LokiSource::new(&settings(serve(f.router()))).expect("source");
    let end = now - 600;
    let r = BucketRange::ending_at(end, (30 * DAY / W) as usize, W);
    let c = src.counts(&ask(), r).await;
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    assert!(c.failed.is_empty(), "nothing to ask again: {:?}", c.failed);
    let k0 = ((held - r.start) / W) as usize;
    assert!(
        c.buckets[..k0].iter().all(|b| *b == Bucket::Missing),
        "before Loki's first line: missing, not zero"
    );
    assert!(
        c.buckets[k0..].iter().all(|b| *b != Bucket::Missing),
        "from the first line's bucket on: known"
    );
    assert_eq!(c.buckets[k0], Bucket::known(1.0, 1.0), "first line");
    assert_eq!(c.unknown, vec![(r.start, held)]);
    let coverage = (r.count - k0) as f64 / r.count as f64;
    assert!(coverage > 0.2 && coverage < 0.25, "{coverage}");
    // The 30-day counts are the lines that exist; the days before the first error (its filter
    // matched nothing yet) are zero errors, not missing.
    let (bad, total) = sums(&c.buckets);
    assert_eq!((bad, total), truth(&all, r.start, r.end()));
    assert!(total > 1900.0 && bad > 100.0, "{bad} of {total}");

    // A range inside what Loki holds is known throughout, from the cached start.
    let requests = f.requests.load(Ordering::Relaxed);
    let inside = BucketRange::ending_at(end, (6 * DAY / W) as usize, W);
    let c = src.counts(&ask(), inside).await;
    assert!(c.buckets.iter().all(|b| *b != Bucket::Missing));
    assert!(c.unknown.is_empty(), "{:?}", c.unknown);
    assert_eq!(sums(&c.buckets), truth(&all, inside.start, inside.end()));
    let asked = f.requests.load(Ordering::Relaxed) - requests;
    assert_eq!(asked, 2 * 6, "two queries, 6 one-day requests each");

    // A selector Loki holds no line of at all (an errors-only stream, a quiet service): nothing
    // tells retention from silence, so its buckets are zero, as without the search.
    let gone = Ask {
        spec: std::sync::Arc::new(CountSpec::Events {
            good: None,
            bad: Some(EventQuery::Selector(r#"{app="gone"} |= "error""#.into())),
            total: Some(EventQuery::Selector(r#"{app="gone"}"#.into())),
        }),
        ..ask()
    };
    let day = BucketRange::ending_at(end, 1440, W);
    let c = src.counts(&gone, day).await;
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    assert!(c.buckets.iter().all(|b| *b == Bucket::known(0.0, 0.0)));
    assert!(c.unknown.is_empty(), "{:?}", c.unknown);
}

#[test]
fn validate_online_and_the_slos_row_say_where_lokis_lines_begin() {
    let now = slowburn::time::now_secs() / W * W;
    let all = lines(now - 7 * DAY + 17, now - 4 * DAY);
    let f = FakeLoki::new(all.clone(), None);
    let url = format!("http://127.0.0.1:{}", serve(f.router()));
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(
        dir.path(),
        &format!(
            r#"loki: {{url: "{url}"}}
defaults: {{windows: [30d]}}
slos:
  - service: backend
    name: logs
    objective: 99
    sli:
      ratio:
        source: loki
        errors: '{{app="backend"}} | json | status >= 500'
        total: '{{app="backend"}}'
"#
        ),
    );
    let path = cfg.to_str().expect("utf-8");
    let (code, out, err) = slowburn(&["validate", "-c", path, "--online"]);
    assert_eq!(code, 0, "a warning, not a problem: {out}{err}");
    assert!(
        err.contains("backend/logs: warning: Loki holds lines of this query")
            && err.contains("not the whole 30d period")
            && err.contains("missing, not zero"),
        "{err}"
    );

    let mut d = Daemon::start(&cfg, &dir.path().join("data"), &[]);
    d.wait_ready(Duration::from_secs(120));
    let (status, body) = d.get("/api/v1/slos/backend/logs");
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("JSON");
    let at = v["at"]
        .as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.timestamp())
        .expect("at");
    let p = &v["periods"]["30d"];
    let coverage = p["coverage"].as_f64().unwrap_or(1.0);
    assert!(coverage > 0.2 && coverage < 0.25, "7 of 30 days: {p}");
    let (bad, total) = truth(&all, at - 30 * DAY, at);
    assert_eq!(p["total"].as_f64(), Some(total), "{p}");
    assert_eq!(p["good"].as_f64(), Some(total - bad), "{p}");
    let (_, page) = d.get("/");
    assert!(
        page.contains("notice-row") && page.contains("holds no data of this SLI before"),
        "{page}"
    );
    assert!(!page.contains("error-row"), "not an error: {page}");
}
