//! The deploy gate: may this deploy go out, given the SLO's error budget?
//!
//! Pure decision over the SLO JSON that both `report` and the daemon's API produce, so the gate
//! behaves the same with or without a running daemon.

use serde_json::Value;

/// The page-level rules of the default policy (SRE Workbook): (long, short, factor).
pub const PAGE_RULES: [(&str, &str, f64); 2] = [("1h", "5m", 14.4), ("6h", "30m", 6.0)];

/// The verdict and the one line that explains it.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Whether the deploy may go.
    pub allow: bool,
    /// One line for the CI log.
    pub reason: String,
}

/// Decides from one SLO's JSON: blocked when the period's remaining budget is below
/// `min_remaining`, when it is unknown, or when a page-level burn is in progress.
pub fn decide(slo: &Value, period: &str, min_remaining: f64) -> Verdict {
    let id = slo["id"].as_str().unwrap_or("?");
    let p = &slo["periods"][period];
    if p.is_null() {
        return Verdict {
            allow: false,
            reason: format!(
                "{id}: no {period} period (the SLO's periods are {})",
                keys(&slo["periods"])
            ),
        };
    }
    for (long, short, factor) in PAGE_RULES {
        let (l, s) = (
            slo["burn_rates"][long].as_f64(),
            slo["burn_rates"][short].as_f64(),
        );
        if let (Some(l), Some(s)) = (l, s)
            && l >= factor
            && s >= factor
        {
            return Verdict {
                allow: false,
                reason: format!(
                    "{id}: blocked: page-level burn in progress ({long} burn {l:.1} and {short} burn {s:.1} ≥ {factor})"
                ),
            };
        }
    }
    let coverage = p["coverage"].as_f64().unwrap_or(0.0);
    match p["error_budget_remaining"].as_f64() {
        None => Verdict {
            allow: false,
            reason: format!(
                "{id}: blocked: {period} budget unknown (coverage {:.1}%)",
                coverage * 100.0
            ),
        },
        Some(r) if r < min_remaining => Verdict {
            allow: false,
            reason: format!(
                "{id}: blocked: {period} error budget remaining {:.1}% is below {:.1}%",
                r * 100.0,
                min_remaining * 100.0
            ),
        },
        Some(r) => Verdict {
            allow: true,
            reason: format!(
                "{id}: ok: {period} error budget remaining {:.1}% (minimum {:.1}%), no page-level burn",
                r * 100.0,
                min_remaining * 100.0
            ),
        },
    }
}

fn keys(v: &Value) -> String {
    v.as_object()
        .map(|o| o.keys().cloned().collect::<Vec<_>>().join(", "))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn slo(remaining: f64, b1h: f64, b5m: f64) -> Value {
        json!({"id": "api/availability",
               "periods": {"30d": {"error_budget_remaining": remaining, "coverage": 1.0}},
               "burn_rates": {"5m": b5m, "30m": 0.5, "1h": b1h, "6h": 0.5}})
    }

    #[test]
    fn allows_healthy_blocks_spent_and_burning() {
        assert!(decide(&slo(0.4, 1.0, 1.0), "30d", 0.0).allow);
        assert!(!decide(&slo(-0.1, 1.0, 1.0), "30d", 0.0).allow);
        assert!(!decide(&slo(0.4, 1.0, 1.0), "30d", 0.5).allow);
        let burning = decide(&slo(0.4, 15.0, 20.0), "30d", 0.0);
        assert!(
            !burning.allow && burning.reason.contains("page-level burn"),
            "{}",
            burning.reason
        );
        // A short spike alone (5m only) is not a page.
        assert!(decide(&slo(0.4, 2.0, 50.0), "30d", 0.0).allow);
    }

    #[test]
    fn unknown_budget_or_period_blocks() {
        let mut s = slo(0.4, 1.0, 1.0);
        s["periods"]["30d"]["error_budget_remaining"] = Value::Null;
        assert!(!decide(&s, "30d", 0.0).allow);
        assert!(!decide(&slo(0.4, 1.0, 1.0), "7d", 0.0).allow);
    }
}
