//! `report --format json` against a real Prometheus holding 31 days of synthetic history scraped every
//! 15 s, 30 s and 60 s with jitter, compared with the generator's exact ground truth for every SLI
//! kind: counts within 0.1%, remaining budget within 0.5 points, burn rates (1h+) within 2%. The
//! same checks run once more against a real VictoriaMetrics (Debian's `victoria-metrics`) holding
//! the same history, its flavor read from its buildinfo (issue 24, item 3).

use crate::common::*;
use serde_json::Value;
use slowburn::synth::History;
use std::io::Write;
use std::sync::OnceLock;
use std::time::Duration;

struct Fixture {
    prom: Option<Prometheus>,
    history: History,
    end: i64,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let end = history_end();
        let (services, incidents) = standard_services();
        let history = History::generate(&services, &incidents, end - 31 * 86400, end, 0.3, 42);
        // Every series also carries `app`, a copy of `service`: the label grouped SLOs split by.
        let prom = require_prometheus().then(|| {
            start_prometheus_with(|f| {
                let mut text = Vec::new();
                history.write_openmetrics(&mut text).expect("write history");
                f.write_all(&with_app_label(&String::from_utf8_lossy(&text)).into_bytes())
                    .expect("write history");
            })
        });
        Fixture { prom, history, end }
    })
}

const DAY: i64 = 86400;

/// `service="x"` → `service="x",app="x"` on every series.
fn with_app_label(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 11 / 10);
    let mut rest = text;
    while let Some(i) = rest.find("service=\"") {
        let after = &rest[i + 9..];
        let end = after.find('"').unwrap_or(after.len());
        let value = &after[..end];
        out.push_str(&rest[..i + 9]);
        out.push_str(value);
        out.push_str(&format!("\",app=\"{value}"));
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

fn config(url: &str) -> String {
    let mut s = format!("prometheus: {{url: \"{url}\"}}\nslos:\n");
    for svc in ["svc15", "svc30", "svc60"] {
        s.push_str(&format!(
            r#"  - service: {svc}
    name: availability
    objective: 99.9
    sli:
      ratio:
        errors: http_requests_total{{service="{svc}",code=~"5.."}}
        total: http_requests_total{{service="{svc}"}}
    sla: {{objective: 99.5}}
  - service: {svc}
    name: availability-good
    objective: 99.5
    sli:
      ratio:
        good: http_requests_total{{service="{svc}",code="200"}}
        total: http_requests_total{{service="{svc}"}}
  - service: {svc}
    name: latency
    objective: 95
    windows: [30d, 7d]
    sli:
      latency:
        histogram: http_request_duration_seconds{{service="{svc}"}}
        threshold: 200ms
    sla: {{objective: 90, threshold: 500ms}}
  - service: {svc}
    name: saturation
    objective: 99
    windows: [7d]
    sli:
      timeslice:
        query: max(http_inflight_requests{{service="{svc}"}})
        below: 40
"#
        ));
    }
    s
}

fn report(f: &Fixture) -> Value {
    static R: OnceLock<Value> = OnceLock::new();
    R.get_or_init(|| report_from(f, &f.prom.as_ref().expect("prometheus").url).0)
        .clone()
}

/// `report --format json --stats` at the fixture's end over the engine at `url`, with the
/// source's own log lines (`SLOWBURN_LOG`), which name the flavor it detected.
fn report_from(f: &Fixture, url: &str) -> (Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &config(url));
    let at = f.end.to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_slowburn"))
        .args(["report", "-c", cfg.to_str().unwrap(), "--at", &at])
        .args(["--format", "json", "--stats"])
        .env_remove("SLOWBURN_CONFIG")
        .env("SLOWBURN_LOG", "warn,slowburn::source::prometheus=info")
        .output()
        .expect("run slowburn report");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!("{err}");
    assert!(out.status.success(), "report failed: {err}");
    (
        serde_json::from_slice(&out.stdout).expect("report prints JSON"),
        err,
    )
}

fn slo<'a>(r: &'a Value, id: &str) -> &'a Value {
    r["slos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("{id} missing"))
}

/// (good, total) of the ground truth for an SLO kind over `(end − window, end]`.
fn truth_counts(f: &Fixture, svc: &str, kind: &str, window: i64) -> (f64, f64) {
    let t = f.history.truth(svc, f.end - window, f.end);
    match kind {
        "availability" | "availability-good" => ((t.total - t.errors) as f64, t.total as f64),
        "latency" => (t.under[2] as f64, t.total as f64),
        "latency-sla" => (t.under[3] as f64, t.total as f64),
        "saturation" => {
            let slices = window / 60;
            let good = (0..slices)
                .filter(|i| {
                    f.history
                        .inflight_at(svc, f.end - i * 60)
                        .is_some_and(|v| v < 40.0)
                })
                .count();
            (good as f64, slices as f64)
        }
        _ => unreachable!(),
    }
}

fn objective(kind: &str) -> f64 {
    match kind {
        "availability" => 0.999,
        "availability-good" => 0.995,
        "latency" => 0.95,
        _ => 0.99,
    }
}

fn check_kind(kind: &str, periods: &[(&str, i64)]) {
    let f = fixture();
    if f.prom.is_none() {
        return;
    }
    check_kind_in(f, &report(f), kind, periods);
}

