//! `run --shard I/N` (issue 24, item 4): three daemons over one file each own a share of its SLOs
//! by Prometheus's hashmod of `service/name`, every SLO exactly once, and their `slo_*` series
//! together equal one unsharded daemon's at the same evaluation, line for line. `/metrics`, the
//! API and the internals page say which shard a daemon is.

use crate::common::*;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Nine SLOs on the two services of `short_live_history`.
fn nine_slos() -> String {
    let mut out = String::new();
    for (i, objective) in ["99", "99.5", "99.9"].iter().enumerate() {
        for service in ["svc15", "svc30"] {
            out.push_str(&format!(
                "  - service: {service}\n    name: availability-{i}\n    objective: {objective}\n    sli:\n      ratio:\n        errors: http_requests_total{{service=\"{service}\",code=~\"5..\"}}\n        total: http_requests_total{{service=\"{service}\"}}\n"
            ));
        }
        out.push_str(&format!(
            "  - service: svc30\n    name: latency-{i}\n    objective: {objective}\n    sli:\n      latency:\n        histogram: http_request_duration_seconds{{service=\"svc30\"}}\n        threshold: 200ms\n"
        ));
    }
    out
}

/// The `slo_*` lines of a daemon's `/metrics` (the SLOs' own series, not the daemon's).
fn slo_lines(d: &Daemon) -> BTreeSet<String> {
    d.get("/metrics")
        .1
        .lines()
        .filter(|l| l.starts_with("slo_"))
        .map(str::to_string)
        .collect()
}

#[test]
fn three_shards_together_equal_one_daemon() {
    if !require_prometheus() {
        return;
    }
    let prom = start_prometheus(&short_live_history());
    let root = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(
        root.path(),
        &format!("{}slos:\n{}", fast_head(&prom.url), nine_slos()),
    );
    let mut whole = Daemon::start(&cfg, &root.path().join("whole"), &[]);
    let mut shards: Vec<Daemon> = (0..3)
        .map(|i| {
            let shard = format!("{i}/3");
            Daemon::start(
                &cfg,
                &root.path().join(format!("shard{i}")),
                &[("SLOWBURN_SHARD", shard.as_str())],
            )
        })
        .collect();
    for d in shards.iter_mut() {
        d.wait_ready(Duration::from_secs(180));
    }
    whole.wait_ready(Duration::from_secs(180));

    // Who owns what: each SLO in exactly one shard, by the API's list.
    let ids = |d: &Daemon| -> Vec<String> {
        let list: serde_json::Value =
            serde_json::from_str(&d.get("/api/v1/slos").1).expect("API JSON");
        list["slos"]
            .as_array()
            .expect("slos")
            .iter()
            .map(|s| s["id"].as_str().expect("id").to_string())
            .collect()
    };
    let mut owned: Vec<String> = shards.iter().flat_map(ids).collect();
    owned.sort();
    let mut all = ids(&whole);
    all.sort();
    assert_eq!(all.len(), 9);
    assert_eq!(owned, all, "every SLO owned exactly once");
    for (i, d) in shards.iter().enumerate() {
        let list: serde_json::Value =
            serde_json::from_str(&d.get("/api/v1/slos").1).expect("API JSON");
        assert_eq!(list["shard"]["index"], i, "{list}");
        assert_eq!(list["shard"]["count"], 3, "{list}");
        let info = format!("slowburn_shard_info{{shard=\"{i}\",shards=\"3\"}} 1");
        assert!(d.get("/metrics").1.contains(&info), "{info}");
        let page = d.get("/internals").1;
        assert!(page.contains(&format!("(shard {i} of 3)")), "{page}");
    }
    let list: serde_json::Value =
        serde_json::from_str(&whole.get("/api/v1/slos").1).expect("API JSON");
    assert!(
        list.get("shard").is_none(),
        "unsharded answers unchanged: {list}"
    );
    assert!(
        whole
            .get("/metrics")
            .1
            .contains("slowburn_shard_info{shard=\"0\",shards=\"1\"} 1")
    );

    // The series: at one evaluation instant the shards' lines together are the whole's.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(Instant::now() < deadline, "no common evaluation instant");
        let at = last_eval(&whole);
        if at == 0 || shards.iter().any(|d| last_eval(d) != at) {
            std::thread::sleep(Duration::from_millis(200));
            continue;
        }
        let parts: Vec<BTreeSet<String>> = shards.iter().map(slo_lines).collect();
        let one = slo_lines(&whole);
        // Both sides read at the same instant, or read again.
        if last_eval(&whole) != at || shards.iter().any(|d| last_eval(d) != at) {
            continue;
        }
        let together: BTreeSet<String> = parts.iter().flatten().cloned().collect();
        let sum: usize = parts.iter().map(BTreeSet::len).sum();
        assert_eq!(sum, together.len(), "no series in two shards");
        assert!(one.len() > 9 * 5, "{one:?}");
        let missing: Vec<&String> = one.difference(&together).collect();
        let extra: Vec<&String> = together.difference(&one).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "at {at}: missing from the shards {missing:#?}\nonly in the shards {extra:#?}"
        );
        break;
    }
}
