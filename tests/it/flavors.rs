//! `prometheus.flavor` (issue 24, item 3): the daemon's numbers through a FAKE Mimir and a FAKE
//! Thanos Query (fronts over a real Prometheus, `fakes::distributed`) equal those read from
//! Prometheus directly, because the flavor sends what each needs: Mimir's `/prometheus` prefix
//! and `X-Scope-OrgID`, Thanos's `max_source_resolution=0s`, `partial_response=false` and
//! `THANOS-TENANT`. Without the flavor, Mimir refuses every query (401 `no org id`, never
//! retried) and Thanos's downsampled answer would count other numbers.

use crate::common::*;
use crate::fakes::distributed::{Engine, Front};

/// `report --format json` at `at` with `prometheus:` set to `head`, for svc15's availability.
fn report_with(dir: &std::path::Path, head: &str, at: i64) -> (i32, serde_json::Value, String) {
    let cfg = write_config(dir, &format!("{head}slos:\n{SVC15_AVAILABILITY}"));
    let (code, out, err) = slowburn(&[
        "report",
        "-c",
        cfg.to_str().expect("UTF-8"),
        "--at",
        &at.to_string(),
        "--format",
        "json",
    ]);
    (code, serde_json::from_str(&out).unwrap_or_default(), err)
}

fn periods(report: &serde_json::Value) -> &serde_json::Value {
    &report["slos"][0]["periods"]
}

/// A Prometheus holding the short live history, the instant to report at, a directory for
/// configs, and the report read from Prometheus directly: what every front must reproduce.
fn direct() -> (Prometheus, i64, tempfile::TempDir, serde_json::Value) {
    let prom = start_prometheus(&short_live_history());
    let at = now_secs() / 60 * 60 - 600;
    let dir = tempfile::tempdir().expect("tempdir");
    let head = format!("prometheus: {{url: \"{}\", retries: 0}}\n", prom.url);
    let (code, direct, err) = report_with(&dir.path().join("direct"), &head, at);
    assert_eq!(code, 0, "{err}");
    assert!(
        periods(&direct)["30d"]["total"].as_f64().unwrap_or(0.0) > 0.0,
        "{direct}"
    );
    (prom, at, dir, direct)
}

#[test]
fn mimir_and_thanos_fronts_give_prometheus_numbers_with_their_flavor() {
    if !require_prometheus() {
        return;
    }
    let (prom, at, dir, direct) = direct();

    // Mimir: the URL without a path gets `/prometheus`, the tenant travels as X-Scope-OrgID.
    let (mimir, url) = Front::start(Engine::Mimir, &prom.url);
    let head =
        format!("prometheus: {{url: \"{url}\", flavor: mimir, tenant: team-a, retries: 0}}\n");
    let (code, via, err) = report_with(&dir.path().join("mimir"), &head, at);
    assert_eq!(code, 0, "{err}");
    assert_eq!(periods(&via), periods(&direct), "through FAKE Mimir");
    let seen = mimir.requests();
    assert!(!seen.is_empty());
    assert!(
        seen.iter()
            .all(|s| s.tenant.as_deref() == Some("team-a") && s.status == 200),
        "{seen:?}"
    );
    // Without the tenant: 401 `no org id`, not retried (`retries: 3`), and `report` says so.
    let before = mimir.requests().len();
    let head = format!("prometheus: {{url: \"{url}/prometheus\", retries: 3}}\n");
    let (code, _, err) = report_with(&dir.path().join("mimir-bare"), &head, at);
    let after: Vec<_> = mimir
        .requests()
        .into_iter()
        .skip(before)
        .filter(|s| !s.path.ends_with("/buildinfo"))
        .collect();
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("401") && err.contains("no org id"), "{err}");
    assert_eq!(after.len(), 1, "a 401 is not retried: {after:?}");
    assert_eq!(after[0].status, 401);

    // Thanos: raw data, whole answers, the tenant.
    let (thanos, url) = Front::start(Engine::Thanos, &prom.url);
    let head =
        format!("prometheus: {{url: \"{url}\", flavor: thanos, tenant: team-b, retries: 0}}\n");
    let (code, via, err) = report_with(&dir.path().join("thanos"), &head, at);
    assert_eq!(code, 0, "{err}");
    assert_eq!(periods(&via), periods(&direct), "through FAKE Thanos");
    let seen: Vec<_> = thanos
        .requests()
        .into_iter()
        .filter(|s| s.path.ends_with("/query_range"))
        .collect();
    assert!(!seen.is_empty());
    let has = |s: &crate::fakes::distributed::Seen, k: &str, v: &str| {
        s.params.iter().any(|(n, x)| n == k && x == v)
    };
    assert!(
        seen.iter().all(|s| s.tenant.as_deref() == Some("team-b")
            && has(s, "max_source_resolution", "0s")
            && has(s, "partial_response", "false")),
        "{seen:?}"
    );
    // Without `flavor`, its buildinfo (a Thanos `0.x` version) sets it: the same numbers.
    let head = format!("prometheus: {{url: \"{url}\", retries: 0}}\n");
    let (code, detected, err) = report_with(&dir.path().join("thanos-detected"), &head, at);
    assert_eq!(code, 0, "{err}");
    assert_eq!(periods(&detected), periods(&direct), "Thanos detected");
    // Told it is plain Prometheus, the front answers from downsampled data: other numbers.
    let head = format!("prometheus: {{url: \"{url}\", flavor: prometheus, retries: 0}}\n");
    let (_, thin, _) = report_with(&dir.path().join("thanos-bare"), &head, at);
    assert_ne!(
        periods(&thin),
        periods(&direct),
        "downsampled answers differ"
    );
}

