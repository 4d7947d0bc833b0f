//! Log SLOs everywhere the Prometheus source works, through the `slowburn` binary: `report` with a
//! log SLO, a log-latency SLO, a log time-slice SLO, a metric SLO and a mixed-source SLO (total
//! from a real Prometheus, errors from the FAKE Loki of `fakes/loki.rs`) side by side, each
//! against its exact ground truth; the deploy gate and `backtest` over a log SLO (the page fires
//! when the SRE Workbook says); `validate --online` with Loki's own messages; and the daemon
//! (backfill, ticks, `slowburn_source_*{source="loki"}`, an outage as missing data that heals).

use crate::common::*;
use crate::fakes::loki::{FakeLoki, Line};
use serde_json::Value;
use slowburn::synth::{History, ServiceSpec};
use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::sync::atomic::Ordering;
use std::time::Duration;

const NS: i64 = 1_000_000_000;
const DAY: i64 = 86400;
/// Start of the backend's 30-minute outage (100% errors), seconds before `end`.
const INCIDENT_AGO: i64 = 5 * 3600;
const INCIDENT_LEN: i64 = 1800;

/// One logged request of the backend.
struct Request {
    ts: i64,
    error: bool,
    duration_ms: Option<u64>,
}

struct Fixture {
    prom: Option<Prometheus>,
    history: History,
    /// Every line, for a test that needs a fake of its own (to take it down).
    lines: Vec<Line>,
    loki_url: String,
    /// The backend's JSON request lines (its plain-text lines are not requests).
    requests: Vec<Request>,
    /// svc15's error lines (ns).
    svc_errors: Vec<i64>,
    /// Evaluation time of `report`: a minute boundary ten minutes ago.
    end: i64,
}

/// 31 days of backend logs (three JSON lines a minute at random sub-second times, 0.3% errors,
/// one line in 50 without a duration, a plain-text line every 30 minutes, and a 30-minute outage)
/// and 8 days of svc15 lines (error lines about every two minutes, info lines that must not
/// count), all running 30 minutes into the future for the daemon; 8 days of svc15 metrics in
/// Prometheus.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let end = history_end();
        let until = now_secs() / 60 * 60 + 1800;
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let stream = |app: &str| BTreeMap::from([("app".to_string(), app.to_string())]);
        let (mut lines, mut requests, mut svc_errors) = (Vec::new(), Vec::new(), Vec::new());
        let incident = (end - INCIDENT_AGO)..(end - INCIDENT_AGO + INCIDENT_LEN);
        let mut m = (end - 31 * DAY) / 60;
        while m * 60 < until {
            let s = m * 60;
            for _ in 0..3 {
                let ts = s * NS + 1 + (next() % (60 * NS as u64)) as i64;
                let error = incident.contains(&s) || next() % 300 == 0;
                let duration_ms = (next() % 50 != 0).then(|| next() % 400);
                let status = if error { 503 } else { 200 };
                let level = if error { "error" } else { "info" };
                let body = match duration_ms {
                    Some(d) => {
                        format!(r#"{{"level":"{level}","status":{status},"duration_ms":{d}}}"#)
                    }
                    None => format!(r#"{{"level":"{level}","status":{status}}}"#),
                };
                lines.push(Line {
                    ts,
                    stream: stream("backend"),
                    body,
                });
                requests.push(Request {
                    ts,
                    error,
                    duration_ms,
                });
            }
            if m % 30 == 0 {
                lines.push(Line {
                    ts: s * NS + 7,
                    stream: stream("backend"),
                    body: "worker pool started".into(),
                });
            }
            if s >= end - 8 * DAY {
                let ts = s * NS + (next() % (60 * NS as u64)) as i64 + 1;
                if next() % 2 == 0 {
                    lines.push(Line {
                        ts,
                        stream: stream("svc15"),
                        body: "level=error msg=\"upstream reset\" status=502".into(),
                    });
                    svc_errors.push(ts);
                }
                lines.push(Line {
                    ts: ts - 1,
                    stream: stream("svc15"),
                    body: "level=info msg=ok".into(),
                });
            }
            m += 1;
        }
        let loki = FakeLoki::new(lines.clone(), None);
        let loki_url = format!("http://127.0.0.1:{}", serve(loki.router()));
        let svc = ServiceSpec {
            name: "svc15".into(),
            interval: 15,
            rps: 20.0,
            base_error_ratio: 0.0005,
        };
        let history = History::generate(&[svc], &[], end - 8 * DAY, until, 0.3, 5);
        let prom = require_prometheus().then(|| start_prometheus(&history));
        Fixture {
            prom,
            history,
            lines,
            loki_url,
            requests,
            svc_errors,
            end,
        }
    })
}

