//! Sources turn an SLI's [`CountSpec`](crate::config::CountSpec) into per-bucket counts.
//!
//! [`counts`] holds the pure arithmetic (counter differences, reset handling, combining
//! good/bad/total); [`prometheus`] is the I/O adapter. A failed query yields
//! [`Bucket::Missing`](crate::budget::Bucket::Missing) for its buckets, never zeros.

pub mod counts;
pub mod prometheus;

/// A run of aligned buckets to fetch: `count` buckets of `width` seconds from `start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BucketRange {
    /// Start of the first bucket (unix seconds, aligned to `width`).
    pub start: i64,
    /// Number of buckets.
    pub count: usize,
    /// Bucket width in seconds.
    pub width: i64,
}

impl BucketRange {
    /// The `count` buckets that end at or before `end` (a bucket boundary).
    pub fn ending_at(end: i64, count: usize, width: i64) -> Self {
        BucketRange {
            start: end - count as i64 * width,
            count,
            width,
        }
    }
    /// End of the last bucket.
    pub fn end(&self) -> i64 {
        self.start + self.count as i64 * self.width
    }
}

/// Why a query failed, with what a person needs to fix it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SourceError {
    /// Prometheus refused the query (4xx): retrying will not help.
    #[error("Prometheus rejected `{query}`: {message}")]
    Rejected {
        /// The query sent.
        query: String,
        /// Prometheus's own message.
        message: String,
    },
    /// Network failure, timeout or 5xx after all retries.
    #[error("Prometheus at {url} failed for `{query}` after {attempts} attempt(s): {message}")]
    Unavailable {
        /// Base URL.
        url: String,
        /// The query sent.
        query: String,
        /// Attempts made.
        attempts: u32,
        /// Last error.
        message: String,
    },
    /// The query answered with a shape slowburn cannot use.
    #[error("`{query}` returned an unusable result: {message}")]
    BadResult {
        /// The query sent.
        query: String,
        /// What was wrong.
        message: String,
    },
}
