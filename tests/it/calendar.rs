//! Calendar periods in the daemon (issue 27, item 1): `windows: [1d, week, month]` in
//! Europe/Berlin against a real Prometheus holding four days of synthetic history. Each calendar
//! period is summed from its local-midnight start to the evaluation, as the generator wrote the
//! events, and shows in the API (with `from` and `to`), on `/metrics` (`period="month"`), in the
//! web UI and to `gate --period month`; a restart resumes the sums from the store.

use crate::common::*;
use serde_json::Value;
use slowburn::calendar::{Calendar, Unit};
use std::time::Duration;

const SLO: &str = "/api/v1/slos/svc15/availability";

/// Each calendar period's counts against the ground truth at the daemon's evaluation instant.
fn check(d: &Daemon, history: &slowburn::synth::History) {
    let (_, body) = d.get(SLO);
    let v: Value = serde_json::from_str(&body).unwrap_or_default();
    let at = chrono::DateTime::parse_from_rfc3339(v["at"].as_str().unwrap_or_default())
        .map(|t| t.timestamp())
        .expect("the answer's evaluation time");
    let tz = slowburn::calendar::parse_zone("Europe/Berlin").expect("zone");
    for (unit, name) in [(Unit::Week, "week"), (Unit::Month, "month")] {
        let period = Calendar { unit, tz }.period_at(at);
        let p = &v["periods"][name];
        assert_eq!(
            p["from"],
            slowburn::time::rfc3339(period.from).as_str(),
            "{body}"
        );
        assert_eq!(p["to"], slowburn::time::rfc3339(period.to).as_str());
        let t = history.truth("svc15", period.from, at);
        let (good, total) = ((t.total - t.errors) as f64, t.total as f64);
        let (g, n) = (
            p["good"].as_f64().unwrap_or(-1.0),
            p["total"].as_f64().unwrap_or(-1.0),
        );
        eprintln!(
            "measured daemon {name} from {}: total {n} vs {total} ({:.2e}), good {g} vs {good} ({:.2e})",
            p["from"],
            rel_err(n, total),
            rel_err(g, good)
        );
        assert!(rel_err(n, total) <= 1e-3, "{name}: total {n} vs {total}");
        assert!(rel_err(g, good) <= 1e-3, "{name}: good {g} vs {good}");
        // In the first minutes of a week or month (the history ends ten minutes before now) the
        // period holds no events yet: its counts are checked above, its budget has no truth.
        if total == 0.0 {
            continue;
        }
        let want = 1.0 - (total - good) / (0.001 * total);
        let got = p["error_budget_remaining"].as_f64().unwrap_or(f64::NAN);
        assert!(
            (got - want).abs() < 0.01,
            "{name}: remaining {got} vs {want}"
        );
    }
}

#[test]
fn calendar_periods_in_the_daemon_sum_from_their_start_and_survive_a_restart() {
    if !require_prometheus() {
        return;
    }
    let history = short_live_history();
    let prom = start_prometheus(&history);
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(
        dir.path(),
        &format!(
            "prometheus: {{url: \"{}\", retries: 0, timeout: 5s}}\ndefaults: {{bucket: 1m, windows: [1d, week, month], timezone: Europe/Berlin}}\nengine: {{delay: 1s}}\nslos:\n{SVC15_AVAILABILITY}",
            prom.url
        ),
    );
    let data = dir.path().join("data");
    let mut d = Daemon::start(&cfg, &data, &[]);
    d.wait_ready(Duration::from_secs(120));
    check(&d, &history);

    let (_, metrics) = d.get("/metrics");
    for needle in ["period=\"month\"", "period=\"week\"", "window=\"month\""] {
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("slo_") && l.contains(needle)),
            "no {needle} on /metrics"
        );
    }
    let (_, page) = d.get("/");
    assert!(
        page.contains("month") && page.contains("week"),
        "the list shows the periods"
    );
    let (code, out, err) = slowburn(&[
        "gate",
        "--slo",
        "svc15/availability",
        "--period",
        "month",
        "--min-remaining",
        "-100",
        "--server",
        &d.url,
        "-c",
        cfg.to_str().unwrap_or_default(),
    ]);
    assert!(out.contains("month") || err.contains("month"), "{out}{err}");
    assert_ne!(code, 2, "gate understood --period month: {out}{err}");

    // A restart resumes each period's sums from the stored checkpoint.
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(15)), Some(0));
    let mut d = Daemon::start(&cfg, &data, &[]);
    d.wait_ready(Duration::from_secs(120));
    assert!(
        d.log_text().contains("\"from_stored_sums\":true"),
        "resumed from the stored sums: {}",
        d.log_text()
    );
    check(&d, &history);
}
