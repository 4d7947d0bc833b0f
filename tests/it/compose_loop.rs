//! The compose stack's log loop without Docker: `demo_traffic --loki` (the stack's traffic
//! generator) pushes one JSON line per request to a FAKE Loki (`fakes/loki.rs`, strict as Loki's
//! push API: JSON body, labels, nanosecond strings, age limits, 204), keeps its lines while Loki is
//! down, and slowburn's `report` over `docker/slo.yaml`'s log SLO counts exactly the lines Loki took.

use crate::common;
use crate::fakes::loki::FakeLoki;
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The example binary, built here so `cargo test --test it compose_loop::` alone works too. Its
/// path is what cargo reports (the `executable` of its artifact message), so it is found wherever
/// cargo put it: `target/debug`, or the target directory a coverage run builds in.
fn demo_traffic() -> std::path::PathBuf {
    let out = Command::new(env!("CARGO"))
        .args([
            "build",
            "-q",
            "--example",
            "demo_traffic",
            "--message-format=json",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(Stdio::inherit())
        .output()
        .expect("cargo build --example demo_traffic");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["target"]["name"] == "demo_traffic")
        .find_map(|m| m["executable"].as_str().map(std::path::PathBuf::from))
        .expect("cargo named the demo_traffic executable")
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `name{labels} value` from a text exposition.
fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{series} not in\n{metrics}"))
}

fn post(url: &str) {
    let (status, _) = common::http::request("POST", url, &[], "").expect("POST");
    assert_eq!(status, 200, "{url}");
}

#[test]
fn demo_logs_reach_loki_and_slowburn_counts_them_exactly() {
    let loki = FakeLoki::new(Vec::new(), None);
    // Loki is still starting when the demo starts: its lines must wait, not vanish.
    loki.push_down.store(true, Ordering::Relaxed);
    let loki_url = format!("http://127.0.0.1:{}", common::serve(loki.router()));
    let port = common::free_port();
    let demo = format!("http://127.0.0.1:{port}");
    let _child = Killed(
        Command::new(demo_traffic())
            .args([&format!("127.0.0.1:{port}"), "--loki", &loki_url])
            .stderr(Stdio::null())
            .spawn()
            .expect("start demo_traffic"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while common::http::get(&format!("{demo}/healthz")).map(|r| r.0) != Some(200) {
        assert!(Instant::now() < deadline, "demo_traffic never answered");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The compose file's health check of demo-traffic: slowburn's binary probing its /healthz.
    let (code, out, err) =
        common::slowburn(&["healthcheck", "--listen", &format!("127.0.0.1:{port}")]);
    assert_eq!(code, 0, "{out}{err}");

    std::thread::sleep(Duration::from_secs(3));
    assert!(loki.lines().is_empty(), "Loki was down");
    loki.push_down.store(false, Ordering::Relaxed);
    std::thread::sleep(Duration::from_secs(2));
    post(&format!("{demo}/incident/on"));
    std::thread::sleep(Duration::from_secs(3));
    post(&format!("{demo}/incident/off"));
    std::thread::sleep(Duration::from_secs(2));
    // Hold pushes so the demo's counters and Loki's lines are read at one moment.
    loki.push_down.store(true, Ordering::Relaxed);
    let held_since = std::time::Instant::now();
    // A push in flight when pushes were held may still be counted: wait until Loki's lines and
    // the demo's pushed counter agree, then read both at that moment.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let metrics = loop {
        std::thread::sleep(Duration::from_millis(500));
        let metrics = common::http::get(&format!("{demo}/metrics"))
            .expect("metrics")
            .1;
        let pushed = sample(&metrics, r#"demo_log_lines_total{result="pushed"}"#);
        if loki.lines().len() as f64 == pushed || std::time::Instant::now() > deadline {
            break metrics;
        }
    };
    let ok = sample(&metrics, r#"http_requests_total{service="api",code="200"}"#);
    let errors = sample(&metrics, r#"http_requests_total{service="api",code="500"}"#);
    let pushed = sample(&metrics, r#"demo_log_lines_total{result="pushed"}"#);
    let dropped = sample(&metrics, r#"demo_log_lines_total{result="dropped"}"#);
    let lines = loki.lines();
    eprintln!(
        "requests {} ({errors} errors), lines pushed {pushed}, held by Loki {}",
        ok + errors,
        lines.len()
    );
    assert_eq!(dropped, 0.0, "no line is dropped across two Loki outages");
    assert_eq!(lines.len() as f64, pushed, "every 204 holds its lines");
    // One line per request; those since pushes were held wait in the demo: at 25 a second, at
    // most the last second's before the hold plus those since (a slow machine waits longer).
    let waiting = 25.0 * (held_since.elapsed().as_secs_f64() + 2.5);
    assert!(
        pushed <= ok + errors && pushed >= ok + errors - waiting,
        "{pushed} of {} ({waiting:.0} may wait)",
        ok + errors
    );
    assert!(pushed > 200.0, "about 25 lines a second for 10 s: {pushed}");
    let mut bad = 0.0;
    let mut last = 0;
    for l in &lines {
        assert_eq!(l.stream.get("app").map(String::as_str), Some("backend"));
        assert!(l.ts > last, "timestamps unique and increasing");
        last = l.ts;
        let v: Value = serde_json::from_str(&l.body).expect("a JSON line");
        let status = v["status"].as_u64().expect("status");
        let level = v["level"].as_str().expect("level");
        assert!(v["duration_ms"].as_f64().is_some_and(|d| d >= 0.0), "{v}");
        assert_eq!((status == 500), (level == "error"), "{v}");
        if status == 500 {
            bad += 1.0;
        }
    }
    // The incident (20% errors for 3 s) shows in the logs as in the counters.
    assert!(
        bad >= 5.0 && bad <= errors,
        "{bad} error lines, {errors} errors"
    );

    // slowburn over docker/slo.yaml's log-availability SLO, with the stack's Loki replaced by the
    // fake, counts exactly the lines Loki took up to the report's bucket boundary.
    let stack: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docker/slo.yaml"))
            .expect("docker/slo.yaml"),
    )
    .expect("docker/slo.yaml parses");
    let slo = stack["slos"]
        .as_array()
        .expect("slos")
        .iter()
        .find(|s| s["name"] == "log-availability")
        .expect("the stack's log SLO");
    let sli = &slo["sli"]["ratio"];
    let cfg = format!(
        "loki: {{url: \"{loki_url}\"}}\ndefaults: {{windows: [1h], bucket: 10s}}\nslos:\n  - service: backend\n    name: log-availability\n    objective: 99.5\n    sli:\n      ratio:\n        source: loki\n        errors: '{}'\n        total: '{}'\n",
        sli["errors"].as_str().expect("errors"),
        sli["total"].as_str().expect("total"),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("slo.yaml");
    std::fs::write(&path, cfg).expect("write config");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let at = now - now % 10;
    let report = common::report_json(&path, at);
    let p = &report["slos"][0]["periods"]["1h"];
    let until = at * 1_000_000_000;
    let total = lines.iter().filter(|l| l.ts <= until).count() as f64;
    let errors_in = lines
        .iter()
        .filter(|l| l.ts <= until && l.body.contains(r#""status":500"#))
        .count() as f64;
    assert!(total > 0.0);
    assert_eq!(p["total"].as_f64(), Some(total), "{p}");
    assert_eq!(p["good"].as_f64(), Some(total - errors_in), "{p}");
}