/// Every SLO of `kind` in the report `r` against the ground truth.
fn check_kind_in(f: &Fixture, r: &Value, kind: &str, periods: &[(&str, i64)]) {
    for svc in ["svc15", "svc30", "svc60"] {
        let s = slo(r, &format!("{svc}/{kind}"));
        let obj = objective(kind);
        for (name, len) in periods {
            let p = &s["periods"][*name];
            let (good, total) = truth_counts(f, svc, kind, *len);
            let (g, t) = (p["good"].as_f64().unwrap(), p["total"].as_f64().unwrap());
            eprintln!(
                "measured {svc}/{kind} {name}: total err {:.2e}, good err {:.2e}",
                rel_err(t, total),
                rel_err(g, good)
            );
            assert!(
                rel_err(t, total) <= 0.001,
                "{svc}/{kind} {name} total {t} vs truth {total}"
            );
            assert!(
                rel_err(g, good) <= 0.001,
                "{svc}/{kind} {name} good {g} vs truth {good}"
            );
            let want = 1.0 - (total - good) / ((1.0 - obj) * total);
            let got = p["error_budget_remaining"].as_f64().unwrap();
            assert!(
                (got - want).abs() <= 0.005,
                "{svc}/{kind} {name} remaining {got} vs truth {want}"
            );
            assert_eq!(
                p["coverage"].as_f64(),
                Some(1.0),
                "{svc}/{kind} {name} coverage"
            );
        }
        for (name, len) in [
            ("1h", 3600),
            ("2h", 7200),
            ("6h", 21600),
            ("1d", DAY),
            ("3d", 3 * DAY),
        ] {
            let (good, total) = truth_counts(f, svc, kind, len);
            let want = ((total - good) / total) / (1.0 - obj);
            let got = s["burn_rates"][name].as_f64().unwrap();
            eprintln!(
                "measured {svc}/{kind} burn {name}: err {:.2e}",
                rel_err(got, want)
            );
            let tolerance = (0.02 * want).max(1e-9);
            assert!(
                (got - want).abs() <= tolerance,
                "{svc}/{kind} burn {name} {got} vs truth {want}"
            );
        }
    }
}

/// The foundation's accuracy checks over a real VictoriaMetrics holding the same 31 days: every
/// kind within the same tolerances of the ground truth, and every count equal to what the same
/// report reads from Prometheus (VictoriaMetrics's `increase` has no extrapolation either, and
/// slowburn reads edge values, not `increase`).
#[test]
fn victoriametrics_holding_the_same_history_gives_the_same_numbers() {
    let f = fixture();
    if f.prom.is_none()
        || !require(
            "victoria-metrics",
            have("victoria-metrics"),
            "apt-get install victoria-metrics",
        )
    {
        return;
    }
    let (_vm, url, _dir) = start_victoria_metrics_with(|w| {
        f.history.write_openmetrics(w).expect("write history");
    });
    let (vm, log) = report_from(f, &url);
    assert!(
        log.contains(r#""flavor":"victoriametrics""#),
        "the flavor is read from VictoriaMetrics's buildinfo: {log}"
    );
    let prom = report(f);
    for (kind, periods) in [
        ("availability", &[("30d", 30 * DAY), ("7d", 7 * DAY)][..]),
        (
            "availability-good",
            &[("30d", 30 * DAY), ("7d", 7 * DAY)][..],
        ),
        ("latency", &[("30d", 30 * DAY), ("7d", 7 * DAY)][..]),
        ("saturation", &[("7d", 7 * DAY)][..]),
    ] {
        check_kind_in(f, &vm, kind, periods);
    }
    let mut compared = 0;
    for s in prom["slos"].as_array().expect("slos") {
        let id = s["id"].as_str().expect("id");
        let v = slo(&vm, id);
        for (name, p) in s["periods"].as_object().expect("periods") {
            for field in ["good", "total"] {
                let (a, b) = (p[field].as_f64(), v["periods"][name][field].as_f64());
                assert_eq!(
                    a, b,
                    "{id} {name} {field}: Prometheus {a:?}, VictoriaMetrics {b:?}"
                );
                compared += 1;
            }
        }
    }
    eprintln!("measured: {compared} counts equal between Prometheus and VictoriaMetrics");
    assert!(compared >= 40, "{compared}");
    // The alerts a backtest replays over the last day, every SLO: the same episodes.
    let backtest = |url: &str| {
        let dir = tempfile::tempdir().unwrap();
        let cfg = write_config(dir.path(), &config(url));
        let (from, to) = ((f.end - DAY).to_string(), f.end.to_string());
        let (code, out, err) = slowburn(&[
            "backtest",
            "-c",
            cfg.to_str().unwrap(),
            "--from",
            &from,
            "--to",
            &to,
            "--format",
            "json",
        ]);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str::<Value>(&out).expect("backtest prints JSON")["episodes"].clone()
    };
    let (on_prom, on_vm) = (backtest(&prom_url(f)), backtest(&url));
    let n = on_prom.as_array().map_or(0, Vec::len);
    eprintln!("measured: {n} backtest episodes, equal on both");
    assert!(n > 0, "the day holds incidents that alert");
    assert_eq!(on_prom, on_vm);
}

fn prom_url(f: &Fixture) -> String {
    f.prom.as_ref().expect("prometheus").url.clone()
}

#[test]
fn ratio_errors_total_matches_ground_truth() {
    check_kind("availability", &[("30d", 30 * DAY), ("7d", 7 * DAY)]);
}

#[test]
fn ratio_good_total_matches_ground_truth() {
    check_kind("availability-good", &[("30d", 30 * DAY), ("7d", 7 * DAY)]);
}

#[test]
fn latency_matches_ground_truth() {
    check_kind("latency", &[("30d", 30 * DAY), ("7d", 7 * DAY)]);
}

#[test]
fn timeslice_matches_ground_truth() {
    check_kind("saturation", &[("7d", 7 * DAY)]);
}

#[test]
fn sla_is_reported_from_its_own_counts() {
    let f = fixture();
    if f.prom.is_none() {
        return;
    }
    let r = report(f);
    for svc in ["svc15", "svc30", "svc60"] {
        let s = slo(&r, &format!("{svc}/latency"));
        let (good, total) = truth_counts(f, svc, "latency-sla", 30 * DAY);
        let sli = s["sla"]["sli"].as_f64().unwrap();
        assert!(
            (sli - good / total).abs() < 1e-4,
            "{svc} SLA sli {sli} vs {}",
            good / total
        );
        assert_eq!(s["sla"]["met"].as_bool(), Some(good / total >= 0.90));
        let a = slo(&r, &format!("{svc}/availability"));
        let (g, t) = truth_counts(f, svc, "availability", 30 * DAY);
        assert_eq!(a["sla"]["met"].as_bool(), Some(g / t >= 0.995));
    }
}

#[test]
fn json_contract_has_every_field() {
    let f = fixture();
    if f.prom.is_none() {
        return;
    }
    let r = report(f);
    let at = chrono::DateTime::parse_from_rfc3339(r["at"].as_str().unwrap()).unwrap();
    assert_eq!(at.timestamp(), f.end);
    let s = slo(&r, "svc60/availability");
    assert_eq!(s["service"], "svc60");
    assert_eq!(s["name"], "availability");
    assert_eq!(s["objective"].as_f64(), Some(0.999));
    for w in ["5m", "30m", "1h", "2h", "6h", "1d", "3d"] {
        assert!(s["burn_rates"][w].is_number(), "burn rate {w}");
    }
    for k in ["good", "total", "sli", "error_budget_remaining", "coverage"] {
        assert!(s["periods"]["30d"][k].is_number(), "30d.{k}");
    }
    assert!(s["sla"]["objective"].is_number());
}

#[test]
fn table_output_lists_every_slo_with_aligned_columns() {
    let f = fixture();
    let Some(prom) = &f.prom else { return };
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &config(&prom.url));
    let (code, out, err) = slowburn(&[
        "report",
        "-c",
        cfg.to_str().unwrap(),
        "--at",
        &f.end.to_string(),
    ]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("SLO"), "{out}");
    let col = lines[0].find("BUDGET LEFT").unwrap();
    for svc in ["svc15", "svc30", "svc60"] {
        let row = lines
            .iter()
            .find(|l| l.starts_with(&format!("{svc}/availability ")))
            .expect("row");
        assert!(
            row[col..]
                .trim_start()
                .starts_with(|c: char| c.is_ascii_digit() || c == '-'),
            "{row}"
        );
    }
    assert!(
        !out.contains('\x1b'),
        "no colours when stdout is not a terminal"
    );
}

