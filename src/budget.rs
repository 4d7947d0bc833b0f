//! The pure budget core: per-bucket counts in, SLI, burn rates, remaining budget and coverage out.
//!
//! No I/O and no clock: every function takes the evaluation time as a parameter. [`Series`] keeps
//! prefix sums of good, total and known buckets, so the sum over any window costs O(1) whatever its
//! length; appending a bucket is O(1). Ratios are always derived from summed counts, never averaged.

use crate::calendar::{Calendar, Period};
use crate::duration::Dur;
use smallvec::SmallVec;

/// The counts of one bucket as a source or the store delivers them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bucket {
    /// The source could not say (outage, failed query, before the first sample). Missing buckets
    /// lower coverage and never burn budget.
    Missing,
    /// Inside a maintenance window: neither good nor bad, and not counted against coverage.
    Excluded,
    /// Counted events.
    Known {
        /// Good events.
        good: f64,
        /// All events.
        total: f64,
    },
}

impl Bucket {
    /// A known bucket with `good` good events out of `total`.
    pub fn known(good: f64, total: f64) -> Self {
        Bucket::Known { good, total }
    }
}

/// Sums over one window, from which every ratio is derived.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct WindowSum {
    /// Good events in known buckets.
    pub good: f64,
    /// All events in known buckets.
    pub total: f64,
    /// Known buckets in the window.
    pub known: u64,
    /// All buckets in the window.
    pub buckets: u64,
    /// Buckets excluded by maintenance windows.
    pub excluded: u64,
}

impl WindowSum {
    /// Bad events: total minus good.
    pub fn bad(&self) -> f64 {
        (self.total - self.good).max(0.0)
    }
    /// Good / total, undefined (`None`) without traffic.
    pub fn sli(&self) -> Option<f64> {
        (self.total > 0.0).then(|| self.good / self.total)
    }
    /// Known buckets / buckets that should be known (all but excluded ones); 1 for a window
    /// wholly in maintenance, and 1 for a calendar period in its first bucket, which has nothing
    /// elapsed and so nothing missing (a deploy gate at midnight on the 1st must not block).
    pub fn coverage(&self) -> f64 {
        if self.buckets == 0 || self.excluded >= self.buckets {
            1.0
        } else {
            self.known as f64 / (self.buckets - self.excluded) as f64
        }
    }
    /// (bad / total) / (1 − objective): 1 means the budget lasts exactly one period.
    /// Undefined without traffic.
    pub fn burn_rate(&self, objective: f64) -> Option<f64> {
        let budget = 1.0 - objective;
        (self.total > 0.0 && budget > 0.0).then(|| (self.bad() / self.total) / budget)
    }
    /// Share of the period's error budget left: 1 untouched, 0 spent, negative overspent.
    /// 1 when there was no traffic or nothing has elapsed yet (a calendar period just begun);
    /// undefined when buckets have elapsed and none of them is known.
    pub fn remaining(&self, objective: f64) -> Option<f64> {
        if self.buckets == 0 {
            return Some(1.0);
        }
        if self.known == 0 {
            return None;
        }
        let budget = 1.0 - objective;
        if self.total <= 0.0 {
            return Some(1.0);
        }
        Some(1.0 - self.bad() / (budget * self.total))
    }
}

/// Prefix sums of a contiguous run of buckets starting at `start` (unix seconds).
#[derive(Clone, Debug)]
pub struct Series {
    start: i64,
    width: i64,
    cum_good: Vec<f64>,
    cum_total: Vec<f64>,
    cum_known: Vec<u32>,
    cum_excluded: Vec<u32>,
}

impl Series {
    /// An empty series whose first bucket starts at `start` and whose buckets are `width` long.
    pub fn new(start: i64, width: Dur) -> Self {
        Series {
            start,
            width: width.as_secs().max(1) as i64,
            cum_good: vec![0.0],
            cum_total: vec![0.0],
            cum_known: vec![0],
            cum_excluded: vec![0],
        }
    }

