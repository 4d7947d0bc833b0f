//! Email over SMTP (lettre on rustls): a multipart text + HTML message per notification.
//!
//! Implicit TLS (465), STARTTLS required (587) or plain (local relays); optional authentication.
//! A transient SMTP reply (4xx) or a connection failure is retried; a permanent one (5xx, such as
//! an unknown recipient or bad credentials) is a rejection that needs a config fix.

use super::{Action, Delivery, Notification, ReceiverProtocol, Sending};
use crate::config::{EmailSettings, Receiver, SmtpTls};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// How long one SMTP conversation may take.
pub const TIMEOUT: Duration = Duration::from_secs(15);

impl ReceiverProtocol for EmailSettings {
    /// A relay has no rate limit slowburn keeps to.
    fn min_spacing(&self) -> Duration {
        Duration::ZERO
    }

    fn pace_key(&self, receiver: &str) -> u64 {
        super::own_pace(receiver)
    }

    /// One message per notification: its subject names one alert.
    fn max_group(&self) -> usize {
        1
    }

    /// SMTP has no 429: a transient reply is retried with the backoff.
    fn throttled(&self) -> Option<Duration> {
        None
    }

    fn send<'a>(
        &'a self,
        _client: &'a reqwest::Client,
        _receiver: &'a Receiver,
        ns: &'a [Notification],
        _now: i64,
    ) -> Sending<'a> {
        match ns.first() {
            Some(n) => Box::pin(send(self, n)),
            None => super::nothing_to_send(),
        }
    }
}

/// Escapes text for HTML.
fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The subject line: state, severity, SLO, and how fast it burns.
pub fn subject(n: &Notification) -> String {
    let test = if n.details.test { "[TEST]" } else { "" };
    match n.action {
        Action::Resolve => format!("{test}[RESOLVED][{}] {}", n.severity.as_str(), n.slo),
        Action::Trigger => format!(
            "{test}[FIRING][{}] {} burning at {:.1}x",
            n.severity.as_str(),
            n.slo,
            n.details.burn_rate
        ),
    }
}

/// The facts a reader needs, as (label, value) rows shared by the text and HTML parts.
fn rows(n: &Notification) -> Vec<(String, String)> {
    let d = &n.details;
    let mut rows = vec![
        ("SLO".to_string(), n.slo.clone()),
        ("Severity".to_string(), n.severity.as_str().to_string()),
    ];
    if let Some(o) = d.objective {
        rows.push(("Objective".into(), format!("{:.4}%", o * 100.0)));
    }
    if n.action == Action::Trigger {
        rows.push(("Rule".into(), d.rule.as_deref().unwrap_or("?").to_string()));
        if !d.burn_rates.is_empty() {
            let list: Vec<String> = d
                .burn_rates
                .iter()
                .filter_map(|(w, v)| Some(format!("{w} {:.2}x", (*v)?)))
                .collect();
            rows.push(("Burn rates".into(), list.join(", ")));
        }
        if !d.error_budget_remaining.is_empty() {
            let list: Vec<String> = d
                .error_budget_remaining
                .iter()
                .filter_map(|(p, v)| Some(format!("{p} {:.1}%", (*v)? * 100.0)))
                .collect();
            rows.push(("Budget left".into(), list.join(", ")));
        }
    }
    if let Some(reason) = &d.reason {
        rows.push(("Reason".into(), reason.to_string()));
    }
    if let Some(link) = &d.dashboard {
        rows.push(("Dashboard".into(), link.to_string()));
    }
    rows.push(("Dedup key".into(), n.dedup_key()));
    rows
}

/// The message, or why it cannot be built (a bad address: fix the config).
pub fn message(settings: &EmailSettings, n: &Notification) -> Result<Message, String> {
    let from: Mailbox = settings.from.parse().map_err(|e| format!("from: {e}"))?;
    // Gmail and others bounce mail without a Message-ID (550-5.7.1). Stable per notification,
    // so a retried send is recognisably the same mail.
    let id = format!(
        "<slowburn.{:016x}.{}@{}>",
        super::fnv1a(format!("{}|{:?}", n.dedup_key(), n.action).as_bytes()),
        n.created_at,
        from.email.domain()
    );
    let mut b = Message::builder()
        .from(from)
        .subject(subject(n))
        .message_id(Some(id));
    for to in &settings.to {
        b = b.to(to.parse().map_err(|e| format!("to `{to}`: {e}"))?);
    }
    let rows = rows(n);
    let text = format!(
        "{}\n\n{}\n\n-- slowburn\n",
        n.summary(),
        rows.iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let html = format!(
        "<html><body><p><b>{}</b></p><table>{}</table><p style=\"color:#888\">slowburn</p></body></html>",
        html_escape(&n.summary()),
        rows.iter()
            .map(|(k, v)| format!(
                "<tr><th align=\"left\">{}</th><td>{}</td></tr>",
                html_escape(k),
                html_escape(v)
            ))
            .collect::<String>()
    );
    b.multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| format!("cannot build the message: {e}"))
}