#[test]
fn unreachable_prometheus_exits_1_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = write_config(dir.path(), &config(&format!("http://127.0.0.1:{port}")));
    let (code, _, err) = slowburn(&["report", "-c", cfg.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("cannot query a source the SLOs read")
            && err
                .to_lowercase()
                .contains(&format!("prometheus at http://127.0.0.1:{port}")),
        "{err}"
    );
}

#[test]
fn batched_tick_queries_equal_one_by_one_queries() {
    use slowburn::source::prometheus::PrometheusSource;
    use slowburn::source::{Ask, BucketRange, Source};
    let f = fixture();
    let Some(prom) = &f.prom else { return };
    let cfg = slowburn::config::parse_str(&config(&prom.url), "t.yaml", &|_| None).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let source = PrometheusSource::new(&cfg.prometheus).unwrap();
        // The incident 50 minutes before the end is inside this range.
        let range = BucketRange::ending_at(f.end - 30 * 60, 30, 60);
        let asks: Vec<Ask> = cfg.slos.iter().map(Ask::slo).collect();
        let batched = source.counts_many(&asks, range).await;
        for (ask, b) in asks.iter().zip(&batched) {
            let spec = &ask.spec;
            let one = source.counts(ask, range).await;
            assert!(
                b.errors.is_empty() && one.errors.is_empty(),
                "{:?} {:?}",
                b.errors,
                one.errors
            );
            assert_eq!(b.buckets, one.buckets, "{spec:?}");
        }
        let known = batched
            .iter()
            .flat_map(|c| &c.buckets)
            .filter(|b| matches!(b, slowburn::budget::Bucket::Known { total, .. } if *total > 0.0))
            .count();
        assert!(known > 100, "the range has traffic: {known}");
    });
}

