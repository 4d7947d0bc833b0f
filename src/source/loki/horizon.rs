//! Where Loki's lines of an SLI begin, so that buckets older than what Loki still holds are
//! missing, not zero.
//!
//! Loki says nothing when data is gone: a range before `max_query_lookback` answers an empty 200
//! and chunks deleted by retention return nothing, so a 30-day budget over a Loki that keeps 7
//! days would read as 7 days of traffic over 30. With `loki.retention` unset (the default), the
//! source asks, once per stream selector and cached, for the first bucket that holds one of its
//! lines: forward from a day before the range, in pieces of 1, 4, 16, … buckets of
//! `sum(count_over_time(SELECTOR [bucket]))`. A stream that has lines costs one request of one
//! bucket, a stretch Loki holds nothing of a few cheap empty requests, and the piece that finds
//! the first line reads at most one request's worth of lines. The buckets of an SLI before the
//! earliest first line of its selectors are missing (in [`Counts::unknown`], not asked again);
//! the bucket of that line and every later one are counted, zero where empty.
//!
//! The trade-off: a selector that truly had no lines in the first days of a range (a new
//! service) reads missing there, not zero, until those days leave the window; a bucket is known
//! as soon as Loki holds a line of the SLI's streams from that bucket or before it. The stream
//! selector is asked, not the whole query, so a filter that matches nothing (no errors yet) does
//! not move the start. Setting `loki.retention` replaces the search (older buckets are then
//! missing by the clock, and a new service's early buckets read zero). When retention cut the
//! first bucket in the middle, the lines it still holds are counted.
//!
//! [`Counts::unknown`]: crate::source::Counts::unknown

use super::Inner;
use super::wire::Matrix;
use crate::source::{BucketRange, SourceError};
use std::sync::Arc;

/// A day before a range is searched too, so a range whose first buckets are quiet is known from
/// its first bucket when the stream has older lines.
const PROBE_BEFORE_SECS: i64 = 86_400;
/// A start found this long ago is searched again when a range reaches near it: retention may
/// have deleted more since.
const REFRESH_SECS: i64 = 3600;

/// What one search found for one stream selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Horizon {
    /// Where the search began (a bucket start): nothing is known of earlier buckets.
    pub from: i64,
    /// Start of the first bucket holding a line; where the search ended when none did.
    pub held_from: i64,
    /// Whether a line was found.
    pub found: bool,
    /// When the search ran (unix seconds).
    pub asked_at: i64,
}

/// Whether a range starting at `start` needs a new search: nothing cached, a range reaching
/// before what was searched, or a start found more than [`REFRESH_SECS`] ago that retention may
/// have moved past the range since (Loki held lines `asked_at − held_from` old then, so the
/// lines from `held_from + age` on are surely still there).
pub(super) fn needs_search(h: Option<&Horizon>, start: i64, now: i64) -> bool {
    let Some(h) = h else {
        return true;
    };
    if start < h.from {
        return true;
    }
    let age = now - h.asked_at;
    h.found && age >= REFRESH_SECS && start < h.held_from + age
}

/// Where a search for `range` begins: a day of buckets before it.
pub(super) fn search_from(range: BucketRange) -> i64 {
    let w = range.width.max(1);
    range.start - (PROBE_BEFORE_SECS / w).max(1) * w
}

/// Buckets asked by the `k`-th request of a search: 1, 4, 16, … up to `max`.
pub(super) fn piece(k: u32, max: usize) -> usize {
    4usize.saturating_pow(k).min(max).max(1)
}

/// Leading buckets of `range` that start before `held_from`: missing, not zero. A bucket
/// `(s, s + w]` is known only when it starts at or after `held_from`.
pub(super) fn missing_before(range: BucketRange, held_from: i64) -> usize {
    let w = range.width.max(1);
    let behind = (held_from - range.start).max(0);
    (((behind + w - 1) / w) as usize).min(range.count)
}

/// Start of the first of `count` buckets from `start` that holds a line, in the answer of a
/// `sum(count_over_time(… [w]))` range query (its points are at bucket ends); points outside
/// the buckets asked for, from the frontend's alignment to the step, are ignored.
pub(super) fn first_line_bucket(m: &Matrix, start: i64, count: usize, w: i64) -> Option<i64> {
    let mut first: Option<i64> = None;
    for (_, pts) in m {
        for &(t, v) in pts {
            let d = t - w - start;
            if v > 0.0 && d >= 0 && d % w == 0 && ((d / w) as usize) < count {
                first = Some(first.map_or(t - w, |f| f.min(t - w)));
            }
        }
    }
    first
}

