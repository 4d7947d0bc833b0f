//! Shutdown is bounded from any state (issue 11, item 11): SIGTERM during a backfill against a
//! source that accepts connections and never answers, after a storm of SIGHUPs during that
//! backfill, during a reload whose backfill stalls, and SIGINT in the moment the source stops
//! (Ctrl-C on `scripts/demo.sh`, which stops Prometheus too), during backfill and in steady
//! state: each exit 0 within 10 s.

use crate::common::*;
use std::net::TcpListener;
use std::time::{Duration, Instant};

/// A "Prometheus" that accepts every connection and never answers: every query hangs until the
/// client's timeout.
fn stalled_source() -> (String, std::thread::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", l.local_addr().expect("addr"));
    let h = std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming().flatten() {
            held.push(s);
        }
    });
    (url, h)
}

fn config(prom: &str, n: usize) -> String {
    let mut s = format!(
        "prometheus: {{url: \"{prom}\", timeout: 60s, retries: 0}}\nengine: {{delay: 1s}}\nslos:\n"
    );
    for i in 0..n {
        s.push_str(&format!(
            "  - {{service: svc, name: s{i}, objective: 99, sli: {{ratio: {{errors: 'x{{code=\"500\"}}', total: x}}}}}}\n"
        ));
    }
    s
}

fn exits_within(d: &mut Daemon, what: &str, limit: Duration) {
    exits_on("TERM", d, what, limit);
}

fn exits_on(signal: &str, d: &mut Daemon, what: &str, limit: Duration) {
    let t0 = Instant::now();
    d.signal(signal);
    let code = d.wait_exit(limit + Duration::from_secs(5));
    let took = t0.elapsed();
    eprintln!("measured: {what}: exit {code:?} after {took:.2?}");
    assert_eq!(code, Some(0), "{what}: log: {}", d.log_text());
    assert!(took <= limit, "{what}: took {took:?}");
}

/// A daemon serving HTTP while its backfill waits on a source that never answers.
fn backfilling_from_a_stalled_source() -> (tempfile::TempDir, Daemon) {
    let (url, _h) = stalled_source();
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), &config(&url, 3));
    let d = Daemon::start(&cfg, &dir.path().join("data"), &[]);
    wait_until("the server", Duration::from_secs(10), || {
        d.get("/healthz").0 == 200
    });
    (dir, d)
}

#[test]
fn sigterm_during_a_stalled_backfill_exits_promptly() {
    let (_dir, mut d) = backfilling_from_a_stalled_source();
    assert_eq!(d.get("/readyz").0, 503, "still backfilling");
    // How far it is, in the probe's body (as every error answer, `{"error": ...}`), on the
    // internals page and (every 5 s) in the log.
    wait_until(
        "the load's progress in /readyz",
        Duration::from_secs(10),
        || d.get("/readyz").1.contains("series loaded"),
    );
    let (status, body) = d.get("/readyz");
    let said: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let said = said["error"].as_str().unwrap_or_default();
    assert_eq!(status, 503);
    assert!(
        said.starts_with("backfilling: 0 of 3 series loaded, 0 of ")
            && said.contains(" buckets asked of sources"),
        "{body}"
    );
    let page = d.get("/internals").1;
    assert!(
        page.contains("id=\"progress\">0 of 3 series loaded"),
        "{page}"
    );
    wait_until(
        "a progress line in the log",
        Duration::from_secs(15),
        || {
            d.log_text().contains("loading SLO histories")
                && d.log_text().contains("waiting for the first answer")
        },
    );
    exits_within(&mut d, "SIGTERM during backfill", Duration::from_secs(10));
}

#[test]
fn a_sighup_storm_during_backfill_does_not_hold_up_sigterm() {
    let (_dir, mut d) = backfilling_from_a_stalled_source();
    for _ in 0..20 {
        d.signal("HUP");
        std::thread::sleep(Duration::from_millis(20));
    }
    exits_within(
        &mut d,
        "SIGTERM after 20 SIGHUPs during backfill",
        Duration::from_secs(10),
    );
}

#[test]
fn sigterm_during_a_reload_whose_backfill_stalls_exits_promptly() {
    if !require_prometheus() {
        return;
    }
    let prom = start_prometheus(&short_live_history());
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), &fast_config(&prom.url));
    let mut d = Daemon::start(&cfg, &dir.path().join("data"), &[]);
    d.wait_ready(Duration::from_secs(60));
    // The reload points at a source that never answers, with new SLOs to backfill.
    let (url, _h) = stalled_source();
    std::fs::write(&cfg, config(&url, 3)).expect("write");
    d.signal("HUP");
    std::thread::sleep(Duration::from_secs(2));
    exits_within(
        &mut d,
        "SIGTERM during a stalled reload",
        Duration::from_secs(10),
    );
}

#[test]
fn sigint_as_the_source_stops_exits_promptly_in_backfill_and_in_steady_state() {
    if !require_prometheus() {
        return;
    }
    let mut prom = start_prometheus(&short_live_history());
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), &fast_config(&prom.url));
    // In steady state: Prometheus and slowburn stopped in the same moment.
    let mut d = Daemon::start(&cfg, &dir.path().join("data"), &[]);
    d.wait_ready(Duration::from_secs(60));
    prom.kill();
    exits_on(
        "INT",
        &mut d,
        "SIGINT as the source stops, steady state",
        Duration::from_secs(10),
    );
    // During a backfill (a fresh store) from a source that has just stopped.
    prom.restart();
    let mut d = Daemon::start(&cfg, &dir.path().join("fresh"), &[]);
    std::thread::sleep(Duration::from_millis(150));
    prom.kill();
    exits_on(
        "INT",
        &mut d,
        "SIGINT as the source stops, backfill",
        Duration::from_secs(10),
    );
}
