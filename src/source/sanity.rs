//! What an answer showed that event counts cannot mean (Pyrra #448): more good events than
//! events, more errors than events, a counter that fell without restarting, a selector that
//! matches nothing. The counts are still clamped to what a budget can hold (good within
//! `0..=total`), but never silently: every such bucket is counted here, and the engine logs it
//! once per SLO, counts it in a metric and shows it in the SLO's row.

/// Tallies of one answer (or of many, [`Sanity::merge`]d).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sanity {
    /// Buckets whose good events exceeded their total (clamped to the total).
    pub good_above_total: u32,
    /// Buckets whose bad events exceeded their total (good clamped to 0).
    pub errors_above_total: u32,
    /// Counter edges that fell by less than half: a restart starts again near zero, so this is
    /// two series under one label set (a duplicated target) or a gauge read as a counter.
    pub decreases: u32,
    /// Selectors of the SLI that matched no series at all.
    pub empty: Vec<String>,
}

/// The kinds, as the metric's `kind` label and the log say them.
pub const KINDS: [&str; 4] = [
    "good_above_total",
    "errors_above_total",
    "counter_decrease",
    "no_series",
];

impl Sanity {
    /// Adds another answer's tallies.
    pub fn merge(&mut self, other: Sanity) {
        self.good_above_total += other.good_above_total;
        self.errors_above_total += other.errors_above_total;
        self.decreases += other.decreases;
        for e in other.empty {
            if !self.empty.contains(&e) {
                self.empty.push(e);
            }
        }
    }

    /// Nothing to report.
    pub fn is_empty(&self) -> bool {
        *self == Sanity::default()
    }

    /// Counts per kind (in [`KINDS`] order) of the tallies that count events; `no_series` is
    /// judged over time by the caller.
    pub fn counts(&self) -> [u32; 3] {
        [
            self.good_above_total,
            self.errors_above_total,
            self.decreases,
        ]
    }

    /// One sentence per kind found, with what to look at.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.good_above_total > 0 {
            out.push(format!(
                "{} bucket(s) with more good events than events: the good selector counts something the total does not (a label missing from the total?); good was clamped to the total",
                self.good_above_total
            ));
        }
        if self.errors_above_total > 0 {
            out.push(format!(
                "{} bucket(s) with more errors than events: the errors selector counts something the total does not; good was clamped to 0",
                self.errors_above_total
            ));
        }
        if self.decreases > 0 {
            out.push(format!(
                "{} counter decrease(s) that were not restarts (the value fell by less than half): two series under one label set, or a gauge read as a counter",
                self.decreases
            ));
        }
        out
    }
}

/// Whether a counter's fall from `prev` to `cur` looks like something else than a restart.
pub fn odd_decrease(prev: f64, cur: f64) -> bool {
    cur < prev && prev >= 10.0 && cur >= prev / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_merge_and_describe_what_they_found() {
        let mut s = Sanity {
            good_above_total: 2,
            empty: vec!["a".into()],
            ..Sanity::default()
        };
        s.merge(Sanity {
            decreases: 1,
            empty: vec!["a".into(), "b".into()],
            ..Sanity::default()
        });
        assert_eq!(s.counts(), [2, 0, 1]);
        assert_eq!(s.empty, ["a", "b"]);
        let d = s.describe();
        assert_eq!(d.len(), 2);
        assert!(d[0].starts_with("2 bucket(s) with more good events"));
        assert!(Sanity::default().is_empty() && !s.is_empty());
        assert!(odd_decrease(1000.0, 990.0));
        assert!(!odd_decrease(1000.0, 3.0), "a restart");
        assert!(!odd_decrease(4.0, 3.0), "too small to tell");
    }
}
