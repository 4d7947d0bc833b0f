//! `receivers:`: PagerDuty, Slack, webhooks, email and Alertmanager, with their secrets and routes.

use super::*;
use crate::secret::Secret;

/// PagerDuty's Events API v2 endpoint.
pub const PAGERDUTY_URL: &str = "https://events.pagerduty.com/v2/enqueue";

pub(super) fn http_url(cx: &mut Ctx, s: &SStr, path: &str) -> Option<String> {
    let url = cx.string(s, path)?;
    match reqwest::Url::parse(&url) {
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => Some(url),
        _ => {
            cx.err(&s.referenced, path, "not an http(s) URL");
            None
        }
    }
}

/// An HTTP field name (RFC 9110 `token`): what a request can carry.
fn header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Extra headers of a source or receiver, checked as `run` would build them: names that are
/// HTTP tokens, given once (names ignore case, so a second spelling would replace the first),
/// and values on one line. Returned in name order.
pub(super) fn header_values(cx: &mut Ctx, raw: &Keyed<SStr>, path: &str) -> Vec<(String, String)> {
    let mut seen: Vec<&str> = Vec::new();
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in &raw.0 {
        let name = k.value.as_str();
        let hpath = format!("{path}.{name}");
        if !header_name(name) {
            cx.err(
                &k.referenced,
                &hpath,
                format!(
                    "`{name}` is not a header name: write letters, digits and `-` (or one of !#$%&'*+.^_|~), without spaces or `:`"
                ),
            );
            continue;
        }
        if let Some(first) = seen.iter().find(|s| s.eq_ignore_ascii_case(name)) {
            cx.err(
                &k.referenced,
                &hpath,
                format!(
                    "header `{name}` is given twice (also as `{first}`): header names ignore case, so one would replace the other; keep one"
                ),
            );
            continue;
        }
        seen.push(name);
        if let Some(value) = cx.header_text(v, &hpath) {
            out.push((name.to_string(), value));
        }
    }
    out.sort();
    out
}

/// A mailbox as lettre parses it (`Name <a@b>` or `a@b`).
pub(super) fn mailbox(cx: &mut Ctx, s: &SStr, path: &str) -> Option<String> {
    let text = cx.string(s, path)?;
    match text.parse::<lettre::message::Mailbox>() {
        Ok(_) => Some(text),
        Err(e) => {
            cx.err(
                &s.referenced,
                path,
                format!("`{text}` is not an email address ({e}); write `oncall@example.org` or `On-call <oncall@example.org>`"),
            );
            None
        }
    }
}

pub(super) fn email(cx: &mut Ctx, e: &RawEmail, path: &str) -> Option<EmailSettings> {
    let host = cx.string(&e.host, &format!("{path}.host"));
    let tls = match e.tls.as_ref().map(|t| (t, t.value.as_str())) {
        None | Some((_, "starttls")) => Some(SmtpTls::StartTls),
        Some((_, "implicit")) => Some(SmtpTls::Implicit),
        Some((_, "none")) => Some(SmtpTls::None),
        Some((t, other)) => {
            cx.err(
                &t.referenced,
                format!("{path}.tls"),
                format!("`{other}`: use `starttls` (port 587), `implicit` (port 465) or `none` (local relays)"),
            );
            None
        }
    };
    let port = match (&e.port, tls) {
        (Some(p), _) => Some(p.value),
        (None, Some(SmtpTls::Implicit)) => Some(465),
        (None, Some(SmtpTls::StartTls)) => Some(587),
        (None, _) => Some(25),
    };
    let password = e
        .password
        .as_ref()
        .and_then(|p| cx.header_text(p, &format!("{path}.password")));
    let username = e
        .username
        .as_ref()
        .and_then(|u| cx.header_text(u, &format!("{path}.username")));
    let credentials = match (username, password) {
        (Some(u), Some(p)) => Some((u, Secret::from(p))),
        (None, None) => None,
        _ => {
            cx.err(
                &e.host.referenced,
                path.to_string(),
                "SMTP authentication needs both `username` and `password`",
            );
            return None;
        }
    };
    let from = mailbox(cx, &e.from, &format!("{path}.from"));
    let mut to = Vec::new();
    if e.to.value.is_empty() {
        cx.err(
            &e.to.referenced,
            format!("{path}.to"),
            "needs at least one recipient",
        );
    }
    for (i, t) in e.to.value.iter().enumerate() {
        to.push(mailbox(cx, t, &format!("{path}.to[{i}]"))?);
    }
    if tls == Some(SmtpTls::None) && credentials.is_some() {
        cx.err(
            &e.host.referenced,
            format!("{path}.tls"),
            "refusing to send an SMTP password without TLS; use `tls: starttls` or `tls: implicit`",
        );
        return None;
    }
    Some(EmailSettings {
        host: host?,
        port: port?,
        tls: tls?,
        credentials,
        from: from?,
        to,
    })
}