fn in_window(ts_ns: i64, from: i64, to: i64) -> bool {
    ts_ns > from * NS && ts_ns <= to * NS
}

impl Fixture {
    /// (errors, total) of the backend's requests in `(from, to]`.
    fn availability(&self, from: i64, to: i64) -> (f64, f64) {
        self.requests
            .iter()
            .filter(|r| in_window(r.ts, from, to))
            .fold((0.0, 0.0), |(e, t), r| (e + f64::from(r.error), t + 1.0))
    }

    /// (good, total) of the log-latency SLI: good at or under 250 ms; no duration is slow.
    fn latency(&self, from: i64, to: i64) -> (f64, f64) {
        self.requests
            .iter()
            .filter(|r| in_window(r.ts, from, to))
            .fold((0.0, 0.0), |(g, t), r| {
                (
                    g + f64::from(r.duration_ms.is_some_and(|d| d <= 250)),
                    t + 1.0,
                )
            })
    }

    /// (good, total) minutes of the time-slice SLI: a minute with a duration is a slice, good
    /// when the p90 of its durations (Prometheus's quantile, as Loki computes it) is under 300.
    fn slices(&self, from: i64, to: i64) -> (f64, f64) {
        let mut per_minute: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
        for r in self.requests.iter().filter(|r| in_window(r.ts, from, to)) {
            if let Some(d) = r.duration_ms {
                let minute = (r.ts - 1).div_euclid(60 * NS);
                per_minute.entry(minute).or_default().push(d as f64);
            }
        }
        per_minute.into_values().fold((0.0, 0.0), |(g, t), mut v| {
            v.sort_by(f64::total_cmp);
            let rank = 0.9 * (v.len() - 1) as f64;
            let lo = rank.floor() as usize;
            let hi = (lo + 1).min(v.len() - 1);
            let p90 = v[lo] * (1.0 - (rank - lo as f64)) + v[hi] * (rank - lo as f64);
            (g + f64::from(p90 < 300.0), t + 1.0)
        })
    }

    fn svc_errors(&self, from: i64, to: i64) -> f64 {
        self.svc_errors
            .iter()
            .filter(|t| in_window(**t, from, to))
            .count() as f64
    }
}

const LOG_SLOS: &str = r#"  - service: backend
    name: log-availability
    objective: 99
    windows: [30d, 7d]
    sli:
      ratio:
        source: loki
        errors: '{app="backend"} | json | __error__="" | status >= 500'
        total: '{app="backend"} | json | __error__=""'
    alerting: {budget_exhausted: none, budget_ticket_below: 0}
"#;

fn report_config(f: &Fixture, prom: &str) -> String {
    format!(
        r#"prometheus: {{url: "{prom}"}}
loki: {{url: "{}"}}
slos:
{LOG_SLOS}  - service: backend
    name: log-latency
    objective: 95
    windows: [30d, 7d]
    sli:
      latency:
        source: loki
        logs: '{{app="backend"}} | json'
        field: duration_ms
        threshold: 250ms
  - service: backend
    name: log-slices
    objective: 90
    windows: [7d]
    sli:
      timeslice:
        source: loki
        query: 'quantile_over_time(0.9, {{app="backend"}} | json | unwrap duration_ms | __error__="" [$window]) by (app)'
        below: 300
  - service: svc15
    name: availability
    objective: 99.9
    windows: [7d]
    sli:
      ratio:
        errors: http_requests_total{{service="svc15",code=~"5.."}}
        total: http_requests_total{{service="svc15"}}
  - service: svc15
    name: mixed
    objective: 99.9
    windows: [7d]
    sli:
      ratio:
        errors: {{query: '{{app="svc15"}} |= "level=error"', source: loki}}
        total: http_requests_total{{service="svc15"}}
"#,
        f.loki_url
    )
}

