//! What a chart of one SLO over time needs, computed from its stored buckets: for every step, the
//! remaining budget of the period ending there, the SLI, burn rates and event rates of the step,
//! and whether its buckets were known or excluded. Pure; the API and the web UI both use it, so
//! a chart and `GET …/history` can never disagree.

use crate::budget::{Bucket, Series};
use crate::duration::Dur;

/// At most this many points per series, whatever the range: enough for any screen, small
/// enough that 30 days of 1-minute buckets draw fast.
pub const MAX_POINTS: i64 = 2000;

/// One step of a history.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// End of the step (unix seconds).
    pub time: i64,
    /// SLI of the step's events.
    pub sli: Option<f64>,
    /// Remaining budget of the period ending at `time`.
    pub remaining: Option<f64>,
    /// Coverage of that period.
    pub coverage: f64,
    /// Coverage of the step alone: below 1 marks a gap in the data.
    pub step_coverage: f64,
    /// Buckets of the step excluded by a maintenance window.
    pub step_excluded: u64,
    /// All events per second over the step.
    pub total_rate: f64,
    /// Bad events per second over the step.
    pub bad_rate: f64,
    /// Burn rate over each requested window ending at `time`.
    pub burn: Vec<Option<f64>>,
}

/// The smallest whole number of buckets per step that keeps `range` within [`MAX_POINTS`].
pub fn auto_step(range: i64, width: i64) -> i64 {
    let width = width.max(1);
    let buckets = (range / width).max(1);
    let per = (buckets + MAX_POINTS - 1) / MAX_POINTS;
    per.max(1) * width
}

/// Where the buckets a history needs begin: windows ending inside the last `range` reach back up
/// to the longest of `period` and the burn windows.
pub fn first_bucket(at: i64, range: i64, period: Dur, windows: &[Dur], width: i64) -> i64 {
    let reach = windows
        .iter()
        .map(|w| w.as_secs() as i64)
        .chain([period.as_secs() as i64])
        .max()
        .unwrap_or(0);
    let from = at - range - reach;
    from - from.rem_euclid(width.max(1))
}

/// The points of `(at − range, at]` every `step` seconds back from `at`, from buckets starting at
/// `from`.
#[allow(clippy::too_many_arguments)]
pub fn points(
    buckets: &[Bucket],
    from: i64,
    width: i64,
    objective: f64,
    at: i64,
    range: i64,
    step: i64,
    period: Dur,
    windows: &[Dur],
) -> Vec<Point> {
    let sums = Series::from_buckets(from, Dur::from_secs(width.max(1) as u64), buckets);
    let step_dur = Dur::from_secs(step.max(1) as u64);
    let step = step.max(1);
    // The newest point is `at` itself, so a chart ends on the number beside it even when the step
    // does not divide the range (30 days in 22-minute steps); older points follow every `step`.
    let n = (range / step).max(1);
    let mut out = Vec::with_capacity(n as usize);
    for t in (0..n).rev().map(|k| at - k * step) {
        let win = sums.window(t, period);
        let slice = sums.window(t, step_dur);
        out.push(Point {
            time: t,
            sli: slice.sli(),
            remaining: win.remaining(objective),
            coverage: win.coverage(),
            step_coverage: slice.coverage(),
            step_excluded: slice.excluded,
            total_rate: slice.total / step as f64,
            bad_rate: slice.bad() / step as f64,
            burn: windows
                .iter()
                .map(|w| sums.window(t, *w).burn_rate(objective))
                .collect(),
        });
    }
    out
}

/// One whole period of the stored history, for the table of past periods.
#[derive(Debug, Clone, PartialEq)]
pub struct PastPeriod {
    /// End of the period (unix seconds).
    pub end: i64,
    /// SLI over it.
    pub sli: Option<f64>,
    /// Share of its budget spent (1 − remaining).
    pub used: Option<f64>,
    /// Known buckets / buckets.
    pub coverage: f64,
}

/// The last `count` whole periods of `len` seconds ending at `at`, `at − len`, …, newest first.
pub fn past_periods(
    series: &Series,
    objective: f64,
    at: i64,
    len: i64,
    count: usize,
) -> Vec<PastPeriod> {
    (0..count as i64)
        .map(|k| {
            let end = at - k * len;
            let w = series.window(end, Dur::from_secs(len.max(1) as u64));
            PastPeriod {
                end,
                sli: w.sli(),
                used: w.remaining(objective).map(|r| 1.0 - r),
                coverage: w.coverage(),
            }
        })
        .collect()
}

