//! Notifications: the outbox and its dispatcher.
//!
//! A notification is written to the store (the outbox) before anything is sent and removed only
//! when its receiver accepted it, so a `kill -9` between the two re-sends it after restart (at
//! least once; PagerDuty's `dedup_key` makes that harmless). Retries back off exponentially with
//! full jitter and honour `Retry-After`; entries of one (receiver, alert) are sent in order, so a
//! retried trigger never overtakes its resolve. A notification that still fails after the
//! receiver's `give_up_after` is logged as given up and counted.

pub mod alertmanager;
pub mod email;
pub mod pagerduty;
pub mod slack;
pub mod webhook;

use crate::alert::details::AlertDetails;
use crate::alert::policy::Severity;
use crate::config::{Receiver, ReceiverKind};
use crate::store::Store;
use crate::store::keys::{AlertKey, DecodeError};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;
use tracing::{error, info, warn};

/// PagerDuty's Events API v2 limit on `dedup_key`, in bytes.
pub const MAX_DEDUP_KEY: usize = 255;

/// FNV-1a, 64 bits: a hash that never changes between builds, platforms or replicas.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Trigger or resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The alert fired.
    Trigger,
    /// The alert stopped.
    Resolve,
}

impl Action {
    /// `trigger` or `resolve`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Trigger => "trigger",
            Action::Resolve => "resolve",
        }
    }

    /// Reads `trigger` or `resolve`; anything else is `None`.
    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "trigger" => Some(Action::Trigger),
            "resolve" => Some(Action::Resolve),
            _ => None,
        }
    }
}

/// One notification for one receiver, as stored in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// Receiver name.
    pub receiver: String,
    /// SLO id.
    pub slo: String,
    /// Page or ticket.
    pub severity: Severity,
    /// Trigger or resolve.
    pub action: Action,
    /// When it was created (unix seconds).
    pub created_at: i64,
    /// Attempts so far.
    pub attempts: u32,
    /// Not before (unix seconds).
    pub next_attempt: i64,
    /// What a person needs: objective, rule, burn rates, budgets, queries.
    pub details: AlertDetails,
}

impl Notification {
    /// The stored form.
    pub fn encode(&self) -> Vec<u8> {
        json!({
            "receiver": self.receiver, "slo": self.slo, "severity": self.severity.as_str(),
            "action": self.action.as_str(), "created_at": self.created_at, "attempts": self.attempts,
            "next_attempt": self.next_attempt, "details": self.details,
        })
        .to_string()
        .into_bytes()
    }

    /// Reads the stored form; the error names the entry (`id`) and what is wrong, so an
    /// unreadable entry is reported, not guessed at (an unknown severity never becomes a ticket).
    pub fn decode(id: u64, bytes: &[u8]) -> Result<Notification, DecodeError> {
        let bad = |reason: String| DecodeError {
            what: "outbox entry",
            key: id.to_string(),
            reason,
        };
        let v: Value = serde_json::from_slice(bytes).map_err(|e| bad(format!("not JSON: {e}")))?;
        let text = |k: &str| {
            v[k].as_str()
                .map(String::from)
                .ok_or_else(|| bad(format!("no string `{k}`")))
        };
        let severity = text("severity")?;
        let action = text("action")?;
        Ok(Notification {
            receiver: text("receiver")?,
            slo: text("slo")?,
            severity: Severity::parse(&severity)
                .ok_or_else(|| bad(format!("unknown severity `{severity}`")))?,
            action: Action::parse(&action)
                .ok_or_else(|| bad(format!("unknown action `{action}`")))?,
            created_at: v["created_at"]
                .as_i64()
                .ok_or_else(|| bad("no integer `created_at`".into()))?,
            attempts: v["attempts"].as_u64().unwrap_or(0) as u32,
            next_attempt: v["next_attempt"].as_i64().unwrap_or(0),
            details: serde_json::from_value(v["details"].clone())
                .map_err(|e| bad(format!("unreadable `details`: {e}")))?,
        })
    }

    /// The alert this notification is about.
    pub fn alert(&self) -> AlertKey {
        AlertKey::new(&self.slo, self.severity)
    }

