//! Connections that send nothing or half a request cannot take the server (issue 11, item 12):
//! under a low open-file limit, 300 such connections leave `/metrics` reachable within the
//! header-read timeout, and each of them is closed by the server.

use crate::common::*;
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

/// Sends `request` as it is and returns the status, the head (lower-cased) and the body.
fn raw(addr: &str, request: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    s.write_all(request.as_bytes()).expect("send");
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_string())
}

/// DNS rebinding (issue 22, item 10): a name that is not an IP literal, localhost or allowed with
/// `--allow-host` is refused before any handler runs; error answers are JSON like the API's
/// (413 from the body limit, 400 for a duplicated query field, 404, 405); every answer carries
/// `nosniff`, `/metrics` and JSON included.
#[test]
fn foreign_host_names_are_refused_and_every_error_is_json() {
    if !require_prometheus() {
        return;
    }
    let prom = start_prometheus(&short_live_history());
    let root = tempfile::tempdir().unwrap();
    let cfg = write_config(root.path(), &fast_config(&prom.url));
    let mut d = Daemon::start(
        &cfg,
        &root.path().join("data"),
        &[("SLOWBURN_ALLOW_HOSTS", "slowburn.internal,grafana-proxy")],
    );
    d.wait_ready(Duration::from_secs(120));
    let addr = d.url.trim_start_matches("http://").to_string();
    let get = |path: &str, host: &str| {
        raw(
            &addr,
            &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        )
    };
    for host in ["evil.example", "evil.example:80", "127.0.0.1.nip.io"] {
        for path in ["/", "/api/v1/slos", "/metrics"] {
            let (status, head, body) = get(path, host);
            assert_eq!(status, 421, "{host}{path}: {head}");
            assert!(head.contains("content-type: application/json"), "{head}");
            let v: serde_json::Value = serde_json::from_str(&body).expect("JSON error");
            assert!(
                v["error"].as_str().unwrap_or("").contains("--allow-host"),
                "{body}"
            );
        }
    }
    for host in [
        addr.as_str(),
        "localhost",
        "[::1]:9464",
        "10.0.0.7:9464",
        "SLOWBURN.internal:9464",
        "grafana-proxy",
    ] {
        let (status, head, _) = get("/api/v1/slos", host);
        assert_eq!(status, 200, "{host}: {head}");
        assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    }
    let (status, head, _) = get("/metrics", "localhost");
    assert_eq!(status, 200);
    assert!(
        head.contains("x-content-type-options: nosniff"),
        "/metrics: {head}"
    );

    let json_error = |what: &str, (status, head, body): (u16, String, String), want: u16| {
        assert_eq!(status, want, "{what}: {head}\n{body}");
        assert!(
            head.contains("content-type: application/json"),
            "{what}: {head}"
        );
        assert!(
            head.contains("x-content-type-options: nosniff"),
            "{what}: {head}"
        );
        let v: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"));
        assert!(
            v["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{what}: {body}"
        );
    };
    let big = "x".repeat(70 * 1024);
    json_error(
        "a body over the limit",
        raw(
            &addr,
            &format!(
                "POST /api/v1/silences HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{big}",
                big.len()
            ),
        ),
        413,
    );
    json_error(
        "a duplicated query field",
        get(
            "/api/v1/slos/svc15/availability/history?period=1d&period=1d",
            "localhost",
        ),
        400,
    );
    json_error("an unknown path", get("/nope", "localhost"), 404);
    json_error(
        "a wrong method",
        raw(
            &addr,
            "PUT /api/v1/slos HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        ),
        405,
    );
}