    /// Builds a series from buckets in time order.
    pub fn from_buckets(start: i64, width: Dur, buckets: &[Bucket]) -> Self {
        let mut s = Series::new(start, width);
        s.cum_good.reserve(buckets.len());
        s.cum_total.reserve(buckets.len());
        s.cum_known.reserve(buckets.len());
        s.cum_excluded.reserve(buckets.len());
        for b in buckets {
            s.push(*b);
        }
        s
    }

    /// Appends the next bucket in O(1).
    pub fn push(&mut self, b: Bucket) {
        let (g, t, k, x) = contribution(b);
        let n = self.cum_good.len() - 1;
        self.cum_good.push(self.cum_good[n] + g);
        self.cum_total.push(self.cum_total[n] + t);
        self.cum_known.push(self.cum_known[n] + k as u32);
        self.cum_excluded.push(self.cum_excluded[n] + x as u32);
    }

    /// Number of buckets held.
    pub fn len(&self) -> usize {
        self.cum_good.len() - 1
    }

    /// Whether no bucket is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Start (unix seconds) of the first bucket held.
    pub fn start_time(&self) -> i64 {
        self.start
    }

    /// End (exclusive, unix seconds) of the last bucket held.
    pub fn end(&self) -> i64 {
        self.start + self.len() as i64 * self.width
    }

    /// Sums the buckets that lie in `[at − window, at)`. Buckets outside the held range count as
    /// missing, so a window reaching before the first bucket shows reduced coverage.
    pub fn window(&self, at: i64, window: Dur) -> WindowSum {
        let w = window.as_secs() as i64;
        let from = at - w;
        let buckets = (w / self.width).max(0) as u64;
        let idx = |t: i64| -> usize {
            let i = (t - self.start).div_euclid(self.width);
            i.clamp(0, self.len() as i64) as usize
        };
        let (a, b) = (idx(from), idx(at));
        WindowSum {
            good: self.cum_good[b] - self.cum_good[a],
            total: self.cum_total[b] - self.cum_total[a],
            known: u64::from(self.cum_known[b] - self.cum_known[a]),
            buckets,
            excluded: u64::from(self.cum_excluded[b] - self.cum_excluded[a]),
        }
    }
}

/// The burn-rate windows evaluated for every SLO (the SRE Workbook's alerting windows).
pub const BURN_WINDOWS: [Dur; 7] = [
    Dur::from_secs(300),
    Dur::from_secs(1800),
    Dur::from_secs(3600),
    Dur::from_secs(7200),
    Dur::from_secs(21600),
    Dur::from_secs(86400),
    Dur::from_secs(259200),
];

/// The budget of one period.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PeriodStatus {
    /// Period length (a calendar period's whole length, not the part elapsed).
    pub period: Dur,
    /// The calendar period this is, when it is one (`month`): its sums run from its start.
    pub calendar: Option<Period>,
    /// Sums over the period.
    pub sum: WindowSum,
    /// SLI over the period.
    pub sli: Option<f64>,
    /// Remaining budget ratio.
    pub remaining: Option<f64>,
    /// Seconds until the budget is gone at the current 1h burn rate; 0 when already spent,
    /// `None` when not burning.
    pub exhaustion_1h: Option<f64>,
    /// The same at the 6h burn rate.
    pub exhaustion_6h: Option<f64>,
}

/// Everything derived for one SLO at one instant.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Evaluation time (unix seconds, a bucket boundary).
    pub at: i64,
    /// One entry per configured period, in config order (inline for the usual one or two: the
    /// daemon evaluates every SLO at every tick).
    pub periods: SmallVec<[PeriodStatus; 2]>,
    /// Burn rate and sums for every window of [`BURN_WINDOWS`], in its order.
    pub burn: [(Dur, WindowSum, Option<f64>); BURN_WINDOWS.len()],
}

impl PeriodStatus {
    /// Its name in the API, the `period` label and `gate --period`: `30d` or `month`.
    pub fn name(&self) -> String {
        match self.calendar {
            Some(c) => c.calendar.name().to_string(),
            None => self.period.to_string(),
        }
    }

