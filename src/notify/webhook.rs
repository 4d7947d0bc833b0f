//! The documented JSON body for any other receiver:
//! `{"version": "1", "status": "firing|resolved", "slo", "severity", "summary", "dedup_key",
//! "created_at", "details": {...}}`.

use super::{Action, Notification, ReceiverProtocol, Sending};
use crate::config::{Receiver, WebhookSettings};
use crate::time::rfc3339;
use serde_json::{Value, json};
use std::time::Duration;

impl ReceiverProtocol for WebhookSettings {
    /// Any endpoint: no provider limit slowburn knows of.
    fn min_spacing(&self) -> Duration {
        Duration::ZERO
    }

    fn pace_key(&self, receiver: &str) -> u64 {
        super::own_pace(receiver)
    }

    /// One notification per POST: the documented body holds one.
    fn max_group(&self) -> usize {
        1
    }

    fn throttled(&self) -> Option<Duration> {
        None
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
        Box::pin(super::http::post(
            client,
            &self.url,
            body(n),
            &self.headers,
            self.throttled(),
        ))
    }
}

/// The webhook body for a notification.
pub fn body(n: &Notification) -> Value {
    json!({
        "version": "1",
        "status": match n.action { Action::Trigger => "firing", Action::Resolve => "resolved" },
        "slo": n.slo,
        "severity": n.severity.as_str(),
        "summary": n.summary(),
        "dedup_key": n.dedup_key(),
        "created_at": rfc3339(n.created_at),
        "details": n.details,
    })
}
