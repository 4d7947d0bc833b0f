//! Silences: an on-call engineer mutes the notifications of matching SLOs for a while, through
//! `POST /api/v1/silences`. The alert state machine keeps running (the API and `/metrics` still
//! show the alert firing); only notifications wait. When a silence ends on a still-firing alert,
//! its trigger goes out then; a resolve goes out only to receivers that got the trigger.

use super::policy::Severity;
use crate::time::rfc3339;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Most silences kept at once, so a script in a loop cannot grow the store without bound.
pub const MAX_SILENCES: usize = 1000;
/// How long an expired silence stays listed.
pub const KEEP_EXPIRED: i64 = 86400;

/// One silence. Its stored form is its API form ([`Silence::to_json`]): times in RFC 3339,
/// `severity` `page`, `ticket` or null. What does not read back exactly (a severity this
/// version does not know, labels that are not a map) is an error, never a wider silence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    /// Server-assigned id.
    pub id: String,
    /// SLO id to match, if any.
    pub slo: Option<String>,
    /// SLO labels that must all match.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Only this severity, if set.
    pub severity: Option<Severity>,
    /// Start (unix seconds).
    #[serde(with = "rfc3339_secs")]
    pub starts_at: i64,
    /// End (unix seconds, exclusive).
    #[serde(with = "rfc3339_secs")]
    pub ends_at: i64,
    /// Why: required, as in Alertmanager.
    pub comment: String,
    /// Who, as given by the client.
    pub created_by: String,
    /// When it was created.
    #[serde(with = "rfc3339_secs")]
    pub created_at: i64,
}

/// Unix seconds as the RFC 3339 text every JSON time of slowburn is (corrections store theirs
/// the same way).
pub(crate) mod rfc3339_secs {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(crate) fn serialize<S: Serializer>(t: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::rfc3339(*t))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let text = String::deserialize(d)?;
        chrono::DateTime::parse_from_rfc3339(&text)
            .map(|t| t.timestamp())
            .map_err(|e| D::Error::custom(format!("`{text}` is not an RFC 3339 time ({e})")))
    }
}

/// The API form: the silence and its status at a time.
#[derive(Serialize)]
struct Listed<'a> {
    #[serde(flatten)]
    silence: &'a Silence,
    status: &'static str,
}

/// The body of `POST /api/v1/silences`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSilence {
    /// SLO id (`service/name`) to match.
    pub slo: Option<String>,
    /// SLO labels to match.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `page` or `ticket`; both when absent.
    pub severity: Option<String>,
    /// RFC 3339; default now.
    pub starts_at: Option<String>,
    /// RFC 3339; required.
    pub ends_at: String,
    /// Why; required.
    pub comment: String,
    /// Who; required.
    pub created_by: String,
}

/// Seconds of 10000-01-01T00:00:00Z: RFC 3339 has four-digit years, so a later time could be
/// stored but not read back after a restart.
const YEAR_10000: i64 = 253_402_300_800;

/// An RFC 3339 time of a request's `field` in unix seconds, within 1970–9999; the error names
/// the field (corrections parse theirs the same way).
pub(crate) fn parse_time(field: &str, s: &str) -> Result<i64, String> {
    let t = chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp())
        .map_err(|e| format!("`{field}`: `{s}` is not an RFC 3339 time ({e})"))?;
    if !(0..YEAR_10000).contains(&t) {
        return Err(format!(
            "`{field}`: `{s}` is outside 1970–9999; give a time in four-digit years"
        ));
    }
    Ok(t)
}

