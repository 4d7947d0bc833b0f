//! Issue 24, item 2, the live part: a real Prometheus scrapes a service with steady traffic and
//! evaluates the rules `slowburn rules` exported, while a daemon beside it counts the same
//! service. After ten minutes, every burn rate and remaining budget the rules recorded equals the
//! daemon's `/metrics` within 1%.
//!
//! The ruler evaluates each group at its own offset from the minute (Prometheus spreads groups by
//! a hash of their name), up to a minute away from the daemon's bucket edges, and a scrape lands
//! anywhere inside a bucket; so the two read the same counters at different instants. The
//! traffic is steady in the sense that makes that harmless and testable: every 100 ms the service
//! adds 100 requests, of which exactly 1 fails and exactly 3 take longer than the 200 ms
//! threshold, under one lock, so every scrape sees whole steps and every window's ratio is exact
//! wherever its edges fall. What is left is float rounding, and windows longer than the run
//! (both sides divide what they have).

use crate::common::*;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long both run before the comparison.
const RUN: Duration = Duration::from_secs(600);

/// A service for Prometheus to scrape: 1,000 requests a second, 1% failing, 3% slower than
/// 200 ms. Returns its `host:port`.
fn steady_service() -> String {
    use axum::Router;
    use axum::routing::get;
    // (steps of 100 requests)
    let steps = Arc::new(Mutex::new(0u64));
    let s = Arc::clone(&steps);
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(100));
            *s.lock().expect("lock") += 1;
        }
    });
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let s = Arc::clone(&steps);
            async move {
                let n = *s.lock().expect("lock");
                let (ok, err) = (99 * n, n);
                let (fast, mid, under) = (80 * n, 97 * n, 99 * n);
                format!(
                    "# TYPE http_requests_total counter\n\
                     http_requests_total{{service=\"steady\",code=\"200\"}} {ok}\n\
                     http_requests_total{{service=\"steady\",code=\"500\"}} {err}\n\
                     # TYPE http_request_duration_seconds histogram\n\
                     http_request_duration_seconds_bucket{{service=\"steady\",le=\"0.1\"}} {fast}\n\
                     http_request_duration_seconds_bucket{{service=\"steady\",le=\"0.2\"}} {mid}\n\
                     http_request_duration_seconds_bucket{{service=\"steady\",le=\"0.5\"}} {under}\n\
                     http_request_duration_seconds_bucket{{service=\"steady\",le=\"+Inf\"}} {}\n\
                     http_request_duration_seconds_count{{service=\"steady\"}} {}\n",
                    100 * n,
                    100 * n
                )
            }
        }),
    );
    format!("127.0.0.1:{}", serve(app))
}

fn config(prometheus: &str) -> String {
    format!(
        r#"prometheus: {{url: "{prometheus}"}}
defaults: {{bucket: 1m}}
slos:
  - service: steady
    name: availability
    objective: 99.5
    sli:
      ratio:
        errors: 'http_requests_total{{service="steady",code="500"}}'
        total: 'http_requests_total{{service="steady"}}'
  - service: steady
    name: latency
    objective: 95
    sli:
      latency:
        histogram: 'http_request_duration_seconds{{service="steady"}}'
        threshold: 200ms
"#
    )
}

/// `family{labels} value` lines of an exposition, by their sorted labels.
fn exposed(text: &str, family: &str) -> BTreeMap<String, f64> {
    let prefix = format!("{family}{{");
    text.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix(&prefix)?;
            let (labels, value) = rest.rsplit_once("} ")?;
            let mut pairs: Vec<String> = labels
                .split("\",")
                .map(|p| p.trim_end_matches('"').replacen("=\"", "=", 1))
                .collect();
            pairs.sort();
            Some((pairs.join(","), value.trim().parse().ok()?))
        })
        .collect()
}

/// The series of `family` Prometheus holds now (the recorded ones), by their sorted labels.
fn recorded(prom: &str, family: &str) -> BTreeMap<String, f64> {
    instant_query(prom, family)
        .into_iter()
        .map(|(labels, v)| {
            let mut pairs: Vec<String> = labels
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter(|(k, _)| k.as_str() != "__name__")
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                        .collect()
                })
                .unwrap_or_default();
            pairs.sort();
            (pairs.join(","), v)
        })
        .collect()
}

#[test]
fn a_live_prometheus_with_the_rules_agrees_with_the_daemon_after_ten_minutes() {
    if !require_prometheus() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // The rules do not depend on the URL; the daemon's config gets the real one below.
    let cfg = write_config(d, &config("http://127.0.0.1:9"));
    let rules = d.join("slo.rules.yaml");
    let (code, out, err) = slowburn(&[
        "rules",
        "-c",
        cfg.to_str().expect("UTF-8"),
        "--period-interval",
        "1m",
        "--out",
        rules.to_str().expect("UTF-8"),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let target = steady_service();
    let prom = start_scraper_with(&target, "5s", Some(&rules));
    let cfg = write_config(d, &config(&prom.url));
    let mut daemon = Daemon::start(&cfg, &d.join("data"), &[]);
    daemon.wait_ready(Duration::from_secs(60));
    let started = Instant::now();
    while started.elapsed() < RUN {
        std::thread::sleep(Duration::from_secs(10));
    }
    // The rule groups loaded and evaluated without errors the whole time.
    let (code, body) = http::get(&format!("{}/api/v1/rules", prom.url)).expect("rules API");
    assert_eq!(code, 200);
    assert!(
        !body.contains("\"health\":\"err\""),
        "a rule failed: {body}"
    );

    let metrics = daemon.get("/metrics").1;
    let mut compared = 0;
    let mut worst = 0.0f64;
    for family in ["slo_burn_rate", "slo_error_budget_remaining_ratio"] {
        let daemon_side = exposed(&metrics, family);
        let rules_side = recorded(&prom.url, family);
        for (labels, want) in &daemon_side {
            let Some(got) = rules_side.get(labels) else {
                panic!("{family}{{{labels}}} is on /metrics but not recorded: {rules_side:?}");
            };
            let diff = (got - want).abs() / want.abs().max(1e-12);
            eprintln!("{family}{{{labels}}}: daemon {want}, rules {got}, relative {diff:.2e}");
            assert!(
                diff <= 0.01,
                "{family}{{{labels}}}: daemon {want}, rules {got}"
            );
            worst = worst.max(diff);
            compared += 1;
        }
    }
    eprintln!("measured: {compared} values, worst relative difference {worst:.2e}");
    // Two SLOs × (seven burn windows + two periods' budgets).
    assert!(compared >= 18, "{compared}: {metrics}");
}