    /// Stable per (SLO, severity), so replicas and re-sends collapse into one incident. At most
    /// [`MAX_DEDUP_KEY`] bytes (PagerDuty answers a longer one with 400): a long id keeps its
    /// readable start and ends in a hash of the whole key, the same in every replica and release.
    pub fn dedup_key(&self) -> String {
        let key = format!("slowburn/{}/{}", self.slo, self.severity.as_str());
        if key.len() <= MAX_DEDUP_KEY {
            return key;
        }
        let mut cut = MAX_DEDUP_KEY - 17;
        while !key.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}~{:016x}", &key[..cut], fnv1a(key.as_bytes()))
    }

    /// One line for people: what, how fast, how much budget is left.
    pub fn summary(&self) -> String {
        let d = &self.details;
        let test = if d.test { "[TEST] " } else { "" };
        match self.action {
            Action::Resolve => format!("{test}[resolved] {} {}", self.slo, self.severity.as_str()),
            Action::Trigger => {
                let rule = d.rule.as_deref().unwrap_or("?");
                let burn = d.burn_rate;
                let budgets: Vec<String> = d
                    .error_budget_remaining
                    .iter()
                    .filter_map(|(p, v)| Some(format!("{p} budget {:.1}% left", (*v)? * 100.0)))
                    .collect();
                let still = if d.repeat { "still firing: " } else { "" };
                format!(
                    "{test}[{}] {still}{} is burning its error budget: {rule} at {burn:.1}x; {}",
                    self.severity.as_str(),
                    self.slo,
                    budgets.join(", ")
                )
            }
        }
    }
}

/// What a receiver's answer means.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// Accepted: remove from the outbox.
    Delivered,
    /// Try again, not before the given delay if the receiver said so (429 `Retry-After`).
    RetryLater(Option<Duration>),
    /// Refused for good (a 4xx other than 408/429): fix the config or payload.
    Rejected(String),
}

/// The one place HTTP statuses are classified: 2xx delivered; 408, 429 and 5xx retried; other
/// 4xx rejected.
pub fn classify(status: u16, retry_after: Option<Duration>, body: &str) -> Delivery {
    match status {
        200..=299 => Delivery::Delivered,
        408 | 429 | 500..=599 => Delivery::RetryLater(retry_after),
        _ => Delivery::Rejected(format!(
            "HTTP {status}: {}",
            body.chars().take(300).collect::<String>()
        )),
    }
}

/// Exponential backoff with full jitter: up to 2^attempts seconds, capped at 5 minutes.
pub fn backoff(attempts: u32, seed: u64) -> Duration {
    let cap = (1u64 << attempts.min(8)).min(300);
    Duration::from_millis(1000 + (seed % (cap * 1000)))
}

/// Sends one notification to its receiver.
pub async fn send(
    client: &reqwest::Client,
    receiver: &Receiver,
    n: &Notification,
    now: i64,
) -> Delivery {
    send_group(client, receiver, std::slice::from_ref(n), now).await
}

/// Sends notifications as one request: several only for Slack (alerts of one tick grouped into one
/// message); other receivers get exactly one.
pub async fn send_group(
    client: &reqwest::Client,
    receiver: &Receiver,
    ns: &[Notification],
    now: i64,
) -> Delivery {
    let Some(n) = ns.first() else {
        return Delivery::Delivered;
    };
    let (url, body, headers): (&str, Value, Vec<(String, String)>) = match &receiver.kind {
        ReceiverKind::PagerDuty { routing_key, url } => {
            (url, pagerduty::body(routing_key, n), Vec::new())
        }
        ReceiverKind::Webhook { url, headers } => (url, webhook::body(n), headers.clone()),
        ReceiverKind::Slack { url } => (url, slack::body(ns), Vec::new()),
        ReceiverKind::Alertmanager { url, headers } => {
            // Alertmanager drops an alert whose endsAt passes: hold it for three re-posts.
            let hold = receiver
                .repeat_interval
                .map_or(300, |r| (3 * r.as_secs() as i64).max(300));
            (url, alertmanager::body(n, now, hold), headers.clone())
        }
        ReceiverKind::Email(settings) => return email::send(settings, n).await,
    };
    let mut req = client.post(url).json(&body);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    match req.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let retry_after = match (&receiver.kind, status, retry_after) {
                (ReceiverKind::PagerDuty { .. }, 429, None) => Some(PAGERDUTY_THROTTLED),
                (_, _, r) => r,
            };
            let text = resp.text().await.unwrap_or_default();
            classify(status, retry_after, &text)
        }
        Err(e) if e.is_builder() => Delivery::Rejected("cannot build the request".into()),
        Err(_) => Delivery::RetryLater(None),
    }
}