impl NewSilence {
    /// Checks a request and turns it into a silence; the error says what to fix.
    pub fn into_silence(self, id: String, now: i64) -> Result<Silence, String> {
        if self.slo.is_none() && self.labels.is_empty() {
            return Err(
                "a silence needs a matcher: `slo` (service/name) and/or `labels`; it never silences everything"
                    .into(),
            );
        }
        if self.comment.trim().is_empty() || self.created_by.trim().is_empty() {
            return Err("`comment` and `created_by` are required".into());
        }
        let severity = match self.severity.as_deref() {
            None => None,
            Some("page") => Some(Severity::Page),
            Some("ticket") => Some(Severity::Ticket),
            Some(other) => return Err(format!("`severity`: `{other}`: use `page` or `ticket`")),
        };
        let starts_at = match &self.starts_at {
            Some(s) => parse_time("starts_at", s)?,
            None => now,
        };
        let ends_at = parse_time("ends_at", &self.ends_at)?;
        if ends_at <= starts_at.max(now) {
            return Err("`ends_at` must be after `starts_at` and in the future".into());
        }
        Ok(Silence {
            id,
            slo: self.slo,
            labels: self.labels,
            severity,
            starts_at,
            ends_at,
            comment: self.comment,
            created_by: self.created_by,
            created_at: now,
        })
    }
}

impl Silence {
    /// Whether it mutes this SLO's alert of this severity at `t`.
    pub fn mutes(
        &self,
        slo: &str,
        labels: &BTreeMap<String, String>,
        severity: Severity,
        t: i64,
    ) -> bool {
        t >= self.starts_at
            && t < self.ends_at
            && self.slo.as_deref().is_none_or(|s| s == slo)
            && self.severity.is_none_or(|s| s == severity)
            && self.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
    }

