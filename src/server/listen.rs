//! The accept loop of the HTTP server, with the limits `axum::serve` lacks: a client that sends
//! nothing or half a request is closed after [`HEADER_READ_TIMEOUT`], at most [`max_connections`]
//! are open at once (beyond that a new connection is closed at once, so a flood cannot take the
//! file descriptors the store and the sources need), and accept errors (`EMFILE` when descriptors
//! run out) back off instead of spinning. On stop, requests in flight get [`DRAIN`] to finish.

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tracing::warn;

/// How long a client may take to send a request's headers (or, on a kept-alive connection, the
/// next request) before it is closed.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long requests in flight may run after a stop.
pub const DRAIN: Duration = Duration::from_secs(2);
/// Longest pause after repeated accept errors.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// Open connections allowed: a quarter of the process's open-file limit (the store, sources and
/// receivers need the rest), between 16 and 4096; 256 when the limit cannot be read.
pub fn max_connections() -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3)?.parse::<usize>().ok())
        });
    soft.map_or(256, |n| (n / 4).clamp(16, 4096))
}

/// Writes `addr` (`host:port` and a newline) to `path` through a temporary file beside it and a
/// rename, so that a reader polling for the file (a test that started the daemon on port 0)
/// never sees half an address.
pub fn write_address_file(path: &Path, addr: SocketAddr) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, format!("{addr}\n"))?;
    std::fs::rename(&tmp, path)
}

/// Serves `app` on `listener` until `stop` turns true.
pub async fn serve(listener: TcpListener, app: Router, mut stop: watch::Receiver<bool>) {
    let cap = max_connections();
    let permits = Arc::new(Semaphore::new(cap));
    let graceful = GracefulShutdown::new();
    let mut backoff = Duration::from_millis(5);
    let mut refused: u64 = 0;
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stop.wait_for(|s| *s) => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => {
                backoff = Duration::from_millis(5);
                stream
            }
            Err(e) => {
                // Out of descriptors (or a transient network error): wait for some to free up.
                if backoff >= MAX_ACCEPT_BACKOFF / 2 {
                    warn!(error = %e, "cannot accept connections; backing off");
                }
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.wait_for(|s| *s) => break,
                }
                backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            refused += 1;
            if refused.is_power_of_two() {
                warn!(
                    open = cap,
                    refused, "connection limit reached; new connections are closed at once"
                );
            }
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT);
        let conn =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _permit = permit;
            let _ = conn.await;
        });
    }
    let _ = tokio::time::timeout(DRAIN, graceful.shutdown()).await;
}