#[test]
fn validate_online_checks_series_and_le_buckets_against_prometheus() {
    let f = fixture();
    let Some(prom) = &f.prom else { return };
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &config(&prom.url));
    let (code, out, err) = slowburn(&["validate", "--online", "-c", cfg.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let bad = format!(
        "prometheus: {{url: \"{}\"}}\nslos:\n  - service: svc15\n    name: latency\n    objective: 95\n    sli: {{latency: {{histogram: 'http_request_duration_seconds{{service=\"svc15\"}}', threshold: 300ms}}}}\n",
        prom.url
    );
    let cfg = write_config(dir.path(), &bad);
    let (code, _, err) = slowburn(&["validate", "--online", "-c", cfg.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("has no `le=\"0.3\"` bucket"), "{err}");
}

#[test]
fn backtest_pages_on_the_real_incident_when_the_workbook_says() {
    let f = fixture();
    let Some(prom) = &f.prom else { return };
    let dir = tempfile::tempdir().unwrap();
    // Only the burn-rate rules: svc15's 30-day budget is long spent, which would page by itself.
    let cfg = write_config(
        dir.path(),
        &format!(
            "prometheus: {{url: \"{}\"}}\nslos:\n{}",
            prom.url,
            burn_only_slo("svc15", "availability", 99.9)
        ),
    );
    let from = (f.end - 3 * 3600).to_string();
    let to = f.end.to_string();
    let (code, out, err) = slowburn(&[
        "backtest",
        "-c",
        cfg.to_str().unwrap(),
        "--from",
        &from,
        "--to",
        &to,
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    // svc15: 20 minutes of 5% errors starting 50 minutes before the end, 0.05% before.
    let start = f.end - 50 * 60;
    let page = v["episodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["slo"] == "svc15/availability" && e["severity"] == "page")
        .unwrap_or_else(|| panic!("no page for svc15: {out}"));
    assert_eq!(page["rule"], "1h/5m");
    let fired = chrono::DateTime::parse_from_rfc3339(page["fired_at"].as_str().unwrap())
        .unwrap()
        .timestamp();
    // Workbook: 14.4 × 3600 s × 0.001 / 0.05 = 1036.8 s; the base errors already in the hour
    // bring it to about 1011 s. One bucket of slack either way.
    let after = fired - start;
    assert!(
        (1011 - 60..=1037 + 60).contains(&after),
        "paged {after} s after the incident started"
    );
    assert!(
        page["resolved_at"].is_string(),
        "resolved after the incident"
    );
    assert!(v["summary"]["pages"].as_u64().unwrap() >= 1);
}

/// A Sloth file (svc15), a Pyrra resource (svc30) and OpenSLO documents (svc60) describing the
/// availability and latency SLOs of [`config`]; each imported SLO must count exactly what the
/// hand-written one counts (issue 26, item 3).
const PEERS: [(&str, &str); 3] = [
    (
        "sloth",
        r#"version: "prometheus/v1"
service: svc15
slos:
  - name: availability
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{service="svc15",code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{service="svc15"}[{{.window}}]))
  - name: latency
    objective: 95
    sli:
      events:
        error_query: |
          sum(rate(http_request_duration_seconds_count{service="svc15"}[{{.window}}]))
          -
          sum(rate(http_request_duration_seconds_bucket{le="0.2",service="svc15"}[{{.window}}]))
        total_query: sum(rate(http_request_duration_seconds_count{service="svc15"}[{{.window}}]))
"#,
    ),
    (
        "pyrra",
        r#"apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: availability, namespace: svc30}
spec:
  target: "99.9"
  window: 30d
  indicator:
    ratio:
      errors: {metric: 'http_requests_total{service="svc30",code=~"5.."}'}
      total: {metric: 'http_requests_total{service="svc30"}'}
---
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: latency, namespace: svc30}
spec:
  target: "95"
  window: 30d
  indicator:
    latency:
      success: {metric: 'http_request_duration_seconds_bucket{service="svc30",le="0.2"}'}
      total: {metric: 'http_request_duration_seconds_count{service="svc30"}'}
"#,
    ),
    (
        "openslo",
        r#"apiVersion: openslo/v1
kind: SLI
metadata: {name: svc60-errors}
spec:
  ratioMetric:
    counter: true
    bad: {metricSource: {type: Prometheus, spec: {query: 'http_requests_total{service="svc60",code=~"5.."}'}}}
    total: {metricSource: {type: Prometheus, spec: {query: 'http_requests_total{service="svc60"}'}}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: availability}
spec:
  service: svc60
  indicatorRef: svc60-errors
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.999}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: latency}
spec:
  service: svc60
  indicator:
    metadata: {name: svc60-fast}
    spec:
      ratioMetric:
        counter: true
        good: {metricSource: {type: Prometheus, spec: {query: 'sum(rate(http_request_duration_seconds_bucket{service="svc60",le="0.2"}[5m]))'}}}
        total: {metricSource: {type: Prometheus, spec: {query: 'sum(rate(http_request_duration_seconds_count{service="svc60"}[5m]))'}}}
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{targetPercent: 95}]
"#,
    ),
];

