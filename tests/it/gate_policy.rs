//! `slowburn gate` judges "a page-level burn in progress" by each SLO's own page rules (its
//! `alerting` policy, with its `min_events`), never by a built-in copy of the default ones: three
//! SLOs over one history burning 20x for the last two hours, one paging at factor 3, one at factor
//! 30, one at factor 3 but with more `min_events` than the hour holds. Computed like `report` and
//! asked of a running daemon, the gate blocks the first (naming its rule) and lets the others go.

use crate::common::*;
use serde_json::Value;
use std::time::Duration;

/// One availability SLO on svc15 at 99% over 30 days, paging on 1h/5m at `factor`.
fn slo(name: &str, factor: u32, min_events: u64) -> String {
    format!(
        r#"  - service: svc15
    name: {name}
    objective: 99
    windows: [30d]
    sli:
      ratio:
        errors: http_requests_total{{service="svc15",code=~"5.."}}
        total: http_requests_total{{service="svc15"}}
    alerting:
      min_events: {min_events}
      rules:
        - {{severity: page, long: 1h, short: 5m, factor: {factor}}}
"#
    )
}

fn config(url: &str) -> String {
    format!(
        "prometheus: {{url: \"{url}\"}}\nslos:\n{}{}{}",
        slo("fast", 3, 0),
        slo("lenient", 30, 0),
        slo("quiet", 3, 10_000_000),
    )
}

fn gate(cfg: &std::path::Path, slo: &str, server: Option<&str>) -> (i32, String, String) {
    let cfg = cfg.to_str().expect("a UTF-8 path");
    let mut args = vec!["gate", "--slo", slo, "-c", cfg];
    if let Some(url) = server {
        args.extend(["--server", url]);
    }
    slowburn(&args)
}

/// Both the computed and the daemon's answer: factor 3 blocks naming its rule, factor 30 and an
/// unmet `min_events` allow.
fn assert_verdicts(cfg: &std::path::Path, server: Option<&str>) {
    let how = server.unwrap_or("computed");
    let (code, out, err) = gate(cfg, "svc15/fast", server);
    assert_eq!(code, 1, "{how}: factor 3 at 20x blocks: {out}{err}");
    assert!(
        out.contains("page rule 1h/5m (factor 3)") && out.contains("1h burn"),
        "{how}: the verdict names the rule: {out}"
    );
    let (code, out, err) = gate(cfg, "svc15/lenient", server);
    assert_eq!(code, 0, "{how}: factor 30 at 20x does not page: {out}{err}");
    assert!(out.contains("ok"), "{out}");
    let (code, out, err) = gate(cfg, "svc15/quiet", server);
    assert_eq!(
        code, 0,
        "{how}: min_events not reached, no page: {out}{err}"
    );
}

/// The rule entries of one SLO in a `report`/API JSON: (name, factor, holds).
fn rules(slo: &Value) -> Vec<(String, f64, bool)> {
    slo["rules"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    (
                        r["name"].as_str().unwrap_or("").to_string(),
                        r["factor"].as_f64().unwrap_or(0.0),
                        r["holds"].as_bool().unwrap_or(false),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_gate_follows_each_slos_own_page_rules() {
    if !require_prometheus() {
        return;
    }
    // 20% errors against a 99% objective (burn 20) from two hours ago until after the test.
    let history = svc15_incident(-2 * 3600, 1800, 0.2, 23);
    let prom = start_prometheus(&history);
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), &config(&prom.url));

    assert_verdicts(&cfg, None);

    let rep = report_json(&cfg, now_secs() / 60 * 60);
    let slos = rep["slos"].as_array().cloned().unwrap_or_default();
    assert_eq!(slos.len(), 3, "{rep}");
    assert_eq!(rules(&slos[0]), [("1h/5m".to_string(), 3.0, true)]);
    assert_eq!(rules(&slos[1]), [("1h/5m".to_string(), 30.0, false)]);
    assert_eq!(rules(&slos[2]), [("1h/5m".to_string(), 3.0, false)]);
    let burn = slos[0]["rules"][0]["long_burn_rate"]
        .as_f64()
        .unwrap_or(0.0);
    assert!((15.0..25.0).contains(&burn), "1h burn near 20: {burn}");
    assert!(
        slos[0]["periods"]["30d"]["error_budget_remaining"]
            .as_f64()
            .is_some_and(|r| r > 0.0),
        "budget left: {rep}"
    );

    let mut d = Daemon::start(&cfg, &dir.path().join("data"), &[]);
    d.wait_ready(Duration::from_secs(120));
    assert_verdicts(&cfg, Some(&d.url));
    let (status, body) = d.get("/api/v1/slos/svc15/lenient");
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("the API's JSON");
    assert_eq!(rules(&v), [("1h/5m".to_string(), 30.0, false)]);
    assert_eq!(v["alerts"]["page"]["firing"].as_bool(), Some(false), "{v}");
    let (_, body) = d.get("/api/v1/slos");
    let all: Value = serde_json::from_str(&body).expect("the API's JSON");
    assert_eq!(
        rules(&all["slos"][0]),
        [("1h/5m".to_string(), 3.0, true)],
        "{all}"
    );
}
