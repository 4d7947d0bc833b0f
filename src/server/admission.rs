//! Admission for the requests that read history from the store (an SLO's page, the try page, the
//! history API). Each holds a month of buckets and tens of milliseconds of arithmetic, so a
//! client sending a thousand of them at once must not make the daemon hold a thousand months:
//! a request takes its permit before it does any work, waits for one at most [`QUEUE_WAIT`], and
//! is answered 503 with `Retry-After` when none frees up. Without a token anyone who can reach
//! the UI can send such requests; with this, peak memory is bounded by the permits, not by them.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::time::Duration;
use tokio::sync::{Semaphore, SemaphorePermit};

/// How long a request waits for its permit before it is told to come back.
pub const QUEUE_WAIT: Duration = Duration::from_secs(2);
/// What the 503 asks a client to wait, in seconds.
pub const RETRY_AFTER_SECS: u64 = 2;

/// SLO pages rendered at once (each replays the current policy over its longest period).
pub static RENDERS: Semaphore = Semaphore::const_new(2);
/// Tried policies replayed at once: up to a month of evaluations per policy.
pub static REPLAYS: Semaphore = Semaphore::const_new(1);
/// Calendar reports built at once: every SLO's period read and its policy replayed, on a thread
/// of its own so the engine's ticks and `/healthz` never wait behind one.
pub static REPORTS: Semaphore = Semaphore::const_new(1);
/// History answers built at once (a month of buckets each).
pub static HISTORIES: Semaphore = Semaphore::const_new(2);

/// Why a request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Every permit stayed taken for [`QUEUE_WAIT`].
    Busy,
    /// The semaphore was closed (never, for the statics; kept for completeness).
    Closed,
}

/// Waits at most [`QUEUE_WAIT`] for a permit of `gate`. The permit is `'static`, so the blocking
/// work can hold it: a request that times out leaves its work running, and the permit with it.
pub async fn admit(gate: &'static Semaphore) -> Result<SemaphorePermit<'static>, Refused> {
    match tokio::time::timeout(QUEUE_WAIT, gate.acquire()).await {
        Ok(Ok(p)) => Ok(p),
        Ok(Err(_)) => Err(Refused::Closed),
        Err(_) => Err(Refused::Busy),
    }
}

/// Adds `Retry-After` to a 503 built by the caller (HTML for pages, JSON for the API).
pub fn retry_later(mut r: Response) -> Response {
    *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    r
}

/// The text a refused request is told.
pub fn message(why: Refused) -> &'static str {
    match why {
        Refused::Busy => "too many requests of this kind at once; retry after a few seconds",
        Refused::Closed => "shutting down",
    }
}

/// A JSON 503 with `Retry-After` for the API.
pub fn busy_json(why: Refused) -> Response {
    retry_later(
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"error": message(why)})),
        )
            .into_response(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_request_waits_briefly_then_is_refused_with_retry_after() {
        static GATE: Semaphore = Semaphore::const_new(1);
        let held = admit(&GATE).await.expect("first permit");
        let t0 = tokio::time::Instant::now();
        assert_eq!(admit(&GATE).await.err(), Some(Refused::Busy));
        assert_eq!(t0.elapsed(), QUEUE_WAIT);
        let r = busy_json(Refused::Busy);
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[header::RETRY_AFTER], "2");
        drop(held);
        assert!(admit(&GATE).await.is_ok(), "a freed permit admits at once");
    }
}
