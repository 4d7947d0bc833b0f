//! Connections that send nothing or half a request cannot take the server (issue 11, item 12):
//! under a low open-file limit, 300 such connections leave `/metrics` reachable within the
//! header-read timeout, and each of them is closed by the server.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

#[test]
fn idle_and_half_sent_connections_are_closed_and_metrics_stays_reachable() {
    if !require_prometheus() {
        return;
    }
    let prom = start_prometheus(&short_live_history());
    let root = tempfile::tempdir().unwrap();
    let cfg = write_config(root.path(), &fast_config(&prom.url));
    // 256 descriptors: a connection cap of 64.
    let mut d = Daemon::start(
        &cfg,
        &root.path().join("data"),
        &[("SB_TEST_ULIMIT_N", "256")],
    );
    d.wait_ready(Duration::from_secs(120));
    let addr = d.url.trim_start_matches("http://").to_string();

    let mut held = Vec::new();
    for i in 0..300 {
        let Ok(mut s) = TcpStream::connect(&addr) else {
            continue;
        };
        if i % 3 == 0 {
            // Half a request: headers never finished.
            let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n");
        }
        held.push(s);
    }
    let t0 = Instant::now();
    while http::get(&format!("{}/metrics", d.url)).is_none_or(|(code, _)| code != 200) {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "/metrics unreachable for {:?} with 300 idle connections: {}",
            t0.elapsed(),
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let reachable_after = t0.elapsed();

    // Every held connection is closed by the server (end of stream or reset), none kept open.
    std::thread::sleep(Duration::from_secs(6));
    let closed = held.iter_mut().map(closed_by_server).filter(|c| *c).count();
    assert_eq!(closed, held.len(), "connections the server closed");
    assert!(
        d.log_text().contains("connection limit reached"),
        "{}",
        d.log_text()
    );
    eprintln!(
        "300 idle or half-sent connections under `ulimit -n 256`: /metrics answered after {reachable_after:?}; all {} closed by the server",
        held.len()
    );
    // And the daemon still works normally.
    assert_eq!(
        http::get(&format!("{}/metrics", d.url)).map(|r| r.0),
        Some(200)
    );
}

/// Whether the server has closed `s`: reading ends (after any answer such as a 408) or is reset,
/// instead of waiting.
fn closed_by_server(s: &mut TcpStream) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) => {
                return !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                );
            }
        }
    }
}
