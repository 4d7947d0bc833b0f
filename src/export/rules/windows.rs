//! Which windows an SLO's rules sum, which group sums them, and which families carry them: the
//! same choices `/metrics` makes (`src/server/metrics.rs`), so the recorded series have the same
//! label values as the daemon's.

use crate::budget::BURN_WINDOWS;
use crate::config::Slo;
use crate::duration::Dur;

/// The windows of one SLO.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Windows {
    /// The windows `/metrics` writes burn rates for: the burn windows, then the periods not
    /// among them, in that order.
    pub exported: Vec<Dur>,
    /// Every window summed by the fast group (the bucket's interval), in a stable order: the
    /// exported ones it owns, then the policy's own (a scaled 7-day policy reads `14m`), which
    /// feed the alerts only.
    pub fast: Vec<Dur>,
    /// The periods summed by the slower group: long scans, run less often (empty when the rules
    /// are not split).
    pub long: Vec<Dur>,
    /// The windows of `slo_sli_ratio` and `slo_coverage_ratio`: the periods, or every exported
    /// window with `metrics: {detail: full}`.
    pub shown: Vec<Dur>,
    /// The windows of `slo_events`: the shortest, or every exported window with `detail: full`.
    pub counted: Vec<Dur>,
}

impl Windows {
    /// The windows of `slo`; `full` is `metrics: {detail: full}`, `split` whether periods that
    /// no alert rule reads go to the slower group.
    pub fn new(slo: &Slo, full: bool, split: bool) -> Windows {
        let mut exported: Vec<Dur> = BURN_WINDOWS.to_vec();
        for p in &slo.periods {
            if !exported.contains(p) {
                exported.push(*p);
            }
        }
        let rule_windows: Vec<Dur> = slo
            .policy
            .rules
            .iter()
            .flat_map(|r| [r.long, r.short])
            .chain(slo.policy.budget_drop.map(|d| d.within))
            .chain(
                slo.policy
                    .exhaustion_within
                    .map(|_| crate::alert::policy::EXHAUSTION_BURN_WINDOW),
            )
            .collect();
        // A period the fast group must sum anyway (a burn window, a rule's) stays there.
        let long: Vec<Dur> = if split {
            exported
                .iter()
                .copied()
                .filter(|w| {
                    slo.periods.contains(w)
                        && !BURN_WINDOWS.contains(w)
                        && !rule_windows.contains(w)
                })
                .collect()
        } else {
            Vec::new()
        };
        let mut fast: Vec<Dur> = exported
            .iter()
            .copied()
            .filter(|w| !long.contains(w))
            .collect();
        for w in rule_windows {
            if !fast.contains(&w) {
                fast.push(w);
            }
        }
        let shown = exported
            .iter()
            .copied()
            .filter(|w| full || slo.periods.contains(w))
            .collect();
        let counted = exported
            .iter()
            .copied()
            .enumerate()
            .filter(|(i, _)| full || *i == 0)
            .map(|(_, w)| w)
            .collect();
        Windows {
            exported,
            fast,
            long,
            shown,
            counted,
        }
    }

    /// The longest window summed (the first period, usually): a grouped definition's members
    /// are the values with a tile in it, so one that stopped reporting is still known there
    /// (its events and coverage go to 0, its no-data ticket fires) until it leaves the window.
    pub fn longest(&self) -> Dur {
        self.exported.iter().copied().max().unwrap_or_default()
    }

    /// The shown windows the fast group counts tiles over (coverage).
    pub fn fast_shown(&self) -> Vec<Dur> {
        self.shown
            .iter()
            .copied()
            .filter(|w| !self.long.contains(w))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slo(yaml_slo: &str) -> Slo {
        let yaml = format!("slos:\n  - {yaml_slo}\n");
        let cfg = crate::config::parse_str(&yaml, "t.yaml", &|_| None).expect("valid config");
        cfg.slos.into_iter().next().expect("one SLO")
    }

    fn names(ws: &[Dur]) -> Vec<String> {
        ws.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn periods_go_to_the_slow_group_and_scaled_policy_windows_stay_fast() {
        let s = slo(
            "{service: api, name: a, objective: 99.9, windows: [30d, 7d], sli: {ratio: {errors: e, total: t}}}",
        );
        let w = Windows::new(&s, false, true);
        assert_eq!(
            names(&w.exported),
            ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d", "7d"]
        );
        assert_eq!(names(&w.long), ["30d", "7d"]);
        assert_eq!(names(&w.shown), ["30d", "7d"]);
        assert_eq!(names(&w.counted), ["5m"]);
        assert!(w.fast_shown().is_empty());
        // A 7-day first period scales the policy: 1h × 7/30 is 14m, a window of its own.
        let s = slo(
            "{service: api, name: b, objective: 99, windows: [7d], sli: {ratio: {errors: e, total: t}}}",
        );
        let w = Windows::new(&s, true, false);
        assert!(w.long.is_empty());
        assert!(names(&w.fast).contains(&"14m".to_string()));
        assert!(!names(&w.exported).contains(&"14m".to_string()));
        assert_eq!(w.shown, w.exported);
        assert_eq!(w.counted, w.exported);
    }
}