fn slo<'a>(r: &'a Value, id: &str) -> &'a Value {
    r["slos"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["id"] == id))
        .unwrap_or_else(|| panic!("{id} missing from {r}"))
}

fn good_total(p: &Value) -> (f64, f64) {
    (
        p["good"].as_f64().expect("good"),
        p["total"].as_f64().expect("total"),
    )
}

fn report(f: &Fixture) -> Option<(Value, std::path::PathBuf, tempfile::TempDir)> {
    let prom = f.prom.as_ref()?;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), &report_config(f, &prom.url));
    let at = f.end.to_string();
    let path = cfg.to_str().expect("utf-8 path");
    let (code, out, err) = slowburn(&["report", "-c", path, "--at", &at, "--format", "json"]);
    assert_eq!(code, 0, "report failed: {err}");
    Some((serde_json::from_str(&out).expect("JSON"), cfg, dir))
}

#[test]
fn report_shows_log_metric_and_mixed_slos_side_by_side_exactly() {
    let f = fixture();
    let Some((r, _, _dir)) = report(f) else {
        return;
    };
    let end = f.end;
    for (name, len) in [("30d", 30 * DAY), ("7d", 7 * DAY)] {
        let s = slo(&r, "backend/log-availability");
        let p = &s["periods"][name];
        let (bad, total) = f.availability(end - len, end);
        assert_eq!(
            good_total(p),
            (total - bad, total),
            "log-availability {name}"
        );
        let want = 1.0 - (bad / total) / 0.01;
        let got = p["error_budget_remaining"].as_f64().expect("remaining");
        assert!((got - want).abs() < 1e-9, "{name}: {got} vs {want}");
        assert_eq!(p["coverage"].as_f64(), Some(1.0), "{name} coverage");
        let p = &slo(&r, "backend/log-latency")["periods"][name];
        assert_eq!(
            good_total(p),
            f.latency(end - len, end),
            "log-latency {name}"
        );
    }
    // The plain-text lines are not requests: they are in neither count.
    let (_, total) = f.availability(end - 7 * DAY, end);
    assert_eq!(total, 7.0 * 1440.0 * 3.0);
    let p = &slo(&r, "backend/log-slices")["periods"]["7d"];
    assert_eq!(good_total(p), f.slices(end - 7 * DAY, end), "log-slices");
    // The 1h burn rate of the log SLO, from the lines of the last hour.
    let (bad, total) = f.availability(end - 3600, end);
    let burn = slo(&r, "backend/log-availability")["burn_rates"]["1h"]
        .as_f64()
        .expect("burn");
    assert!((burn - (bad / total) / 0.01).abs() < 1e-9, "burn {burn}");
    // The metric SLO beside them, from Prometheus (within the 0.1% of report_accuracy.rs).
    let truth = f.history.truth("svc15", end - 7 * DAY, end);
    let (g, t) = good_total(&slo(&r, "svc15/availability")["periods"]["7d"]);
    assert!(
        rel_err(t, truth.total as f64) <= 0.001,
        "{t} vs {}",
        truth.total
    );
    assert!(rel_err(t - g, truth.errors as f64) <= 0.01, "{g}");
    // Mixed: the total from Prometheus, the errors counted exactly from the lines.
    let (g, t) = good_total(&slo(&r, "svc15/mixed")["periods"]["7d"]);
    assert!(rel_err(t, truth.total as f64) <= 0.001, "mixed total {t}");
    let errors = f.svc_errors(end - 7 * DAY, end);
    assert!(errors > 1000.0, "{errors}");
    assert!(
        (t - g - errors).abs() < 0.01,
        "mixed errors {} vs {errors}",
        t - g
    );
    eprintln!(
        "measured: mixed total err {:.2e}, errors {} of {errors}",
        rel_err(t, truth.total as f64),
        t - g
    );
}

