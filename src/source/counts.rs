//! Pure arithmetic from query results to per-bucket counts.
//!
//! A counter selector is read at every bucket edge (an instant selector: the newest sample at or
//! before the edge). The bucket's count is the difference of consecutive edge values summed over
//! series, with a decrease read as a counter reset. This attributes every increment to the bucket in
//! which its sample was scraped, so sums over buckets are exact, independent of the scrape interval
//! and of whether range selectors include their start (Prometheus 2.x) or not (3.x).

use super::sanity::Sanity;
use crate::budget::Bucket;
use crate::config::{Compare, CountSpec};

/// Values of one series at consecutive evaluation instants (`None`: no sample in lookback).
/// Inline for a tick's few instants: 25,000 series a tick at 10,000 SLOs each had a `Vec`.
pub type EdgeValues = smallvec::SmallVec<[Option<f64>; 8]>;

/// Per-bucket increase summed over series. `edges[s]` holds `n + 1` edge values for `n` buckets.
///
/// A series with no value at an edge (a failed scrape makes Prometheus mark it stale) keeps its last
/// seen value, so the increments scraped during the gap land in the bucket where it comes back
/// instead of being lost. A bucket is `None` (unknown) when no series has a value at its end edge
/// and an earlier one.
pub fn counter_increases(edges: &[impl AsRef<[Option<f64>]>], n: usize) -> Vec<Option<f64>> {
    counter_increases_counted(edges, n, n).0
}

/// [`counter_increases`], with how many falls did not look like restarts
/// ([`super::sanity::odd_decrease`]) among the last `judged` buckets (the ones before are
/// baselines, judged with the buckets they belong to).
pub fn counter_increases_counted(
    edges: &[impl AsRef<[Option<f64>]>],
    n: usize,
    judged: usize,
) -> (Vec<Option<f64>>, u32) {
    let mut out = vec![None; n];
    let mut odd = 0;
    for series in edges {
        let mut last: Option<f64> = None;
        for (i, edge) in series.as_ref().iter().enumerate().take(n + 1) {
            let Some(cur) = *edge else { continue };
            if let (Some(prev), Some(slot)) = (last, i.checked_sub(1).and_then(|b| out.get_mut(b)))
            {
                let inc = if cur >= prev { cur - prev } else { cur };
                if i > n.saturating_sub(judged) && super::sanity::odd_decrease(prev, cur) {
                    odd += 1;
                }
                *slot = Some(slot.unwrap_or(0.0) + inc);
            }
            last = Some(cur);
        }
    }
    (out, odd)
}

/// Combines two of good/bad/total into buckets. The total side (or, for good+bad, either side)
/// decides whether a bucket is known; an absent good or bad series in a known bucket means zero
/// such events (error counters often appear only with the first error).
pub fn combine(
    good: Option<&[Option<f64>]>,
    bad: Option<&[Option<f64>]>,
    total: Option<&[Option<f64>]>,
    n: usize,
) -> Vec<Bucket> {
    combine_counted(good, bad, total, n).0
}

/// [`combine`], with the buckets whose good or bad events exceeded the total counted (they are
/// clamped to what a budget can hold, but not silently).
pub fn combine_counted(
    good: Option<&[Option<f64>]>,
    bad: Option<&[Option<f64>]>,
    total: Option<&[Option<f64>]>,
    n: usize,
) -> (Vec<Bucket>, Sanity) {
    let mut sanity = Sanity::default();
    let buckets = (0..n)
        .map(|i| {
            let at = |v: Option<&[Option<f64>]>| v.and_then(|v| v.get(i).copied().flatten());
            let (g, b, t) = (at(good), at(bad), at(total));
            match (good.is_some(), bad.is_some(), total.is_some()) {
                (true, false, true) => match t {
                    Some(t) => {
                        let g = g.unwrap_or(0.0);
                        if g > t {
                            sanity.good_above_total += 1;
                        }
                        Bucket::known(g.min(t), t)
                    }
                    None => Bucket::Missing,
                },
                (false, true, true) => match t {
                    Some(t) => {
                        let b = b.unwrap_or(0.0);
                        if b > t {
                            sanity.errors_above_total += 1;
                        }
                        Bucket::known((t - b).max(0.0), t)
                    }
                    None => Bucket::Missing,
                },
                (true, true, false) => match (g, b) {
                    (None, None) => Bucket::Missing,
                    (g, b) => {
                        let (g, b) = (g.unwrap_or(0.0), b.unwrap_or(0.0));
                        Bucket::known(g, g + b)
                    }
                },
                _ => Bucket::Missing,
            }
        })
        .collect();
    (buckets, sanity)
}

