//! The documented JSON body for any other receiver:
//! `{"version": "1", "status": "firing|resolved", "slo", "severity", "summary", "dedup_key",
//! "created_at", "details": {...}}`.

use super::{Action, Notification};
use crate::time::rfc3339;
use serde_json::{Value, json};

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