/// Outcome counters, exported as `slowburn_notifications_total{receiver,result}`.
pub type Counters = std::sync::Mutex<BTreeMap<(String, String), u64>>;

fn count(counters: &Counters, receiver: &str, result: &str) {
    if let Ok(mut m) = counters.lock() {
        *m.entry((receiver.to_string(), result.to_string()))
            .or_default() += 1;
    }
}

/// Least time between two requests into one provider limit: PagerDuty's Events API takes 120
/// events a minute per integration key (slowburn keeps to 100, a margin for clock skew and other
/// senders on the key) and a Slack webhook one message a second. Keeping to it by waiting (the
/// notifications stay in the outbox) means nothing is dropped by the provider's limiter.
pub fn min_spacing(kind: &ReceiverKind) -> Duration {
    match kind {
        ReceiverKind::PagerDuty { .. } => Duration::from_millis(600),
        ReceiverKind::Slack { .. } => Duration::from_secs(1),
        _ => Duration::ZERO,
    }
}

/// How long PagerDuty's 429 asks to wait: it sends no `Retry-After` and suggests retries 30 s
/// apart, so a 1-3 s backoff would only hit the limit again.
pub const PAGERDUTY_THROTTLED: Duration = Duration::from_secs(30);

/// The provider limit a receiver's requests count against: the integration key for PagerDuty,
/// the webhook URL for Slack (two receivers with one key or URL share one pace), the receiver
/// itself otherwise. Hashed, so the pacer holds no secret.
pub fn pace_key(receiver: &Receiver) -> u64 {
    match &receiver.kind {
        ReceiverKind::PagerDuty { routing_key, url } => {
            fnv1a(format!("pagerduty\n{url}\n{routing_key}").as_bytes())
        }
        ReceiverKind::Slack { url } => fnv1a(format!("slack\n{url}").as_bytes()),
        _ => fnv1a(format!("receiver\n{}", receiver.name).as_bytes()),
    }
}

/// When each provider limit ([`pace_key`]) may be sent into next; lives as long as the
/// dispatcher.
#[derive(Debug, Default)]
pub struct Pacer {
    next: std::collections::HashMap<u64, std::time::Instant>,
}

impl Pacer {
    /// How long to wait before `receiver` may get another request (zero: now).
    pub fn wait(&self, receiver: &Receiver) -> Duration {
        self.next
            .get(&pace_key(receiver))
            .map_or(Duration::ZERO, |t| {
                t.saturating_duration_since(std::time::Instant::now())
            })
    }

    /// Records a request to `receiver` now.
    pub fn sent(&mut self, receiver: &Receiver) {
        let spacing = min_spacing(&receiver.kind);
        if !spacing.is_zero() {
            self.hold(receiver, spacing);
        }
    }

    /// Nothing goes to `receiver`'s provider limit for `wait` (a 429 said so): every lane of
    /// that key or webhook waits, not only the one that was refused.
    pub fn hold(&mut self, receiver: &Receiver, wait: Duration) {
        let until = std::time::Instant::now() + wait;
        let slot = self.next.entry(pace_key(receiver)).or_insert(until);
        if *slot < until {
            *slot = until;
        }
    }
}

/// What one dispatcher pass found and left.
#[derive(Debug, Default)]
pub struct Pass {
    /// How soon a paced receiver can take more (for the caller's sleep); `None` when nothing
    /// waits on pacing.
    pub paced: Option<Duration>,
    /// Notifications in the outbox per receiver when the pass began: every receiver given (0 when
    /// none wait) plus any no longer configured. Exported as `slowburn_notifications_pending`.
    pub pending: BTreeMap<String, u64>,
}

/// The outbox, decoded; unreadable entries are logged with what is wrong and dropped. `None`
/// when the store cannot be read (the pass is skipped, nothing is lost).
fn read_outbox(store: &Store) -> Option<Vec<(u64, Notification)>> {
    let entries = match store.outbox() {
        Ok(e) => e,
        Err(e) => {
            error!(error = %e, "cannot read the outbox");
            return None;
        }
    };
    let mut decoded = Vec::with_capacity(entries.len());
    for (id, bytes) in entries {
        match Notification::decode(id, &bytes) {
            Ok(n) => decoded.push((id, n)),
            Err(e) => {
                error!(id, error = %e, "unreadable outbox entry dropped");
                let _ = store.outbox_set(id, None);
            }
        }
    }
    Some(decoded)
}

