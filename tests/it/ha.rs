//! HA pairs (issue 24, item 5): two replicas run one file, each with its own store, both
//! evaluating and both posting to one real Alertmanager with identical labels, which merges them:
//! one incident gives one firing notification at its webhook receiver, and after one replica is
//! killed mid-incident the other still resolves it, once. `validate` warns about receivers that
//! would get every message twice.

use crate::common::*;
use crate::receivers::{collector, start_alertmanager};
use serde_json::Value;
use std::time::Duration;

/// The notifications of `status` that carry svc15/availability's page.
fn notifications(seen: &[Value], status: &str) -> Vec<Value> {
    seen.iter()
        .filter(|n| {
            n["status"] == status
                && n["alerts"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x["labels"]["slo"] == "svc15/availability"))
        })
        .cloned()
        .collect()
}

#[test]
fn two_replicas_page_once_and_resolve_once_through_alertmanager() {
    if !require_prometheus()
        || !require(
            "Alertmanager",
            have("prometheus-alertmanager"),
            "apt-get install prometheus-alertmanager",
        )
    {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (hook, seen) = collector();
    let (_am, am) = start_alertmanager(dir.path(), &hook);

    // 50% errors for 120 s, starting 30 s from now.
    let skew = now_secs() % 60;
    let prom = start_prometheus(&svc15_incident(30 + skew, 150 + skew, 0.5, 23));
    let cfg = format!(
        "{}replicas: 2\nreceivers:\n  - name: am\n    alertmanager: {{url: \"{am}\"}}\n    repeat_interval: 4s\n    severities: [page]\nslos:\n{}",
        fast_head(&prom.url),
        burn_only_slo("svc15", "availability", 99.9),
    );
    let cfg = write_config(dir.path(), &cfg);
    let (code, out, err) = slowburn(&["validate", "-c", cfg.to_str().expect("UTF-8")]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!err.contains("warning"), "Alertmanager deduplicates: {err}");

    let mut a = Daemon::start(&cfg, &dir.path().join("a"), &[]);
    let mut b = Daemon::start(&cfg, &dir.path().join("b"), &[]);
    a.wait_ready(Duration::from_secs(120));
    b.wait_ready(Duration::from_secs(120));

    wait_until("the page at the webhook", Duration::from_secs(240), || {
        !notifications(&seen.lock().expect("lock"), "firing").is_empty()
    });
    // Both replicas fire (each tells its Alertmanager), and keep re-posting every 4 s.
    let firing = |d: &Daemon| {
        let s: Value =
            serde_json::from_str(&d.get("/api/v1/slos/svc15/availability").1).expect("API JSON");
        s["alerts"]["page"]["firing"] == true
    };
    wait_until("both replicas firing", Duration::from_secs(60), || {
        firing(&a) && firing(&b)
    });
    std::thread::sleep(Duration::from_secs(10));
    let now = notifications(&seen.lock().expect("lock"), "firing");
    assert_eq!(now.len(), 1, "one firing notification: {now:#?}");
    assert_eq!(
        now[0]["alerts"].as_array().map(Vec::len),
        Some(1),
        "one alert, not one per replica: {now:#?}"
    );

    // A replica dies mid-incident; the other resolves it.
    a.signal("KILL");
    wait_until(
        "the resolve at the webhook",
        Duration::from_secs(300),
        || !notifications(&seen.lock().expect("lock"), "resolved").is_empty(),
    );
    std::thread::sleep(Duration::from_secs(10));
    let all = seen.lock().expect("lock").clone();
    assert_eq!(notifications(&all, "resolved").len(), 1, "{all:#?}");
    assert_eq!(notifications(&all, "firing").len(), 1, "{all:#?}");
    drop(b);
}

#[test]
fn validate_warns_when_replicas_would_double_a_receivers_messages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = format!(
        "prometheus: {{url: \"http://127.0.0.1:9\"}}\nreplicas: 2\nreceivers:\n  - name: chat\n    slack: {{webhook_url: \"https://hooks.slack.com/services/T/B/x\"}}\n  - name: pd\n    pagerduty: {{routing_key: \"0123456789abcdef0123456789abcdef\"}}\nslos:\n{SVC15_AVAILABILITY}"
    );
    let cfg = write_config(dir.path(), &cfg);
    let path = cfg.to_str().expect("UTF-8");
    let (code, out, err) = slowburn(&["validate", "-c", path]);
    assert_eq!(code, 0, "a warning, not an error: {out}{err}");
    assert!(
        err.contains("warning: receiver `chat` (slack) gets every message 2 times"),
        "{err}"
    );
    assert!(
        !err.contains("`pd`"),
        "PagerDuty deduplicates by dedup_key: {err}"
    );
    // One replica: nothing to warn about.
    let text = std::fs::read_to_string(&cfg).expect("read");
    std::fs::write(&cfg, text.replace("replicas: 2\n", "")).expect("write");
    let (code, _, err) = slowburn(&["validate", "-c", path]);
    assert_eq!(code, 0);
    assert!(!err.contains("warning"), "{err}");
    // Zero is an error at its line.
    std::fs::write(&cfg, text.replace("replicas: 2", "replicas: 0")).expect("write");
    let (code, _, err) = slowburn(&["validate", "-c", path]);
    assert_eq!(code, 1);
    assert!(
        err.contains(":2:11: replicas: at least one daemon"),
        "{err}"
    );
}