    /// `active`, `pending` or `expired` at `t`.
    pub fn status(&self, t: i64) -> &'static str {
        if t < self.starts_at {
            "pending"
        } else if t < self.ends_at {
            "active"
        } else {
            "expired"
        }
    }

    /// The API and stored form: the fields and the `status` at `now`. Written through a JSON
    /// value, whose keys are sorted, so the stored bytes are the ones earlier releases wrote.
    pub fn to_json(&self, now: i64) -> Value {
        // Cannot fail: every map key is a string and every field serializes.
        serde_json::to_value(Listed {
            silence: self,
            status: self.status(now),
        })
        .unwrap_or(Value::Null)
    }

    /// Reads the stored (or API) form; `status` is ignored, being derived. The error says what
    /// is wrong, for the caller to log with the silence's key.
    pub fn from_json(v: &Value) -> Result<Silence, serde_json::Error> {
        Silence::deserialize(v)
    }

    /// Reads the stored bytes, as [`Silence::from_json`] does.
    pub fn decode(bytes: &[u8]) -> Result<Silence, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(json: &str) -> NewSilence {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_silence_mutes_only_what_it_matches_while_active() {
        let s = req(
            r#"{"slo": "api/avail", "severity": "page", "starts_at": "1970-01-01T00:16:40Z",
            "ends_at": "1970-01-01T00:33:20Z", "comment": "deploy", "created_by": "ana"}"#,
        )
        .into_silence("s1".into(), 900)
        .unwrap();
        let none = BTreeMap::new();
        assert!(s.mutes("api/avail", &none, Severity::Page, 1000));
        assert!(!s.mutes("api/avail", &none, Severity::Ticket, 1000));
        assert!(!s.mutes("api/other", &none, Severity::Page, 1000));
        assert!(!s.mutes("api/avail", &none, Severity::Page, 999));
        assert!(!s.mutes("api/avail", &none, Severity::Page, 2000));
        assert_eq!(Silence::from_json(&s.to_json(0)).ok(), Some(s.clone()));
        let team = req(
            r#"{"labels": {"team": "pay"}, "ends_at": "1970-01-01T00:33:20Z",
            "comment": "x", "created_by": "y"}"#,
        )
        .into_silence("s2".into(), 1000)
        .unwrap();
        let labels = BTreeMap::from([("team".to_string(), "pay".to_string())]);
        assert!(team.mutes("any/slo", &labels, Severity::Ticket, 1000));
        assert!(!team.mutes("any/slo", &none, Severity::Ticket, 1000));
    }

    /// What today's release stores (the API form, `json!`, so keys in sorted order) is read back
    /// to the same silence, and written byte for byte the same.
    #[test]
    fn silences_as_stored_by_the_current_release_read_back() {
        let s = Silence {
            id: "6553f0f6-1".into(),
            slo: Some("api/avail".into()),
            labels: BTreeMap::from([("team".to_string(), "pay".to_string())]),
            severity: Some(Severity::Page),
            starts_at: 1_700_000_000,
            ends_at: 1_700_003_600,
            comment: "deploy".into(),
            created_by: "ana".into(),
            created_at: 1_699_999_990,
        };
        let stored = concat!(
            r#"{"comment":"deploy","created_at":"2023-11-14T22:13:10Z","created_by":"ana","#,
            r#""ends_at":"2023-11-14T23:13:20Z","id":"6553f0f6-1","labels":{"team":"pay"},"#,
            r#""severity":"page","slo":"api/avail","starts_at":"2023-11-14T22:13:20Z","status":"pending"}"#
        );
        let v: Value = serde_json::from_str(stored).unwrap();
        assert_eq!(Silence::from_json(&v).ok(), Some(s.clone()));
        assert_eq!(Silence::decode(stored.as_bytes()).ok(), Some(s.clone()));
        assert_eq!(s.to_json(s.created_at).to_string(), stored);
        let wide = Silence {
            slo: None,
            severity: None,
            ..s.clone()
        };
        let stored = concat!(
            r#"{"comment":"deploy","created_at":"2023-11-14T22:13:10Z","created_by":"ana","#,
            r#""ends_at":"2023-11-14T23:13:20Z","id":"6553f0f6-1","labels":{"team":"pay"},"#,
            r#""severity":null,"slo":null,"starts_at":"2023-11-14T22:13:20Z","status":"active"}"#
        );
        let v: Value = serde_json::from_str(stored).unwrap();
        assert_eq!(Silence::from_json(&v).ok(), Some(wide.clone()));
        assert_eq!(wide.to_json(1_700_000_001).to_string(), stored);
        // A severity this version does not know is an error, never "every severity"; so are
        // labels that are not a map (read as none, they would silence every SLO).
        let critical = stored.replace(r#""severity":null"#, r#""severity":"critical""#);
        let e = Silence::decode(critical.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("critical"), "{e}");
        let odd = stored.replace(r#""labels":{"team":"pay"}"#, r#""labels":["team"]"#);
        assert!(Silence::decode(odd.as_bytes()).is_err());
    }

    #[test]
    fn bad_requests_say_what_to_fix() {
        let no_matcher =
            req(r#"{"ends_at": "2100-01-01T00:00:00Z", "comment": "x", "created_by": "y"}"#);
        assert!(
            no_matcher
                .into_silence("a".into(), 0)
                .unwrap_err()
                .contains("matcher")
        );
        let past = req(
            r#"{"slo": "a/b", "ends_at": "1970-01-01T00:00:10Z", "comment": "x", "created_by": "y"}"#,
        );
        assert!(
            past.into_silence("a".into(), 100)
                .unwrap_err()
                .contains("future")
        );
        let bad_time =
            req(r#"{"slo": "a/b", "ends_at": "tomorrow", "comment": "x", "created_by": "y"}"#);
        assert!(
            bad_time
                .into_silence("a".into(), 0)
                .unwrap_err()
                .contains("RFC 3339")
        );
        // What is accepted is what a restart can read back.
        for far in ["+10000-01-01T00:00:00Z", "9999-12-31T23:59:60Z"] {
            let r = req(&format!(
                r#"{{"slo": "a/b", "ends_at": "{far}", "comment": "x", "created_by": "y"}}"#
            ));
            if let Ok(s) = r.into_silence("a".into(), 0) {
                let back = chrono::DateTime::parse_from_rfc3339(&rfc3339(s.ends_at));
                assert!(back.is_ok(), "{far} was accepted but does not round-trip");
            }
        }
        let max = req(r#"{"slo": "a/b", "ends_at": "9999-12-31T23:59:59Z", "comment": "x", "created_by": "y"}"#)
            .into_silence("a".into(), 0)
            .expect("the last second of 9999");
        assert_eq!(rfc3339(max.ends_at), "9999-12-31T23:59:59Z");
        let no_comment = req(
            r#"{"slo": "a/b", "ends_at": "2100-01-01T00:00:00Z", "comment": " ", "created_by": "y"}"#,
        );
        assert!(no_comment.into_silence("a".into(), 0).is_err());
    }
}