    /// The budget of a calendar period from its sums so far, with the forecasts of `burn`'s 1h
    /// and 6h windows.
    pub fn of_calendar(
        c: &CalendarSum,
        objective: f64,
        b1h: Option<f64>,
        b6h: Option<f64>,
    ) -> Self {
        let remaining = c.sum.remaining(objective);
        let length = Dur::from_secs(c.period.secs().max(0) as u64);
        PeriodStatus {
            period: length,
            calendar: Some(c.period),
            sum: c.sum,
            sli: c.sum.sli(),
            remaining,
            exhaustion_1h: time_to_exhaustion(remaining, b1h, length),
            exhaustion_6h: time_to_exhaustion(remaining, b6h, length),
        }
    }
}

/// A calendar period's sums from its start to the newest bucket: `buckets` counts the buckets
/// elapsed, so a month that has just begun is judged on the events so far.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CalendarSum {
    /// The period being summed.
    pub period: Period,
    /// Its sums so far.
    pub sum: WindowSum,
}

/// The first bucket start at or after `t` on the grid of `width`-second buckets: a bucket
/// belongs to the calendar period its start falls in.
pub fn grid_ceil(t: i64, width: i64) -> i64 {
    let w = width.max(1);
    t.div_euclid(w) * w + if t.rem_euclid(w) == 0 { 0 } else { w }
}

/// Seconds until `remaining` reaches 0 when burning at `burn` (1 = one period per period).
pub fn time_to_exhaustion(remaining: Option<f64>, burn: Option<f64>, period: Dur) -> Option<f64> {
    let (r, b) = (remaining?, burn?);
    if r <= 0.0 {
        return Some(0.0);
    }
    (b > 0.0).then(|| r * period.as_secs() as f64 / b)
}

/// Evaluates all windows of one SLO at `at` from a prefix-summed [`Series`]: O(1) per window.
pub fn evaluate(series: &Series, objective: f64, periods: &[Dur], at: i64) -> Evaluation {
    evaluate_with(at, objective, periods, |w| series.window(at, w))
}

/// The derivations shared by every way of summing windows: burn rates, budgets, forecasts.
pub fn evaluate_with(
    at: i64,
    objective: f64,
    periods: &[Dur],
    sum: impl Fn(Dur) -> WindowSum,
) -> Evaluation {
    let burn = BURN_WINDOWS.map(|w| {
        let s = sum(w);
        (w, s, s.burn_rate(objective))
    });
    let b1h = burn[2].2;
    let b6h = burn[4].2;
    let periods = periods
        .iter()
        .map(|p| {
            let sum = sum(*p);
            let remaining = sum.remaining(objective);
            PeriodStatus {
                period: *p,
                calendar: None,
                sum,
                sli: sum.sli(),
                remaining,
                exhaustion_1h: time_to_exhaustion(remaining, b1h, *p),
                exhaustion_6h: time_to_exhaustion(remaining, b6h, *p),
            }
        })
        .collect();
    Evaluation { at, periods, burn }
}

/// The counts a bucket contributes to sums, clamped the same way everywhere.
/// Returns (good, total, known, excluded).
fn contribution(b: Bucket) -> (f64, f64, u64, u64) {
    match b {
        Bucket::Missing => (0.0, 0.0, 0, 0),
        Bucket::Excluded => (0.0, 0.0, 0, 1),
        Bucket::Known { good, total } => (good.clamp(0.0, total.max(0.0)), total.max(0.0), 1, 0),
    }
}

impl WindowSum {
    fn apply(&mut self, b: Bucket, sign: f64) {
        let (g, t, k, x) = contribution(b);
        self.good += sign * g;
        self.total += sign * t;
        if sign > 0.0 {
            self.known += k;
            self.excluded += x;
        } else {
            self.known = self.known.saturating_sub(k);
            self.excluded = self.excluded.saturating_sub(x);
        }
    }
}

/// Window sums kept current bucket by bucket, for the daemon: memory is a few hundred bytes per
/// SLO whatever the period, and each step costs O(windows). The bucket leaving a window comes from
/// the caller (the store), so 30 days of minutes never need to be in memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Rolling {
    width: i64,
    at: i64,
    windows: Vec<(Dur, WindowSum)>,
    calendars: Vec<CalendarSum>,
}