#[test]
fn slos_imported_from_sloth_pyrra_and_openslo_count_what_hand_written_ones_count() {
    let f = fixture();
    let Some(prom) = f.prom.as_ref() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut text = format!("prometheus: {{url: \"{}\"}}\nslos:\n", prom.url);
    for (format, peer) in PEERS {
        let input = dir.path().join(format!("{format}.yaml"));
        std::fs::write(&input, peer).unwrap();
        let (code, out, err) = slowburn(&["import", "--from", format, input.to_str().unwrap()]);
        assert_eq!(code, 0, "{format}: {err}");
        let body = out
            .split_once("slos:\n")
            .map(|(_, b)| b)
            .unwrap_or_default();
        assert!(body.contains("- service:"), "{format}: {out}");
        text.push_str(body);
    }
    let imported = report_json(&write_config(&dir.path().join("imported"), &text), f.end);
    let hand = report(f);
    for svc in ["svc15", "svc30", "svc60"] {
        for kind in ["availability", "latency"] {
            let id = format!("{svc}/{kind}");
            let (a, b) = (
                &slo(&imported, &id)["periods"]["30d"],
                &slo(&hand, &id)["periods"]["30d"],
            );
            for field in ["good", "total", "error_budget_remaining"] {
                assert_eq!(a[field], b[field], "{id} {field}: imported vs hand-written");
            }
            eprintln!(
                "measured {id} imported: 30d good {} total {}",
                a["good"], a["total"]
            );
        }
    }
    check_kind_in(f, &imported, "availability", &[("30d", 30 * DAY)]);
    check_kind_in(f, &imported, "latency", &[("30d", 30 * DAY)]);
}

/// An SLO whose good selector counts more than its total (every request against the 200s only),
/// and one whose errors selector matches nothing: `validate --online` names the first with its
/// queries, the daemon logs it once, counts it per tick and shows it in the SLO's row; counts are
/// clamped (the budget is untouched), not silently (issue 26, item 6).
#[test]
fn answers_that_cannot_be_counts_are_named_not_clamped_silently() {
    let f = fixture();
    let Some(prom) = &f.prom else { return };
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"prometheus: {{url: "{}"}}
engine: {{delay: 1s}}
slos:
  - service: svc15
    name: swapped
    objective: 99
    windows: [1h]
    sli:
      ratio:
        good: 'http_requests_total{{service="svc15"}}'
        total: 'http_requests_total{{service="svc15",code="200"}}'
"#,
        prom.url
    );
    let cfg = write_config(dir.path(), &text);
    let (code, out, err) = slowburn(&["validate", "--online", "-c", cfg.to_str().unwrap()]);
    assert_eq!(code, 0, "warnings do not fail validation: {out}{err}");
    let line = err
        .lines()
        .find(|l| l.contains("svc15/swapped: warning: in the last hour"))
        .unwrap_or_else(|| panic!("no sanity warning in\n{err}"));
    assert!(
        line.contains("more good events than events") && line.contains("code=\"200\""),
        "{line}"
    );
    let mut d = Daemon::start(&cfg, &dir.path().join("data"), &[]);
    d.wait_ready(Duration::from_secs(60));
    // The backfill's answers are judged as a tick's: the row says it once the daemon is ready
    // (the history ends ten minutes ago, so later ticks find nothing to judge).
    let (_, page) = d.get("/");
    assert!(page.contains("more good events than events"), "{page}");
    let (status, metrics) = d.get("/metrics");
    assert_eq!(status, 200);
    let counted = metrics.lines().any(|l| {
        l.starts_with("slowburn_sli_sanity_warnings_total{")
            && l.contains("slo=\"svc15/swapped\"")
            && l.contains("kind=\"good_above_total\"")
    });
    assert!(counted, "no sanity counter in /metrics");
    let logged = d.log_text().matches("more good events than events").count();
    assert_eq!(logged, 1, "logged once per SLO and kind");
}