/// Header values as secrets: a receiver's extra headers often carry a token.
fn secret_values(headers: Vec<(String, impl Into<Secret>)>) -> Vec<(String, Secret)> {
    headers.into_iter().map(|(k, v)| (k, v.into())).collect()
}

/// How often a still-firing alert is sent again when `repeat_interval` is not given: chat and
/// mail remind every 4 hours, Alertmanager needs a re-post every minute (it resolves an alert
/// whose `endsAt` passes), and a pager or a webhook is told once.
fn default_repeat_interval(kind: &ReceiverKind) -> Option<Dur> {
    match kind {
        ReceiverKind::Slack(_) | ReceiverKind::Email(_) => Some(Dur::from_secs(4 * 3600)),
        ReceiverKind::Alertmanager(_) => Some(Dur::from_secs(60)),
        ReceiverKind::PagerDuty(_) | ReceiverKind::Webhook(_) => None,
    }
}

/// Whether a kind needs firing alerts posted again: Alertmanager resolves an alert whose
/// `endsAt` passes, so `repeat_interval: never` would resolve every alert it is sent.
fn must_repeat(kind: &ReceiverKind) -> bool {
    match kind {
        ReceiverKind::Alertmanager(_) => true,
        ReceiverKind::PagerDuty(_)
        | ReceiverKind::Slack(_)
        | ReceiverKind::Webhook(_)
        | ReceiverKind::Email(_) => false,
    }
}

/// How a receiver delivers: exactly one of the kinds, with its URL and secrets checked.
fn receiver_kind(cx: &mut Ctx, r: &Spanned<RawReceiver>, path: &str) -> Option<ReceiverKind> {
    let v = &r.value;
    let kinds = [
        v.pagerduty.is_some(),
        v.webhook.is_some(),
        v.slack.is_some(),
        v.email.is_some(),
        v.alertmanager.is_some(),
    ];
    if kinds.iter().filter(|k| **k).count() != 1 {
        cx.err(
            &r.referenced,
            path,
            "needs exactly one of `pagerduty`, `slack`, `email`, `alertmanager` or `webhook`",
        );
        None
    } else if let Some(sl) = &v.slack {
        http_url(cx, &sl.webhook_url, &format!("{path}.slack.webhook_url")).map(|url| {
            ReceiverKind::Slack(SlackSettings {
                url: Secret::from(url),
            })
        })
    } else if let Some(pd) = &v.pagerduty {
        let key = cx.string(&pd.routing_key, &format!("{path}.pagerduty.routing_key"));
        if let Some(k) = &key
            && (k.len() != 32 || !k.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            cx.err(
                &pd.routing_key.referenced,
                format!("{path}.pagerduty.routing_key"),
                format!(
                    "an Events API v2 integration key is 32 letters and digits, got {} characters; copy it from the service's Integrations tab",
                    k.chars().count()
                ),
            );
        }
        let url = match &pd.url {
            Some(u) => http_url(cx, u, &format!("{path}.pagerduty.url")),
            None => Some(PAGERDUTY_URL.to_string()),
        };
        match (key, url) {
            (Some(key), Some(url)) => Some(ReceiverKind::PagerDuty(PagerDutySettings {
                routing_key: Secret::from(key),
                url,
            })),
            _ => None,
        }
    } else if let Some(w) = &v.webhook {
        let url = http_url(cx, &w.url, &format!("{path}.webhook.url"));
        let headers = secret_values(header_values(
            cx,
            &w.headers,
            &format!("{path}.webhook.headers"),
        ));
        url.map(|url| ReceiverKind::Webhook(WebhookSettings { url, headers }))
    } else if let Some(am) = &v.alertmanager {
        let url = http_url(cx, &am.url, &format!("{path}.alertmanager.url"));
        let headers = secret_values(header_values(
            cx,
            &am.headers,
            &format!("{path}.alertmanager.headers"),
        ));
        url.map(|url| {
            ReceiverKind::Alertmanager(AlertmanagerSettings {
                url: format!("{}/api/v2/alerts", url.trim_end_matches('/')),
                headers,
            })
        })
    } else if let Some(e) = &v.email {
        email(cx, e, &format!("{path}.email")).map(ReceiverKind::Email)
    } else {
        None
    }
}