impl Rolling {
    /// Starts from the sums of `series` at `at` for every window in `windows`.
    pub fn from_series(series: &Series, at: i64, windows: &[Dur]) -> Self {
        let mut ws: Vec<Dur> = windows.to_vec();
        ws.sort();
        ws.dedup();
        Rolling {
            width: series.width,
            at,
            windows: ws.into_iter().map(|w| (w, series.window(at, w))).collect(),
            calendars: Vec::new(),
        }
    }

    /// Adds calendar periods, each summed from its start by `since(from)` (the sums of the
    /// buckets starting in `[from, at)`, from is on the bucket grid).
    pub fn with_calendars(
        mut self,
        calendars: &[Calendar],
        mut since: impl FnMut(i64) -> WindowSum,
    ) -> Self {
        self.calendars = calendars
            .iter()
            .map(|c| {
                let period = c.period_at(self.at);
                let from = grid_ceil(period.from, self.width);
                let mut sum = since(from);
                sum.buckets = ((self.at - from) / self.width).max(0) as u64;
                CalendarSum { period, sum }
            })
            .collect();
        self
    }

    /// The calendar periods' sums, as configured.
    pub fn calendars(&self) -> &[CalendarSum] {
        &self.calendars
    }

    /// Restores calendar sums stored with [`Rolling::calendars`]; `false` (nothing changed)
    /// when one is not the period holding [`Rolling::at`] or sums more buckets than elapsed.
    pub fn restore_calendars(&mut self, calendars: Vec<CalendarSum>) -> bool {
        let ok = calendars.iter().all(|c| {
            let from = grid_ceil(c.period.from, self.width);
            c.period == c.period.calendar.period_at(self.at)
                && c.sum.buckets == ((self.at - from) / self.width).max(0) as u64
                && c.sum.known + c.sum.excluded <= c.sum.buckets
        });
        if ok {
            self.calendars = calendars;
        }
        ok
    }

    /// Sums stored earlier ([`Rolling::sums`]) as they were at `at`, so a restart resumes without
    /// re-reading every bucket; `None` when they cannot be sums of `width`-second buckets.
    pub fn restore(width: i64, at: i64, windows: Vec<(Dur, WindowSum)>) -> Option<Self> {
        let sorted = windows.windows(2).all(|p| p[0].0 < p[1].0);
        let aligned = windows.iter().all(|(w, s)| {
            w.as_secs() as i64 % width.max(1) == 0 && s.known + s.excluded <= s.buckets
        });
        (width > 0 && sorted && aligned).then_some(Rolling {
            width,
            at,
            windows,
            calendars: Vec::new(),
        })
    }

    /// Every tracked window with its current sum, shortest first.
    pub fn sums(&self) -> &[(Dur, WindowSum)] {
        &self.windows
    }

    /// Bucket width in seconds.
    pub fn width(&self) -> i64 {
        self.width
    }

    /// End (exclusive) of the newest bucket included.
    pub fn at(&self) -> i64 {
        self.at
    }

    /// Adds the bucket starting at [`Rolling::at`] and drops, from each window, the bucket that
    /// falls out of it; `leaving(start)` returns the stored bucket that starts at `start`.
    pub fn advance(&mut self, entering: Bucket, mut leaving: impl FnMut(i64) -> Bucket) {
        for (w, sum) in &mut self.windows {
            sum.apply(entering, 1.0);
            sum.apply(leaving(self.at - w.as_secs() as i64), -1.0);
        }
        for c in &mut self.calendars {
            c.sum.apply(entering, 1.0);
            c.sum.buckets += 1;
        }
        self.at += self.width;
        // A period that has ended gives way to the next, empty until its first bucket.
        for c in &mut self.calendars {
            if self.at >= c.period.to {
                c.period = c.period.calendar.period_at(self.at);
                let from = grid_ceil(c.period.from, self.width);
                c.sum = WindowSum {
                    buckets: ((self.at - from) / self.width).max(0) as u64,
                    ..WindowSum::default()
                };
            }
        }
    }