impl Inner {
    /// Where the lines of `selector` begin (`None`: no line at all), as far as a range from
    /// `range.start` needs to know:
    /// from the cache, or searched. One search per selector at a time; an SLO that shares the
    /// selector waits for it and reads the result.
    pub(super) async fn held_from(
        &self,
        selector: &str,
        range: BucketRange,
        now: i64,
    ) -> Result<Option<i64>, SourceError> {
        let slot = {
            let mut map = match self.horizons.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            Arc::clone(
                map.entry(selector.to_string())
                    .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(None))),
            )
        };
        let mut cached = slot.lock().await;
        let known: Option<Horizon> = *cached;
        let h = match known {
            Some(h) if !needs_search(Some(&h), range.start, now) => h,
            _ => {
                let h = self.search(selector, range, now).await?;
                *cached = Some(h);
                h
            }
        };
        Ok(h.found.then_some(h.held_from))
    }

    /// Searches forward from a day before `range` to now for the first bucket holding a line of
    /// `selector`, in pieces of [`piece`] buckets, each at most what one request may hold.
    pub(super) async fn search(
        &self,
        selector: &str,
        range: BucketRange,
        now: i64,
    ) -> Result<Horizon, SourceError> {
        let w = range.width.max(1);
        let from = search_from(range);
        let to = range.end().max(now.div_euclid(w) * w);
        let query = format!("sum(count_over_time({selector} [{w}s]))");
        let max = self.buckets_per_request(w);
        let (mut start, mut k) = (from, 0u32);
        while start < to {
            let count = piece(k, max).min(((to - start) / w) as usize).max(1);
            let end = start + count as i64 * w;
            let m = self.client.range(&query, start + w, end, w).await?;
            if let Some(first) = first_line_bucket(&m, start, count, w) {
                return Ok(Horizon {
                    from,
                    held_from: first,
                    found: true,
                    asked_at: now,
                });
            }
            start = end;
            k = k.saturating_add(1);
        }
        // No line at all since a day before the range: nothing tells retention from a quiet
        // stream (an errors-only stream, a service that stopped logging), so its buckets count
        // as zero, as they did before the search existed; `validate --online` says so.
        Ok(Horizon {
            from,
            held_from: from,
            found: false,
            asked_at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const W: i64 = 60;

    fn range(start: i64, count: usize) -> BucketRange {
        BucketRange {
            start,
            count,
            width: W,
        }
    }

    #[test]
    fn buckets_before_the_first_line_are_missing_and_its_bucket_is_known() {
        let r = range(6000, 10);
        assert_eq!(missing_before(r, 6000), 0, "held from the range's start");
        assert_eq!(missing_before(r, 0), 0, "held from before it");
        assert_eq!(missing_before(r, 6000 + 3 * W), 3);
        assert_eq!(missing_before(r, 6000 + 3 * W + 1), 4, "held in part");
        assert_eq!(missing_before(r, 99_999), 10, "never more than the range");
    }

    #[test]
    fn the_first_line_is_read_from_the_buckets_asked_for_only() {
        let m: Matrix = vec![
            (HashMap::new(), vec![(600, 0.0), (720, 2.0), (900, 1.0)]),
            (HashMap::new(), vec![(540, 5.0), (780, 1.0), (690, 1.0)]),
        ];
        // Buckets (600, 660] … (840, 900]: the points at 540 and 600 lie before them (the
        // frontend's alignment), 690 between steps.
        assert_eq!(first_line_bucket(&m, 600, 5, W), Some(660));
        assert_eq!(first_line_bucket(&m, 600, 1, W), None);
        assert_eq!(first_line_bucket(&Vec::new(), 600, 5, W), None);
    }

    #[test]
    fn a_search_starts_a_day_early_and_grows_its_pieces() {
        assert_eq!(search_from(range(86_400 * 3, 5)), 86_400 * 2);
        let wide = BucketRange {
            start: 7 * 86_400,
            count: 1,
            width: 2 * 86_400,
        };
        assert_eq!(search_from(wide), 5 * 86_400, "at least one bucket");
        let sizes: Vec<usize> = (0..7).map(|k| piece(k, 1440)).collect();
        assert_eq!(sizes, [1, 4, 16, 64, 256, 1024, 1440]);
        assert_eq!(piece(40, 1440), 1440, "no overflow");
    }

    #[test]
    fn a_start_is_searched_again_only_when_a_range_needs_it() {
        let h = Horizon {
            from: 1000,
            held_from: 50_000,
            found: true,
            asked_at: 100_000,
        };
        assert!(needs_search(None, 5000, 100_000));
        assert!(needs_search(Some(&h), 900, 100_000), "before the search");
        assert!(!needs_search(Some(&h), 1000, 100_000 + 60));
        // An hour later, retention may have moved the start by an hour: ranges near it ask
        // again, the newest buckets do not.
        let later = 100_000 + REFRESH_SECS;
        assert!(needs_search(Some(&h), 50_000 + REFRESH_SECS - 60, later));
        assert!(!needs_search(Some(&h), 50_000 + REFRESH_SECS, later));
        assert!(!needs_search(Some(&h), later - 180, later));
        // Nothing found: newer buckets are known (new lines land in them); only a range
        // reaching before the search asks again.
        let none = Horizon { found: false, ..h };
        assert!(!needs_search(Some(&none), 2000, later * 2));
        assert!(needs_search(Some(&none), 999, later));
    }
}
