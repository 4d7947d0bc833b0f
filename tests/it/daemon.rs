//! `slowburn run` against a real Prometheus with 31 days of history: readiness, `/metrics` (checked by
//! `promtool check metrics` and scraped by a second, real Prometheus whose values must equal
//! `report` at the same instant), the JSON API, hot reload, the deploy gate, logs and SIGTERM.

use crate::common::*;
use serde_json::Value;
use slowburn::synth::History;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

struct Fixture {
    prom: Option<Prometheus>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        // History up to now, so the daemon's latest buckets have data.
        let end = now / 60 * 60;
        let (services, incidents) = standard_services();
        let history = History::generate(&services, &incidents, end - 31 * 86400, end, 0.3, 9);
        let prom = require_prometheus().then(|| start_prometheus(&history));
        Fixture { prom }
    })
}

fn config(url: &str, extra: &str) -> String {
    format!(
        r#"prometheus: {{url: "{url}"}}
slos:
  - service: svc15
    name: availability
    objective: 99.9
    sli:
      ratio:
        errors: http_requests_total{{service="svc15",code=~"5.."}}
        total: http_requests_total{{service="svc15"}}
    sla: {{objective: 99.5}}
  - service: svc60
    name: latency
    objective: 95
    windows: [7d]
    sli:
      latency:
        histogram: http_request_duration_seconds{{service="svc60"}}
        threshold: 200ms
{extra}"#
    )
}

/// A daemon on its own data dir, ready.
fn daemon(extra: &str) -> Option<(Daemon, tempfile::TempDir)> {
    let prom = fixture().prom.as_ref()?;
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &config(&prom.url, extra));
    let mut d = Daemon::start(&cfg, &dir.path().join("data"), &[]);
    d.wait_ready(Duration::from_secs(120));
    Some((d, dir))
}

fn shared() -> Option<&'static (Daemon, tempfile::TempDir)> {
    static D: OnceLock<Option<(Daemon, tempfile::TempDir)>> = OnceLock::new();
    D.get_or_init(|| daemon("")).as_ref()
}

fn slo_of<'a>(rep: &'a Value, labels: &Value) -> &'a Value {
    let id = format!(
        "{}/{}",
        labels["service"].as_str().unwrap_or(""),
        labels["slo"].as_str().unwrap_or("")
    );
    rep["slos"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["id"] == id.as_str()))
        .unwrap_or_else(|| panic!("{id} not in report"))
}

#[test]
fn healthcheck_exits_0_against_the_daemon_and_1_without_one() {
    let Some((d, _)) = shared() else { return };
    let listen = d.url.trim_start_matches("http://");
    let (code, out, err) = slowburn(&["healthcheck", "--listen", listen]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("/healthz: ok"), "{out}");
    let port = listen.rsplit(':').next().unwrap();
    let (code, _, err) = slowburn(&["healthcheck", "--listen", &format!("0.0.0.0:{port}")]);
    assert_eq!(
        code, 0,
        "an unspecified address is probed on loopback: {err}"
    );
    let closed = format!("127.0.0.1:{}", free_port());
    let (code, _, err) = slowburn(&["healthcheck", "--listen", &closed]);
    assert_eq!(code, 1);
    assert!(err.contains("does not answer"), "{err}");
}

#[test]
fn metrics_pass_promtool_and_have_the_design_names() {
    let Some((d, _)) = shared() else { return };
    let out = Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-D",
            "-",
            &format!("{}/metrics", d.url),
        ])
        .output()
        .unwrap();
    let headers = String::from_utf8_lossy(&out.stdout).to_lowercase();
    assert!(
        headers.contains("content-type: text/plain; version=0.0.4"),
        "{headers}"
    );
    let (status, body) = d.get("/metrics");
    assert_eq!(status, 200);
    for name in [
        "slo_objective_ratio{",
        "slo_sli_ratio{",
        "slo_burn_rate{",
        "slo_error_budget_remaining_ratio{",
        "slo_events{",
        "slo_coverage_ratio{",
        "slo_budget_exhaustion_seconds{",
        "slowburn_build_info{",
        "slowburn_source_query_duration_seconds_bucket{",
        "slowburn_config_reload_success 1",
        "slowburn_last_eval_timestamp_seconds ",
    ] {
        assert!(body.contains(name), "missing {name}");
    }
    // Every family is in the names module the dashboards are generated from.
    for family in body.lines().filter_map(|l| l.strip_prefix("# TYPE ")) {
        let name = family.split(' ').next().unwrap_or("");
        assert!(
            slowburn::names::EXPORTED.contains(&name),
            "{name} is exported but not listed in names::EXPORTED"
        );
    }
    assert!(
        body.contains("slo_info{service=\"svc15\",slo=\"availability\""),
        "slo_info"
    );
    let (passed, problems) = promtool_check_metrics(&body);
    assert!(
        passed && problems.trim().is_empty(),
        "promtool check metrics: {problems}"
    );
}