/// One SLO per value of `app` (a copy of `service` on every series): each member of the grouped
/// availability and latency SLOs counts exactly what the hand-written SLO of that service counts
/// (30d and 7d good, total, budget, SLA), on the real Prometheus; `validate --online` lists the
/// members, `max_groups` caps them with a warning, and the daemon shows each member with its
/// group label in /metrics, the API and the web UI (issue 26, item 4).
#[test]
fn grouped_slos_make_one_slo_per_label_value_that_counts_what_a_hand_written_one_counts() {
    let f = fixture();
    let Some(prom) = f.prom.as_ref() else { return };
    let dir = tempfile::tempdir().unwrap();
    let grouped = |max: &str| {
        format!(
            r#"prometheus: {{url: "{}"}}
engine: {{delay: 1s}}
slos:
  - service: all
    name: availability
    objective: 99.9
    group_by: [app]
{max}    sli:
      ratio:
        errors: 'http_requests_total{{service=~"svc.*",code=~"5.."}}'
        total: 'http_requests_total{{service=~"svc.*"}}'
    sla: {{objective: 99.5}}
  - service: all
    name: latency
    objective: 95
    windows: [30d, 7d]
    group_by: [app]
    sli:
      latency:
        histogram: http_request_duration_seconds
        threshold: 200ms
    sla: {{objective: 90, threshold: 500ms}}
"#,
            prom.url
        )
    };
    let cfg = write_config(dir.path(), &grouped(""));
    let r = report_json(&cfg, f.end);
    let hand = report(f);
    let ids: Vec<&str> = r["slos"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert_eq!(ids.len(), 6, "three members of each definition: {ids:?}");
    for svc in ["svc15", "svc30", "svc60"] {
        for kind in ["availability", "latency"] {
            let member = slo(&r, &format!("all/{kind}{{app=\"{svc}\"}}"));
            assert_eq!(member["group"]["app"], svc);
            assert_eq!(member["service"], "all");
            assert_eq!(member["name"], kind);
            let own = slo(&hand, &format!("{svc}/{kind}"));
            for period in ["30d", "7d"] {
                if own["periods"].get(period).is_none() {
                    continue;
                }
                for field in ["good", "total", "error_budget_remaining"] {
                    assert_eq!(
                        member["periods"][period][field], own["periods"][period][field],
                        "{svc}/{kind} {period} {field}: member vs hand-written"
                    );
                }
            }
            assert_eq!(member["sla"], own["sla"], "{svc}/{kind} SLA");
            eprintln!(
                "measured all/{kind}{{app={svc}}}: 30d good {} total {}",
                member["periods"]["30d"]["good"], member["periods"]["30d"]["total"]
            );
        }
    }
    // The members equal the generator's ground truth, as the hand-written SLOs do.
    for svc in ["svc15", "svc30", "svc60"] {
        let m = slo(&r, &format!("all/availability{{app=\"{svc}\"}}"));
        let (good, total) = truth_counts(f, svc, "availability", 30 * DAY);
        let t = m["periods"]["30d"]["total"].as_f64().unwrap();
        let g = m["periods"]["30d"]["good"].as_f64().unwrap();
        assert!(
            rel_err(t, total) < 1e-3 && rel_err(g, good) < 1e-3,
            "{svc}: {g}/{t} vs {good}/{total}"
        );
    }

    let (code, _, err) = slowburn(&["validate", "--online", "-c", cfg.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("all/availability: 3 member(s) by [app]"),
        "{err}"
    );
    assert!(err.contains("  all/availability{app=\"svc30\"}"), "{err}");

    let capped = write_config(&dir.path().join("capped"), &grouped("    max_groups: 2\n"));
    let (code, out, err) = slowburn(&[
        "report",
        "-c",
        capped.to_str().unwrap(),
        "--at",
        &f.end.to_string(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("all/availability: 1 more values than max_groups"),
        "{err}"
    );
    let capped: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        capped["slos"].as_array().unwrap().len(),
        5,
        "two members of the capped definition"
    );

    let mut d = Daemon::start(&cfg, &dir.path().join("data"), &[]);
    d.wait_ready(Duration::from_secs(120));
    let (status, metrics) = d.get("/metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("slowburn_group_members{slo=\"all/availability\"} 3"),
        "{metrics}"
    );
    assert!(metrics.contains("slowburn_group_members_dropped{slo=\"all/availability\"} 0"));
    let remaining = metrics
        .lines()
        .find(|l| {
            l.starts_with("slo_error_budget_remaining_ratio{")
                && l.contains("slo=\"availability\"")
                && l.contains("app=\"svc60\"")
        })
        .unwrap_or_else(|| panic!("no member series in\n{metrics}"));
    assert!(remaining.contains("service=\"all\""), "{remaining}");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("slo_info{") && l.contains("app=\"svc15\"")),
        "slo_info carries the group label"
    );
    let (status, body) = d.get("/api/v1/slos/all/availability%7Bapp%3D%22svc15%22%7D");
    assert_eq!(status, 200, "{body}");
    let one: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(one["group"]["app"], "svc15");
    let (_, page) = d.get("/");
    assert!(
        page.contains("3 members"),
        "members under their definition: {page}"
    );
    assert!(
        page.contains("/slos/all/availability%7Bapp%3D%22svc60%22%7D"),
        "a member's link is one path segment"
    );
    let (status, _) = d.get("/slos/all/availability%7Bapp%3D%22svc60%22%7D");
    assert_eq!(status, 200, "the member's page");
    let (_, list) = d.get("/api/v1/slos");
    let list: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list["slos"].as_array().unwrap().len(), 6);
    // Restarted, the daemon follows the members it stored (the history ended ten minutes ago,
    // so a tick's own look finds none of them now).
    drop(d);
    let mut d = Daemon::start(&cfg, &dir.path().join("data"), &[]);
    d.wait_ready(Duration::from_secs(120));
    let (_, metrics) = d.get("/metrics");
    assert!(
        metrics.contains("slowburn_group_members{slo=\"all/latency\"} 3"),
        "{metrics}"
    );
}

/// The good and total of the ground truth for `kind` over `[from, to)` as the buckets count it
/// (the generator's scrapes in `(from, to]`).
fn truth_between(f: &Fixture, svc: &str, kind: &str, from: i64, to: i64) -> (f64, f64) {
    let t = f.history.truth(svc, from, to);
    match kind {
        "availability" | "availability-good" => ((t.total - t.errors) as f64, t.total as f64),
        "latency" => (t.under[2] as f64, t.total as f64),
        _ => unreachable!(),
    }
}

fn berlin() -> chrono_tz::Tz {
    slowburn::calendar::parse_zone("Europe/Berlin").expect("zone")
}

