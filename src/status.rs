//! The typed status of one SLO at one instant: the one model that `report --format json`, the
//! daemon's `GET /api/v1/slos...`, the web UI, the deploy gate and the compatibility series all
//! read, so none of them re-derives a number or reads another's JSON back by string key.
//!
//! Its JSON (serde derive) is the public contract; the field names are the keys scripts read.
//! Undefined numbers (no traffic, no data) are `None`, serialized as `null`.

use crate::alert::policy::Policy;
use crate::alert::state::Record;
use crate::budget::{Evaluation, WindowSum};
use crate::config::Slo;
use crate::duration::Dur;
use crate::time::rfc3339;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One SLO's numbers, alerts and errors: the contract of the API and of `report --format json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SloStatus {
    /// `service/name`.
    pub id: String,
    /// The owning service.
    pub service: String,
    /// The SLO's name within its service.
    pub name: String,
    /// A member of a `group_by` SLO: its values of the group labels (`{"route": "/api"}`);
    /// absent on an SLO that is not grouped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<BTreeMap<String, String>>,
    /// Target ratio, e.g. 0.999.
    pub objective: f64,
    /// One entry per configured period, keyed by its canonical spelling (`30d`, `7d`).
    pub periods: BTreeMap<String, PeriodStatus>,
    /// Burn rate per window (`5m` … `3d`); `null` without traffic.
    pub burn_rates: BTreeMap<String, Option<f64>>,
    /// Known buckets / expected buckets per burn window.
    pub coverage: BTreeMap<String, f64>,
    /// The SLO's own burn-rate rules (its policy, with its `min_events`) and whether each holds
    /// now: what "a page-level burn in progress" means for this SLO. Absent from an older
    /// daemon's answer, so read as empty there.
    #[serde(default)]
    pub rules: Vec<RuleStatus>,
    /// Alert state by severity; `None` where nothing tracks alerts (`report`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts: Option<Alerts>,
    /// The SLA over the first period, when one is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<SlaStatus>,
    /// Query failures that left buckets missing.
    pub errors: Vec<String>,
}

/// One budget period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodStatus {
    /// Good events in known buckets.
    pub good: f64,
    /// All events in known buckets.
    pub total: f64,
    /// good / total; `null` without traffic.
    pub sli: Option<f64>,
    /// Remaining error budget ratio (1 untouched, 0 spent, negative overspent).
    pub error_budget_remaining: Option<f64>,
    /// Known buckets / expected buckets.
    pub coverage: f64,
    /// Buckets excluded by maintenance windows.
    pub excluded_buckets: u64,
    /// Seconds until the budget is gone at the 1h and 6h burn rates.
    pub time_to_exhaustion_seconds: Exhaustion,
    /// A calendar period's start (RFC 3339); absent on a rolling one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// A calendar period's end, the start of the next (RFC 3339); absent on a rolling one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// Time to exhaustion at two burn rates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Exhaustion {
    /// At the 1h burn rate.
    #[serde(rename = "1h")]
    pub h1: Option<f64>,
    /// At the 6h burn rate.
    #[serde(rename = "6h")]
    pub h6: Option<f64>,
}

/// One burn-rate rule of the SLO's policy, evaluated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleStatus {
    /// `page` or `ticket`.
    pub severity: crate::alert::policy::Severity,
    /// The rule's name, `1h/5m`.
    pub name: String,
    /// Long window.
    pub long: String,
    /// Short window.
    pub short: String,
    /// Both windows' burn rates must reach this.
    pub factor: f64,
    /// Burn rate over the long window.
    pub long_burn_rate: Option<f64>,
    /// Burn rate over the short window.
    pub short_burn_rate: Option<f64>,
    /// Events in the long window.
    pub long_events: f64,
    /// The policy's minimum events in the long window.
    pub min_events: f64,
    /// Whether the rule's condition holds now (both burns ≥ factor, enough events).
    pub holds: bool,
}

/// Alert state, one entry per severity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alerts {
    /// The page alert.
    pub page: AlertStatus,
    /// The ticket alert.
    pub ticket: AlertStatus,
}

/// One alert's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertStatus {
    /// Firing now.
    pub firing: bool,
    /// The condition that fired it.
    pub rule: Option<String>,
    /// When it fired (RFC 3339).
    pub fired_at: Option<String>,
    /// When it resolved (RFC 3339).
    pub resolved_at: Option<String>,
    /// Highest burn rate while firing.
    pub peak_burn_rate: f64,
    /// Receivers notified.
    pub notified: Vec<String>,
}

/// The SLA over the first period.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SlaStatus {
    /// The contractual target.
    pub objective: f64,
    /// Its SLI; `null` without traffic.
    pub sli: Option<f64>,
    /// Whether the SLI meets the target; `null` when unknown.
    pub met: Option<bool>,
}

/// A number as the contract carries it: `None` (JSON `null`) unless finite, so no reader meets a
/// NaN or an infinity.
pub(crate) fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

