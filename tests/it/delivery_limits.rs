//! Provider limits (issue 11, items 5 and 7): rate limits belong to the PagerDuty integration key
//! and the Slack webhook URL, not to a receiver's name; PagerDuty's 429 (no `Retry-After`) waits
//! tens of seconds; after a Slack 429 every lane of that webhook waits; and what slowburn sends
//! passes fakes as strict as the services (`fakes/pagerduty.rs`, `fakes/slack.rs`,
//! both FAKES: neither service is reachable here).

use crate::common::*;
use crate::fakes::pagerduty as pd;
use crate::fakes::slack;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use slowburn::alert::details::AlertDetails;
use slowburn::alert::policy::Severity;
use slowburn::config::{PagerDutySettings, Receiver, ReceiverKind, SlackSettings, WebhookSettings};
use slowburn::duration::Dur;
use slowburn::notify::{Action, Counters, Notification, Pacer, dispatch_once};
use slowburn::store::Store;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KEY: &str = "0123456789abcdef0123456789abcdef";

#[derive(Default)]
struct Fake {
    /// (path, arrival, status answered)
    log: Vec<(String, Instant, u16)>,
    /// Answer the next N requests with 429 (PagerDuty: no Retry-After; Slack: `Retry-After: 5`).
    throttle: u32,
    pd_limit: pd::Limiter,
    slack_limit: slack::Limiter,
    refused: Vec<String>,
    /// `/hook` answers 503 while set (a receiver outage).
    down: bool,
    /// Bodies `/hook` accepted.
    hooks: Vec<Value>,
}

async fn handle(
    State(f): State<Arc<Mutex<Fake>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut f = f.lock().unwrap();
    let path = uri.path().to_string();
    let now = Instant::now();
    let ct = headers.get("content-type").and_then(|v| v.to_str().ok());
    let (status, resp) = if path == "/hook" {
        if f.down {
            (
                503,
                (StatusCode::SERVICE_UNAVAILABLE, "down").into_response(),
            )
        } else {
            f.hooks
                .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
            (200, StatusCode::OK.into_response())
        }
    } else if path.starts_with("/v2/enqueue") {
        match pd::check(ct, &body) {
            Err((code, why)) => {
                f.refused.push(why.clone());
                (code, (pd::status(code), pd::invalid(&why)).into_response())
            }
            Ok(v) => {
                let key = v["routing_key"].as_str().unwrap_or("").to_string();
                if f.throttle > 0 || !f.pd_limit.admit(&key, now) {
                    f.throttle = f.throttle.saturating_sub(1);
                    (
                        429,
                        (StatusCode::TOO_MANY_REQUESTS, "Request Limit Exceeded").into_response(),
                    )
                } else {
                    let d = v["dedup_key"].as_str().unwrap_or("").to_string();
                    (
                        202,
                        (StatusCode::ACCEPTED, pd::accepted(&d)).into_response(),
                    )
                }
            }
        }
    } else {
        match slack::check(ct, &body) {
            Err(code) => {
                f.refused.push(code.to_string());
                (400, (StatusCode::BAD_REQUEST, code).into_response())
            }
            Ok(_) => {
                let limited = f.slack_limit.admit(&path, now);
                match (f.throttle > 0, limited) {
                    (true, _) => {
                        f.throttle -= 1;
                        (
                            429,
                            (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "5")], "{}")
                                .into_response(),
                        )
                    }
                    (false, Err(secs)) => (
                        429,
                        (
                            StatusCode::TOO_MANY_REQUESTS,
                            [("retry-after", secs.to_string())],
                            "{}",
                        )
                            .into_response(),
                    ),
                    (false, Ok(())) => (200, (StatusCode::OK, "ok").into_response()),
                }
            }
        }
    };
    f.log.push((path, now, status));
    resp
}

fn fake() -> (String, Arc<Mutex<Fake>>) {
    let state = Arc::new(Mutex::new(Fake::default()));
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(Arc::clone(&state));
    (format!("http://127.0.0.1:{}", serve(app)), state)
}

fn receiver(name: &str, kind: ReceiverKind) -> Receiver {
    Receiver {
        name: name.into(),
        kind,
        severities: vec![Severity::Page],
        labels: BTreeMap::new(),
        give_up_after: Dur::from_secs(86400),
        repeat_interval: None,
    }
}