    /// Replaces a bucket already counted (late samples, a healed gap) in every window holding it.
    pub fn correct(&mut self, start: i64, old: Bucket, new: Bucket) {
        for (w, sum) in &mut self.windows {
            if start < self.at && start >= self.at - w.as_secs() as i64 {
                sum.apply(old, -1.0);
                sum.apply(new, 1.0);
            }
        }
        for c in &mut self.calendars {
            if start < self.at && start >= c.period.from {
                c.sum.apply(old, -1.0);
                c.sum.apply(new, 1.0);
            }
        }
    }

    /// Replaces many buckets already counted (a healed range, a backfilled gap) at once, from
    /// `start`: the same as [`Rolling::correct`] on each pair of `old` and `new`, in
    /// O(buckets + windows) instead of O(buckets × windows).
    pub fn replace(&mut self, start: i64, old: &[Bucket], new: &[Bucket]) {
        let n = old.len().min(new.len());
        // Prefix sums of what each bucket's change adds: good, total, known, excluded.
        // On the stack for the few buckets a tick corrects; a healed month spills to the heap.
        let mut cum: SmallVec<[(f64, f64, i64, i64); 9]> = SmallVec::with_capacity(n + 1);
        cum.push((0.0, 0.0, 0, 0));
        for (o, x) in old.iter().zip(new).take(n) {
            let (og, ot, ok, ox) = contribution(*o);
            let (ng, nt, nk, nx) = contribution(*x);
            let Some(&(g, t, k, e)) = cum.last() else {
                break;
            };
            cum.push((
                g + (ng - og),
                t + (nt - ot),
                k + nk as i64 - ok as i64,
                e + nx as i64 - ox as i64,
            ));
        }
        let end = start + n as i64 * self.width;
        let calendars = self
            .calendars
            .iter_mut()
            .map(|c| (grid_ceil(c.period.from, self.width), &mut c.sum));
        let windows = self
            .windows
            .iter_mut()
            .map(|(w, sum)| (self.at - w.as_secs() as i64, sum));
        for (from, sum) in windows.chain(calendars) {
            let lo = start.max(from);
            let hi = end.min(self.at);
            if lo >= hi {
                continue;
            }
            let (a, b) = (
                ((lo - start) / self.width) as usize,
                ((hi - start) / self.width) as usize,
            );
            let (d, c) = (cum[b], cum[a]);
            sum.good += d.0 - c.0;
            sum.total += d.1 - c.1;
            sum.known = (sum.known as i64 + d.2 - c.2).max(0) as u64;
            sum.excluded = (sum.excluded as i64 + d.3 - c.3).max(0) as u64;
        }
    }

    /// The current sum of a tracked window (empty if the window is not tracked).
    pub fn window(&self, w: Dur) -> WindowSum {
        self.windows
            .iter()
            .find(|(d, _)| *d == w)
            .map(|(_, s)| *s)
            .unwrap_or_default()
    }

