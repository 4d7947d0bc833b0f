//! The one HTTP layer every source sends through: a bound on requests in flight, the request
//! statistics `/metrics` exports, and retries with exponential backoff and full jitter that honour
//! a capped `Retry-After`. Before it, each adapter had its own loop, and they drifted apart (Loki
//! read `Retry-After` as seconds only, Prometheus dates too); now a new source gets the same
//! pacing towards a struggling backend by sending through [`HttpLayer::send`].
//!
//! What an answer *means* stays with the adapter: it decodes status, headers and body into a value
//! or a failure that says whether asking again can help ([`Verdict`]), so Prometheus's
//! `errorType`s and Loki's plain-text errors keep their own rules.

pub mod retry_after;
pub mod stats;

use reqwest::header::HeaderMap;
use stats::QueryStats;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::Semaphore;

/// First backoff between two attempts; it doubles per attempt up to [`Retry::cap`].
pub const BASE_BACKOFF: Duration = Duration::from_millis(250);
/// Longest backoff between two attempts, so a long outage is still probed every few seconds.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Longest wait a `Retry-After` may ask for before a source asks again anyway; the tick's
/// deadline bounds it further.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// What the layer needs to know of a failed attempt to decide whether to try again.
pub trait Verdict {
    /// Worth another attempt (overload, a timeout, a server error, the network), as opposed to a
    /// refusal that asking again will not change.
    fn retriable(&self) -> bool;
}

/// How a struggling backend is asked again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Retries after the first attempt (`retries:` of the source's settings).
    pub retries: u32,
    /// The first backoff; doubled per attempt.
    pub base: Duration,
    /// The longest backoff.
    pub cap: Duration,
    /// The longest `Retry-After` honoured.
    pub max_wait: Duration,
}

impl Retry {
    /// The sources' pacing with `retries` retries: 250 ms doubling to 5 s, `Retry-After` up to
    /// 30 s.
    pub fn new(retries: u32) -> Self {
        Retry {
            retries,
            base: BASE_BACKOFF,
            cap: MAX_BACKOFF,
            max_wait: MAX_RETRY_AFTER,
        }
    }

    /// The wait before attempt `attempt + 1`: anywhere in `[0, min(cap, base · 2^(attempt-1))]`
    /// (full jitter), so clients that failed together do not come back together.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        let millis = ceiling.as_millis().min(u128::from(u64::MAX)) as u64;
        Duration::from_millis(fastrand::u64(0..=millis))
    }

    /// The largest backoff after `attempt` attempts.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(16);
        self.base.saturating_mul(1 << doublings).min(self.cap)
    }
}

/// A request that failed for good: the last attempt's failure and how many attempts were made.
#[derive(Debug)]
pub struct Exhausted<E> {
    /// Why the last attempt failed.
    pub failure: E,
    /// Attempts made, the first included.
    pub attempts: u32,
}

/// One source's HTTP client, concurrency bound, retry policy and statistics, shared by all the
/// tasks it spawns.
#[derive(Debug)]
pub struct HttpLayer {
    client: reqwest::Client,
    permits: Semaphore,
    retry: Retry,
    stats: QueryStats,
}

impl HttpLayer {
    /// A layer over `client` with at most `max_concurrency` requests in flight (at least one).
    pub fn new(client: reqwest::Client, max_concurrency: usize, retry: Retry) -> Self {
        HttpLayer {
            client,
            permits: Semaphore::new(max_concurrency.max(1)),
            retry,
            stats: QueryStats::default(),
        }
    }

    /// What was asked so far; the adapter adds what only it can tell (samples read, partial and
    /// contract-breaking answers).
    pub fn stats(&self) -> &QueryStats {
        &self.stats
    }

    /// Sends the request `build` makes until `decode` accepts an answer, a failure is not
    /// retriable, or the retries are spent. Each attempt holds a permit and is counted in
    /// [`HttpLayer::stats`]; between attempts it waits what `Retry-After` asked (capped) or a
    /// jittered backoff. `transport` describes a request that got no whole answer (retried when
    /// it says so); `decode` reads status, headers and body.
    pub async fn send<T, E, B, X, D>(
        &self,
        build: B,
        transport: X,
        decode: D,
    ) -> Result<T, Exhausted<E>>
    where
        E: Verdict,
        B: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        X: Fn(&reqwest::Error) -> E,
        D: Fn(u16, &HeaderMap, &[u8]) -> Result<T, E>,
    {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let (result, asked) = {
                let _permit = self.permits.acquire().await;
                let t0 = Instant::now();
                self.stats.requests.fetch_add(1, Ordering::Relaxed);
                let r = self.attempt(&build, &transport, &decode).await;
                self.stats.observe(t0.elapsed());
                r
            };
            let failure = match result {
                Ok(value) => return Ok(value),
                Err(f) => f,
            };
            self.stats.failures.fetch_add(1, Ordering::Relaxed);
            if !failure.retriable() || attempt > self.retry.retries {
                return Err(Exhausted {
                    failure,
                    attempts: attempt,
                });
            }
            tokio::time::sleep(asked.unwrap_or_else(|| self.retry.backoff(attempt))).await;
        }
    }

    /// One attempt under a permit, outside the statistics and without retries: health checks,
    /// `validate --online` and settings probes, which should fail fast and are not the query
    /// load `/metrics` describes.
    pub async fn probe<T, E, B, X, D>(&self, build: B, transport: X, decode: D) -> Result<T, E>
    where
        B: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        X: Fn(&reqwest::Error) -> E,
        D: Fn(u16, &HeaderMap, &[u8]) -> Result<T, E>,
    {
        let _permit = self.permits.acquire().await;
        self.attempt(&build, &transport, &decode).await.0
    }

    /// One request and its decoded answer, with the wait its `Retry-After` asked for.
    async fn attempt<T, E, B, X, D>(
        &self,
        build: &B,
        transport: &X,
        decode: &D,
    ) -> (Result<T, E>, Option<Duration>)
    where
        B: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        X: Fn(&reqwest::Error) -> E,
        D: Fn(u16, &HeaderMap, &[u8]) -> Result<T, E>,
    {
        let resp = match build(&self.client).send().await {
            Ok(r) => r,
            Err(e) => return (Err(transport(&e)), None),
        };
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let asked = retry_after::from_headers(&headers, SystemTime::now(), self.retry.max_wait);
        match resp.bytes().await {
            Ok(body) => (decode(status, &headers, &body), asked),
            Err(e) => (Err(transport(&e)), asked),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_full_jitter_under_a_doubling_capped_ceiling() {
        let r = Retry::new(3);
        assert_eq!(r.ceiling(1), Duration::from_millis(250));
        assert_eq!(r.ceiling(2), Duration::from_millis(500));
        assert_eq!(r.ceiling(3), Duration::from_secs(1));
        assert_eq!(r.ceiling(10), MAX_BACKOFF);
        assert_eq!(r.ceiling(u32::MAX), MAX_BACKOFF);
        for attempt in [1, 2, 5, 10, 40] {
            for _ in 0..100 {
                assert!(r.backoff(attempt) <= r.ceiling(attempt));
            }
        }
        // Full jitter spreads the waits over the whole range, not only its upper half.
        let low = (0..400).filter(|_| r.backoff(10) < MAX_BACKOFF / 2).count();
        assert!(low > 0, "never below half the ceiling in 400 draws");
    }
}
