//! Multiwindow, multi-burn-rate rules (Google SRE Workbook, chapter 5) and their evaluation.
//!
//! Pure: a rule holds when the burn rate over BOTH its long and its short window is at or above
//! its factor, and the long window saw at least `min_events` events (low-traffic guard).

use crate::budget::WindowSum;
use crate::duration::Dur;

/// How urgent an alert is. Ordered: a page supersedes a ticket.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
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

    /// Reads `page` or `ticket`; anything else is `None`, so a caller must say what it does
    /// with an unknown severity instead of guessing one.
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "page" => Some(Severity::Page),
            "ticket" => Some(Severity::Ticket),
            _ => None,
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
    /// How long the rule must hold, evaluation after evaluation, before it fires (`for:`):
    /// zero fires at the first evaluation that holds.
    pub pending: Dur,
}

impl Rule {
    /// `1h/5m`, the name used in notifications and `backtest`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.long, self.short)
    }

    /// The long window's burn rate when the rule holds over these sums (both burn rates at or
    /// above the factor, and at least `min_events` events in the long window), else `None`.
    /// The one test of a rule: alerting ([`holding`]) and the status the gate reads both call it,
    /// so "a page-level burn" cannot mean two things.
    pub fn holds(
        &self,
        objective: f64,
        min_events: f64,
        long: &WindowSum,
        short: &WindowSum,
    ) -> Option<f64> {
        if long.total < min_events {
            return None;
        }
        let (lb, sb) = (long.burn_rate(objective)?, short.burn_rate(objective)?);
        (lb >= self.factor && sb >= self.factor).then_some(lb)
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
            pending: Dur::from_secs(0),
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
    /// Ticket when a period's remaining budget drops below this share (`None`: never).
    pub budget_ticket_below: Option<f64>,
    /// The severity raised when a period's budget is spent (`None`: nothing).
    pub budget_exhausted: Option<Severity>,
    /// Ticket when no bucket was known for this long (`None`: never).
    pub no_data_after: Option<Dur>,
    /// Alert when a share of a period's budget went within a span (Honeycomb's and Nobl9's
    /// budget-consumption alerts); off by default.
    pub budget_drop: Option<BudgetDrop>,
    /// Alert when, at the last hour's burn rate, the budget is gone within a span; off by default.
    pub exhaustion_within: Option<ExhaustionWithin>,
}

/// A budget-consumption condition's span: whole buckets, at least one. Shared by `slo.yaml`'s
/// validation and the try page, so both refuse the same spans with the same words.
pub fn consumption_span(span: Dur, bucket: Dur) -> Result<Dur, String> {
    if span.is_whole_buckets(bucket) && span >= bucket {
        Ok(span)
    } else {
        Err(format!("must be whole buckets ({bucket})"))
    }
}

/// `budget_drop.percent` as a share of the budget: above 0 and at most 100 percent.
pub fn budget_share(percent: f64) -> Result<f64, String> {
    if percent > 0.0 && percent <= 100.0 {
        Ok(percent / 100.0)
    } else {
        Err(format!(
            "a share of the budget in percent, above 0 and at most 100 (5 for 5%); got {percent}"
        ))
    }
}

/// `budget_drop:`: the events of the last `within` spent at least `share` of a period's budget.
/// Read from windows that end now: the bad events of `within` over the budget of the period's
/// events (`(1 - objective) × total`), so it answers "how much of the budget did the last hour
/// take", whatever leaves the period at its other end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetDrop {
    /// Share of the budget (0.05 for 5%).
    pub share: f64,
    /// The span.
    pub within: Dur,
    /// Page or ticket.
    pub severity: Severity,
}

/// `exhaustion_within:`: the remaining budget, spent at the burn rate of the last hour, is gone
/// within `within` (the status's `time_to_exhaustion_seconds.1h`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExhaustionWithin {
    /// The span.
    pub within: Dur,
    /// Page or ticket.
    pub severity: Severity,
}

/// The burn-rate window behind `exhaustion_within`.
pub const EXHAUSTION_BURN_WINDOW: Dur = Dur::from_secs(3600);

impl Policy {
    /// The built-in policy for a period: the scaled Workbook rules, no event minimum, a ticket
    /// below 25% of the budget, a ticket when it is spent, a ticket after 30 minutes without data.
    /// A spent budget tickets rather than pages: it stays spent until old errors leave the period,
    /// which can be weeks, and the Workbook pages only on fast burns (those rules still page).
    pub fn builtin(period: Dur, bucket: Dur) -> Self {
        Policy {
            rules: default_rules(period, bucket),
            min_events: 0.0,
            budget_ticket_below: Some(0.25),
            budget_exhausted: Some(Severity::Ticket),
            no_data_after: Some(Dur::from_secs(1800)),
            budget_drop: None,
            exhaustion_within: None,
        }
    }

