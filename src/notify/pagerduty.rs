//! PagerDuty Events API v2 bodies (`POST /v2/enqueue`): trigger and resolve with a stable
//! `dedup_key`, so two slowburn replicas page once.

use super::{Action, Notification, ReceiverProtocol, Sending};
use crate::alert::policy::Severity;
use crate::config::{PagerDutySettings, Receiver};
use serde_json::{Value, json};
use std::time::Duration;

/// PagerDuty's limit on `payload.summary`, in characters.
pub const SUMMARY_LIMIT: usize = 1024;
/// PagerDuty's body limit (512 KB); Alertmanager keeps under 512,000 bytes the same way.
pub const MAX_BODY: usize = 512_000;

/// How long PagerDuty's 429 asks to wait: it sends no `Retry-After` and suggests retries 30 s
/// apart, so a 1-3 s backoff would only hit the limit again.
pub const THROTTLED: Duration = Duration::from_secs(30);

/// PagerDuty's Events API takes 120 events a minute per integration key; slowburn keeps to 100
/// (a margin for clock skew and other senders on the key), one every 600 ms.
pub const MIN_SPACING: Duration = Duration::from_millis(600);

impl ReceiverProtocol for PagerDutySettings {
    fn min_spacing(&self) -> Duration {
        MIN_SPACING
    }

    /// The limit is the integration key's (with its endpoint): two receivers with one key share
    /// one pace.
    fn pace_key(&self, _receiver: &str) -> u64 {
        let key = format!("pagerduty\n{}\n{}", self.url, self.routing_key.expose());
        super::fnv1a(key.as_bytes())
    }

    /// One event per request: the Events API takes no batches.
    fn max_group(&self) -> usize {
        1
    }

    fn throttled(&self) -> Option<Duration> {
        Some(THROTTLED)
    }

    fn send<'a>(
        &'a self,
        client: &'a reqwest::Client,
        _receiver: &'a Receiver,
        ns: &'a [Notification],
        _now: i64,
    ) -> Sending<'a> {
        let Some(n) = ns.first() else {
            return super::nothing_to_send();
        };
        // The key leaves the process here, in the event body, and nowhere else.
        let event = body(self.routing_key.expose(), n);
        Box::pin(super::http::post(
            client,
            &self.url,
            event,
            &[],
            self.throttled(),
        ))
    }
}

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