/// Every burn-rate rule of `policy`, evaluated over the window sums `sum` gives, through the very
/// test alerting uses ([`crate::alert::policy::Rule::holds`]), so the status says a rule holds
/// exactly when the alert engine would count it.
pub fn rules(policy: &Policy, objective: f64, sum: impl Fn(Dur) -> WindowSum) -> Vec<RuleStatus> {
    policy
        .rules
        .iter()
        .map(|r| {
            let (l, s) = (sum(r.long), sum(r.short));
            RuleStatus {
                severity: r.severity,
                name: r.name(),
                long: r.long.to_string(),
                short: r.short.to_string(),
                factor: r.factor,
                long_burn_rate: finite(l.burn_rate(objective)),
                short_burn_rate: finite(s.burn_rate(objective)),
                long_events: l.total,
                min_events: policy.min_events,
                holds: r.holds(objective, policy.min_events, &l, &s).is_some(),
            }
        })
        .collect()
}

/// One SLO's status from its evaluation, its evaluated rules ([`rules`]), the SLA's SLI, the
/// query errors and (where something tracks them) its alerts: the one place the contract's
/// numbers are derived, whether `report` or the daemon asks.
pub fn build(
    slo: &Slo,
    eval: &Evaluation,
    rules: Vec<RuleStatus>,
    sla_sli: Option<f64>,
    errors: Vec<String>,
    alerts: Option<Alerts>,
) -> SloStatus {
    let periods = eval
        .periods
        .iter()
        .map(|p| {
            (
                p.name(),
                PeriodStatus {
                    from: p.calendar.map(|c| crate::time::rfc3339(c.from)),
                    to: p.calendar.map(|c| crate::time::rfc3339(c.to)),
                    good: p.sum.good,
                    total: p.sum.total,
                    sli: finite(p.sli),
                    error_budget_remaining: finite(p.remaining),
                    coverage: p.sum.coverage(),
                    excluded_buckets: p.sum.excluded,
                    time_to_exhaustion_seconds: Exhaustion {
                        h1: finite(p.exhaustion_1h),
                        h6: finite(p.exhaustion_6h),
                    },
                },
            )
        })
        .collect();
    let burn_rates = eval
        .burn
        .iter()
        .map(|(w, _, rate)| (w.to_string(), finite(*rate)))
        .collect();
    let coverage = eval
        .burn
        .iter()
        .map(|(w, sum, _)| (w.to_string(), sum.coverage()))
        .collect();
    SloStatus {
        id: slo.id.clone(),
        service: slo.service.clone(),
        name: slo.name.clone(),
        group: (!slo.group.is_empty()).then(|| slo.group.clone()),
        objective: slo.objective,
        periods,
        burn_rates,
        coverage,
        rules,
        alerts,
        sla: slo.sla.as_ref().map(|sla| SlaStatus {
            objective: sla.objective,
            sli: finite(sla_sli),
            met: sla_sli.map(|s| s >= sla.objective),
        }),
        errors,
    }
}

impl AlertStatus {
    /// One alert record as the contract shows it (times in RFC 3339, the receivers told); a
    /// non-finite peak reads 0, since JSON has no NaN and the field is a plain number.
    pub fn of(r: &Record) -> Self {
        AlertStatus {
            firing: r.firing(),
            rule: r.rule.clone(),
            fired_at: r.fired_at.map(rfc3339),
            resolved_at: r.resolved_at.map(rfc3339),
            peak_burn_rate: if r.peak_burn_rate.is_finite() {
                r.peak_burn_rate
            } else {
                0.0
            },
            notified: r.sent.keys().cloned().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::policy::{Rule, Severity};
    use crate::budget::{Bucket, Series};

    #[test]
    fn a_rule_holds_by_the_alerting_test_with_its_own_factor_and_min_events() {
        let m = Dur::from_secs(60);
        // Three healthy days, then an hour at 20% errors: burn 20 against 99% on 1h and 5m.
        let mut b = vec![Bucket::known(1000.0, 1000.0); 3 * 1440];
        b.extend(vec![Bucket::known(800.0, 1000.0); 60]);
        let s = Series::from_buckets(0, m, &b);
        let at = b.len() as i64 * 60;
        let rule = |factor| Rule {
            severity: Severity::Page,
            long: Dur::from_secs(3600),
            short: Dur::from_secs(300),
            factor,
            pending: Dur::from_secs(0),
        };
        let mut policy = Policy::builtin(Dur::from_secs(30 * 86400), m);
        policy.rules = vec![rule(3.0), rule(30.0)];
        let r = rules(&policy, 0.99, |w| s.window(at, w));
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].name.as_str(), r[0].holds), ("1h/5m", true));
        assert!(!r[1].holds, "factor 30 at 20x");
        assert!(r[0].long_burn_rate.is_some_and(|x| (x - 20.0).abs() < 1e-9));
        assert_eq!(r[0].long_events, 60_000.0);
        policy.min_events = 1e9;
        assert!(
            rules(&policy, 0.99, |w| s.window(at, w))
                .iter()
                .all(|r| !r.holds)
        );
    }

    #[test]
    fn no_traffic_is_null_not_nan() {
        let m = Dur::from_secs(60);
        let s = Series::from_buckets(0, m, &vec![Bucket::known(0.0, 0.0); 60]);
        let policy = Policy::builtin(Dur::from_secs(30 * 86400), m);
        let r = rules(&policy, 0.99, |w| s.window(3600, w));
        assert!(r.iter().all(|r| r.long_burn_rate.is_none() && !r.holds));
        let json = serde_json::to_value(&r[0]).unwrap_or_default();
        assert!(json["long_burn_rate"].is_null(), "{json}");
    }
}