/// How long a burn ran before `fired_at`: back from it, the first bucket of the run of buckets
/// whose own burn rate is at least 1 (the budget being spent faster than it accrues). `None`
/// when the bucket before the fire was not burning.
pub fn onset(series: &Series, objective: f64, fired_at: i64, width: i64) -> Option<i64> {
    let one = Dur::from_secs(width.max(1) as u64);
    let burning = |t: i64| {
        series
            .window(t, one)
            .burn_rate(objective)
            .is_some_and(|b| b >= 1.0)
    };
    let mut t = fired_at;
    if !burning(t) {
        return None;
    }
    while t - width > series.start_time() && burning(t - width) {
        t -= width;
    }
    Some(t - width)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_step_keeps_any_range_within_the_cap() {
        for (range, width) in [
            (30 * 86_400, 60),
            (7 * 86_400, 10),
            (3600, 60),
            (90 * 86_400, 60),
        ] {
            let step = auto_step(range, width);
            assert_eq!(step % width, 0);
            assert!(range / step <= MAX_POINTS, "{range} {width} {step}");
            // The next smaller multiple would exceed the cap (or the step is one bucket).
            assert!(step == width || range / (step - width) > MAX_POINTS);
        }
    }

    #[test]
    fn points_follow_the_buckets() {
        // Four days of 60 s buckets: 100 events each, 1 bad, except a 1-hour outage of the data.
        let width = 60;
        let from = 0;
        let n = 4 * 1440;
        let buckets: Vec<Bucket> = (0..n)
            .map(|i| {
                if (3000..3060).contains(&i) {
                    Bucket::Missing
                } else {
                    Bucket::known(99.0, 100.0)
                }
            })
            .collect();
        let at = n as i64 * width;
        let pts = points(
            &buckets,
            from,
            width,
            0.99,
            at,
            86_400,
            3600,
            Dur::from_secs(86_400),
            &[Dur::from_secs(3600)],
        );
        assert_eq!(pts.len(), 24);
        for p in &pts {
            assert!((p.sli.unwrap() - 0.99).abs() < 1e-12);
            assert!(
                p.remaining.unwrap().abs() < 1e-9,
                "1% bad spends a 99% budget exactly"
            );
            assert!((p.burn[0].unwrap() - 1.0).abs() < 1e-9);
            assert!((p.total_rate - 100.0 / 60.0).abs() < 1e-9);
        }
        let gap = points(
            &buckets,
            from,
            width,
            0.99,
            3060 * 60,
            3600,
            3600,
            Dur::from_secs(3600),
            &[],
        );
        assert_eq!(gap[0].step_coverage, 0.0, "the missing hour is a gap");
    }

    #[test]
    fn the_last_point_is_now_when_the_step_does_not_divide_the_range() {
        // 30 days of 60 s buckets: the automatic step is 22 minutes, which leaves 840 s over.
        let (width, range) = (60, 30 * 86_400);
        let step = auto_step(range, width);
        assert_eq!(step, 1320);
        assert_ne!(range % step, 0);
        let at = range + 7200;
        let buckets = vec![Bucket::known(99.0, 100.0); ((range + 7200) / width) as usize];
        let pts = points(
            &buckets,
            0,
            width,
            0.99,
            at,
            range,
            step,
            Dur::from_secs(86_400),
            &[],
        );
        assert_eq!(pts.last().map(|p| p.time), Some(at));
        assert!(pts.first().is_some_and(|p| p.time > at - range));
        assert!(pts.windows(2).all(|w| w[1].time - w[0].time == step));
        assert_eq!(pts.len() as i64, range / step);
        // A step longer than the range still gives the point at `at`.
        let one = points(
            &buckets,
            0,
            width,
            0.99,
            at,
            600,
            3600,
            Dur::from_secs(600),
            &[],
        );
        assert_eq!(one.iter().map(|p| p.time).collect::<Vec<_>>(), [at]);
    }

    #[test]
    fn past_periods_and_the_onset_of_a_burn() {
        // Two weeks of 60 s buckets at 0.5% bad; the last week has a 30-minute burn at 50% bad.
        let width = 60;
        let n = 14 * 1440;
        let burn = (n - 600)..(n - 570);
        let buckets: Vec<Bucket> = (0..n)
            .map(|i| {
                if burn.contains(&i) {
                    Bucket::known(50.0, 100.0)
                } else {
                    Bucket::known(99.5, 100.0)
                }
            })
            .collect();
        let s = Series::from_buckets(0, Dur::from_secs(60), &buckets);
        let at = n as i64 * width;
        let weeks = past_periods(&s, 0.99, at, 7 * 86_400, 3);
        assert_eq!(weeks.len(), 3);
        assert!(
            (weeks[1].used.unwrap() - 0.5).abs() < 1e-9,
            "0.5% of a 1% budget"
        );
        assert!(
            weeks[0].used.unwrap() > weeks[1].used.unwrap(),
            "the burn's week used more"
        );
        assert_eq!(weeks[2].coverage, 0.0, "before the history");
        // A fire 10 minutes into the burn: it began 10 minutes earlier.
        let start = (n as i64 - 600) * width;
        let fired = start + 600;
        assert_eq!(onset(&s, 0.99, fired, width), Some(start));
        assert_eq!(
            onset(&s, 0.99, start - 3600, width),
            None,
            "nothing burning then"
        );
    }
}
