//! Slack incoming-webhook messages (Block Kit), readable in five seconds: what burns, how fast,
//! how much budget is left. Alerts of one tick for one webhook go out as one message.

use super::{Action, Notification, ReceiverProtocol, Sending};
use crate::config::{Receiver, SlackSettings};
use serde_json::{Value, json};
use std::time::Duration;

/// Notifications per message: a header plus two blocks each stays under Slack's 50 blocks.
pub const MAX_PER_MESSAGE: usize = 20;

/// A Slack incoming webhook takes one message a second.
pub const MIN_SPACING: Duration = Duration::from_secs(1);

impl ReceiverProtocol for SlackSettings {
    fn min_spacing(&self) -> Duration {
        MIN_SPACING
    }

    /// The limit is the webhook URL's: two receivers posting to one webhook share one pace.
    fn pace_key(&self, _receiver: &str) -> u64 {
        super::fnv1a(format!("slack\n{}", self.url.expose()).as_bytes())
    }

    /// The alerts of one tick go out as one message.
    fn max_group(&self) -> usize {
        MAX_PER_MESSAGE
    }

    /// Slack's 429 names its `Retry-After`.
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
        if ns.is_empty() {
            return super::nothing_to_send();
        }
        Box::pin(super::http::post(
            client,
            self.url.expose(),
            body(ns),
            &[],
            self.throttled(),
        ))
    }
}

/// Escapes the three characters Slack's mrkdwn reserves.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Cuts to `n` characters (Unicode scalar values), ending in `…` when cut.
fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(n - 1).collect();
        out.push('…');
        out
    }
}

fn line(n: &Notification) -> String {
    let d = &n.details;
    match n.action {
        Action::Resolve => format!("✅ *{}* {} resolved", esc(&n.slo), n.severity.as_str()),
        Action::Trigger => {
            let budgets: Vec<String> = d
                .error_budget_remaining
                .iter()
                .filter_map(|(p, v)| Some(format!("{p} {:.1}%", (*v)? * 100.0)))
                .collect();
            let icon = if d.repeat {
                "🔁 still firing:"
            } else {
                "🔥"
            };
            format!(
                "{icon} *{}* {}: burning at *{:.1}×* ({})\n*Budget left* {}",
                esc(&n.slo),
                n.severity.as_str(),
                d.burn_rate,
                esc(d.rule.as_deref().unwrap_or("?")),
                if budgets.is_empty() {
                    "unknown".to_string()
                } else {
                    budgets.join(", ")
                }
            )
        }
    }
}

/// One message for up to [`MAX_PER_MESSAGE`] notifications of the same tick.
pub fn body(ns: &[Notification]) -> Value {
    let ns = &ns[..ns.len().min(MAX_PER_MESSAGE)];
    let resolved = ns.iter().all(|n| n.action == Action::Resolve);
    let ids = ns
        .iter()
        .map(|n| n.slo.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let text = match ns {
        [one] => one.summary(),
        many if resolved => format!("{} SLO alerts resolved: {ids}", many.len()),
        many => format!("{} SLO alerts: {ids}", many.len()),
    };
    let title = match ns {
        [one] if resolved => format!("Resolved: {}", one.slo),
        [one] => format!("SLO burn: {}", one.slo),
        many if resolved => format!("Resolved: {} SLO alerts", many.len()),
        many => format!("{} SLO alerts", many.len()),
    };
    let mut blocks =
        vec![json!({"type": "header", "text": {"type": "plain_text", "text": cut(&title, 150)}})];
    for n in ns {
        blocks.push(
            json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(&line(n), 3000)}}),
        );
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn",
            "text": cut(&format!("slowburn • severity={} • dedup={}", n.severity.as_str(), esc(&n.dedup_key())), 2000)}]}));
    }
    // The top-level text is the notification's fallback and is parsed as mrkdwn too.
    json!({"text": cut(&esc(&text), 4000), "blocks": blocks})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::policy::Severity;

    fn n(slo: &str, action: Action) -> Notification {
        Notification {
            receiver: "slack".into(),
            slo: slo.into(),
            severity: Severity::Page,
            action,
            created_at: 0,
            attempts: 0,
            next_attempt: 0,
            details: crate::alert::details::AlertDetails {
                rule: Some("1h/5m".into()),
                burn_rate: 16.2,
                error_budget_remaining: [("30d".to_string(), Some(0.5))].into(),
                ..Default::default()
            },
        }
    }

    #[test]
    fn one_alert_reads_in_five_seconds() {
        let b = body(&[n("api/availability", Action::Trigger)]);
        assert!(b["text"].as_str().unwrap().contains("api/availability"));
        assert_eq!(b["blocks"][0]["text"]["text"], "SLO burn: api/availability");
        let section = b["blocks"][1]["text"]["text"].as_str().unwrap();
        assert!(
            section.contains("16.2×") && section.contains("30d 50.0%"),
            "{section}"
        );
    }

    #[test]
    fn a_tick_of_alerts_is_one_message_within_slack_limits() {
        let many: Vec<Notification> = (0..30)
            .map(|i| n(&format!("svc/slo{i}<&>"), Action::Trigger))
            .collect();
        let b = body(&many);
        let blocks = b["blocks"].as_array().unwrap();
        assert!(blocks.len() <= 50);
        assert_eq!(blocks[0]["text"]["text"], "20 SLO alerts");
        assert!(
            b["blocks"][1]["text"]["text"]
                .as_str()
                .unwrap()
                .contains("slo0&lt;&amp;&gt;")
        );
        assert!(body(&[n("a/b", Action::Resolve)])["blocks"][0]["text"]["text"] == "Resolved: a/b");
        // `&`, `<` and `>` are escaped in the top-level text as in the blocks.
        let b = body(&[n("a&b/<c>", Action::Trigger)]);
        let text = b["text"].as_str().unwrap();
        assert!(
            text.contains("a&amp;b/&lt;c&gt;") && !text.contains("<c>"),
            "{text}"
        );
        let both = [n("a/b", Action::Resolve), n("c/d", Action::Resolve)];
        assert_eq!(
            body(&both)["blocks"][0]["text"]["text"],
            "Resolved: 2 SLO alerts"
        );
        assert_eq!(cut(&"x".repeat(200), 150).chars().count(), 150);
    }
}
