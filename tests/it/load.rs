//! Abuse without a token (issue 22, item 5): 1,000 concurrent GETs of every page and endpoint
//! against a daemon over the demo's 31 days of history in a real Prometheus. Before the fix an
//! SLO's page read its month of buckets before it waited for its render permit, and 1,000 of them
//! took the daemon from 37 MB to 1.9 GB. Now every history reader takes its permit first, waits
//! briefly and answers 503 with `Retry-After`, so the daemon's peak resident memory (the
//! kernel's `VmHWM`, which no sampling can miss) stays within 256 MiB, and every answer is a
//! 200 or such a 503.

use crate::common::*;
use std::time::Duration;

/// Peak resident memory the daemon may reach under the storm.
const PEAK_LIMIT_KIB: u64 = 256 * 1024;
/// Concurrent requests per endpoint.
const CONCURRENT: usize = 1000;

/// `VmHWM` (peak resident set) of a process, in KiB.
fn peak_rss_kib(pid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// Sends `CONCURRENT` GETs of `url` at once; returns how many were 200 and how many were 503 with
/// `Retry-After` (it fails on any other answer), and how long a scrape of `metrics` took in the
/// middle of the storm (printed for BENCHMARKS.md, never asserted).
async fn storm(client: &reqwest::Client, url: &str, metrics: &str) -> (usize, usize, Duration) {
    let scrape = {
        let (client, metrics) = (client.clone(), metrics.to_string());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let t0 = std::time::Instant::now();
            let ok = client
                .get(&metrics)
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            (ok, t0.elapsed())
        })
    };
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENT {
        let (client, url) = (client.clone(), url.to_string());
        tasks.spawn(async move {
            let r = client.get(&url).send().await.map_err(|e| e.to_string())?;
            let status = r.status().as_u16();
            let retry = r.headers().contains_key("retry-after");
            let _ = r.bytes().await.map_err(|e| e.to_string())?;
            Ok::<_, String>((status, retry))
        });
    }
    let (mut ok, mut busy) = (0, 0);
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("request task") {
            Ok((200, _)) => ok += 1,
            Ok((503, true)) => busy += 1,
            other => panic!("{url}: {other:?}"),
        }
    }
    let (scraped, took) = scrape.await.expect("scrape task");
    assert!(scraped, "/metrics answered during the storm on {url}");
    (ok, busy, took)
}

#[test]
fn a_thousand_concurrent_requests_of_every_page_stay_within_256_mib() {
    if !require_prometheus() {
        return;
    }
    let end = now_secs() / 60 * 60;
    let prom = start_prometheus(&slowburn::synth::demo(end, 31));
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/slo.yaml"))
        .expect("slo.yaml");
    let cfg = write_config(
        dir.path(),
        &repo.replace("http://127.0.0.1:9090", &prom.url),
    );
    let mut d = Daemon::start(&cfg, &dir.path().join("data"), &[]);
    d.wait_ready(Duration::from_secs(300));
    let pid = d.pid();
    let at_start = peak_rss_kib(&pid);
    let paths = [
        "/",
        "/slos/api/availability",
        "/slos/api/availability/try?rules=page+1h+5m+10&range=30d",
        "/silences",
        "/internals",
        "/ui/style.css",
        "/metrics",
        "/api/v1/slos",
        "/api/v1/slos/api/availability",
        "/api/v1/slos/api/availability/history?period=30d",
        "/api/v1/slos/api/availability/history?period=30d&step=10m",
        "/api/v1/silences",
    ];
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let mut report = Vec::new();
    for path in paths {
        let url = format!("{}{path}", d.url);
        let metrics = format!("{}/metrics", d.url);
        let (ok, busy, scrape) = rt.block_on(storm(&client, &url, &metrics));
        assert!(ok > 0, "{path}: no request was answered");
        let peak = peak_rss_kib(&pid);
        report.push(format!(
            "{path}: {ok} × 200, {busy} × 503, peak {} MiB, a scrape meanwhile {} ms",
            peak / 1024,
            scrape.as_millis()
        ));
        assert!(
            peak <= PEAK_LIMIT_KIB,
            "{path}: peak RSS {} MiB (at start {} MiB); so far: {report:#?}",
            peak / 1024,
            at_start / 1024
        );
    }
    eprintln!("peak at start {} MiB; {report:#?}", at_start / 1024);
    // The daemon is still whole: it answers and keeps evaluating.
    assert_eq!(d.get("/healthz").0, 200);
    assert!(d.child.try_wait().expect("wait").is_none(), "daemon alive");
}
