//! What a source asked of its backend: request counts, failures, samples read and a duration
//! histogram. Every source keeps one in its [`super::HttpLayer`] (the layer counts requests,
//! failures and durations; the adapter what only it can tell); `/metrics`, benchmarks and
//! `report --stats` read it, as `crate::source::QueryStats`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the `slowburn_source_query_duration_seconds` histogram.
pub const QUERY_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// Counters shared by the tasks of one source (atomics: read while being written).
#[derive(Debug, Default)]
pub struct QueryStats {
    /// HTTP requests sent (retries included).
    pub requests: AtomicU64,
    /// Requests that failed.
    pub failures: AtomicU64,
    /// Samples the backend reported reading (Prometheus `stats.samples.totalQueryableSamples`).
    pub samples: AtomicU64,
    /// Answers that carried `warnings` (partial data: a failed store or remote read) and were
    /// not believed; their buckets stay missing until asked again.
    pub partial: AtomicU64,
    /// Answers that broke the API's contract (two samples at one instant, a NaN counter,
    /// instants never asked for); their buckets stay missing until asked again.
    pub contract: AtomicU64,
    /// Sum of request durations in microseconds.
    pub busy_micros: AtomicU64,
    /// Request durations: cumulative counts per bound of [`QUERY_BUCKETS`].
    pub duration_buckets: [AtomicU64; QUERY_BUCKETS.len()],
}

impl QueryStats {
    /// Records one request's duration in the histogram and the busy time.
    pub fn observe(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        for (i, b) in QUERY_BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.duration_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.busy_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_are_cumulative_per_bound() {
        let s = QueryStats::default();
        s.observe(Duration::from_millis(30));
        let counts: Vec<u64> = s
            .duration_buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        assert_eq!(counts, [0, 0, 0, 1, 1, 1, 1, 1, 1, 1]);
        assert_eq!(s.busy_micros.load(Ordering::Relaxed), 30_000);
    }
}
