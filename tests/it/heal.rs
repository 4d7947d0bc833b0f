//! Missing data heals: while Prometheus is down the daemon records missing buckets (coverage
//! drops, `slowburn_source_errors_total` grows, the budget does not burn); when it is back, the
//! missing buckets are queried again and filled.

use crate::common::*;
use std::time::{Duration, Instant};

const WIDTH: i64 = 10;

/// Coverage of the 1-day period (the fast config's), which `/metrics` carries by default.
const COVERAGE_1D: &str =
    "slo_coverage_ratio{service=\"svc15\",slo=\"availability\",window=\"1d\"} ";
const REMAINING: &str =
    "slo_error_budget_remaining_ratio{service=\"svc15\",slo=\"availability\",period=\"1d\"} ";
const ERRORS: &str =
    "slowburn_source_errors_total{slo=\"svc15/availability\",source=\"prometheus\"} ";

#[test]
fn an_outage_of_prometheus_becomes_missing_buckets_that_heal() {
    if !require_prometheus() {
        return;
    }
    let mut prom = start_prometheus(&short_live_history());
    let root = tempfile::tempdir().unwrap();
    let cfg = write_config(root.path(), &fast_config(&prom.url));
    let mut d = Daemon::start(&cfg, &root.path().join("data"), &[]);
    d.wait_ready(Duration::from_secs(120));
    wait_ticks(&d, 1, WIDTH);
    // A query that timed out on a loaded machine heals within a heal interval.
    wait_until("the day fully known", Duration::from_secs(60), || {
        metric(&d, COVERAGE_1D) == Some(1.0)
    });
    let before = metric(&d, REMAINING).unwrap();

    prom.kill();
    wait_ticks(&d, 4, WIDTH);
    let coverage = metric(&d, COVERAGE_1D).unwrap();
    assert!(
        coverage < 1.0 && coverage > 0.0,
        "coverage during the outage: {coverage}"
    );
    assert!(
        metric(&d, ERRORS).unwrap_or(0.0) >= 3.0,
        "source errors are counted"
    );
    let during = metric(&d, REMAINING).unwrap();
    assert!(
        (during - before).abs() < 0.05,
        "an outage of the source does not burn budget: {before} -> {during}"
    );

    prom.restart();
    let deadline = Instant::now() + Duration::from_secs(60);
    while metric(&d, COVERAGE_1D) != Some(1.0) {
        assert!(
            Instant::now() < deadline,
            "missing buckets never healed: {}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // And the store agrees: the 5m window of the API is fully known again.
    let api: serde_json::Value =
        serde_json::from_str(&d.get("/api/v1/slos/svc15/availability").1).unwrap();
    assert_eq!(api["coverage"]["5m"].as_f64(), Some(1.0));
    assert_eq!(
        api["coverage"]["30m"].as_f64(),
        Some(1.0),
        "older missing buckets healed too"
    );
}
