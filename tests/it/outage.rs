//! A Prometheus that is stopped in the middle of a report leaves missing buckets: coverage drops
//! below 1, the errors are reported, and the budget is computed from the known buckets only (an
//! outage is not an error burst).

use crate::common::*;
use slowburn::synth::History;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn query_range_requests(url: &str) -> u64 {
    let Some((200, body)) = http::get(&format!("{url}/metrics")) else {
        return 0;
    };
    body.lines()
        .filter(|l| {
            l.starts_with("prometheus_http_requests_total{")
                && l.contains("handler=\"/api/v1/query_range\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

#[test]
fn prometheus_stopped_mid_report_gives_missing_buckets_not_burned_budget() {
    if !require_prometheus() {
        return;
    }
    let end = history_end();
    let (services, _) = standard_services();
    let services = vec![services[1].clone()];
    // No incidents: the true remaining budget is what the base error ratio leaves.
    let history = History::generate(&services, &[], end - 31 * 86400, end, 0.3, 7);
    let mut prom = start_prometheus(&history);
    let dir = tempfile::tempdir().unwrap();
    // One query at a time over small chunks, no retries: the report takes long enough to be
    // interrupted, and failed chunks fail fast.
    let cfg = write_config(
        dir.path(),
        &format!(
            r#"prometheus: {{url: "{}", max_concurrency: 1, retries: 0, max_points_per_query: 60, timeout: 5s}}
slos:
  - service: svc30
    name: availability
    objective: 99.9
    sli:
      ratio:
        errors: http_requests_total{{service="svc30",code=~"5.."}}
        total: http_requests_total{{service="svc30"}}
"#,
            prom.url
        ),
    );
    let child = Command::new(env!("CARGO_BIN_EXE_slowburn"))
        .args([
            "report",
            "-c",
            cfg.to_str().unwrap(),
            "--at",
            &end.to_string(),
            "--format",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn report");
    // 30 days in chunks of 54 buckets (60 points minus the first edge and 5 baseline edges) is
    // 800 chunks, each asking for errors and then total: 1,600 requests. Stop Prometheus after
    // 1,000, when some total queries have succeeded and others have not been sent.
    let deadline = Instant::now() + Duration::from_secs(120);
    while query_range_requests(&prom.url) < 1000 {
        assert!(
            Instant::now() < deadline,
            "report never reached 1000 queries"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    prom.kill();
    let out = child.wait_with_output().expect("report finishes");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a partial outage still reports: {stderr}"
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let s = &r["slos"][0];
    let p = &s["periods"]["30d"];
    let coverage = p["coverage"].as_f64().unwrap();
    assert!(coverage > 0.0 && coverage < 1.0, "coverage {coverage}");
    assert!(
        !s["errors"].as_array().unwrap().is_empty(),
        "the failures are reported"
    );
    assert!(
        stderr.contains("of the 30d period has data"),
        "a warning names the gap: {stderr}"
    );
    let t = history.truth("svc30", end - 30 * 86400, end);
    let want = 1.0 - t.errors as f64 / (0.001 * t.total as f64);
    let got = p["error_budget_remaining"].as_f64().unwrap();
    assert!(
        (got - want).abs() < 0.1,
        "remaining {got} should stay near the true {want}, not burn"
    );
    assert!(
        p["total"].as_f64().unwrap() < t.total as f64,
        "missing buckets are not counted"
    );
}