/// What waits in the outbox per receiver as the store holds it now: the receivers of `known`
/// (the configured ones, from the last dispatcher pass) at 0, plus every receiver an entry
/// names. Read at scrape time, so `slowburn_notifications_pending` is true when it is read, not
/// when the last pass ended. `None` when the outbox cannot be read.
pub fn pending_now(store: &Store, known: &BTreeMap<String, u64>) -> Option<BTreeMap<String, u64>> {
    #[derive(serde::Deserialize)]
    struct Addressed {
        receiver: String,
    }
    let entries = store.outbox().ok()?;
    let mut pending: BTreeMap<String, u64> = known.keys().map(|k| (k.clone(), 0)).collect();
    for (_, bytes) in entries {
        if let Ok(a) = serde_json::from_slice::<Addressed>(&bytes) {
            *pending.entry(a.receiver).or_default() += 1;
        }
    }
    Some(pending)
}

/// The other entries due for `n`'s Slack webhook from the same tick, up to a message's worth.
fn slack_group(
    decoded: &[(u64, Notification)],
    id: u64,
    n: &Notification,
    done: &HashSet<u64>,
    blocked: &HashSet<(String, AlertKey)>,
    now: i64,
) -> Vec<(u64, Notification)> {
    let mut group = Vec::new();
    for (other_id, other) in decoded {
        if *other_id != id
            && !done.contains(other_id)
            && other.receiver == n.receiver
            && other.created_at == n.created_at
            && other.next_attempt <= now
            && !blocked.contains(&(other.receiver.clone(), other.alert()))
            && group.len() + 1 < slack::MAX_PER_MESSAGE
        {
            group.push((*other_id, other.clone()));
        }
    }
    group
}

/// Applies a grouped request's outcome to the entries that rode along with the first.
fn settle_group(
    store: &Store,
    counters: &Counters,
    group: Vec<(u64, Notification)>,
    result: &Delivery,
    now: i64,
    blocked: &mut HashSet<(String, AlertKey)>,
) {
    for (gid, mut g) in group {
        match result {
            Delivery::Delivered => {
                let _ = store.outbox_set(gid, None);
                count(counters, &g.receiver, "sent");
            }
            Delivery::Rejected(_) => {
                let _ = store.outbox_set(gid, None);
                count(counters, &g.receiver, "failed");
            }
            Delivery::RetryLater(_) => {
                g.attempts += 1;
                g.next_attempt = now + backoff(g.attempts, gid).as_secs().max(1) as i64;
                let _ = store.outbox_set(gid, Some(&g.encode()));
                count(counters, &g.receiver, "retry");
                blocked.insert((g.receiver.clone(), g.alert()));
            }
        }
    }
}

/// Applies a receiver's answer to one outbox entry: removed when delivered or refused for good
/// (or past `give_up_after`), rescheduled with backoff otherwise. Returns whether its lane must
/// wait (a retry is pending, so later entries of the alert stay behind it).
fn settle(
    store: &Store,
    counters: &Counters,
    receiver: &Receiver,
    id: u64,
    mut n: Notification,
    result: Delivery,
    now: i64,
) -> bool {
    match result {
        Delivery::Delivered => {
            if let Err(e) = store.outbox_set(id, None) {
                error!(error = %e, "cannot remove a delivered notification; it will be sent again");
            }
            count(counters, &n.receiver, "sent");
            info!(receiver = %n.receiver, slo = %n.slo, severity = n.severity.as_str(), action = n.action.as_str(), attempts = n.attempts + 1, "notification delivered");
            false
        }
        Delivery::Rejected(why) => {
            let _ = store.outbox_set(id, None);
            count(counters, &n.receiver, "failed");
            error!(receiver = %n.receiver, slo = %n.slo, reason = %why, "notification rejected by the receiver; giving up");
            false
        }
        Delivery::RetryLater(after) => {
            n.attempts += 1;
            if now - n.created_at >= receiver.give_up_after.as_secs() as i64 {
                let _ = store.outbox_set(id, None);
                count(counters, &n.receiver, "failed");
                error!(receiver = %n.receiver, slo = %n.slo, attempts = n.attempts, "notification still failing after give_up_after; given up");
                return false;
            }
            let wait = after
                .unwrap_or_else(|| backoff(n.attempts, id.wrapping_mul(0x9e37_79b9) ^ now as u64));
            n.next_attempt = now + wait.as_secs().max(1) as i64;
            let _ = store.outbox_set(id, Some(&n.encode()));
            count(counters, &n.receiver, "retry");
            if n.attempts == 1 {
                warn!(receiver = %n.receiver, slo = %n.slo, retry_in_s = wait.as_secs(), "notification not accepted; retrying");
            }
            true
        }
    }
}