    /// Every window the policy reads (burn-rate windows and the no-data window).
    pub fn windows(&self) -> Vec<Dur> {
        let mut w: Vec<Dur> = self.rules.iter().flat_map(|r| [r.long, r.short]).collect();
        w.extend(self.no_data_after);
        w.extend(self.budget_drop.map(|d| d.within));
        if self.exhaustion_within.is_some() {
            w.push(EXHAUSTION_BURN_WINDOW);
        }
        w
    }
}

/// Why an alert condition holds right now.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Page or ticket.
    pub severity: Severity,
    /// The condition: a rule (`1h/5m`), `budget 30d < 25%`, `budget 30d spent` or `no data 30m`.
    pub name: String,
    /// Burn rate behind it: the long window's for rules, the period's for budget conditions, 0
    /// for missing data.
    pub burn: f64,
    /// How long it must hold before it counts (a rule's `for:`; zero for the others).
    pub pending: Dur,
}

/// Every condition of the policy that holds, given the sums of any window: burn-rate rules
/// (both windows at or above the factor and `min_events` in the long one), budget conditions per
/// period, and missing data.
pub fn holding(
    policy: &Policy,
    objective: f64,
    periods: &[Dur],
    sum: impl Fn(Dur) -> WindowSum,
) -> Vec<Hit> {
    let mut hits = Vec::new();
    for r in &policy.rules {
        let (l, s) = (sum(r.long), sum(r.short));
        if let Some(lb) = r.holds(objective, policy.min_events, &l, &s) {
            hits.push(Hit {
                severity: r.severity,
                name: r.name(),
                burn: lb,
                pending: r.pending,
            });
        }
    }
    for p in periods {
        let w = sum(*p);
        let Some(remaining) = w.remaining(objective) else {
            continue;
        };
        let burn = w.burn_rate(objective).unwrap_or(0.0);
        if let Some(sev) = policy.budget_exhausted
            && remaining <= 0.0
        {
            hits.push(Hit {
                severity: sev,
                name: format!("budget {p} spent"),
                burn,
                pending: Dur::from_secs(0),
            });
        } else if let Some(below) = policy.budget_ticket_below
            && remaining < below
        {
            hits.push(Hit {
                severity: Severity::Ticket,
                name: format!("budget {p} < {:.0}%", below * 100.0),
                burn,
                pending: Dur::from_secs(0),
            });
        }
    }
    budget_consumption(policy, objective, periods, &sum, &mut hits);
    if let Some(d) = policy.no_data_after {
        let w = sum(d);
        // Coverage leaves out maintenance buckets: planned downtime is not missing data; a
        // window with nothing elapsed yet is whole (coverage 1), so it never says "no data".
        if w.coverage() == 0.0 {
            hits.push(Hit {
                severity: Severity::Ticket,
                name: format!("no data {d}"),
                burn: 0.0,
                pending: Dur::from_secs(0),
            });
        }
    }
    hits
}

