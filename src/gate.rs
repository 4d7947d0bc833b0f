//! The deploy gate: may this deploy go out, given the SLO's error budget?
//!
//! Pure decision over the typed [`SloStatus`] that both `report` and the daemon's API produce, so
//! the gate behaves the same with or without a running daemon. "A page-level burn in progress"
//! is the SLO's own page rules (its policy, with its `min_events`) holding now, or its page alert
//! firing where something tracks alerts (the daemon): never a built-in copy of the default rules.

use crate::alert::policy::Severity;
use crate::status::SloStatus;

/// The verdict and the one line that explains it.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Whether the deploy may go.
    pub allow: bool,
    /// One line for the CI log.
    pub reason: String,
}

/// Decides for one SLO: blocked when the period is not one of the SLO's, when its remaining
/// budget is unknown or below `min_remaining`, when one of its page rules holds, or when its page
/// alert fires.
pub fn decide(status: &SloStatus, period: &str, min_remaining: f64) -> Verdict {
    let id = &status.id;
    let block = |reason: String| Verdict {
        allow: false,
        reason,
    };
    let Some(p) = status.periods.get(period) else {
        let known: Vec<&str> = status.periods.keys().map(String::as_str).collect();
        return block(format!(
            "{id}: no {period} period (the SLO's periods are {})",
            known.join(", ")
        ));
    };
    if let Some(r) = status
        .rules
        .iter()
        .find(|r| r.severity == Severity::Page && r.holds)
    {
        let burn = |b: Option<f64>| b.map_or("-".into(), |x| format!("{x:.1}"));
        return block(format!(
            "{id}: blocked: page-level burn in progress: page rule {} (factor {}): {} burn {} and {} burn {} >= {}",
            r.name,
            r.factor,
            r.long,
            burn(r.long_burn_rate),
            r.short,
            burn(r.short_burn_rate),
            r.factor
        ));
    }
    if let Some(a) = &status.alerts
        && a.page.firing
    {
        return block(format!(
            "{id}: blocked: page-level burn in progress: the page alert is firing (rule {}, since {})",
            a.page.rule.as_deref().unwrap_or("?"),
            a.page.fired_at.as_deref().unwrap_or("?")
        ));
    }
    match p.error_budget_remaining {
        None => block(format!(
            "{id}: blocked: {period} budget unknown (coverage {:.1}%)",
            p.coverage * 100.0
        )),
        Some(r) if r < min_remaining => block(format!(
            "{id}: blocked: {period} error budget remaining {:.1}% is below {:.1}%",
            r * 100.0,
            min_remaining * 100.0
        )),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{AlertStatus, Alerts, Exhaustion, PeriodStatus, RuleStatus};
    use std::collections::BTreeMap;

    /// A page rule 1h/5m at `factor` over burns `b1h`/`b5m`, with `events` of `min_events`,
    /// holding by the alerting test.
    fn rule(factor: f64, b1h: f64, b5m: f64, events: f64, min_events: f64) -> RuleStatus {
        RuleStatus {
            severity: Severity::Page,
            name: "1h/5m".into(),
            long: "1h".into(),
            short: "5m".into(),
            factor,
            long_burn_rate: Some(b1h),
            short_burn_rate: Some(b5m),
            long_events: events,
            min_events,
            holds: events >= min_events && b1h >= factor && b5m >= factor,
        }
    }

    fn slo(remaining: Option<f64>, rules: Vec<RuleStatus>) -> SloStatus {
        let period = PeriodStatus {
            good: 990.0,
            total: 1000.0,
            sli: Some(0.99),
            error_budget_remaining: remaining,
            coverage: 1.0,
            excluded_buckets: 0,
            time_to_exhaustion_seconds: Exhaustion { h1: None, h6: None },
            from: None,
            to: None,
        };
        SloStatus {
            id: "api/availability".into(),
            service: "api".into(),
            name: "availability".into(),
            group: None,
            objective: 0.99,
            periods: BTreeMap::from([("30d".to_string(), period)]),
            burn_rates: BTreeMap::new(),
            coverage: BTreeMap::new(),
            rules,
            alerts: None,
            sla: None,
            errors: Vec::new(),
        }
    }

    fn quiet_alert() -> AlertStatus {
        AlertStatus {
            firing: false,
            rule: None,
            fired_at: None,
            resolved_at: None,
            peak_burn_rate: 0.0,
            notified: Vec::new(),
        }
    }

    #[test]
    fn allows_healthy_blocks_spent_and_unknown() {
        assert!(decide(&slo(Some(0.4), vec![]), "30d", 0.0).allow);
        assert!(!decide(&slo(Some(-0.1), vec![]), "30d", 0.0).allow);
        assert!(!decide(&slo(Some(0.4), vec![]), "30d", 0.5).allow);
        assert!(!decide(&slo(None, vec![]), "30d", 0.0).allow);
        let v = decide(&slo(Some(0.4), vec![]), "7d", 0.0);
        assert!(
            !v.allow && v.reason.contains("periods are 30d"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn the_slos_own_page_rules_decide_a_page_level_burn() {
        // Factor 3 at 20x: blocked, naming the rule.
        let v = decide(
            &slo(Some(0.4), vec![rule(3.0, 20.0, 20.0, 1e5, 0.0)]),
            "30d",
            0.0,
        );
        assert!(!v.allow, "{}", v.reason);
        assert!(
            v.reason
                .contains("page rule 1h/5m (factor 3): 1h burn 20.0 and 5m burn 20.0 >= 3"),
            "{}",
            v.reason
        );
        // Factor 30 at 20x: no page, so the deploy may go (the default's 14.4 would have blocked).
        assert!(
            decide(
                &slo(Some(0.4), vec![rule(30.0, 20.0, 20.0, 1e5, 0.0)]),
                "30d",
                0.0
            )
            .allow
        );
        // Too few events for the policy's min_events: the rule does not hold.
        assert!(
            decide(
                &slo(Some(0.4), vec![rule(3.0, 20.0, 20.0, 10.0, 100.0)]),
                "30d",
                0.0
            )
            .allow
        );
        // A ticket rule holding is not a page.
        let mut ticket = rule(3.0, 20.0, 20.0, 1e5, 0.0);
        ticket.severity = Severity::Ticket;
        assert!(decide(&slo(Some(0.4), vec![ticket]), "30d", 0.0).allow);
        // A short spike alone (5m only) is not a page.
        assert!(
            decide(
                &slo(Some(0.4), vec![rule(14.4, 2.0, 50.0, 1e5, 0.0)]),
                "30d",
                0.0
            )
            .allow
        );
    }

    #[test]
    fn a_firing_page_alert_blocks() {
        let mut s = slo(Some(0.4), vec![rule(14.4, 2.0, 2.0, 1e5, 0.0)]);
        s.alerts = Some(Alerts {
            page: quiet_alert(),
            ticket: quiet_alert(),
        });
        assert!(decide(&s, "30d", 0.0).allow);
        if let Some(a) = s.alerts.as_mut() {
            a.page.firing = true;
            a.page.rule = Some("6h/30m".into());
        }
        let v = decide(&s, "30d", 0.0);
        assert!(
            !v.allow && v.reason.contains("page alert is firing (rule 6h/30m"),
            "{}",
            v.reason
        );
    }
}
