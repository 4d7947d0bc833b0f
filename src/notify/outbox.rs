//! What the outbox holds: one [`Notification`] per (receiver, alert, action), stored as JSON
//! before anything is sent and read back by the dispatcher, a restart, or `/metrics`.

use crate::alert::details::AlertDetails;
use crate::alert::policy::Severity;
use crate::store::Store;
use crate::store::keys::{AlertKey, DecodeError};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use tracing::error;

/// PagerDuty's Events API v2 limit on `dedup_key`, in bytes.
pub const MAX_DEDUP_KEY: usize = 255;

/// Trigger or resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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

/// One notification for one receiver, as stored in the outbox: JSON with these field names,
/// `severity` and `action` as their words. `attempts` and `next_attempt` read as 0 when absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Receiver name.
    pub receiver: String,
    /// SLO id.
    pub slo: String,
    /// Page or ticket.
    #[serde(deserialize_with = "known_severity")]
    pub severity: Severity,
    /// Trigger or resolve.
    #[serde(deserialize_with = "known_action")]
    pub action: Action,
    /// When it was created (unix seconds).
    pub created_at: i64,
    /// Attempts so far.
    #[serde(default)]
    pub attempts: u32,
    /// Not before (unix seconds).
    #[serde(default)]
    pub next_attempt: i64,
    /// What a person needs: objective, rule, burn rates, budgets, queries.
    pub details: AlertDetails,
}

/// A severity this version knows, or an error that names the one it does not (an unknown
/// severity never becomes a ticket, nor a page).
fn known_severity<'de, D: Deserializer<'de>>(d: D) -> Result<Severity, D::Error> {
    let s = String::deserialize(d)?;
    Severity::parse(&s).ok_or_else(|| D::Error::custom(format!("unknown severity `{s}`")))
}

/// An action this version knows, or an error that names the one it does not.
fn known_action<'de, D: Deserializer<'de>>(d: D) -> Result<Action, D::Error> {
    let s = String::deserialize(d)?;
    Action::parse(&s).ok_or_else(|| D::Error::custom(format!("unknown action `{s}`")))
}

impl Notification {
    /// The stored form. Written through a JSON value, whose keys are sorted, so the bytes are
    /// the ones earlier releases wrote.
    pub fn encode(&self) -> Vec<u8> {
        // Cannot fail: every map key is a string and no field refuses to serialize.
        serde_json::to_value(self)
            .map(|v| v.to_string().into_bytes())
            .unwrap_or_default()
    }

    /// Reads the stored form; the error names the entry (`id`) and what is wrong, so an
    /// unreadable entry is reported, not guessed at (an unknown severity never becomes a ticket).
    pub fn decode(id: u64, bytes: &[u8]) -> Result<Notification, DecodeError> {
        serde_json::from_slice(bytes).map_err(|e| DecodeError {
            what: "outbox entry",
            key: id.to_string(),
            reason: e.to_string(),
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
        format!("{}~{:016x}", &key[..cut], super::fnv1a(key.as_bytes()))
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

/// The outbox, decoded; unreadable entries are logged with what is wrong and dropped. `None`
/// when the store cannot be read (the pass is skipped, nothing is lost).
pub(super) fn read(store: &Store) -> Option<Vec<(u64, Notification)>> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(super::super::fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(super::super::fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(
            n.summary(),
            "[page] api/availability is burning its error budget: 1h/5m at 16.2x; 30d budget 73.4% left"
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
}
