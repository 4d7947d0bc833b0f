//! `group_by` live (issue 26, item 4): a real Prometheus scrapes an in-test exporter whose
//! `route` values appear while the daemon runs. Each tick's one query per selector finds the new
//! value, the member is backfilled and evaluated with its own series; past `max_groups` the
//! daemon says so in its log and in `slowburn_group_members_dropped`, and follows no more.

use crate::common::*;
use axum::Router;
use axum::routing::get;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Routes the exporter shows: the first `n` of these.
const ROUTES: [&str; 3] = ["/a", "/b", "/c"];

/// An exporter of `req_total{route}` for the first `shown` routes, each counter growing with
/// time (10 requests a second, one in a hundred an error on `/b`).
fn exporter(shown: Arc<AtomicUsize>) -> u16 {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = *START.get_or_init(Instant::now);
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let shown = shown.load(Ordering::SeqCst);
            async move {
                let secs = start.elapsed().as_secs();
                let mut body = String::from("# TYPE req_total counter\n");
                for r in ROUTES.iter().take(shown) {
                    let errors = if *r == "/b" { secs / 10 } else { 0 };
                    body.push_str(&format!(
                        "req_total{{route=\"{r}\",code=\"200\"}} {}\nreq_total{{route=\"{r}\",code=\"500\"}} {errors}\n",
                        secs * 10 - errors
                    ));
                }
                body
            }
        }),
    );
    serve(app)
}

#[test]
fn members_appear_at_a_tick_and_stop_at_max_groups() {
    if !require_prometheus() {
        return;
    }
    let shown = Arc::new(AtomicUsize::new(1));
    let port = exporter(Arc::clone(&shown));
    let scraper = start_scraper(&format!("127.0.0.1:{port}"));
    wait_until(
        "the scraper's first sample",
        Duration::from_secs(30),
        || !instant_query(&scraper.url, "req_total").is_empty(),
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &format!(
            r#"{}slos:
  - service: web
    name: avail
    objective: 99
    group_by: [route]
    max_groups: 2
    sli:
      ratio:
        errors: 'req_total{{code="500"}}'
        total: req_total
"#,
            fast_head(&scraper.url)
        ),
    );
    let mut d = Daemon::start(&cfg, &dir.path().join("data"), &[]);
    d.wait_ready(Duration::from_secs(60));
    let members = |d: &Daemon| metric(d, "slowburn_group_members{slo=\"web/avail\"} ");
    // Found at start, or at the first tick when the first scrape came after the start's bucket.
    wait_until("the first member", Duration::from_secs(30), || {
        members(&d) == Some(1.0)
    });
    shown.store(3, Ordering::SeqCst);
    wait_until("the second member", Duration::from_secs(60), || {
        members(&d) == Some(2.0)
    });
    assert_eq!(
        metric(&d, "slowburn_group_members_dropped{slo=\"web/avail\"} "),
        Some(1.0),
        "/c is found but not followed"
    );
    let log = d.log_text();
    assert!(log.contains("more values than max_groups"), "{log}");
    assert!(
        log.contains("group member found") && log.contains("route=\\\"/b\\\""),
        "{log}"
    );
    // The new member is evaluated with its own series: /b counts its errors, /a none.
    wait_until("/b's errors counted", Duration::from_secs(60), || {
        let (_, body) = d.get("/api/v1/slos/web/avail%7Broute%3D%22%2Fb%22%7D");
        serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                v["periods"]["1d"]["good"]
                    .as_f64()
                    .zip(v["periods"]["1d"]["total"].as_f64())
            })
            .is_some_and(|(g, t)| t > g)
    });
    let (status, body) = d.get("/api/v1/slos/web/avail%7Broute%3D%22%2Fa%22%7D");
    assert_eq!(status, 200, "{body}");
    let a: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(a["group"]["route"], "/a");
    assert_eq!(a["periods"]["1d"]["good"], a["periods"]["1d"]["total"]);
    let (status, _) = d.get("/api/v1/slos/web/avail%7Broute%3D%22%2Fc%22%7D");
    assert_eq!(status, 404, "past max_groups a value is not evaluated");
}