    /// Evaluates every tracked window now.
    pub fn evaluate(&self, objective: f64, periods: &[Dur]) -> Evaluation {
        let mut eval = evaluate_with(self.at, objective, periods, |w| self.window(w));
        let (b1h, b6h) = (eval.burn[2].2, eval.burn[4].2);
        eval.periods.extend(
            self.calendars
                .iter()
                .map(|c| PeriodStatus::of_calendar(c, objective, b1h, b6h)),
        );
        eval
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const M: Dur = Dur::from_secs(60);

    fn bucket() -> impl Strategy<Value = Bucket> {
        prop_oneof![
            1 => Just(Bucket::Missing),
            1 => Just(Bucket::Excluded),
            6 => (0u32..1000, 0u32..1000).prop_map(|(a, b)| {
                let total = a.max(b) as f64;
                Bucket::known(a.min(b) as f64, total)
            }),
        ]
    }

    #[test]
    fn budget_math_matches_the_design_formulas() {
        // 1000 events, 2 bad, objective 99.9%: budget 1 bad event per 1000, 2 spent → remaining −1.
        let s = Series::from_buckets(0, M, &[Bucket::known(998.0, 1000.0)]);
        let w = s.window(60, M);
        assert_eq!(w.sli(), Some(0.998));
        assert!((w.burn_rate(0.999).unwrap() - 2.0).abs() < 1e-9);
        assert!((w.remaining(0.999).unwrap() + 1.0).abs() < 1e-9);
    }

    #[test]
    fn no_traffic_is_untouched_budget_and_undefined_rates() {
        let s = Series::from_buckets(0, M, &[Bucket::known(0.0, 0.0)]);
        let w = s.window(60, M);
        assert_eq!(w.remaining(0.99), Some(1.0));
        assert_eq!(w.burn_rate(0.99), None);
        assert_eq!(w.sli(), None);
        let all_missing = Series::from_buckets(0, M, &[Bucket::Missing]).window(60, M);
        assert_eq!(all_missing.remaining(0.99), None);
        assert_eq!(all_missing.coverage(), 0.0);
    }

    #[test]
    fn a_period_with_nothing_elapsed_is_whole_and_untouched() {
        // A calendar period at its first instant: no bucket has elapsed, so none is missing.
        let begun = WindowSum::default();
        assert_eq!(begun.coverage(), 1.0);
        assert_eq!(begun.remaining(0.999), Some(1.0));
        assert_eq!(begun.sli(), None);
        assert_eq!(begun.burn_rate(0.999), None);
    }

    #[test]
    fn window_before_the_data_counts_as_missing() {
        let s = Series::from_buckets(600, M, &[Bucket::known(1.0, 1.0); 10]);
        let w = s.window(1200, Dur::from_secs(1200));
        assert_eq!((w.known, w.buckets), (10, 20));
        assert_eq!(w.coverage(), 0.5);
    }

    #[test]
    fn exhaustion_follows_remaining_over_burn() {
        let p = Dur::from_secs(30 * 86400);
        assert_eq!(
            time_to_exhaustion(Some(0.5), Some(2.0), p),
            Some(0.25 * p.as_secs() as f64)
        );
        assert_eq!(time_to_exhaustion(Some(-0.1), Some(2.0), p), Some(0.0));
        assert_eq!(time_to_exhaustion(Some(0.5), Some(0.0), p), None);
    }

    proptest! {
        #[test]
        fn adjacent_windows_add_up(bs in proptest::collection::vec(bucket(), 1..200), split in 0usize..200) {
            let s = Series::from_buckets(0, M, &bs);
            let n = bs.len() as i64;
            let k = (split as i64).min(n);
            let whole = s.window(n * 60, Dur::from_secs(n as u64 * 60));
            let left = s.window(k * 60, Dur::from_secs(k as u64 * 60));
            let right = s.window(n * 60, Dur::from_secs((n - k) as u64 * 60));
            prop_assert!((whole.good - left.good - right.good).abs() < 1e-6);
            prop_assert!((whole.total - left.total - right.total).abs() < 1e-6);
            prop_assert_eq!(whole.known, left.known + right.known);
            prop_assert_eq!(whole.excluded, left.excluded + right.excluded);
        }

        #[test]
        fn bad_events_never_raise_remaining(bs in proptest::collection::vec(bucket(), 1..100), idx in 0usize..100, extra in 1u32..500) {
            let n = bs.len();
            let before = Series::from_buckets(0, M, &bs).window(n as i64 * 60, Dur::from_secs(n as u64 * 60));
            let mut more = bs.clone();
            let i = idx % n;
            more[i] = match more[i] {
                Bucket::Known { good, total } => Bucket::known(good, total + extra as f64),
                Bucket::Missing | Bucket::Excluded => Bucket::known(0.0, extra as f64),
            };
            let after = Series::from_buckets(0, M, &more).window(n as i64 * 60, Dur::from_secs(n as u64 * 60));
            let (b, a) = (before.remaining(0.99).unwrap_or(1.0), after.remaining(0.99).unwrap());
            prop_assert!(a <= b + 1e-9, "remaining rose from {} to {}", b, a);
        }

        #[test]
        fn rolling_sums_equal_prefix_sums(bs in proptest::collection::vec(bucket(), 40..160), fix in proptest::collection::vec((0usize..160, bucket()), 0..5)) {
            let windows = [Dur::from_secs(300), Dur::from_secs(1200), Dur::from_secs(1800)];
            let start = 20;
            let mut bs = bs;
            let mut rolling = Rolling::from_series(&Series::from_buckets(0, M, &bs[..start]), start as i64 * 60, &windows);
            for i in start..bs.len() {
                let snapshot = bs.clone();
                rolling.advance(bs[i], |t| if t >= 0 { snapshot[(t / 60) as usize] } else { Bucket::Missing });
                // Late corrections of already-counted buckets.
                for (j, nb) in &fix {
                    if *j <= i && (j + i) % 3 == 0 {
                        rolling.correct(*j as i64 * 60, bs[*j], *nb);
                        bs[*j] = *nb;
                    }
                }
                let series = Series::from_buckets(0, M, &bs[..=i]);
                for w in windows {
                    let (a, b) = (rolling.window(w), series.window((i as i64 + 1) * 60, w));
                    prop_assert!((a.good - b.good).abs() < 1e-6 && (a.total - b.total).abs() < 1e-6, "{:?} vs {:?}", a, b);
                    prop_assert_eq!(a.known, b.known);
                    prop_assert_eq!(a.excluded, b.excluded);
                    prop_assert_eq!(a.buckets, b.buckets);
                }
            }
        }

        #[test]
        fn calendar_sums_restart_at_each_period_and_equal_prefix_sums(bs in proptest::collection::vec(bucket(), 200..500), fix in proptest::collection::vec((0usize..500, bucket()), 0..6), start in 1usize..150) {
            // Hour buckets from 2026-03-16 (a Monday) through Berlin's change to summer time:
            // weeks begin at 23:00 or 22:00 UTC.
            const H: i64 = 3600;
            let t0 = 1_773_619_200; // 2026-03-16T00:00:00Z
            let tz = crate::calendar::parse_zone("Europe/Berlin").unwrap_or(chrono_tz::Tz::UTC);
            let cals = [Calendar { unit: crate::calendar::Unit::Week, tz }, Calendar { unit: crate::calendar::Unit::Month, tz }];
            let mut bs = bs;
            let at0 = t0 + start as i64 * H;
            let first = Series::from_buckets(t0, Dur::from_secs(H as u64), &bs[..start]);
            let mut rolling = Rolling::from_series(&first, at0, &[Dur::from_secs(3 * H as u64)])
                .with_calendars(&cals, |from| first.window(at0, Dur::from_secs((at0 - from).max(0) as u64)));
            for i in start..bs.len() {
                let snapshot = bs.clone();
                rolling.advance(bs[i], |t| if t >= t0 { snapshot[((t - t0) / H) as usize] } else { Bucket::Missing });
                for (j, nb) in &fix {
                    if *j <= i && (j + i) % 4 == 0 {
                        if (j + i) % 8 == 0 {
                            rolling.correct(t0 + *j as i64 * H, bs[*j], *nb);
                        } else {
                            rolling.replace(t0 + *j as i64 * H, &[bs[*j]], &[*nb]);
                        }
                        bs[*j] = *nb;
                    }
                }
                let at = t0 + (i as i64 + 1) * H;
                let series = Series::from_buckets(t0, Dur::from_secs(H as u64), &bs[..=i]);
                for c in rolling.calendars() {
                    prop_assert_eq!(c.period, c.period.calendar.period_at(at));
                    let from = grid_ceil(c.period.from, H);
                    let b = series.window(at, Dur::from_secs((at - from) as u64));
                    let a = c.sum;
                    prop_assert!((a.good - b.good).abs() < 1e-6 && (a.total - b.total).abs() < 1e-6, "{:?} vs {:?}", a, b);
                    prop_assert_eq!((a.known, a.excluded, a.buckets), (b.known, b.excluded, b.buckets));
                }
            }
            let mut restored = Rolling::restore(H, rolling.at(), rolling.sums().to_vec()).expect("restore");
            prop_assert!(restored.restore_calendars(rolling.calendars().to_vec()));
            prop_assert_eq!(&restored, &rolling);
        }

        #[test]
        fn replacing_a_range_equals_correcting_each_bucket(bs in proptest::collection::vec(bucket(), 10..120), new in proptest::collection::vec(bucket(), 0..60), from in 0usize..120) {
            let windows = [Dur::from_secs(300), Dur::from_secs(1800), Dur::from_secs(3600)];
            let n = bs.len();
            let from = from % n;
            let new: Vec<Bucket> = new.into_iter().take(n - from).collect();
            let at = n as i64 * 60;
            let mut one_by_one = Rolling::from_series(&Series::from_buckets(0, M, &bs), at, &windows);
            let mut at_once = one_by_one.clone();
            for (k, b) in new.iter().enumerate() {
                one_by_one.correct((from + k) as i64 * 60, bs[from + k], *b);
            }
            at_once.replace(from as i64 * 60, &bs[from..from + new.len()], &new);
            let mut fixed = bs.clone();
            fixed[from..from + new.len()].copy_from_slice(&new);
            let truth = Rolling::from_series(&Series::from_buckets(0, M, &fixed), at, &windows);
            for w in windows {
                let (a, b, t) = (at_once.window(w), one_by_one.window(w), truth.window(w));
                prop_assert!((a.good - b.good).abs() < 1e-6 && (a.total - t.total).abs() < 1e-6, "{:?} vs {:?}", a, b);
                prop_assert_eq!((a.known, a.excluded), (b.known, b.excluded));
                prop_assert_eq!((a.known, a.excluded), (t.known, t.excluded));
            }
        }

        #[test]
        fn missing_buckets_change_coverage_not_sli(bs in proptest::collection::vec(bucket(), 1..100), gaps in proptest::collection::vec(any::<bool>(), 100)) {
            let n = bs.len();
            let full = Series::from_buckets(0, M, &bs).window(n as i64 * 60, Dur::from_secs(n as u64 * 60));
            // Interleave missing buckets: the SLI over the known ones must not move.
            let mut holey = Vec::new();
            for (i, b) in bs.iter().enumerate() {
                if gaps[i] { holey.push(Bucket::Missing); }
                holey.push(*b);
            }
            let m = holey.len();
            let with_gaps = Series::from_buckets(0, M, &holey).window(m as i64 * 60, Dur::from_secs(m as u64 * 60));
            prop_assert_eq!(full.sli(), with_gaps.sli());
            prop_assert_eq!(full.known, with_gaps.known);
            prop_assert!(with_gaps.coverage() <= full.coverage() + 1e-12);
        }

        #[test]
        fn excluded_buckets_change_neither_coverage_nor_budget(bs in proptest::collection::vec(bucket(), 1..100), marks in proptest::collection::vec(any::<bool>(), 100)) {
            let n = bs.len();
            let full = Series::from_buckets(0, M, &bs).window(n as i64 * 60, Dur::from_secs(n as u64 * 60));
            // Maintenance buckets interleaved: recorded as excluded, so nothing a person reads moves.
            let mut with = Vec::new();
            let mut added = 0;
            for (i, b) in bs.iter().enumerate() {
                if marks[i] { with.push(Bucket::Excluded); added += 1; }
                with.push(*b);
            }
            let m = with.len();
            let w = Series::from_buckets(0, M, &with).window(m as i64 * 60, Dur::from_secs(m as u64 * 60));
            prop_assert_eq!(full.sli(), w.sli());
            prop_assert_eq!(full.remaining(0.999), w.remaining(0.999));
            prop_assert!((full.coverage() - w.coverage()).abs() < 1e-12, "{} vs {}", full.coverage(), w.coverage());
            prop_assert_eq!(w.excluded, full.excluded + added);
        }
    }
}
