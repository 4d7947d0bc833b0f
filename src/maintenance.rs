//! Maintenance windows from `slo.yaml`: planned downtime that mutes alerts and whose buckets are
//! recorded as [`Bucket::Excluded`] (neither good nor bad) instead of burning budget.
//!
//! Pure: the engine asks [`Maintenance::overlaps`] for every bucket it takes from the source and
//! the alert evaluation asks [`Maintenance::covers`] for the evaluation instant. Buckets are
//! excluded when they overlap a window at all, so the edges of a deploy never count as errors.

use crate::budget::Bucket;
use std::collections::BTreeMap;

/// Seconds in a week.
pub const WEEK: i64 = 7 * 86400;
/// The unix epoch was a Thursday: add this to reach "seconds since Monday 00:00 UTC".
const EPOCH_TO_MONDAY: i64 = 3 * 86400;

/// When a window happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recurrence {
    /// Once, `[start, end)` in unix seconds.
    Once {
        /// Start (inclusive).
        start: i64,
        /// End (exclusive).
        end: i64,
    },
    /// Every week, `duration` seconds from `offset` seconds after Monday 00:00 UTC.
    Weekly {
        /// Start within the week.
        offset: i64,
        /// Length, under a week.
        duration: i64,
    },
}

/// One validated maintenance window.
#[derive(Debug, Clone, PartialEq)]
pub struct Maintenance {
    /// Its name, for logs and the API.
    pub name: String,
    /// When.
    pub when: Recurrence,
    /// SLO ids it applies to (empty and no labels: every SLO).
    pub slos: Vec<String>,
    /// SLO labels that must all match.
    pub labels: BTreeMap<String, String>,
}

impl Maintenance {
    /// Whether this window concerns an SLO with this id and these labels. A listed
    /// `service/name` of a grouped definition concerns each of its members
    /// (`service/name{route="/x"}`), as the file and the API name the definition.
    pub fn applies(&self, id: &str, labels: &BTreeMap<String, String>) -> bool {
        let by_id = self.slos.is_empty() || self.slos.iter().any(|s| names(s, id));
        by_id && self.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
    }

    /// Whether instant `t` lies inside the window.
    pub fn covers(&self, t: i64) -> bool {
        self.overlaps(t, t + 1)
    }

    /// Whether `[from, to)` overlaps the window.
    pub fn overlaps(&self, from: i64, to: i64) -> bool {
        match self.when {
            Recurrence::Once { start, end } => from < end && start < to,
            Recurrence::Weekly { offset, duration } => {
                let pos = (from + EPOCH_TO_MONDAY).rem_euclid(WEEK);
                let since_start = (pos - offset).rem_euclid(WEEK);
                let until_next = (offset - pos).rem_euclid(WEEK);
                since_start < duration || until_next < to - from
            }
        }
    }
}

/// Whether a listed SLO id names the SLO `id`: itself, or the definition it is a member of.
fn names(listed: &str, id: &str) -> bool {
    id == listed
        || id
            .strip_prefix(listed)
            .is_some_and(|rest| rest.starts_with('{'))
}

/// Marks every bucket of `buckets` (starting at `start`, `width` apart) that overlaps one of
/// `windows` as excluded. Returns how many were marked.
pub fn mask(windows: &[Maintenance], start: i64, width: i64, buckets: &mut [Bucket]) -> usize {
    if windows.is_empty() {
        return 0;
    }
    let mut marked = 0;
    for (i, b) in buckets.iter_mut().enumerate() {
        let s = start + i as i64 * width;
        if windows.iter().any(|w| w.overlaps(s, s + width)) {
            *b = Bucket::Excluded;
            marked += 1;
        }
    }
    marked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weekly(offset: i64, duration: i64) -> Maintenance {
        Maintenance {
            name: "w".into(),
            when: Recurrence::Weekly { offset, duration },
            slos: vec![],
            labels: BTreeMap::new(),
        }
    }

    #[test]
    fn one_off_windows_overlap_half_open() {
        let m = Maintenance {
            when: Recurrence::Once {
                start: 1000,
                end: 2000,
            },
            ..weekly(0, 1)
        };
        assert!(m.covers(1000) && m.covers(1999));
        assert!(!m.covers(999) && !m.covers(2000));
        assert!(m.overlaps(940, 1000 + 1) && !m.overlaps(940, 1000));
    }

    #[test]
    fn weekly_windows_repeat_and_wrap_past_sunday() {
        // 2026-11-29 is a Sunday; 03:00 UTC that day.
        let sunday = 1_795_910_400; // 2026-11-29T00:00:00Z, a Sunday
        let sunday_3am = sunday + 3 * 3600;
        let m = weekly(6 * 86400 + 3 * 3600, 2 * 3600);
        assert!(m.covers(sunday_3am) && m.covers(sunday_3am + 7199));
        assert!(!m.covers(sunday_3am - 1) && !m.covers(sunday_3am + 7200));
        assert!(m.covers(sunday_3am + WEEK) && m.covers(sunday_3am - 52 * WEEK));
        // Sunday 23:00 for 2h runs into Monday.
        let late = weekly(6 * 86400 + 23 * 3600, 2 * 3600);
        let monday = sunday + 86400;
        assert!(late.covers(monday) && late.covers(monday + 3599) && !late.covers(monday + 3600));
        // A bucket that starts before the window but reaches into it overlaps.
        assert!(m.overlaps(sunday_3am - 30, sunday_3am + 30));
    }

    #[test]
    fn masking_marks_only_overlapping_buckets_and_matching_slos() {
        let m = Maintenance {
            when: Recurrence::Once {
                start: 120,
                end: 240,
            },
            slos: vec!["a/b".into()],
            ..weekly(0, 1)
        };
        let mut b = vec![Bucket::known(1.0, 1.0); 6];
        assert_eq!(mask(std::slice::from_ref(&m), 0, 60, &mut b), 2);
        assert_eq!(b[1], Bucket::known(1.0, 1.0));
        assert_eq!((b[2], b[3]), (Bucket::Excluded, Bucket::Excluded));
        assert!(m.applies("a/b", &BTreeMap::new()) && !m.applies("a/c", &BTreeMap::new()));
        // A definition's id covers its members, not SLOs whose id merely starts alike.
        assert!(m.applies("a/b{route=\"/x\"}", &BTreeMap::new()));
        assert!(!m.applies("a/bc", &BTreeMap::new()));
    }
}