/// Every receiver, with unique names, its severities, repeat interval and give-up time.
pub(super) fn receivers(cx: &mut Ctx, raw: &[Spanned<RawReceiver>]) -> Vec<Receiver> {
    let mut out: Vec<Receiver> = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let path = format!("receivers[{i}]");
        let v = &r.value;
        if out.iter().any(|o| o.name == v.name.value) {
            cx.err(
                &v.name.referenced,
                format!("{path}.name"),
                format!("receiver `{}` is defined twice", v.name.value),
            );
            continue;
        }
        let kind = receiver_kind(cx, r, &path);
        let mut severities = vec![Severity::Page, Severity::Ticket];
        if let Some(list) = &v.severities {
            severities.clear();
            for sv in &list.value {
                match sv.value.as_str() {
                    "page" => severities.push(Severity::Page),
                    "ticket" => severities.push(Severity::Ticket),
                    other => cx.err(
                        &sv.referenced,
                        format!("{path}.severities"),
                        format!("`{other}`: use `page` or `ticket`"),
                    ),
                }
            }
        }
        let give_up_after = match &v.give_up_after {
            Some(g) => cx.dur(g, &format!("{path}.give_up_after")),
            None => Some(Dur::from_secs(86400)),
        };
        let repeat_interval = match &v.repeat_interval {
            Some(d)
                if (d.value == "never" || d.value == "0")
                    && kind.as_ref().is_some_and(must_repeat) =>
            {
                cx.err(
                    &d.referenced,
                    format!("{path}.repeat_interval"),
                    "Alertmanager resolves an alert that is not posted again before its endsAt, so slowburn re-posts firing alerts; give an interval such as 1m (the default), not `never`",
                );
                None
            }
            Some(d) if d.value == "never" || d.value == "0" => Some(None),
            Some(d) => cx.dur(d, &format!("{path}.repeat_interval")).map(Some),
            None => Some(kind.as_ref().and_then(default_repeat_interval)),
        };
        if let (Some(kind), Some(give_up_after), Some(repeat_interval)) =
            (kind, give_up_after, repeat_interval)
        {
            out.push(Receiver {
                name: v.name.value.clone(),
                kind,
                severities,
                labels: v.labels.clone(),
                give_up_after,
                repeat_interval,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::errors_of;

    /// Every secret a config can hold: the receivers', Grafana's, and the sources' headers and
    /// passwords. Each is unique text, so any of them in a `Debug` is found.
    const SECRETS: [&str; 11] = [
        "prom-header-secret",
        "loki-header-secret",
        "loki-password-secret",
        "glsa_grafana_token_secret",
        "grafana-password-secret",
        "0123456789abcdefpdsecretkey12345",
        "slackwebhooksecret",
        "webhook-header-secret",
        "am-header-secret",
        "smtp-password-secret",
        "slack-path-secret",
    ];

    fn config_with_secrets(grafana_auth: &str) -> crate::config::Config {
        let text = format!(
            r#"prometheus:
  url: http://prom:9090
  headers: {{Authorization: "Bearer prom-header-secret"}}
loki:
  url: http://loki:3100
  headers: {{X-Token: loki-header-secret}}
  username: loki-user
  password: loki-password-secret
grafana:
  url: http://grafana:3000
  {grafana_auth}
receivers:
  - name: pd
    pagerduty: {{routing_key: 0123456789abcdefpdsecretkey12345}}
  - name: chat
    slack: {{webhook_url: "https://hooks.slack.com/services/slack-path-secret/slackwebhooksecret"}}
  - name: hook
    webhook:
      url: http://hook.example/
      headers: {{Authorization: "Bearer webhook-header-secret"}}
  - name: am
    alertmanager:
      url: http://am:9093
      headers: {{X-Scope-OrgID: am-header-secret}}
  - name: mail
    email: {{host: smtp.example.org, from: "a@example.org", to: ["b@example.org"], username: mailer, password: smtp-password-secret}}
slos:
  - service: api
    name: avail
    objective: 99.9
    sli: {{ratio: {{errors: e_total, total: t_total}}}}
"#
        );
        match crate::config::parse_str(&text, "t.yaml", &|_| None) {
            Ok(c) => c,
            Err(e) => panic!("{e:?}"),
        }
    }

    #[test]
    fn no_secret_is_in_a_configs_debug() {
        // Grafana takes a token or a password, not both: one config each.
        for auth in [
            "token: glsa_grafana_token_secret",
            "username: admin\n  password: grafana-password-secret",
        ] {
            let cfg = config_with_secrets(auth);
            assert_eq!(cfg.receivers.len(), 5);
            let shown = format!("{cfg:?}");
            for secret in SECRETS {
                assert!(!shown.contains(secret), "{secret} is in {shown}");
            }
            assert!(shown.contains(crate::secret::REDACTED), "{shown}");
        }
    }

    #[test]
    fn headers_are_checked_as_a_request_carries_them() {
        let e = errors_of(
            "receivers:\n  - name: hook\n    webhook:\n      url: http://h\n      headers:\n        Bad Name: x\n        X-Ok: \"a\\rb\"\n        x-ok: y\n        X-Fine: \"tab\\tok\"\n",
        );
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(
            e[0].starts_with(
                "t.yaml:6:9: receivers[0].webhook.headers.Bad Name: `Bad Name` is not a header name"
            ),
            "{e:?}"
        );
        assert!(
            e[1].starts_with(
                "t.yaml:7:15: receivers[0].webhook.headers.X-Ok: the value holds a line break"
            ),
            "{e:?}"
        );
        assert!(e[2].contains("given twice (also as `X-Ok`)"), "{e:?}");
    }

    #[test]
    fn receivers_need_one_kind_valid_secrets_and_unique_names() {
        let ok = "receivers:\n  - name: pd\n    pagerduty: {routing_key: 0123456789abcdef0123456789abcdef}";
        assert!(errors_of(ok).is_empty(), "{:?}", errors_of(ok));
        let bad = "receivers:\n  - name: pd\n    pagerduty: {routing_key: \"\"}\n  - name: pd\n    slack: {webhook_url: \"https://hooks.slack.com/services/x\"}\n  - name: both";
        let e = errors_of(bad);
        assert!(
            e.iter().any(|m| m.contains("32 letters and digits, got 0")),
            "{e:?}"
        );
        // A key pasted with its URL, or cut short, is caught before the first page is lost.
        let short = errors_of(
            "receivers:\n  - name: pd\n    pagerduty: {routing_key: 0123456789abcdef0123456789abcde}",
        );
        assert!(
            short.iter().any(|m| m.contains("got 31 characters")),
            "{short:?}"
        );
        let slash = errors_of(
            "receivers:\n  - name: pd\n    pagerduty: {routing_key: \"0123456789abcdef/0123456789abcde\"}",
        );
        assert!(
            slash.iter().any(|m| m.contains("32 letters and digits")),
            "{slash:?}"
        );
        assert!(e.iter().any(|m| m.contains("defined twice")), "{e:?}");
        assert!(
            e.iter().any(|m| m.contains("needs exactly one of")),
            "{e:?}"
        );
        let e = errors_of(
            "receivers:\n  - name: mail\n    email: {host: smtp, from: \"a@b\", to: [\"c@d\"], tls: none, username: u, password: p}",
        );
        assert!(e.iter().any(|m| m.contains("without TLS")), "{e:?}");
        let e = errors_of(
            "receivers:\n  - name: am\n    alertmanager: {url: \"http://am:9093\"}\n    repeat_interval: never",
        );
        assert!(
            e.iter().any(
                |m| m.starts_with("t.yaml:4:22: receivers[0].repeat_interval")
                    && m.contains("not `never`")
            ),
            "{e:?}"
        );
    }
}