/// One pass over the outbox: sends what is due, in order per (receiver, alert), keeping each
/// receiver's rate limit.
pub async fn dispatch_once(
    store: &Store,
    receivers: &[Receiver],
    client: &reqwest::Client,
    counters: &Counters,
    pacer: &mut Pacer,
    now: i64,
) -> Pass {
    let Some(decoded) = read_outbox(store) else {
        return Pass::default();
    };
    let mut paced: Option<Duration> = None;
    // Lanes: per (receiver, alert), entries go out in order.
    let mut blocked: HashSet<(String, AlertKey)> = HashSet::new();
    let mut done: HashSet<u64> = HashSet::new();
    let mut pending: BTreeMap<String, u64> =
        receivers.iter().map(|r| (r.name.clone(), 0)).collect();
    for (_, n) in &decoded {
        *pending.entry(n.receiver.clone()).or_default() += 1;
    }
    for (id, n) in &decoded {
        let id = *id;
        if done.contains(&id) {
            continue;
        }
        let n = n.clone();
        let lane = (n.receiver.clone(), n.alert());
        if blocked.contains(&lane) {
            continue;
        }
        let Some(receiver) = receivers.iter().find(|r| r.name == n.receiver) else {
            warn!(receiver = %n.receiver, slo = %n.slo, "receiver no longer configured; notification dropped");
            let _ = store.outbox_set(id, None);
            count(counters, &n.receiver, "dropped");
            continue;
        };
        if n.next_attempt > now {
            blocked.insert(lane);
            continue;
        }
        let wait = pacer.wait(receiver);
        if !wait.is_zero() {
            // Later entries of this receiver wait too, so per-alert order holds.
            paced = Some(paced.map_or(wait, |p| p.min(wait)));
            continue;
        }
        // Slack: everything due for this webhook from the same tick goes in one message.
        let group = if matches!(receiver.kind, ReceiverKind::Slack { .. }) {
            slack_group(&decoded, id, &n, &done, &blocked, now)
        } else {
            Vec::new()
        };
        let mut batch = vec![n.clone()];
        batch.extend(group.iter().map(|(_, g)| g.clone()));
        for (gid, _) in &group {
            done.insert(*gid);
        }
        let result = send_group(client, receiver, &batch, now).await;
        pacer.sent(receiver);
        if let Delivery::RetryLater(Some(after)) = &result {
            pacer.hold(receiver, *after);
        }
        // The rest of the group shares the fate of the first.
        settle_group(store, counters, group, &result, now, &mut blocked);
        if settle(store, counters, receiver, id, n, result, now) {
            blocked.insert(lane);
        }
    }
    Pass { paced, pending }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified_in_one_place() {
        for ok in [200, 202, 204] {
            assert_eq!(classify(ok, None, ""), Delivery::Delivered);
        }
        for retry in [408, 429, 500, 502, 503, 504] {
            assert!(
                matches!(classify(retry, None, ""), Delivery::RetryLater(_)),
                "{retry}"
            );
        }
        for reject in [400, 401, 403, 404, 413, 422] {
            assert!(
                matches!(classify(reject, None, ""), Delivery::Rejected(_)),
                "{reject}"
            );
        }
        assert_eq!(
            classify(429, Some(Duration::from_secs(30)), ""),
            Delivery::RetryLater(Some(Duration::from_secs(30)))
        );
    }

    /// What today's release writes into the outbox (`json!`, so keys in sorted order, the
    /// details' too) is read back to the same notification and written byte for byte the same.
    #[test]
    fn outbox_entries_as_stored_by_the_current_release_read_back() {
        let n = Notification {
            receiver: "pd".into(),
            slo: "api/availability".into(),
            severity: Severity::Page,
            action: Action::Trigger,
            created_at: 100,
            attempts: 2,
            next_attempt: 160,
            details: AlertDetails {
                rule: Some("1h/5m".into()),
                burn_rate: 16.5,
                error_budget_remaining: [("30d".to_string(), Some(0.75))].into(),
                ..Default::default()
            },
        };
        let bytes: &[u8] = concat!(
            r#"{"action":"trigger","attempts":2,"created_at":100,"details":{"at":null,"#,
            r#""burn_rate":16.5,"burn_rates":{},"dashboard":null,"description":null,"#,
            r#""error_budget_remaining":{"30d":0.75},"fired_at":null,"labels":{},"message":null,"#,
            r#""name":"","objective":null,"queries":[],"reason":null,"repeat":false,"#,
            r#""rule":"1h/5m","service":"","slo":"","test":false,"time_to_exhaustion_seconds":{}},"#,
            r#""next_attempt":160,"receiver":"pd","severity":"page","slo":"api/availability"}"#
        )
        .as_bytes();
        assert_eq!(Notification::decode(3, bytes), Ok(n.clone()));
        assert_eq!(n.encode(), bytes);
        // An entry without its attempts (an older release) reads as never tried.
        let resolve = Notification {
            receiver: "mail".into(),
            slo: "a/b".into(),
            severity: Severity::Ticket,
            action: Action::Resolve,
            created_at: 5,
            attempts: 0,
            next_attempt: 0,
            details: AlertDetails {
                slo: "a/b".into(),
                ..Default::default()
            },
        };
        assert_eq!(
            Notification::decode(
                4,
                br#"{"action":"resolve","created_at":5,"details":{"slo":"a/b"},"receiver":"mail","severity":"ticket","slo":"a/b"}"#
            ),
            Ok(resolve)
        );
        let odd = br#"{"action":"page","created_at":5,"details":{},"receiver":"m","severity":"ticket","slo":"a/b"}"#;
        let e = Notification::decode(4, odd).unwrap_err();
        assert!(e.to_string().contains("unknown action `page`"), "{e}");
    }

    #[test]
    fn backoff_grows_with_full_jitter_and_a_cap() {
        assert!(
            backoff(1, 0) >= Duration::from_secs(1)
                && backoff(1, 999_999) <= Duration::from_secs(3)
        );
        assert!(backoff(30, u64::MAX) <= Duration::from_secs(301));
    }

    #[test]
    fn notifications_round_trip_and_summaries_say_what_and_how_fast() {
        let n = Notification {
            receiver: "pd".into(),
            slo: "api/availability".into(),
            severity: Severity::Page,
            action: Action::Trigger,
            created_at: 100,
            attempts: 0,
            next_attempt: 0,
            details: AlertDetails {
                rule: Some("1h/5m".into()),
                burn_rate: 16.2,
                error_budget_remaining: [("30d".to_string(), Some(0.734))].into(),
                ..Default::default()
            },
        };
        assert_eq!(Notification::decode(7, &n.encode()), Ok(n.clone()));
        let odd = String::from_utf8(n.encode())
            .unwrap()
            .replace("\"page\"", "\"critical\"");
        let e = Notification::decode(7, odd.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("outbox entry `7`"), "{e}");
        assert!(e.to_string().contains("unknown severity `critical`"), "{e}");
        assert_eq!(n.dedup_key(), "slowburn/api/availability/page");
        // The longest valid id (128 + 128 characters) stays within PagerDuty's 255, distinct and stable.
        let long = |last: char| {
            let mut m = n.clone();
            m.slo = format!("{}/{}{last}", "s".repeat(128), "n".repeat(127));
            m.dedup_key()
        };
        assert!(long('a').len() <= MAX_DEDUP_KEY, "{}", long('a').len());
        assert_ne!(long('a'), long('b'));
        assert_eq!(long('a'), long('a'));
        assert!(long('a').starts_with("slowburn/sss"));
        // FNV-1a's published test vectors: the hash is the algorithm, not this build's.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(
            n.summary(),
            "[page] api/availability is burning its error budget: 1h/5m at 16.2x; 30d budget 73.4% left"
        );
    }
}