/// Issue 27, item 1: `windows: [30d, month, week]` in Europe/Berlin sums each calendar period
/// from its local-midnight start to now, exactly as the generator wrote the events.
#[test]
fn calendar_periods_count_from_their_start_what_the_generator_wrote() {
    let f = fixture();
    let Some(prom) = f.prom.as_ref() else { return };
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &format!(
            "defaults: {{windows: [30d, month, week], timezone: Europe/Berlin}}\n{}",
            config(&prom.url)
        ),
    );
    let r = report_json(&cfg, f.end);
    for (unit, name) in [
        (slowburn::calendar::Unit::Month, "month"),
        (slowburn::calendar::Unit::Week, "week"),
    ] {
        let period = slowburn::calendar::Calendar { unit, tz: berlin() }.period_at(f.end);
        for svc in ["svc15", "svc30", "svc60"] {
            for kind in ["availability", "availability-good"] {
                let p = &slo(&r, &format!("{svc}/{kind}"))["periods"][name];
                let (good, total) = truth_between(f, svc, kind, period.from, f.end);
                let (g, t) = (p["good"].as_f64().unwrap(), p["total"].as_f64().unwrap());
                eprintln!(
                    "measured {svc}/{kind} {name} from {}: total {t} vs {total} ({:.2e}), good err {:.2e}",
                    p["from"],
                    rel_err(t, total),
                    rel_err(g, good)
                );
                assert!(
                    rel_err(t, total) <= 0.001,
                    "{svc}/{kind} {name}: {t} vs {total}"
                );
                assert!(
                    rel_err(g, good) <= 0.001,
                    "{svc}/{kind} {name}: {g} vs {good}"
                );
                assert_eq!(p["from"], slowburn::time::rfc3339(period.from).as_str());
                assert_eq!(p["to"], slowburn::time::rfc3339(period.to).as_str());
                assert_eq!(p["coverage"].as_f64(), Some(1.0), "{svc}/{kind} {name}");
            }
        }
        // The latency SLOs list their own windows: no calendar period there.
        assert!(slo(&r, "svc15/latency")["periods"].get(name).is_none());
    }
    // At a period's first instant nothing has elapsed: whole, untouched, no SLI (a deploy gate at
    // midnight on the 1st must not block on an unknown budget). CI once ran exactly then.
    let week = slowburn::calendar::Calendar {
        unit: slowburn::calendar::Unit::Week,
        tz: berlin(),
    }
    .period_at(f.end);
    let r = report_json(&cfg, week.from);
    let p = &slo(&r, "svc30/availability")["periods"]["week"];
    assert_eq!(
        p["from"],
        slowburn::time::rfc3339(week.from).as_str(),
        "{p}"
    );
    assert_eq!(p["total"].as_f64(), Some(0.0), "{p}");
    assert_eq!(p["coverage"].as_f64(), Some(1.0), "{p}");
    assert_eq!(p["error_budget_remaining"].as_f64(), Some(1.0), "{p}");
    assert!(p["sli"].is_null(), "{p}");
}

