//! Alertmanager's `POST /api/v2/alerts`, for teams that already route through Alertmanager.
//!
//! Alertmanager forgets an alert whose `endsAt` passes, so a firing alert is re-posted every
//! `repeat_interval` (default 1m) with `endsAt` a few intervals ahead; a resolve posts the same
//! labels with `endsAt` at the resolve time. The label set is the alert's identity.

use super::{Action, Notification, ReceiverProtocol, Sending};
use crate::config::{AlertmanagerSettings, Receiver};
use crate::time::rfc3339;
use serde_json::{Map, Value, json};
use std::time::Duration;

impl ReceiverProtocol for AlertmanagerSettings {
    /// Alertmanager has no rate limit to keep to.
    fn min_spacing(&self) -> Duration {
        Duration::ZERO
    }

    fn pace_key(&self, receiver: &str) -> u64 {
        super::own_pace(receiver)
    }

    /// One alert per POST, so each keeps its own retry and order.
    fn max_group(&self) -> usize {
        1
    }

    fn throttled(&self) -> Option<Duration> {
        None
    }

    fn send<'a>(
        &'a self,
        client: &'a reqwest::Client,
        receiver: &'a Receiver,
        ns: &'a [Notification],
        now: i64,
    ) -> Sending<'a> {
        let Some(n) = ns.first() else {
            return super::nothing_to_send();
        };
        // Alertmanager drops an alert whose endsAt passes: hold it for three re-posts.
        let hold = receiver
            .repeat_interval
            .map_or(300, |r| (3 * r.as_secs() as i64).max(300));
        Box::pin(super::http::post(
            client,
            &self.url,
            body(n, now, hold),
            &self.headers,
            self.throttled(),
        ))
    }
}

/// The alert name: one for pages, one for tickets, so routes can tell them apart.
pub fn alertname(n: &Notification) -> &'static str {
    match n.severity {
        crate::alert::policy::Severity::Page => "SLOErrorBudgetBurnPage",
        crate::alert::policy::Severity::Ticket => "SLOErrorBudgetBurnTicket",
    }
}

/// The body: a JSON array with one alert. `now` is the send time and `hold` how long the alert
/// stays firing in Alertmanager without another post.
pub fn body(n: &Notification, now: i64, hold: i64) -> Value {
    let d = &n.details;
    let mut labels = Map::new();
    for (k, v) in &d.labels {
        // `team-name` is refused by a classic Alertmanager: sent as `team_name`.
        labels.insert(crate::names::label_name(k), json!(v));
    }
    labels.insert("alertname".into(), json!(alertname(n)));
    labels.insert("slo".into(), json!(n.slo));
    labels.insert("severity".into(), json!(n.severity.as_str()));
    labels.insert("source".into(), json!("slowburn"));
    if !d.service.is_empty() {
        labels.insert("service".into(), json!(d.service));
    }
    let mut annotations = Map::new();
    annotations.insert("summary".into(), json!(n.summary()));
    if let Some(desc) = &d.description {
        annotations.insert("description".into(), json!(desc));
    }
    if let Some(rule) = &d.rule {
        annotations.insert("rule".into(), json!(rule));
        // As a JSON number prints it (`16.0`), the spelling Alertmanager templates saw before.
        annotations.insert("burn_rate".into(), json!(json!(d.burn_rate).to_string()));
    }
    if let Some(link) = &d.dashboard {
        annotations.insert("dashboard".into(), json!(link));
    }
    let starts = d.fired_at.clone().unwrap_or_else(|| rfc3339(n.created_at));
    let ends = match n.action {
        Action::Trigger => rfc3339(now + hold),
        Action::Resolve => rfc3339(n.created_at),
    };
    let mut alert = json!({
        "labels": labels,
        "annotations": annotations,
        "startsAt": starts,
        "endsAt": ends,
    });
    if let Some(link) = &d.dashboard {
        alert["generatorURL"] = json!(link);
    }
    json!([alert])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::details::AlertDetails;
    use crate::alert::policy::Severity;

    #[test]
    fn firing_holds_ahead_and_resolve_ends_at_the_resolve_time() {
        let mut n = Notification {
            receiver: "am".into(),
            slo: "api/availability".into(),
            severity: Severity::Page,
            action: Action::Trigger,
            created_at: 1_000_000,
            attempts: 0,
            next_attempt: 0,
            details: AlertDetails {
                service: "api".into(),
                labels: [
                    ("team".to_string(), "payments".to_string()),
                    ("slo".to_string(), "spoofed".to_string()),
                    ("app.kubernetes.io/part-of".to_string(), "shop".to_string()),
                ]
                .into(),
                fired_at: Some("1970-01-12T13:46:40Z".into()),
                rule: Some("1h/5m".into()),
                burn_rate: 14.5,
                ..Default::default()
            },
        };
        let b = body(&n, 1_000_060, 300);
        let a = &b[0];
        assert_eq!(a["labels"]["alertname"], "SLOErrorBudgetBurnPage");
        assert_eq!(a["labels"]["team"], "payments");
        assert_eq!(a["labels"]["app_kubernetes_io_part_of"], "shop");
        assert_eq!(a["labels"]["slo"], "api/availability");
        assert_eq!(a["startsAt"], "1970-01-12T13:46:40Z");
        assert_eq!(a["endsAt"], rfc3339(1_000_360));
        assert_eq!(a["annotations"]["rule"], "1h/5m");
        n.action = Action::Resolve;
        n.created_at = 1_000_600;
        assert_eq!(body(&n, 1_000_700, 300)[0]["endsAt"], rfc3339(1_000_600));
    }
}
