//! Notifications: the outbox, its dispatcher, and the receivers.
//!
//! A notification is written to the store (the outbox) before anything is sent and removed only
//! when its receiver accepted it, so a `kill -9` between the two re-sends it after restart (at
//! least once; PagerDuty's `dedup_key` makes that harmless). Retries back off exponentially with
//! full jitter and honour `Retry-After`; entries of one (receiver, alert) are sent in order, so a
//! retried trigger never overtakes its resolve. A notification that still fails after the
//! receiver's `give_up_after` is logged as given up and counted.
//!
//! Split by concern: `outbox.rs` (the stored [`Notification`]s), `dispatch.rs` (one pass,
//! [`dispatch_once`]: due → group → send → classify → ack or reschedule), `http.rs` (the POST,
//! `Retry-After`, and the one status classification, [`classify`]), and one file per receiver
//! kind, which builds its body and declares its quirks by implementing [`ReceiverProtocol`] on
//! its settings.

pub mod alertmanager;
mod dispatch;
pub mod email;
mod http;
mod outbox;
pub mod pagerduty;
pub mod slack;
pub mod webhook;

pub use self::http::classify;
pub use dispatch::{Counters, Pacer, Pass, backoff, dispatch_once, send, send_group};
pub use outbox::{Action, MAX_DEDUP_KEY, Notification, pending_now};

use crate::config::{Receiver, ReceiverKind};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// FNV-1a, 64 bits: a hash that never changes between builds, platforms or replicas.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
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

/// One request (or SMTP conversation) to a receiver, in flight; boxed, so that every kind sits
/// behind the one object-safe [`ReceiverProtocol`].
pub type Sending<'a> = Pin<Box<dyn Future<Output = Delivery> + Send + 'a>>;

/// What sets one kind of receiver apart from the others, implemented once per kind in that
/// kind's own file (`pagerduty.rs`, `slack.rs`, …) on its settings from `slo.yaml`, so a new
/// kind is one file and one [`ReceiverKind`] variant. No method has a default: a new kind says
/// what its provider's limits are, "none" included, instead of inheriting another kind's by
/// accident. [`protocol`] is the one (exhaustive) match from a configured kind to it.
pub trait ReceiverProtocol: Sync {
    /// Least time between two requests into one provider limit
    /// ([`pace_key`](ReceiverProtocol::pace_key)). Waiting it out keeps the notifications in
    /// the outbox rather than dropped by the provider's limiter; zero when there is no limit to
    /// keep to.
    fn min_spacing(&self) -> Duration;

    /// The provider limit this receiver's requests count against, hashed so the pacer holds no
    /// secret: two receivers with one integration key or webhook URL share one pace. `receiver`
    /// is the receiver's name, for kinds whose limit is their own ([`own_pace`]).
    fn pace_key(&self, receiver: &str) -> u64;

    /// Most notifications of one tick that go out as one request; 1 sends each alone.
    fn max_group(&self) -> usize;

    /// How long to wait after a 429 that names no `Retry-After`; `None` leaves it to the
    /// backoff.
    fn throttled(&self) -> Option<Duration>;

    /// Sends `ns` (at least one, at most [`max_group`](ReceiverProtocol::max_group), all for
    /// `receiver`) as one request; `now` is the send time.
    fn send<'a>(
        &'a self,
        client: &'a reqwest::Client,
        receiver: &'a Receiver,
        ns: &'a [Notification],
        now: i64,
    ) -> Sending<'a>;
}

/// The protocol of a configured receiver kind: the one place a kind meets its implementation.
pub fn protocol(kind: &ReceiverKind) -> &dyn ReceiverProtocol {
    match kind {
        ReceiverKind::PagerDuty(settings) => settings,
        ReceiverKind::Slack(settings) => settings,
        ReceiverKind::Webhook(settings) => settings,
        ReceiverKind::Email(settings) => settings,
        ReceiverKind::Alertmanager(settings) => settings,
    }
}

/// The pace key of a receiver whose provider limit, if any, is its own.
pub fn own_pace(receiver: &str) -> u64 {
    fnv1a(format!("receiver\n{receiver}").as_bytes())
}

/// The answer to an empty request: nothing to send is nothing refused.
fn nothing_to_send<'a>() -> Sending<'a> {
    Box::pin(std::future::ready(Delivery::Delivered))
}
