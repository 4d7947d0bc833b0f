//! The alert state machine per (SLO, severity): inactive → firing → resolved. Pure: time is a
//! parameter, and the caller persists the record.

use super::policy::Severity;
use serde::{Deserialize, Deserializer, Serialize};

/// Where an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Never fired, or resolved and quiet.
    Inactive,
    /// Holding since `fired_at`.
    Firing,
}

/// The persisted record of one (SLO, severity). Its stored form is JSON with the keys
/// `firing` (a boolean), `fired_at`, `resolved_at`, `rule`, `peak_burn_rate` and `sent`, as
/// every release so far has written it, plus `pending` when a `for:` rule holds; a key an older
/// record lacks reads as its default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Current state.
    #[serde(rename = "firing", with = "firing_flag")]
    pub state: State,
    /// When the current or last episode started.
    #[serde(default)]
    pub fired_at: Option<i64>,
    /// When the last episode ended.
    #[serde(default)]
    pub resolved_at: Option<i64>,
    /// The rule that fired it (e.g. `1h/5m`).
    #[serde(default)]
    pub rule: Option<String>,
    /// Highest long-window burn rate seen in the episode.
    #[serde(default, deserialize_with = "null_as_default")]
    pub peak_burn_rate: f64,
    /// Receivers told about the current episode, with when they were last sent its trigger:
    /// drives repeats, and who gets the resolve. Empty while silenced or in maintenance.
    #[serde(default, deserialize_with = "null_as_default")]
    pub sent: std::collections::BTreeMap<String, i64>,
    /// Rules of this severity with a `for:` that hold now: `[since, last]`, the evaluation since
    /// which each has held without a break and the last one it held at (a gap longer than one
    /// evaluation, a daemon down, starts the wait again). It fires once `since` is `for` ago and
    /// stays listed while it holds (absent from older records, and not written while empty).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub pending: std::collections::BTreeMap<String, [i64; 2]>,
}

/// The state as the stored boolean `firing`.
mod firing_flag {
    use super::State;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(state: &State, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bool(*state == State::Firing)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<State, D::Error> {
        Ok(if bool::deserialize(d)? {
            State::Firing
        } else {
            State::Inactive
        })
    }
}

/// `null` as the default: JSON has no NaN or infinity, so a non-finite peak was stored as
/// `null`, and read as 0 ever since.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

impl Default for Record {
    fn default() -> Self {
        Record {
            state: State::Inactive,
            fired_at: None,
            resolved_at: None,
            rule: None,
            peak_burn_rate: 0.0,
            sent: Default::default(),
            pending: Default::default(),
        }
    }
}

impl Record {
    /// Whether the alert is firing.
    pub fn firing(&self) -> bool {
        self.state == State::Firing
    }

    /// The stored form, read back by [`Record::decode`]. Written through a JSON value, whose
    /// keys are sorted, so the bytes are the ones earlier releases wrote.
    pub fn encode(&self) -> Vec<u8> {
        // Cannot fail: every map key is a string and no field refuses to serialize.
        serde_json::to_value(self)
            .map(|v| v.to_string().into_bytes())
            .unwrap_or_default()
    }

    /// Reads a stored record; the error says what is wrong with it, for the caller to name the
    /// record it came from.
    pub fn decode(bytes: &[u8]) -> Result<Record, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("not an alert record: {e}"))
    }
}

/// What a step changed, for the notifier.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    /// The alert started firing.
    Fired,
    /// The alert stopped.
    Resolved,
}

/// One evaluation. `holding` is the strongest rule of this severity that holds now (its name and
/// long-window burn rate), after supersession has been applied by the caller.
pub fn step(prev: &Record, holding: Option<(&str, f64)>, now: i64) -> (Record, Option<Transition>) {
    let mut next = prev.clone();
    match (prev.state, holding) {
        (State::Inactive, Some((rule, burn))) => {
            next.state = State::Firing;
            next.fired_at = Some(now);
            next.resolved_at = None;
            next.rule = Some(rule.to_string());
            next.peak_burn_rate = burn;
            (next, Some(Transition::Fired))
        }
        (State::Firing, Some((_, burn))) => {
            next.peak_burn_rate = next.peak_burn_rate.max(burn);
            (next, None)
        }
        (State::Firing, None) => {
            next.state = State::Inactive;
            next.resolved_at = Some(now);
            (next, Some(Transition::Resolved))
        }
        (State::Inactive, None) => (next, None),
    }
}

