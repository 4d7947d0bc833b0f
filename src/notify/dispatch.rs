//! The dispatcher: one pass over the outbox reads as due entry → group (where the receiver
//! takes several) → send → classify → ack or reschedule, keeping each provider's pace.

use super::outbox::{self, Notification};
use super::{Delivery, protocol};
use crate::config::Receiver;
use crate::store::Store;
use crate::store::keys::AlertKey;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};
use tracing::{error, info, warn};

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

/// Sends notifications as one request: several only to a receiver that groups them
/// ([`ReceiverProtocol::max_group`](super::ReceiverProtocol::max_group): Slack puts the alerts
/// of one tick into one message); other receivers get exactly one.
pub async fn send_group(
    client: &reqwest::Client,
    receiver: &Receiver,
    ns: &[Notification],
    now: i64,
) -> Delivery {
    if ns.is_empty() {
        return Delivery::Delivered;
    }
    protocol(&receiver.kind)
        .send(client, receiver, ns, now)
        .await
}

/// Outcome counters, exported as `slowburn_notifications_total{receiver,result}`.
pub type Counters = std::sync::Mutex<BTreeMap<(String, String), u64>>;

fn count(counters: &Counters, receiver: &str, result: &str) {
    if let Ok(mut m) = counters.lock() {
        *m.entry((receiver.to_string(), result.to_string()))
            .or_default() += 1;
    }
}

/// The provider limit a receiver's requests count against, as its kind declares it.
fn pace_key(receiver: &Receiver) -> u64 {
    protocol(&receiver.kind).pace_key(&receiver.name)
}

/// When each provider limit ([`ReceiverProtocol::pace_key`](super::ReceiverProtocol::pace_key))
/// may be sent into next; lives as long as the dispatcher.
#[derive(Debug, Default)]
pub struct Pacer {
    next: HashMap<u64, Instant>,
}

impl Pacer {
    /// How long to wait before `receiver` may get another request (zero: now).
    pub fn wait(&self, receiver: &Receiver) -> Duration {
        self.next
            .get(&pace_key(receiver))
            .map_or(Duration::ZERO, |t| {
                t.saturating_duration_since(Instant::now())
            })
    }

    /// Records a request to `receiver` now.
    pub fn sent(&mut self, receiver: &Receiver) {
        let spacing = protocol(&receiver.kind).min_spacing();
        if !spacing.is_zero() {
            self.hold(receiver, spacing);
        }
    }

    /// Nothing goes to `receiver`'s provider limit for `wait` (a 429 said so): every lane of
    /// that key or webhook waits, not only the one that was refused.
    pub fn hold(&mut self, receiver: &Receiver, wait: Duration) {
        let until = Instant::now() + wait;
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

/// The other entries due for `n`'s receiver from the same tick, so that with `n` they are at
/// most `max` (the receiver's group size).
fn group_of(
    decoded: &[(u64, Notification)],
    id: u64,
    n: &Notification,
    done: &HashSet<u64>,
    blocked: &HashSet<(String, AlertKey)>,
    now: i64,
    max: usize,
) -> Vec<(u64, Notification)> {
    let mut group = Vec::new();
    for (other_id, other) in decoded {
        if *other_id != id
            && !done.contains(other_id)
            && other.receiver == n.receiver
            && other.created_at == n.created_at
            && other.next_attempt <= now
            && !blocked.contains(&(other.receiver.clone(), other.alert()))
            && group.len() + 1 < max
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
    let Some(decoded) = outbox::read(store) else {
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
        // A receiver that groups (Slack) gets everything due from the same tick in one request.
        let max = protocol(&receiver.kind).max_group();
        let group = if max > 1 {
            group_of(&decoded, id, &n, &done, &blocked, now, max)
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
    fn backoff_grows_with_full_jitter_and_a_cap() {
        assert!(
            backoff(1, 0) >= Duration::from_secs(1)
                && backoff(1, 999_999) <= Duration::from_secs(3)
        );
        assert!(backoff(30, u64::MAX) <= Duration::from_secs(301));
    }
}
