//! Multiwindow, multi-burn-rate rules (Google SRE Workbook, chapter 5) and their evaluation.
//!
//! Pure: a rule holds when the burn rate over BOTH its long and its short window is at or above
//! its factor, and the long window saw at least `min_events` events (low-traffic guard).

use crate::budget::WindowSum;
use crate::duration::Dur;

/// How urgent an alert is. Ordered: a page supersedes a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Someone looks at it during working hours.
    Ticket,
    /// Someone is woken up.
    Page,
}

impl Severity {
    /// `page` or `ticket`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Page => "page",
            Severity::Ticket => "ticket",
        }
    }
}

/// One burn-rate rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    /// Page or ticket.
    pub severity: Severity,
    /// The long window: how much evidence the rule needs.
    pub long: Dur,
    /// The short window: makes the alert reset soon after the burn stops.
    pub short: Dur,
    /// Burn rate at or above which the rule holds.
    pub factor: f64,
}

impl Rule {
    /// `1h/5m`, the name used in notifications and `backtest`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.long, self.short)
    }
}

/// The Workbook's table for a 30-day period: 2% of the budget in 1h pages, 5% in 6h pages,
/// 10% in 1d and 3d tickets.
pub const WORKBOOK_30D: [(Severity, u64, u64, f64); 4] = [
    (Severity::Page, 3600, 300, 14.4),
    (Severity::Page, 21600, 1800, 6.0),
    (Severity::Ticket, 86400, 7200, 3.0),
    (Severity::Ticket, 259200, 21600, 1.0),
];

/// The default rules for a budget period: the 30-day table with windows scaled by period/30d
/// (rounded down to whole buckets, at least one bucket) and factors kept, since a factor below 1
/// would fire on a healthy service.
pub fn default_rules(period: Dur, bucket: Dur) -> Vec<Rule> {
    let b = bucket.as_secs().max(1);
    let scale = |secs: u64| -> Dur {
        let scaled = (secs as u128 * period.as_secs() as u128 / (30 * 86400) as u128) as u64;
        Dur::from_secs((scaled / b).max(1) * b)
    };
    WORKBOOK_30D
        .iter()
        .map(|&(severity, long, short, factor)| Rule {
            severity,
            long: scale(long),
            short: scale(short),
            factor,
        })
        .collect()
}

/// The rules an SLO is evaluated with, and the low-traffic guard.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Burn-rate rules.
    pub rules: Vec<Rule>,
    /// Events the long window must hold before a rule may fire.
    pub min_events: f64,
}

/// Why a rule holds right now.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The rule.
    pub rule: Rule,
    /// Burn rate over its long window.
    pub long_burn: f64,
    /// Burn rate over its short window.
    pub short_burn: f64,
}

/// The rules that hold, given the sums of any window.
pub fn holding(
    rules: &[Rule],
    objective: f64,
    min_events: f64,
    sum: impl Fn(Dur) -> WindowSum,
) -> Vec<Hit> {
    rules
        .iter()
        .filter_map(|r| {
            let (l, s) = (sum(r.long), sum(r.short));
            if l.total < min_events {
                return None;
            }
            let (lb, sb) = (l.burn_rate(objective)?, s.burn_rate(objective)?);
            (lb >= r.factor && sb >= r.factor).then_some(Hit {
                rule: *r,
                long_burn: lb,
                short_burn: sb,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::{Bucket, Series};

    #[test]
    fn default_rules_scale_windows_and_keep_factors() {
        let m = Dur::from_secs(60);
        let r30 = default_rules(Dur::from_secs(30 * 86400), m);
        assert_eq!(r30[0].name(), "1h/5m");
        assert_eq!(r30[3].name(), "3d/6h");
        let r7 = default_rules(Dur::from_secs(7 * 86400), m);
        // 1h × 7/30 = 14 min; 5 min × 7/30 = 70 s → one bucket.
        assert_eq!(r7[0].long, Dur::from_secs(840));
        assert_eq!(r7[0].short, Dur::from_secs(60));
        assert_eq!(r7[0].factor, 14.4);
    }

    #[test]
    fn a_rule_needs_both_windows_and_enough_events() {
        let m = Dur::from_secs(60);
        let rules = default_rules(Dur::from_secs(30 * 86400), m);
        // Three healthy days, then one minute at 100% errors: 1.7% of the hour (burn 16.7) but
        // only 0.28% of six hours (burn 2.8), so only the fast page holds.
        let mut b = vec![Bucket::known(1000.0, 1000.0); 3 * 1440];
        b.push(Bucket::known(0.0, 1000.0));
        let s = Series::from_buckets(0, m, &b);
        let at = b.len() as i64 * 60;
        let hits = holding(&rules, 0.999, 0.0, |w| s.window(at, w));
        assert_eq!(
            hits.iter().map(|h| h.rule.name()).collect::<Vec<_>>(),
            ["1h/5m"]
        );
        // Too few events in the long window: nothing.
        assert!(holding(&rules, 0.999, 1e9, |w| s.window(at, w)).is_empty());
    }
}
