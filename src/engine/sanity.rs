//! Each SLO's sanity findings over time ([`crate::source::sanity`]): what its answers showed
//! that counts cannot mean is logged once per SLO and kind, counted per tick in
//! `slowburn_sli_sanity_warnings_total{slo, kind}` and described in its row; a selector that
//! matches nothing counts once it has matched nothing for longer than the no-data timeout.

use crate::source::sanity::{KINDS, Sanity};
use crate::time::rfc3339;

/// One SLO's findings.
#[derive(Debug, Default, Clone)]
pub(super) struct SanityState {
    /// Ticks at which each kind of [`KINDS`] was found.
    pub ticks: [u64; 4],
    /// Kinds already logged (once per SLO and kind, until the daemon restarts or reloads).
    logged: [bool; 4],
    /// Since when a selector of the SLI has matched no series, without a break.
    empty_since: Option<i64>,
    /// What the last tick found, one sentence each, for the SLO's row.
    pub notes: Vec<String>,
}

impl SanityState {
    /// Takes one tick's findings at `at`; `no_data` is how long a selector may match nothing
    /// before it counts. Returns the sentences to log now (each kind's first).
    pub fn take(&mut self, found: &Sanity, at: i64, no_data: i64) -> Vec<(&'static str, String)> {
        let mut notes = found.describe();
        // An array, not a vector: a sane tick (nearly every tick of every SLO) allocates nothing.
        let [a, b, c] = found.counts().map(|n| n > 0);
        let mut hit = [a, b, c, false];
        if found.empty.is_empty() {
            self.empty_since = None;
        } else {
            let since = *self.empty_since.get_or_insert(at);
            let long = at - since >= no_data;
            if long {
                notes.push(format!(
                    "{} matched no series since {}: check the metric name and labels",
                    found
                        .empty
                        .iter()
                        .map(|s| format!("`{s}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    rfc3339(since)
                ));
            }
            hit[3] = long;
        }
        let mut log = Vec::new();
        let mut k = 0;
        for (i, h) in hit.iter().enumerate() {
            if !h {
                continue;
            }
            self.ticks[i] += 1;
            if !self.logged[i] {
                self.logged[i] = true;
                log.push((KINDS[i], notes.get(k).cloned().unwrap_or_default()));
            }
            k += 1;
        }
        self.notes = notes
            .into_iter()
            .zip(hit.iter().filter(|h| **h))
            .map(|(n, _)| n)
            .collect();
        log
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_logged_once_and_counted_every_tick() {
        let mut s = SanityState::default();
        let bad = Sanity {
            good_above_total: 1,
            ..Sanity::default()
        };
        let first = s.take(&bad, 60, 1800);
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].0, "good_above_total");
        assert!(s.take(&bad, 120, 1800).is_empty(), "logged once");
        assert_eq!(s.ticks[0], 2);
        assert_eq!(s.notes.len(), 1);
        assert!(s.take(&Sanity::default(), 180, 1800).is_empty());
        assert!(
            s.notes.is_empty(),
            "the row clears when the answers are sane"
        );
    }

    #[test]
    fn an_empty_selector_counts_after_the_no_data_timeout() {
        let mut s = SanityState::default();
        let empty = Sanity {
            empty: vec!["errors_total{job=\"x\"}".into()],
            ..Sanity::default()
        };
        assert!(s.take(&empty, 0, 1800).is_empty());
        assert!(s.take(&empty, 1740, 1800).is_empty(), "not yet");
        let late = s.take(&empty, 1800, 1800);
        assert_eq!(late.len(), 1);
        assert_eq!(late[0].0, "no_series");
        assert!(
            late[0]
                .1
                .contains("`errors_total{job=\"x\"}` matched no series since 1970-01-01T00:00:00Z")
        );
        assert_eq!(s.ticks[3], 1);
        s.take(&Sanity::default(), 1860, 1800);
        assert!(
            s.take(&empty, 1920, 1800).is_empty(),
            "the wait starts again"
        );
    }
}