/// Applies "a page supersedes a ticket of the same SLO": the ticket does not hold while a page does.
pub fn supersede<'a>(
    page: Option<(&'a str, f64)>,
    ticket: Option<(&'a str, f64)>,
) -> [(Severity, Option<(&'a str, f64)>); 2] {
    let ticket = if page.is_some() { None } else { ticket };
    [(Severity::Page, page), (Severity::Ticket, ticket)]
}

/// What one receiver is sent after an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Send {
    /// The trigger: the first of the episode, or a reminder (`repeat`) while it keeps firing.
    Trigger {
        /// A still-firing reminder rather than the first trigger.
        repeat: bool,
    },
    /// The episode ended.
    Resolve,
}

/// Decides who is told what after [`step`], and records it in `next.sent`: a receiver gets an
/// episode's trigger once (withheld while `muted` by a silence or maintenance, and sent when that
/// ends), a reminder every `repeat_interval` (`None`: never), and the resolve only if it got the
/// trigger. `receivers` are the (name, repeat interval in seconds) routed to this alert.
pub fn sends<'a>(
    next: &mut Record,
    transition: Option<&Transition>,
    muted: bool,
    receivers: impl IntoIterator<Item = (&'a str, Option<i64>)>,
    now: i64,
) -> Vec<(String, Send)> {
    let mut out = Vec::new();
    if transition == Some(&Transition::Resolved) {
        for name in std::mem::take(&mut next.sent).into_keys() {
            out.push((name, Send::Resolve));
        }
    } else if next.firing() && !muted {
        for (name, repeat) in receivers {
            let due = match next.sent.get(name) {
                None => Some(false),
                Some(last) => repeat.filter(|iv| now - last >= *iv).map(|_| true),
            };
            if let Some(repeat) = due {
                next.sent.insert(name.to_string(), now);
                out.push((name.to_string(), Send::Trigger { repeat }));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receivers_get_one_trigger_reminders_on_their_interval_and_the_resolve_if_told() {
        let routes = [("pd", None), ("slack", Some(4 * 3600))];
        let (mut r, t) = step(&Record::default(), Some(("1h/5m", 20.0)), 0);
        let first = sends(&mut r, t.as_ref(), false, routes, 0);
        assert_eq!(
            first,
            [
                ("pd".to_string(), Send::Trigger { repeat: false }),
                ("slack".to_string(), Send::Trigger { repeat: false })
            ]
        );
        // Still firing: nothing until Slack's 4h are up; PagerDuty never repeats.
        let (mut r, t) = step(&r, Some(("1h/5m", 20.0)), 3600);
        assert!(sends(&mut r, t.as_ref(), false, routes, 3600).is_empty());
        let (mut r, t) = step(&r, Some(("1h/5m", 20.0)), 4 * 3600);
        assert_eq!(
            sends(&mut r, t.as_ref(), false, routes, 4 * 3600),
            [("slack".to_string(), Send::Trigger { repeat: true })]
        );
        let (mut r, t) = step(&r, None, 5 * 3600);
        let resolved = sends(&mut r, t.as_ref(), false, routes, 5 * 3600);
        assert_eq!(
            resolved,
            [
                ("pd".to_string(), Send::Resolve),
                ("slack".to_string(), Send::Resolve)
            ]
        );
        assert!(r.sent.is_empty());
    }

    #[test]
    fn a_muted_alert_is_held_back_then_sent_and_an_unsent_one_never_resolves() {
        let routes = [("pd", None)];
        let (mut r, t) = step(&Record::default(), Some(("1h/5m", 20.0)), 0);
        assert!(sends(&mut r, t.as_ref(), true, routes, 0).is_empty());
        let (mut r, t) = step(&r, Some(("1h/5m", 20.0)), 60);
        assert_eq!(
            sends(&mut r, t.as_ref(), false, routes, 60),
            [("pd".to_string(), Send::Trigger { repeat: false })],
            "the trigger goes out when the silence ends"
        );
        // An episode that stayed muted throughout resolves silently.
        let (mut q, t) = step(&Record::default(), Some(("1h/5m", 20.0)), 0);
        assert!(sends(&mut q, t.as_ref(), true, routes, 0).is_empty());
        let (mut q, t) = step(&q, None, 60);
        assert!(sends(&mut q, t.as_ref(), true, routes, 60).is_empty());
        // A resolve is not muted: whoever got the trigger hears it ended.
        let (mut r, t) = step(&r, None, 120);
        assert_eq!(
            sends(&mut r, t.as_ref(), true, routes, 120),
            [("pd".to_string(), Send::Resolve)]
        );
    }

    #[test]
    fn fires_once_tracks_peak_and_resolves_once() {
        let r0 = Record::default();
        let (r1, t1) = step(&r0, Some(("1h/5m", 20.0)), 60);
        assert_eq!(t1, Some(Transition::Fired));
        let (r2, t2) = step(&r1, Some(("1h/5m", 30.0)), 120);
        assert_eq!(t2, None, "a firing alert does not fire again");
        assert_eq!(r2.peak_burn_rate, 30.0);
        let (r3, t3) = step(&r2, None, 180);
        assert_eq!(t3, Some(Transition::Resolved));
        assert_eq!((r3.fired_at, r3.resolved_at), (Some(60), Some(180)));
        let (_, t4) = step(&r3, None, 240);
        assert_eq!(t4, None);
    }

    #[test]
    fn records_round_trip_through_their_stored_form() {
        let (r, _) = step(&Record::default(), Some(("6h/30m", 7.5)), 600);
        assert_eq!(Record::decode(&r.encode()), Ok(r));
        assert!(Record::decode(b"garbage").is_err());
        assert!(Record::decode(br#"{"firing":true,"sent":[1]}"#).is_err());
    }

    /// What today's release writes (`json!`, so keys in sorted order) is read back to the same
    /// record, and written byte for byte the same: a store survives an upgrade and a downgrade.
    #[test]
    fn records_as_stored_by_the_current_release_read_back() {
        let firing = Record {
            state: State::Firing,
            fired_at: Some(600),
            resolved_at: None,
            rule: Some("6h/30m".into()),
            peak_burn_rate: 7.5,
            sent: [("pd".to_string(), 600), ("slack".to_string(), 660)].into(),
            pending: Default::default(),
        };
        let bytes: &[u8] = br#"{"fired_at":600,"firing":true,"peak_burn_rate":7.5,"resolved_at":null,"rule":"6h/30m","sent":{"pd":600,"slack":660}}"#;
        assert_eq!(Record::decode(bytes), Ok(firing.clone()));
        assert_eq!(firing.encode(), bytes);
        let resolved = Record {
            state: State::Inactive,
            fired_at: Some(60),
            resolved_at: Some(180),
            rule: Some("1h/5m".into()),
            peak_burn_rate: 30.5,
            sent: Default::default(),
            pending: Default::default(),
        };
        let bytes: &[u8] = br#"{"fired_at":60,"firing":false,"peak_burn_rate":30.5,"resolved_at":180,"rule":"1h/5m","sent":{}}"#;
        assert_eq!(Record::decode(bytes), Ok(resolved.clone()));
        assert_eq!(resolved.encode(), bytes);
        // What an older record lacks reads as its default; a null peak (a non-finite rate, which
        // JSON cannot hold) as 0.
        assert_eq!(
            Record::decode(br#"{"firing":false,"peak_burn_rate":null,"sent":null}"#),
            Ok(Record::default())
        );
    }

    #[test]
    fn a_page_supersedes_a_ticket() {
        let [(_, p), (_, t)] = supersede(Some(("1h/5m", 20.0)), Some(("1d/2h", 4.0)));
        assert!(p.is_some() && t.is_none());
        let [(_, p), (_, t)] = supersede(None, Some(("1d/2h", 4.0)));
        assert!(p.is_none() && t.is_some());
    }
}