#[test]
fn gate_and_backtest_over_a_log_slo() {
    let f = fixture();
    let Some((r, cfg, _dir)) = report(f) else {
        return;
    };
    let path = cfg.to_str().expect("utf-8 path");
    let remaining = slo(&r, "backend/log-availability")["periods"]["7d"]["error_budget_remaining"]
        .as_f64()
        .expect("remaining");
    assert!(remaining > 0.1 && remaining < 0.9, "{remaining}");
    let gate = |min: f64| {
        slowburn(&[
            "gate",
            "--slo",
            "backend/log-availability",
            "--period",
            "7d",
            "--min-remaining",
            &min.to_string(),
            "-c",
            path,
        ])
    };
    let (code, out, err) = gate(remaining - 0.05);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = gate(remaining + 0.05);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("blocked"), "{out}");

    // Backtest only the log SLO over the six hours around its outage.
    let dir = tempfile::tempdir().expect("tempdir");
    let prom = f.prom.as_ref().map(|p| p.url.clone()).unwrap_or_default();
    let cfg = write_config(
        dir.path(),
        &format!(
            "prometheus: {{url: \"{prom}\"}}\nloki: {{url: \"{}\"}}\nslos:\n{LOG_SLOS}",
            f.loki_url
        ),
    );
    let (from, to) = ((f.end - 6 * 3600).to_string(), f.end.to_string());
    let (code, out, err) = slowburn(&[
        "backtest",
        "-c",
        cfg.to_str().expect("utf-8"),
        "--from",
        &from,
        "--to",
        &to,
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).expect("JSON");
    let pages: Vec<&Value> = v["episodes"]
        .as_array()
        .expect("episodes")
        .iter()
        .filter(|e| e["severity"] == "page")
        .collect();
    assert_eq!(pages.len(), 1, "one page for one outage: {out}");
    assert_eq!(pages[0]["rule"], "1h/5m");
    let at = |k: &str| {
        chrono::DateTime::parse_from_rfc3339(pages[0][k].as_str().expect(k))
            .expect("rfc3339")
            .timestamp()
    };
    // Workbook: 14.4 × 3600 s × (1 − 0.99) / 1.0 (every request fails) = 518.4 s; one bucket.
    let after = at("fired_at") - (f.end - INCIDENT_AGO);
    eprintln!("measured: log SLO paged {after} s after the outage began (Workbook 518.4 s)");
    assert!((518 - 60..=518 + 60).contains(&after), "{after}");
    assert!(at("resolved_at") > f.end - INCIDENT_AGO + INCIDENT_LEN);
}

