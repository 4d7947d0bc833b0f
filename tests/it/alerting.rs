//! Alert state in the daemon: a burn in progress fires a page (superseding the ticket), it is
//! exported and shown in the API, and a `kill -9` and restart keep the same episode instead of
//! firing it again.

use crate::common::*;
use std::time::Duration;

#[test]
fn a_burn_in_progress_pages_once_and_survives_a_restart() {
    if !require_prometheus() {
        return;
    }
    // 50% errors from 20 minutes ago until after the test.
    let history = svc15_incident(-1200, 1800, 0.5, 5);
    let prom = start_prometheus(&history);
    let dir = tempfile::tempdir().unwrap();
    let cfg = fast_config(&prom.url).replace(
        "  - service: svc30\n    name: latency\n    objective: 95\n    sli:\n      latency:\n        histogram: http_request_duration_seconds{service=\"svc30\"}\n        threshold: 200ms\n",
        "",
    );
    let cfg = write_config(dir.path(), &cfg);
    let data = dir.path().join("data");
    let alerts = |d: &Daemon| -> serde_json::Value {
        serde_json::from_str::<serde_json::Value>(&d.get("/api/v1/slos/svc15/availability").1)
            .unwrap()["alerts"]
            .clone()
    };

    let mut d = Daemon::start(&cfg, &data, &[]);
    d.wait_ready(Duration::from_secs(120));
    let a = alerts(&d);
    assert_eq!(a["page"]["firing"], true, "{a}");
    // The page rules scaled to a 1d period: 1h/5m → 2m/10s, 6h/30m → 12m/1m. With a 15 s scrape
    // a 10 s window is sometimes empty, so either may be the one holding.
    let rule = a["page"]["rule"].as_str().unwrap_or("");
    assert!(["2m/10s", "12m/1m"].contains(&rule), "{a}");
    assert_eq!(
        a["ticket"]["firing"], false,
        "a page supersedes the ticket: {a}"
    );
    let metrics = d.get("/metrics").1;
    assert!(
        metrics.contains(
            "slo_alert_firing{service=\"svc15\",slo=\"availability\",severity=\"page\"} 1"
        )
    );
    assert!(metrics.contains(
        "slo_alert_firing{service=\"svc15\",slo=\"availability\",severity=\"ticket\"} 0"
    ));
    let fired_at = a["page"]["fired_at"].clone();
    wait_ticks(&d, 1, 10);
    assert_eq!(
        alerts(&d)["page"]["fired_at"],
        fired_at,
        "still the same episode"
    );

    d.signal("KILL");
    drop(d);
    let mut d = Daemon::start(&cfg, &data, &[]);
    d.wait_ready(Duration::from_secs(120));
    let a = alerts(&d);
    assert_eq!(a["page"]["firing"], true);
    assert_eq!(
        a["page"]["fired_at"], fired_at,
        "a restart does not fire the page again: {a}"
    );
    assert_eq!(
        d.log_text().matches("\"message\":\"alert firing\"").count(),
        1,
        "fired once over both runs"
    );
}