#[test]
fn a_real_prometheus_scraping_the_daemon_shows_the_same_values_as_report() {
    let Some((d, _)) = shared() else { return };
    let prom = fixture().prom.as_ref().unwrap();
    let target = d.url.trim_start_matches("http://").to_string();
    let scraper = start_scraper(&target);
    // Read the values and the evaluation time they belong to; retry if a tick happened between.
    let deadline = Instant::now() + Duration::from_secs(60);
    let (eval_at, budgets, burns) = loop {
        let at = instant_query(&scraper.url, "slowburn_last_eval_timestamp_seconds");
        let b = instant_query(&scraper.url, "slo_error_budget_remaining_ratio");
        let r = instant_query(&scraper.url, "slo_burn_rate");
        let at2 = instant_query(&scraper.url, "slowburn_last_eval_timestamp_seconds");
        if let (Some(a), Some(a2)) = (at.first(), at2.first())
            && a.1 == a2.1
            && b.len() >= 3
        {
            break (a.1 as i64, b, r);
        }
        assert!(
            Instant::now() < deadline,
            "the scraper never saw slowburn's metrics"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &config(&prom.url, ""));
    let rep = report_json(&cfg, eval_at);
    let mut compared = 0;
    for (labels, v) in budgets {
        let period = labels["period"].as_str().unwrap();
        let want = slo_of(&rep, &labels)["periods"][period]["error_budget_remaining"]
            .as_f64()
            .unwrap();
        assert!(
            (v - want).abs() < 1e-6,
            "{labels}: scraped {v}, report {want}"
        );
        compared += 1;
    }
    for (labels, v) in burns {
        let window = labels["window"].as_str().unwrap();
        if let Some(want) = slo_of(&rep, &labels)["burn_rates"][window].as_f64() {
            assert!(
                (v - want).abs() <= 1e-6 * want.abs().max(1.0),
                "{labels}: scraped {v}, report {want}"
            );
            compared += 1;
        }
    }
    assert!(compared >= 10, "compared only {compared} values");
}

#[test]
fn api_lists_slos_serves_one_with_definition_history_and_json_404() {
    let Some((d, _)) = shared() else { return };
    let (status, body) = d.get("/api/v1/slos");
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    let ids: Vec<&str> = v["slos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["svc15/availability", "svc60/latency"]);
    assert!(v["slos"][0]["periods"]["30d"]["error_budget_remaining"].is_number());
    assert!(v["slos"][0]["sla"]["met"].is_boolean());
    // How old the numbers are, so a stalled evaluation is visible (a 1m bucket and its delay).
    let age = v["evaluation_age_seconds"]
        .as_i64()
        .expect("evaluation age");
    assert!((0..=180).contains(&age), "{age}");

    let (status, body) = d.get("/api/v1/slos/svc60/latency");
    assert_eq!(status, 200);
    let one: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(one["definition"]["sli"], "latency");
    assert!(
        one["definition"]["queries"][0]
            .as_str()
            .unwrap()
            .contains("http_request_duration_seconds_bucket")
    );

    let (status, body) = d.get("/api/v1/slos/nope/nothing");
    assert_eq!(status, 404);
    let err: Value = serde_json::from_str(&body).unwrap();
    assert!(err["error"].as_str().unwrap().contains("nope/nothing"));

    let (status, body) = d.get("/api/v1/slos/svc15/availability/history?period=7d&step=6h");
    assert_eq!(status, 200, "{body}");
    let h: Value = serde_json::from_str(&body).unwrap();
    let points = h["points"].as_array().unwrap();
    assert_eq!(points.len(), 28);
    let last = points.last().unwrap();
    let (_, body) = d.get("/api/v1/slos/svc15/availability");
    let live =
        serde_json::from_str::<Value>(&body).unwrap()["periods"]["7d"]["error_budget_remaining"]
            .as_f64()
            .unwrap();
    assert!(
        (last["error_budget_remaining"].as_f64().unwrap() - live).abs() < 1e-3,
        "history ends at the live value: {last} vs {live}"
    );
    assert_eq!(
        d.get("/api/v1/slos/svc15/availability/history?period=1d").0,
        400
    );
}

#[test]
fn gate_reads_the_daemon_and_blocks_below_the_threshold() {
    let Some((d, _)) = shared() else { return };
    let (status, body) = d.get("/api/v1/slos/svc15/availability");
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    let remaining = v["periods"]["30d"]["error_budget_remaining"]
        .as_f64()
        .unwrap();
    let rate = |w: &str| v["burn_rates"][w].as_f64().unwrap_or(0.0);
    let burning =
        (rate("1h") >= 14.4 && rate("5m") >= 14.4) || (rate("6h") >= 6.0 && rate("30m") >= 6.0);
    let below = format!("{}", remaining - 0.05);
    let gate = |min: &str| {
        slowburn(&[
            "gate",
            "--slo",
            "svc15/availability",
            "--server",
            &d.url,
            "--min-remaining",
            min,
        ])
    };
    let (code, out, _) = gate(&below);
    assert_eq!(code, if burning { 1 } else { 0 }, "{out}");
    assert_eq!(out.lines().count(), 1, "one line: {out}");
    let (code, out, _) = gate(&format!("{}", remaining + 0.05));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("blocked"), "{out}");
    let (code, _, err) = slowburn(&["gate", "--slo", "svc15/none", "--server", &d.url]);
    assert_eq!(code, 2, "an error is not a verdict");
    assert!(err.contains("404"), "{err}");
}

#[test]
fn reload_adds_removes_and_rejects_bad_files_keeping_the_running_config() {
    let Some(prom) = fixture().prom.as_ref() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &config(&prom.url, ""));
    let mut d = Daemon::start(&cfg, &dir.path().join("data"), &[]);
    d.wait_ready(Duration::from_secs(120));
    let ids = |d: &Daemon| -> Vec<String> {
        let v: Value = serde_json::from_str(&d.get("/api/v1/slos").1).unwrap_or_default();
        v["slos"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| s["id"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let wait_for = |d: &Daemon, what: &dyn Fn(&Daemon) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !what(d) {
            assert!(
                Instant::now() < deadline,
                "timed out; log:\n{}",
                d.log_text()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    // A bad file: rejected, old SLOs still served, reload gauge 0, the error logged with its position.
    let bad = "  - service: x\n    name: y\n    objective: 101\n    sli: {ratio: {errors: a, total: b}}\n";
    std::fs::write(&cfg, config(&prom.url, bad)).unwrap();
    wait_for(&d, &|d| {
        d.get("/metrics")
            .1
            .contains("slowburn_config_reload_success 0")
    });
    assert_eq!(ids(&d), ["svc15/availability", "svc60/latency"]);
    assert!(
        d.log_text().contains("slo.yaml:21:16"),
        "error position logged: {}",
        d.log_text()
    );
    // A new SLO (by file watch) is backfilled and exported.
    let new = "  - service: svc30\n    name: availability\n    objective: 99\n    windows: [7d]\n    sli: {ratio: {errors: 'http_requests_total{service=\"svc30\",code=\"500\"}', total: 'http_requests_total{service=\"svc30\"}'}}\n";
    std::fs::write(&cfg, config(&prom.url, new)).unwrap();
    wait_for(&d, &|d| ids(d).len() == 3);
    // The new list is published a moment before the reload is recorded as a success.
    wait_for(&d, &|d| {
        d.get("/metrics")
            .1
            .contains("slowburn_config_reload_success 1")
    });
    let metrics = d.get("/metrics").1;
    assert!(metrics.contains(
        "slo_error_budget_remaining_ratio{service=\"svc30\",slo=\"availability\",period=\"7d\"}"
    ));
    // Removing SLOs (reload by SIGHUP this time) stops exporting them.
    std::fs::write(
        &cfg,
        format!("prometheus: {{url: \"{}\"}}\nslos:\n{new}", prom.url),
    )
    .unwrap();
    d.signal("HUP");
    wait_for(&d, &|d| ids(d) == ["svc30/availability"]);
    assert!(
        !d.get("/metrics").1.contains("svc15"),
        "removed SLO no longer exported"
    );
    // An emptied file (a half-written save) is refused: the running SLO stays.
    std::fs::write(&cfg, "").unwrap();
    d.signal("HUP");
    wait_for(&d, &|d| {
        d.get("/metrics")
            .1
            .contains("slowburn_config_reload_success 0")
    });
    assert_eq!(ids(&d), ["svc30/availability"]);
    assert!(
        d.log_text().contains("the file has no SLOs"),
        "{}",
        d.log_text()
    );
}

#[test]
fn sigterm_exits_0_within_a_few_seconds() {
    let Some((mut d, _dir)) = daemon("") else {
        return;
    };
    let t0 = Instant::now();
    d.signal("TERM");
    let code = d.wait_exit(Duration::from_secs(10));
    assert_eq!(
        code,
        Some(0),
        "exit code after SIGTERM; log: {}",
        d.log_text()
    );
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "took {:?}",
        t0.elapsed()
    );
}

#[test]
fn log_lines_are_json_and_name_the_slo() {
    let Some((d, _)) = shared() else { return };
    let log = d.log_text();
    let mut about_slo = 0;
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        if v["message"]
            .as_str()
            .is_some_and(|m| m.contains("history loaded"))
        {
            assert!(v["slo"].is_string(), "{line}");
            about_slo += 1;
        }
    }
    assert!(about_slo >= 2, "{log}");
}