#[test]
fn validate_online_reports_lokis_own_message_and_empty_queries() {
    let f = fixture();
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(
        dir.path(),
        &format!(
            r#"loki: {{url: "{}"}}
slos:
  - service: backend
    name: unfiltered
    objective: 99
    sli:
      ratio:
        source: loki
        errors: '{{app="backend"}} | json | status >= 500'
        total: '{{app="backend"}} | json | __error__=""'
  - service: backend
    name: levels
    objective: 99
    sli:
      ratio:
        source: loki
        errors: '{{app="backend"}} | json | level != "info"'
        total: '{{app="backend"}} | json | __error__=""'
  - service: backend
    name: nothing
    objective: 99
    sli:
      ratio:
        source: loki
        errors: '{{app="nothing"}}'
        total: '{{app="backend"}} | json | __error__=""'
"#,
            f.loki_url
        ),
    );
    let path = cfg.to_str().expect("utf-8");
    let (code, out, err) = slowburn(&["validate", "-c", path]);
    assert_eq!(code, 0, "offline the file is valid: {out}{err}");
    let (code, out, err) = slowburn(&["validate", "-c", path, "--online"]);
    assert_eq!(code, 1, "{out}{err}");
    // Loki 3.x drops a line that lacks the label of a numeric filter, so `status >= 500` over
    // the plain-text line now runs (this SLO was the failing one while the fake followed Loki
    // 2.x: protocols.md section 9); at most it warns that the last hour had no error.
    assert!(
        err.lines()
            .filter(|l| l.contains("backend/unfiltered:"))
            .all(|l| l.contains(": warning:")),
        "{err}"
    );
    // A string filter keeps that line (its missing label reads as ""), so counting it still
    // fails with Loki's own message.
    assert!(
        err.contains("backend/levels")
            && err.contains("pipeline error: 'JSONParserErr'")
            && err.contains(r#"{app="backend"} | json | level != "info""#),
        "{err}"
    );
    assert!(err.contains("1 online check(s) failed"), "{err}");
    assert!(
        err.contains("backend/nothing: warning:") && err.contains("matched no log lines"),
        "{err}"
    );
    assert_eq!(err.matches("pipeline error").count(), 1, "{err}");
}

/// The daemon: a log SLO, a metric SLO and a mixed SLO backfill and tick side by side; Loki's
/// requests show in `slowburn_source_*{source="loki"}`; a Loki outage is missing data, counted
/// in the errors metric, and heals to the exact counts when Loki is back.
#[test]
fn daemon_runs_log_and_metric_slos_and_heals_a_loki_outage() {
    let f = fixture();
    let Some(prom) = f.prom.as_ref() else {
        return;
    };
    // A fake of its own: taking it down must not disturb the other tests.
    let loki = FakeLoki::new(f.lines.clone(), None);
    let loki_url = format!("http://127.0.0.1:{}", serve(loki.router()));
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(
        dir.path(),
        &format!(
            r#"{}loki: {{url: "{}", retries: 0, timeout: 2s}}
slos:
  - service: backend
    name: log-availability
    objective: 99.5
    sli:
      ratio:
        source: loki
        errors: '{{app="backend"}} | json | __error__="" | status >= 500'
        total: '{{app="backend"}} | json | __error__=""'
  - service: svc15
    name: availability
    objective: 99.9
    sli:
      ratio:
        errors: http_requests_total{{service="svc15",code=~"5.."}}
        total: http_requests_total{{service="svc15"}}
  - service: svc15
    name: mixed
    objective: 99.9
    sli:
      ratio:
        errors: {{query: '{{app="svc15"}} |= "level=error"', source: loki}}
        total: http_requests_total{{service="svc15"}}
"#,
            fast_head(&prom.url),
            loki_url
        ),
    );
    let mut d = Daemon::start(&cfg, &dir.path().join("data"), &[]);
    d.wait_ready(Duration::from_secs(120));
    let (status, body) = d.get("/api/v1/slos");
    assert_eq!(status, 200);
    let list: Value = serde_json::from_str(&body).expect("JSON");
    for id in [
        "backend/log-availability",
        "svc15/availability",
        "svc15/mixed",
    ] {
        slo(&list, id);
    }
    // The log SLO's day equals the lines, at the snapshot's own time.
    let exact = |d: &Daemon| -> bool {
        let (_, body) = d.get("/api/v1/slos/backend/log-availability");
        let Ok(v) = serde_json::from_str::<Value>(&body) else {
            return false;
        };
        let Some(at) = v["at"]
            .as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        else {
            return false;
        };
        let at = at.timestamp();
        let (bad, total) = f.availability(at - DAY, at);
        let p = &v["periods"]["1d"];
        p["coverage"].as_f64() == Some(1.0)
            && p["good"].as_f64() == Some(total - bad)
            && p["total"].as_f64() == Some(total)
    };
    // Exact at once, or after a heal when a query timed out on a loaded machine.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !exact(&d) {
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            d.get("/api/v1/slos/backend/log-availability").1
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let mixed_whole = |d: &Daemon| {
        serde_json::from_str::<Value>(&d.get("/api/v1/slos/svc15/mixed").1)
            .ok()
            .and_then(|v| v["periods"]["1d"]["coverage"].as_f64())
            == Some(1.0)
    };
    wait_until("the mixed SLO's day whole", Duration::from_secs(60), || {
        mixed_whole(&d)
    });
    let metrics = d.get("/metrics").1;
    assert!(
        metrics.contains(r#"slowburn_source_query_duration_seconds_count{source="loki"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"slowburn_source_query_duration_seconds_count{source="prometheus"}"#)
    );

    // Loki goes down for three ticks: new buckets are missing, not zero, and errors are counted.
    loki.down.store(true, Ordering::Relaxed);
    wait_ticks(&d, 3, 10);
    let coverage = |d: &Daemon, id: &str| -> f64 {
        let (_, body) = d.get(&format!("/api/v1/slos/{id}"));
        serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v["periods"]["1d"]["coverage"].as_f64())
            .unwrap_or(0.0)
    };
    let during = coverage(&d, "backend/log-availability");
    assert!(during < 1.0, "missing while Loki is down: {during}");
    assert!(
        coverage(&d, "svc15/mixed") < 1.0,
        "the mixed SLO's Loki side"
    );
    assert_eq!(
        coverage(&d, "svc15/availability"),
        1.0,
        "Prometheus is fine"
    );
    let errors = d.get("/metrics").1;
    assert!(
        errors.lines().any(|l| l.starts_with(
            r#"slowburn_source_errors_total{slo="backend/log-availability",source="loki"}"#
        ) && !l.ends_with(" 0")),
        "{errors}"
    );
    loki.down.store(false, Ordering::Relaxed);
    wait_until("the outage to heal", Duration::from_secs(90), || {
        exact(&d) && coverage(&d, "svc15/mixed") == 1.0
    });
}

/// The daemon's per-tick cost for 100 log SLOs (200 distinct LogQL queries) against the fake:
/// requests, response bytes and daemon CPU per tick. A benchmark, not a test: it asserts only
/// that the ticks happened. `scripts/bench-loki.sh` runs it in release; figures in BENCHMARKS.md.
#[test]
#[ignore = "benchmark: scripts/bench-loki.sh"]
fn bench_daemon_ticks_100_log_slos() {
    let now = now_secs() / 10 * 10;
    let mut lines = Vec::new();
    // One day and ten minutes ahead, a line every five seconds spread over 100 routes.
    for k in 0..(86400 + 600) / 5 {
        let ts = (now - 86400 + k * 5) * NS + 123;
        let status = if k % 97 == 0 { 503 } else { 200 };
        lines.push(Line {
            ts,
            stream: BTreeMap::from([("app".to_string(), "backend".to_string())]),
            body: format!(r#"{{"route":"/r{}","status":{status}}}"#, k % 100),
        });
    }
    let loki = FakeLoki::new(lines, None);
    let url = format!("http://127.0.0.1:{}", serve(loki.router()));
    let mut cfg = format!(
        "loki: {{url: \"{url}\", max_concurrency: 8}}\ndefaults: {{bucket: 10s, windows: [1d]}}\nengine: {{delay: 1s}}\nslos:\n"
    );
    for i in 0..100 {
        cfg.push_str(&format!(
            "  - {{service: backend, name: route{i}, objective: 99, sli: {{ratio: {{source: loki, errors: '{{app=\"backend\"}} | json | __error__=\"\" | route=\"/r{i}\" | status >= 500', total: '{{app=\"backend\"}} | json | __error__=\"\" | route=\"/r{i}\"'}}}}}}\n"
        ));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_config(dir.path(), &cfg);
    let started = std::time::Instant::now();
    let mut d = Daemon::start(&path, &dir.path().join("data"), &[]);
    d.wait_ready(Duration::from_secs(600));
    let ready = started.elapsed();
    let backfill = loki.requests.load(Ordering::Relaxed);
    let cpu = |d: &Daemon| -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", d.pid())).unwrap_or_default();
        let after = stat.rsplit(')').next().unwrap_or("");
        let f: Vec<f64> = after
            .split_whitespace()
            .map(|x| x.parse().unwrap_or(0.0))
            .collect();
        // utime and stime are fields 14 and 15; `after` starts at field 3.
        (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
    };
    eprintln!(
        "bench: 100 log SLOs ready in {ready:.2?} after {backfill} backfill requests ({} bytes)",
        loki.bytes.load(Ordering::Relaxed)
    );
    wait_ticks(&d, 1, 10);
    for t in 1..=5 {
        let (r0, b0, c0) = (
            loki.requests.load(Ordering::Relaxed),
            loki.bytes.load(Ordering::Relaxed),
            cpu(&d),
        );
        wait_ticks(&d, 1, 10);
        eprintln!(
            "bench: tick {t}: {} requests, {} response bytes, daemon CPU {:.2} s",
            loki.requests.load(Ordering::Relaxed) - r0,
            loki.bytes.load(Ordering::Relaxed) - b0,
            cpu(&d) - c0
        );
    }
    let m = d.get("/metrics").1;
    for l in m.lines().filter(|l| {
        l.starts_with("slowburn_source_query_duration_seconds_sum{source=\"loki\"}")
            || l.starts_with("slowburn_source_query_duration_seconds_count{source=\"loki\"}")
    }) {
        eprintln!("bench: {l}");
    }
}