/// Issue 27, item 2: `report --calendar` of the last complete ISO week in Europe/Berlin, in
/// every format: exact against the generator, roll-ups weighted by events, bad minutes where the
/// generator's minutes are bad, the page printed to PDF by Chromium and looked at.
#[test]
fn a_calendar_report_of_last_week_is_exact_in_every_format() {
    let f = fixture();
    let Some(prom) = f.prom.as_ref() else { return };
    let week = slowburn::calendar::Calendar {
        unit: slowburn::calendar::Unit::Week,
        tz: berlin(),
    }
    .period_at(f.end)
    .previous();
    let label = week.label();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &config(&prom.url).replace(
            "    name: availability\n",
            "    name: availability\n    labels: {tier: gold}\n",
        ),
    );
    let run = |format: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_slowburn"))
            .args(["report", "-c", cfg.to_str().unwrap(), "--calendar", &label])
            .args(["--timezone", "Europe/Berlin", "--format", format])
            .env_remove("SLOWBURN_CONFIG")
            .output()
            .expect("run slowburn report --calendar");
        assert!(
            out.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let r: Value = serde_json::from_str(&run("json")).expect("json");
    assert_eq!(r["period"], label.as_str());
    let mut service_sums: std::collections::BTreeMap<String, (f64, f64)> = Default::default();
    for svc in ["svc15", "svc30", "svc60"] {
        for kind in ["availability", "availability-good", "latency"] {
            let c = &slo(&r, &format!("{svc}/{kind}"))["calendar"];
            let (good, total) = truth_between(f, svc, kind, week.from, week.to);
            let (g, t) = (c["good"].as_f64().unwrap(), c["total"].as_f64().unwrap());
            eprintln!(
                "measured {label} {svc}/{kind}: total {t} vs {total} ({:.2e}), good {g} vs {good} ({:.2e}), bad minutes {}",
                rel_err(t, total),
                rel_err(g, good),
                c["bad_minutes"]
            );
            assert!(rel_err(t, total) <= 0.001, "{svc}/{kind}: {t} vs {total}");
            assert!(rel_err(g, good) <= 0.001, "{svc}/{kind}: {g} vs {good}");
            assert_eq!(c["from"], slowburn::time::rfc3339(week.from).as_str());
            assert_eq!(c["to"], slowburn::time::rfc3339(week.to).as_str());
            assert_eq!(c["complete"], true);
            assert_eq!(c["coverage"].as_f64(), Some(1.0));
            let obj = objective(kind);
            let sli = c["sli"].as_f64().unwrap();
            assert_eq!(c["objective_met"].as_bool(), Some(sli >= obj));
            let want = 1.0 - (total - good) / ((1.0 - obj) * total);
            assert!((c["error_budget_remaining"].as_f64().unwrap() - want).abs() < 0.005);
            assert!(c["incidents"].is_array());
            let e = service_sums.entry(svc.to_string()).or_default();
            e.0 += g;
            e.1 += t;
        }
        // Bad minutes of the 99.5% SLO: the minutes whose own error ratio passes 0.5%, which the
        // 0.05% background never does; only the incidents' minutes, give or take their edges.
        let bad_truth = (0..(week.to - week.from) / 60)
            .filter(|i| {
                let t = f
                    .history
                    .truth(svc, week.from + i * 60, week.from + (i + 1) * 60);
                t.total > 0 && t.errors as f64 / t.total as f64 > 0.005
            })
            .count() as f64;
        let got = slo(&r, &format!("{svc}/availability-good"))["calendar"]["bad_minutes"]
            .as_f64()
            .unwrap();
        eprintln!("measured {label} {svc}/availability-good bad minutes {got} vs {bad_truth}");
        assert!(
            (got - bad_truth).abs() <= 6.0,
            "{svc}: {got} vs {bad_truth}"
        );
        // The SLA is judged on its own counts.
        let sla = &slo(&r, &format!("{svc}/availability"))["calendar"]["sla"];
        assert_eq!(sla["objective"].as_f64(), Some(0.995));
        assert!(sla["met"].is_boolean());
    }
    // Roll-ups: each service's SLI is its events' (not an average of SLIs).
    let services = r["rollups"]["services"].as_array().unwrap();
    for s in services {
        let name = s["service"].as_str().unwrap();
        let slos = s["slos"].as_u64().unwrap();
        assert_eq!(slos, 4, "{name}");
        let (g, t) = service_sums[name];
        // The saturation time slices count too.
        let sat = &slo(&r, &format!("{name}/saturation"))["calendar"];
        let (g, t) = (
            g + sat["good"].as_f64().unwrap(),
            t + sat["total"].as_f64().unwrap(),
        );
        assert!((s["good"].as_f64().unwrap() - g).abs() < 1e-6 * g.max(1.0));
        assert!((s["sli"].as_f64().unwrap() - g / t).abs() < 1e-9);
    }
    let tier = r["rollups"]["labels"].as_array().unwrap();
    assert_eq!(tier.len(), 1, "{tier:?}");
    assert_eq!(tier[0]["label"], "tier=gold");
    assert_eq!(tier[0]["slos"], 3);

    // CSV: a header and one row per SLO with the JSON's counts.
    let csv = run("csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 13, "{csv}");
    assert!(lines[0].starts_with("slo,service,name,period,timezone,from,to"));
    let row = lines
        .iter()
        .find(|l| l.starts_with("svc30/latency,"))
        .expect("row");
    let cells: Vec<&str> = row.split(',').collect();
    let c = &slo(&r, "svc30/latency")["calendar"];
    assert_eq!(cells[3], label);
    assert_eq!(cells[8].parse::<f64>().ok(), c["good"].as_f64());
    assert_eq!(cells[9].parse::<f64>().ok(), c["total"].as_f64());
    // Markdown and the table.
    let md = run("md");
    assert!(md.contains(&format!("## SLO report {label}")), "{md}");
    assert!(md.contains("| svc15/availability |"), "{md}");
    assert!(md.contains("### By service"));
    let table = run("table");
    assert!(
        table.lines().any(|l| l.starts_with("svc60/saturation")),
        "{table}"
    );

    // HTML: opened and printed to PDF by a real Chromium, the pages looked at through pdftoppm.
    if !require(
        "chromium and pdftoppm",
        have("chromium") && have("pdftoppm") && have("pdfinfo"),
        "apt-get install chromium poppler-utils",
    ) {
        return;
    }
    let html = dir.path().join("report.html");
    std::fs::write(&html, run("html")).unwrap();
    let dom = std::process::Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("chromium --dump-dom");
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert_eq!(dom.matches("<tr data-slo=").count(), 12, "{dom}");
    assert!(dom.contains(&format!("SLO report {label}")));
    let pdf = dir.path().join("report.pdf");
    let printed = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
        ])
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("chromium --print-to-pdf");
    assert!(pdf.exists(), "{}", String::from_utf8_lossy(&printed.stderr));
    let info = std::process::Command::new("pdfinfo")
        .arg(&pdf)
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&info.stdout).into_owned();
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(0);
    eprintln!("measured {label} PDF: {pages} pages; {info}");
    assert!((1..=3).contains(&pages), "{info}");
    let size = info
        .lines()
        .find_map(|l| l.strip_prefix("Page size:"))
        .unwrap_or_default();
    assert!(
        size.contains("(A4)") && size.trim().starts_with("841"),
        "A4 landscape: {info}"
    );
    let png = dir.path().join("page");
    let ok = std::process::Command::new("pdftoppm")
        .args(["-png", "-r", "40", "-f", "1", "-l", "1"])
        .arg(&pdf)
        .arg(&png)
        .status()
        .unwrap();
    assert!(ok.success());
    let shot = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "png"))
        .expect("a page image");
    let keep = std::env::var_os("SLOWBURN_KEEP_REPORT").map(std::path::PathBuf::from);
    if let Some(k) = keep {
        let _ = std::fs::copy(&pdf, k.join("calendar-report.pdf"));
        let _ = std::fs::copy(&shot, k.join("calendar-report-page1.png"));
    }
    // A printed page has ink: the PNG of a blank A4 page at 40 dpi compresses to almost nothing.
    let size = std::fs::metadata(&shot).unwrap().len();
    assert!(size > 8_000, "page 1 looks blank: {size} bytes");
}
