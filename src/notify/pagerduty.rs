//! PagerDuty Events API v2 bodies (`POST /v2/enqueue`): trigger and resolve with a stable
//! `dedup_key`, so two slowburn replicas page once.

use super::{Action, Notification};
use crate::alert::policy::Severity;
use serde_json::{Value, json};

/// PagerDuty's limit on `payload.summary`, in characters.
pub const SUMMARY_LIMIT: usize = 1024;
/// PagerDuty's body limit (512 KB); Alertmanager keeps under 512,000 bytes the same way.
pub const MAX_BODY: usize = 512_000;

/// The event body for a notification.
pub fn body(routing_key: &str, n: &Notification) -> Value {
    match n.action {
        Action::Resolve => json!({
            "routing_key": routing_key,
            "event_action": "resolve",
            "dedup_key": n.dedup_key(),
        }),
        Action::Trigger => {
            let summary: String = n.summary().chars().take(SUMMARY_LIMIT).collect();
            let mut v = json!({
                "routing_key": routing_key,
                "event_action": "trigger",
                "dedup_key": n.dedup_key(),
                "payload": {
                    "summary": summary,
                    "source": "slowburn",
                    "severity": match n.severity { Severity::Page => "critical", Severity::Ticket => "warning" },
                    "component": n.details.service,
                    "class": "slo-burn-rate",
                    "custom_details": n.details,
                },
                "client": "slowburn",
            });
            // PagerDuty takes https links only; another dashboard URL stays in custom_details.
            if let Some(link) = n
                .details
                .dashboard
                .as_ref()
                .filter(|l| l.starts_with("https://"))
            {
                v["links"] = json!([{"href": link, "text": "SLO dashboard"}]);
            }
            // Long labels or descriptions must not cost the page: over the limit, the details go.
            if v.to_string().len() > MAX_BODY {
                v["payload"]["custom_details"] = json!({
                    "note": "details dropped: the event was over PagerDuty's 512 KB limit",
                });
            }
            v
        }
    }
}
