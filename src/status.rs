//! The typed status of one SLO at one instant: the one model that `report --format json`, the
//! daemon's `GET /api/v1/slos...`, the web UI, the deploy gate and the compatibility series all
//! read, so none of them re-derives a number or reads another's JSON back by string key.
//!
//! Its JSON (serde derive) is the public contract; the field names are the keys scripts read.
//! Undefined numbers (no traffic, no data) are `None`, serialized as `null`.

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
    /// Target ratio, e.g. 0.999.
    pub objective: f64,
    /// One entry per configured period, keyed by its canonical spelling (`30d`, `7d`).
    pub periods: BTreeMap<String, PeriodStatus>,
    /// Burn rate per window (`5m` … `3d`); `null` without traffic.
    pub burn_rates: BTreeMap<String, Option<f64>>,
    /// Known buckets / expected buckets per burn window.
    pub coverage: BTreeMap<String, f64>,
    /// The SLO's own burn-rate rules (its policy, with its `min_events`) and whether each holds
    /// now: what "a page-level burn in progress" means for this SLO.
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
