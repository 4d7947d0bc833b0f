//! What a notification says about an alert, as a type: the engine fills it from the evaluation,
//! the outbox stores it as JSON, and every receiver formats from its fields (no string lookups
//! that silently read nothing when a key is renamed).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Enough to act on without opening a dashboard. Unknown or absent fields read as their default,
/// so outbox entries written by an older version still decode.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlertDetails {
    /// SLO id, `service/name`.
    pub slo: String,
    /// Owning service.
    pub service: String,
    /// SLO name within the service.
    pub name: String,
    /// Objective as a ratio.
    pub objective: Option<f64>,
    /// The SLO's description.
    pub description: Option<String>,
    /// The condition that fired (`1h/5m`, `budget 30d spent`).
    pub rule: Option<String>,
    /// Highest long-window burn rate of the episode so far.
    pub burn_rate: f64,
    /// Burn rate per window (`5m` … `3d`); `None` without traffic.
    pub burn_rates: BTreeMap<String, Option<f64>>,
    /// Remaining budget per period; `None` without traffic.
    pub error_budget_remaining: BTreeMap<String, Option<f64>>,
    /// Seconds to exhaustion at the 1h burn rate, per period.
    pub time_to_exhaustion_seconds: BTreeMap<String, Option<f64>>,
    /// The SLI's queries.
    pub queries: Vec<String>,
    /// When the episode fired (RFC 3339).
    pub fired_at: Option<String>,
    /// When this notification was decided (RFC 3339).
    pub at: Option<String>,
    /// The SLO's labels.
    pub labels: BTreeMap<String, String>,
    /// Link to the SLO's dashboard.
    pub dashboard: Option<String>,
    /// A still-firing reminder rather than the first trigger.
    pub repeat: bool,
    /// Sent by `slowburn notify-test`: no SLO is burning.
    pub test: bool,
    /// Why a resolve was sent without the burn ending (the SLO was removed).
    pub reason: Option<String>,
    /// Free text for people (the test notification's explanation).
    pub message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_stored_details_decode_with_defaults() {
        let d: AlertDetails = serde_json::from_str(
            r#"{"slo":"api/a","reason":"SLO removed from the configuration","extra":1}"#,
        )
        .unwrap();
        assert_eq!(d.slo, "api/a");
        assert_eq!(
            d.reason.as_deref(),
            Some("SLO removed from the configuration")
        );
        assert!(!d.repeat && d.rule.is_none());
    }
}