/// The budget-consumption conditions ([`BudgetDrop`], [`ExhaustionWithin`]) per period.
fn budget_consumption(
    policy: &Policy,
    objective: f64,
    periods: &[Dur],
    sum: &impl Fn(Dur) -> WindowSum,
    hits: &mut Vec<Hit>,
) {
    for p in periods {
        let period = sum(*p);
        if let Some(d) = policy.budget_drop {
            let recent = sum(d.within);
            let budget = (1.0 - objective) * period.total;
            let bad = (recent.total - recent.good).max(0.0);
            if budget > 0.0 && bad / budget >= d.share {
                hits.push(Hit {
                    severity: d.severity,
                    name: format!(
                        "budget {p} dropped {}% in {}",
                        (d.share * 1e5).round() / 1e3,
                        d.within
                    ),
                    burn: recent.burn_rate(objective).unwrap_or(0.0),
                    pending: Dur::from_secs(0),
                });
            }
        }
        if let Some(e) = policy.exhaustion_within {
            let burn = sum(EXHAUSTION_BURN_WINDOW).burn_rate(objective);
            let left = crate::budget::time_to_exhaustion(period.remaining(objective), burn, *p);
            // A budget already spent is `budget_exhausted`'s to say, not this one's.
            if period.remaining(objective).is_some_and(|r| r > 0.0)
                && left.is_some_and(|s| s <= e.within.as_secs() as f64)
            {
                hits.push(Hit {
                    severity: e.severity,
                    name: format!("budget {p} gone within {}", e.within),
                    burn: burn.unwrap_or(0.0),
                    pending: Dur::from_secs(0),
                });
            }
        }
    }
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
        let mut policy = Policy::builtin(Dur::from_secs(30 * 86400), m);
        policy.rules = rules;
        let hits = holding(&policy, 0.999, &[], |w| s.window(at, w));
        assert_eq!(
            hits.iter().map(|h| h.name.as_str()).collect::<Vec<_>>(),
            ["1h/5m"]
        );
        // Too few events in the long window: nothing.
        policy.min_events = 1e9;
        assert!(holding(&policy, 0.999, &[], |w| s.window(at, w)).is_empty());
    }

    #[test]
    fn budget_drop_and_exhaustion_conditions() {
        let m = Dur::from_secs(60);
        let day = Dur::from_secs(86400);
        let mut policy = Policy::builtin(day, m);
        policy.rules.clear();
        policy.budget_ticket_below = None;
        policy.budget_exhausted = None;
        policy.no_data_after = None;
        policy.budget_drop = Some(BudgetDrop {
            share: 0.05,
            within: Dur::from_secs(3600),
            severity: Severity::Page,
        });
        policy.exhaustion_within = Some(ExhaustionWithin {
            within: Dur::from_secs(6 * 3600),
            severity: Severity::Ticket,
        });
        // 1000 events a minute all day against 99%: a budget of 14,400 bad events. The last
        // hour had 13 bad a minute: 780, 5.4% of it; 1.3% errors burn at 1.3x.
        let mut b = vec![Bucket::known(1000.0, 1000.0); 1380];
        b.extend(vec![Bucket::known(987.0, 1000.0); 60]);
        let s = Series::from_buckets(0, m, &b);
        let hits = holding(&policy, 0.99, &[day], |w| s.window(1440 * 60, w));
        assert_eq!(
            hits.iter().map(|h| h.name.as_str()).collect::<Vec<_>>(),
            ["budget 1d dropped 5% in 1h"],
            "94.6% left at 1.3x lasts 17 hours, more than 6"
        );
        assert_eq!(hits[0].severity, Severity::Page);
        // 11 bad a minute: 4.6%, under the line.
        let mut b = vec![Bucket::known(1000.0, 1000.0); 1380];
        b.extend(vec![Bucket::known(989.0, 1000.0); 60]);
        let s = Series::from_buckets(0, m, &b);
        assert!(holding(&policy, 0.99, &[day], |w| s.window(1440 * 60, w)).is_empty());
        // 0.5% errors before, then 5% (burn 5): 31% of the budget left lasts 1.5 hours.
        let mut b = vec![Bucket::known(995.0, 1000.0); 1380];
        b.extend(vec![Bucket::known(950.0, 1000.0); 60]);
        let s = Series::from_buckets(0, m, &b);
        let hits = holding(&policy, 0.99, &[day], |w| s.window(1440 * 60, w));
        let names: Vec<&str> = hits.iter().map(|h| h.name.as_str()).collect();
        assert!(names.contains(&"budget 1d gone within 6h"), "{names:?}");
        assert!(policy.windows().contains(&Dur::from_secs(3600)));
    }

    #[test]
    fn budget_and_no_data_conditions() {
        let m = Dur::from_secs(60);
        let day = Dur::from_secs(86400);
        let mut policy = Policy::builtin(day, m);
        policy.rules.clear();
        // 1% errors all day against a 99.5% objective: the budget is spent twice over.
        let s = Series::from_buckets(0, m, &vec![Bucket::known(990.0, 1000.0); 1440]);
        let hits = holding(&policy, 0.995, &[day], |w| s.window(1440 * 60, w));
        assert_eq!(hits[0].name, "budget 1d spent");
        assert_eq!(
            hits[0].severity,
            Severity::Ticket,
            "a spent budget tickets by default"
        );
        let mut paging = policy.clone();
        paging.budget_exhausted = Some(Severity::Page);
        let hits = holding(&paging, 0.995, &[day], |w| s.window(1440 * 60, w));
        assert_eq!(hits[0].severity, Severity::Page, "and pages when told to");
        // 0.4% errors: 20% of the budget left, under the 25% line.
        let s = Series::from_buckets(0, m, &vec![Bucket::known(996.0, 1000.0); 1440]);
        let hits = holding(&policy, 0.995, &[day], |w| s.window(1440 * 60, w));
        assert_eq!(hits[0].name, "budget 1d < 25%");
        // Nothing known for the last 30 minutes.
        let mut b = vec![Bucket::known(1000.0, 1000.0); 1400];
        b.extend(vec![Bucket::Missing; 40]);
        let s = Series::from_buckets(0, m, &b);
        let hits = holding(&policy, 0.995, &[day], |w| s.window(1440 * 60, w));
        assert_eq!(
            hits.iter().map(|h| h.name.as_str()).collect::<Vec<_>>(),
            ["no data 30m"]
        );
    }
}