/// Sends one notification by email.
pub async fn send(settings: &EmailSettings, n: &Notification) -> Delivery {
    let msg = match message(settings, n) {
        Ok(m) => m,
        Err(e) => return Delivery::Rejected(e),
    };
    let builder = match settings.tls {
        SmtpTls::Implicit => AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host),
        SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host),
        SmtpTls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            &settings.host,
        )),
    };
    let mut builder = match builder {
        Ok(b) => b.port(settings.port).timeout(Some(TIMEOUT)),
        Err(e) => return Delivery::Rejected(format!("SMTP setup: {e}")),
    };
    if let Some((user, pass)) = &settings.credentials {
        // The password leaves the process here, in the SMTP login, and nowhere else.
        builder = builder.credentials(Credentials::new(user.clone(), pass.expose().to_string()));
    }
    let transport = builder.build();
    let bytes = msg.formatted();
    let from = msg.envelope().from().cloned();
    // One transaction per recipient: a server that refuses one RCPT aborts the whole
    // transaction, and one unknown address must not keep the page from everyone else.
    let (mut delivered, mut refused, mut transient) = (0, Vec::new(), false);
    for to in msg.envelope().to() {
        let envelope = match lettre::address::Envelope::new(from.clone(), vec![to.clone()]) {
            Ok(e) => e,
            Err(e) => {
                refused.push(format!("{to}: {e}"));
                continue;
            }
        };
        match transport.send_raw(&envelope, &bytes).await {
            Ok(_) => delivered += 1,
            Err(e) if e.is_permanent() => refused.push(format!("{to}: {e}")),
            Err(_) => transient = true,
        }
    }
    if delivered > 0 {
        if !refused.is_empty() || transient {
            tracing::warn!(refused = %refused.join("; "), transient, "email reached some recipients only");
        }
        Delivery::Delivered
    } else if transient {
        Delivery::RetryLater(None)
    } else {
        Delivery::Rejected(format!("SMTP: {}", refused.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::policy::Severity;

    #[test]
    fn the_message_is_multipart_with_escaped_html() {
        let settings = EmailSettings {
            host: "localhost".into(),
            port: 25,
            tls: SmtpTls::None,
            credentials: None,
            from: "slowburn <slowburn@example.org>".into(),
            to: vec!["oncall@example.org".into()],
        };
        let n = Notification {
            receiver: "mail".into(),
            slo: "api/<avail>".into(),
            severity: Severity::Page,
            action: Action::Trigger,
            created_at: 0,
            attempts: 0,
            next_attempt: 0,
            details: crate::alert::details::AlertDetails {
                rule: Some("1h/5m".into()),
                burn_rate: 16.0,
                burn_rates: [("1h".to_string(), Some(16.0))].into(),
                error_budget_remaining: [("30d".to_string(), Some(0.5))].into(),
                ..Default::default()
            },
        };
        let raw = String::from_utf8(message(&settings, &n).unwrap().formatted()).unwrap();
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(raw.contains("text/plain") && raw.contains("text/html"));
        assert!(raw.contains("api/&lt;avail&gt;"), "{raw}");
        assert!(raw.contains("Subject: [FIRING][page] api/<avail> burning at 16.0x"));
        let id = raw
            .lines()
            .find_map(|l| l.strip_prefix("Message-ID: "))
            .expect("a Message-ID header");
        assert!(
            id.starts_with("<slowburn.") && id.ends_with("@example.org>"),
            "{id}"
        );
        let again = String::from_utf8(message(&settings, &n).unwrap().formatted()).unwrap();
        assert!(again.contains(id), "stable across retries");
        let bad = EmailSettings {
            to: vec!["not an address".into()],
            ..settings
        };
        assert!(message(&bad, &n).is_err());
    }
}