fn pagerduty(name: &str, key: &str, url: &str) -> Receiver {
    receiver(
        name,
        ReceiverKind::PagerDuty(PagerDutySettings {
            routing_key: key.into(),
            url: url.into(),
        }),
    )
}

fn slack(url: &str) -> ReceiverKind {
    ReceiverKind::Slack(SlackSettings { url: url.into() })
}

fn note(receiver: &str, slo: &str, created_at: i64) -> Notification {
    Notification {
        receiver: receiver.into(),
        slo: slo.into(),
        severity: Severity::Page,
        action: Action::Trigger,
        created_at,
        attempts: 0,
        next_attempt: 0,
        details: AlertDetails {
            rule: Some("1h/5m".into()),
            burn_rate: 16.2,
            ..Default::default()
        },
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn two_receivers_with_one_integration_key_share_one_pace_under_pagerdutys_limit() {
    let (url, state) = fake();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let enqueue = format!("{url}/v2/enqueue");
    let receivers = vec![
        pagerduty("team-a", KEY, &enqueue),
        pagerduty("team-b", KEY, &enqueue),
    ];
    let items: Vec<Vec<u8>> = (0..12)
        .map(|i| {
            note(
                if i % 2 == 0 { "team-a" } else { "team-b" },
                &format!("svc/slo{i}"),
                100,
            )
            .encode()
        })
        .collect();
    store.outbox_push(&items).unwrap();
    let (client, counters, mut pacer) = (
        reqwest::Client::new(),
        Counters::default(),
        Pacer::default(),
    );
    let rt = runtime();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !store.outbox().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the outbox never drained");
        let pass = rt.block_on(dispatch_once(
            &store, &receivers, &client, &counters, &mut pacer, 200,
        ));
        std::thread::sleep(pass.paced.unwrap_or(Duration::from_millis(20)));
    }
    let f = state.lock().unwrap();
    assert_eq!(
        f.log.len(),
        12,
        "each sent once, never throttled: {:?}",
        f.refused
    );
    assert!(f.log.iter().all(|(_, _, s)| *s == 202));
    let gaps: Vec<Duration> = f.log.windows(2).map(|w| w[1].1 - w[0].1).collect();
    let min = gaps.iter().min().unwrap();
    assert!(
        *min >= Duration::from_millis(590),
        "one key, one pace (100/min): the closest two requests were {min:?} apart"
    );
}

#[test]
fn pagerdutys_429_without_retry_after_holds_every_lane_of_the_key_for_thirty_seconds() {
    let (url, state) = fake();
    state.lock().unwrap().throttle = 1;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let enqueue = format!("{url}/v2/enqueue");
    let receivers = vec![
        pagerduty("team-a", KEY, &enqueue),
        pagerduty("team-b", KEY, &enqueue),
    ];
    store
        .outbox_push(&[
            note("team-a", "svc/a", 100).encode(),
            note("team-b", "svc/b", 100).encode(),
        ])
        .unwrap();
    let (client, counters, mut pacer) = (
        reqwest::Client::new(),
        Counters::default(),
        Pacer::default(),
    );
    let rt = runtime();
    let now = 1000;
    let pass = rt.block_on(dispatch_once(
        &store, &receivers, &client, &counters, &mut pacer, now,
    ));
    assert_eq!(state.lock().unwrap().log.len(), 1, "the other lane waited");
    let waited = pass.paced.expect("the key is held");
    assert!(waited >= Duration::from_secs(29), "held {waited:?}");
    assert!(
        pacer.wait(&receivers[1]) >= Duration::from_secs(29),
        "the other receiver on the key too"
    );
    let entries = store.outbox().unwrap();
    let first = Notification::decode(entries[0].0, &entries[0].1).unwrap();
    assert_eq!(
        first.next_attempt,
        now + 30,
        "retried after PagerDuty's 30 s, not 1-3 s"
    );
    // Another key is not held.
    let other = pagerduty(
        "team-c",
        "fedcba9876543210fedcba9876543210",
        &format!("{url}/v2/enqueue"),
    );
    assert_eq!(pacer.wait(&other), Duration::ZERO);
}

#[test]
fn after_a_slack_429_every_lane_of_that_webhook_waits() {
    let (url, state) = fake();
    state.lock().unwrap().throttle = 1;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let hook = format!("{url}/services/T0/B0/x");
    let receivers = vec![
        receiver("chat-a", slack(&hook)),
        receiver("chat-b", slack(&hook)),
        receiver("chat-other", slack(&format!("{url}/services/T0/B1/y"))),
    ];
    store
        .outbox_push(&[
            note("chat-a", "svc/a", 100).encode(),
            note("chat-b", "svc/b", 101).encode(),
            note("chat-other", "svc/c", 102).encode(),
        ])
        .unwrap();
    let (client, counters, mut pacer) = (
        reqwest::Client::new(),
        Counters::default(),
        Pacer::default(),
    );
    let rt = runtime();
    let pass = rt.block_on(dispatch_once(
        &store, &receivers, &client, &counters, &mut pacer, 1000,
    ));
    let f = state.lock().unwrap();
    let paths: Vec<(&str, u16)> = f.log.iter().map(|(p, _, s)| (p.as_str(), *s)).collect();
    assert_eq!(
        paths,
        vec![("/services/T0/B0/x", 429), ("/services/T0/B1/y", 200)],
        "chat-b shares the refused webhook and waits; another webhook does not"
    );
    assert!(pass.paced.unwrap() >= Duration::from_secs(4));
    assert!(pacer.wait(&receivers[1]) >= Duration::from_secs(4));
}

#[test]
fn the_fakes_refuse_what_the_services_refuse() {
    let ct = Some("application/json");
    let j = |v: Value| serde_json::to_vec(&v).unwrap();
    let section = |t: String| json!({"text": "x", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": t}}]});
    assert!(slack::check(ct, &j(section("a".repeat(3000)))).is_ok());
    assert_eq!(
        slack::check(ct, &j(section("a".repeat(3001)))),
        Err("invalid_blocks")
    );
    let fields = |n: usize, len: usize| json!({"text": "x", "blocks": [{"type": "section", "fields": (0..n).map(|_| json!({"type": "mrkdwn", "text": "f".repeat(len)})).collect::<Vec<_>>()}]});
    assert!(slack::check(ct, &j(fields(10, 2000))).is_ok());
    assert!(slack::check(ct, &j(fields(11, 1))).is_err());
    assert!(slack::check(ct, &j(fields(1, 2001))).is_err());
    let context = |n: usize| json!({"text": "x", "blocks": [{"type": "context", "elements": (0..n).map(|_| json!({"type": "mrkdwn", "text": "c"})).collect::<Vec<_>>()}]});
    assert!(slack::check(ct, &j(context(10))).is_ok());
    assert!(slack::check(ct, &j(context(0))).is_err());
    assert!(slack::check(ct, &j(context(11))).is_err());
    let ids = json!({"text": "x", "blocks": [{"type": "divider", "block_id": "a"}, {"type": "divider", "block_id": "a"}]});
    assert!(slack::check(ct, &j(ids)).is_err());
    assert_eq!(slack::check(ct, &j(json!({"blocks": []}))), Err("no_text"));
    let mut limiter = slack::Limiter::default();
    let t = Instant::now();
    assert!(limiter.admit("/h", t).is_ok() && limiter.admit("/h", t).is_ok());
    assert_eq!(
        limiter.admit("/h", t),
        Err(1),
        "beyond a burst of 2, 1/s with Retry-After"
    );
    assert!(limiter.admit("/h", t + Duration::from_secs(1)).is_ok());

    let event = |links: Value| {
        json!({"routing_key": KEY, "event_action": "trigger", "dedup_key": "k",
            "payload": {"summary": "s", "source": "x", "severity": "critical"}, "links": links})
    };
    assert!(pd::check(ct, &j(event(json!([{"href": "https://g/d"}])))).is_ok());
    assert_eq!(
        pd::check(ct, &j(event(json!([{"href": "http://g/d"}]))))
            .unwrap_err()
            .0,
        400
    );
    let big = "x".repeat(600 * 1024);
    assert_eq!(pd::check(ct, big.as_bytes()).unwrap_err().0, 413);
    let mut limiter = pd::Limiter::default();
    assert!((0..120).all(|_| limiter.admit(KEY, t)));
    assert!(!limiter.admit(KEY, t), "the 121st in a minute is refused");
    assert!(limiter.admit(KEY, t + Duration::from_secs(60)));
}

#[test]
fn what_slowburn_sends_passes_the_strict_fakes() {
    let ct = Some("application/json");
    // Thirty alerts of one tick with long, markup-laden ids: one Slack message.
    let many: Vec<Notification> = (0..30)
        .map(|i| {
            note(
                "chat",
                &format!("{}/{}<&>{i}", "s".repeat(128), "n".repeat(120)),
                100,
            )
        })
        .collect();
    let body = serde_json::to_vec(&slowburn::notify::slack::body(&many)).unwrap();
    assert_eq!(slack::check(ct, &body).err(), None);
    // A trigger with an http dashboard and huge labels: accepted by PagerDuty's rules.
    let mut n = note("pd", "svc/a", 100);
    n.details.dashboard = Some("http://grafana.internal/d/x".into());
    n.details.labels = (0..2000)
        .map(|i| (format!("k{i}"), "v".repeat(400)))
        .collect();
    let body = serde_json::to_vec(&slowburn::notify::pagerduty::body(KEY, &n)).unwrap();
    assert_eq!(pd::check(ct, &body).err(), None);
    n.details.dashboard = Some("https://grafana.example.org/d/x".into());
    let v = slowburn::notify::pagerduty::body(KEY, &n);
    assert_eq!(v["links"][0]["href"], "https://grafana.example.org/d/x");
}

/// The receiver-outage part of the soak (issue 11, item 19), on a synthetic clock: a webhook down
/// for an hour (`SLOWBURN_SOAK_RECEIVER_OUTAGE_S`, default 3600) while 40 SLOs fire and resolve;
/// afterwards every notification arrives exactly once, each trigger before its resolve, and the
/// outbox is empty.
#[test]
fn a_one_hour_receiver_outage_delivers_every_notification_once_afterwards() {
    let outage: i64 = std::env::var("SLOWBURN_SOAK_RECEIVER_OUTAGE_S")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3600);
    let (url, state) = fake();
    state.lock().unwrap().down = true;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let receivers = vec![receiver(
        "hook",
        ReceiverKind::Webhook(WebhookSettings {
            url: format!("{url}/hook"),
            headers: Vec::new(),
        }),
    )];
    let (client, counters, mut pacer) = (
        reqwest::Client::new(),
        Counters::default(),
        Pacer::default(),
    );
    let rt = runtime();
    let slos = 40;
    let mut now = 0;
    let step = 10;
    while now < outage + 900 {
        if now == outage {
            state.lock().unwrap().down = false;
        }
        // Each SLO fires at some point of the outage and resolves five minutes later.
        for i in 0..slos {
            let fired = i * (outage - 600).max(10) / slos;
            for (at, action) in [(fired, Action::Trigger), (fired + 300, Action::Resolve)] {
                if now <= at && at < now + step {
                    let mut n = note("hook", &format!("svc/slo{i}"), at);
                    n.action = action;
                    store.outbox_push(&[n.encode()]).unwrap();
                }
            }
        }
        rt.block_on(dispatch_once(
            &store, &receivers, &client, &counters, &mut pacer, now,
        ));
        now += step;
    }
    let f = state.lock().unwrap();
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut order: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for h in &f.hooks {
        let (slo, status) = (
            h["slo"].as_str().unwrap().to_string(),
            h["status"].as_str().unwrap().to_string(),
        );
        *seen.entry((slo.clone(), status.clone())).or_default() += 1;
        order.entry(slo).or_default().push(status);
    }
    assert_eq!(
        f.hooks.len(),
        2 * slos as usize,
        "every trigger and resolve once"
    );
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");
    assert!(
        order.values().all(|o| o == &["firing", "resolved"]),
        "each trigger before its resolve: {order:?}"
    );
    assert!(store.outbox().unwrap().is_empty());
    let failed = f.log.iter().filter(|(_, _, s)| *s == 503).count();
    eprintln!(
        "receiver down for {outage} s: {failed} refused attempts, then {} notifications delivered once each, in order, outbox empty",
        f.hooks.len()
    );
}