#[test]
fn a_range_longer_than_mimirs_limit_is_asked_in_pieces_that_fit() {
    if !require_prometheus() {
        return;
    }
    let (prom, at, dir, direct) = direct();
    // A tenant limited to a day: 30 days in 11,000-point ranges (7.6 days each) are refused
    // until halved three times, and the size that fitted is kept for the rest.
    let day = 86_400;
    let (mimir, url) = Front::limited(Engine::Mimir, &prom.url, Some(day));
    let head =
        format!("prometheus: {{url: \"{url}\", flavor: mimir, tenant: team-a, retries: 0}}\n");
    let (code, via, err) = report_with(&dir.path().join("limited"), &head, at);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        periods(&via),
        periods(&direct),
        "through a day-limited FAKE Mimir"
    );
    let ranges: Vec<_> = mimir
        .requests()
        .into_iter()
        .filter(|s| s.path.ends_with("/query_range"))
        .collect();
    let length = |s: &crate::fakes::distributed::Seen| {
        let p = |k: &str| {
            s.params
                .iter()
                .find(|(n, _)| n == k)
                .and_then(|(_, v)| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (p("end") - p("start")) as i64
    };
    let (refused, answered): (Vec<_>, Vec<_>) = ranges.iter().partition(|s| s.status == 400);
    eprintln!(
        "a day's limit: {} ranges refused, {} answered",
        refused.len(),
        answered.len()
    );
    assert!(!refused.is_empty(), "the limit was never hit: {ranges:?}");
    assert!(
        answered.iter().all(|s| s.status == 200 && length(s) <= day),
        "{answered:?}"
    );
    assert!(
        refused.len() < answered.len(),
        "the fitted size is kept: {} refused, {} answered",
        refused.len(),
        answered.len()
    );
}

#[test]
fn an_unwritten_flavor_is_read_from_buildinfo_and_mimir_gets_its_prefix() {
    if !require_prometheus() {
        return;
    }
    let (prom, at, dir, direct) = direct();
    // A bare Mimir URL with a tenant header written by hand: buildinfo at `/prometheus` says Mimir.
    let (mimir, url) = Front::start(Engine::Mimir, &prom.url);
    let head =
        format!("prometheus: {{url: \"{url}\", headers: {{X-Scope-OrgID: team-a}}, retries: 0}}\n");
    let (code, via, err) = report_with(&dir.path().join("mimir"), &head, at);
    assert_eq!(code, 0, "{err}");
    assert_eq!(periods(&via), periods(&direct), "Mimir detected");
    let seen = mimir.requests();
    assert!(
        seen.iter()
            .filter(|s| s.path.ends_with("/query_range"))
            .all(|s| s.path.starts_with("/prometheus/") && s.status == 200),
        "{seen:?}"
    );
}

#[test]
fn a_tenant_needs_a_flavor_that_sends_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(
        dir.path(),
        &format!(
            "prometheus: {{url: \"http://127.0.0.1:9\", tenant: team-a}}\nslos:\n{SVC15_AVAILABILITY}"
        ),
    );
    let (code, _, err) = slowburn(&["validate", "-c", cfg.to_str().expect("UTF-8")]);
    assert_eq!(code, 1);
    assert!(
        err.contains(":1:49: prometheus.tenant: only Thanos"),
        "{err}"
    );
    std::fs::write(
        &cfg,
        format!("prometheus: {{url: \"http://127.0.0.1:9\", flavor: cortex}}\nslos:\n{SVC15_AVAILABILITY}"),
    )
    .expect("write");
    let (code, _, err) = slowburn(&["validate", "-c", cfg.to_str().expect("UTF-8")]);
    assert_eq!(code, 1);
    assert!(
        err.contains("unknown flavor `cortex`; one of prometheus, thanos, mimir, victoriametrics"),
        "{err}"
    );
}