/// Time-slice buckets: `values[i]` is the query's value at the end of bucket `i` for each series.
/// A bucket whose end falls on a slice boundary is one slice, good when every series compares
/// well; other buckets hold no slice (known, 0 of 0). No value at a slice end is missing.
pub fn timeslices(
    values: &[Vec<f64>],
    ends: &[i64],
    good_when: Compare,
    slice_secs: i64,
) -> Vec<Bucket> {
    values
        .iter()
        .zip(ends)
        .map(|(vals, end)| {
            if end.rem_euclid(slice_secs) != 0 {
                Bucket::known(0.0, 0.0)
            } else if vals.is_empty() {
                Bucket::Missing
            } else {
                let good = vals.iter().all(|v| good_when.is_good(*v));
                Bucket::known(if good { 1.0 } else { 0.0 }, 1.0)
            }
        })
        .collect()
}

/// Which of good/bad/total a spec queries, in a fixed order (used to label queries).
pub fn event_sides(spec: &CountSpec) -> [(&'static str, bool); 3] {
    match spec {
        CountSpec::Events { good, bad, total } => [
            ("good", good.is_some()),
            ("errors", bad.is_some()),
            ("total", total.is_some()),
        ],
        CountSpec::Mixed { good, bad, total } => [
            ("good", good.is_some()),
            ("errors", bad.is_some()),
            ("total", total.is_some()),
        ],
        CountSpec::Timeslice { .. } => [("good", false), ("errors", false), ("total", false)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_handle_resets_and_gaps() {
        // Two series; the second resets between edge 2 and 3, the first has a gap at edge 1.
        let a = vec![Some(10.0), None, Some(30.0), Some(35.0)];
        let b = vec![Some(100.0), Some(110.0), Some(120.0), Some(5.0)];
        let got = counter_increases(&[a, b], 3);
        // Series a's 20 increments during its gap land in bucket 1, when it is seen again.
        assert_eq!(got, vec![Some(10.0), Some(10.0 + 20.0), Some(5.0 + 5.0)]);
    }

    #[test]
    fn no_series_at_both_edges_is_unknown() {
        let a = vec![None, Some(1.0), None];
        assert_eq!(counter_increases(&[a], 2), vec![None, None]);
    }

    #[test]
    fn a_gap_moves_increments_to_the_recovery_bucket_and_loses_none() {
        let a = vec![Some(0.0), Some(5.0), None, None, Some(20.0)];
        let got = counter_increases(&[a], 4);
        assert_eq!(got, vec![Some(5.0), None, None, Some(15.0)]);
        let total: f64 = got.iter().flatten().sum();
        assert_eq!(total, 20.0);
    }

    #[test]
    fn errors_and_total_derive_good_and_absent_errors_are_zero() {
        let total = [Some(100.0), None, Some(50.0)];
        let bad = [Some(3.0), Some(1.0), None];
        let got = combine(None, Some(&bad), Some(&total), 3);
        assert_eq!(
            got,
            vec![
                Bucket::known(97.0, 100.0),
                Bucket::Missing,
                Bucket::known(50.0, 50.0)
            ]
        );
    }

    #[test]
    fn slices_only_on_boundaries() {
        let vals = vec![vec![0.1], vec![0.3], vec![], vec![0.1, 0.5]];
        let ends = [60, 120, 180, 240];
        let got = timeslices(&vals, &ends, Compare::Below(0.2), 60);
        assert_eq!(
            got,
            vec![
                Bucket::known(1.0, 1.0),
                Bucket::known(0.0, 1.0),
                Bucket::Missing,
                Bucket::known(0.0, 1.0)
            ]
        );
        let two_min = timeslices(&vals, &ends, Compare::Below(0.2), 120);
        assert_eq!(two_min[0], Bucket::known(0.0, 0.0));
    }
}
