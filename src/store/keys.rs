//! Key encodings of the store's tables, in one place: the series key (which definition a run of
//! buckets belongs to) and the alert key (which SLO and severity a record is for).
//!
//! Both are stored as text, so their spelling is part of the on-disk format: `service/name|
//! fingerprint|width` (plus `|sla` for an SLA's own counts) and `service/name|page`. Code outside
//! this file builds and reads them only through these types.

use crate::alert::policy::Severity;
use crate::sli::CountSpec;
use std::fmt;

/// Whose counts a series holds: the SLO's or its SLA's own (a latency SLA with its own threshold).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The SLO's counts.
    Slo,
    /// The SLA's own counts.
    Sla,
}

/// The definition a series of buckets belongs to: a changed query or bucket width makes a new
/// key, so old and new counts are never mixed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey(String);

impl SeriesKey {
    /// The key of one SLO's (or SLA's) counts at one bucket width.
    pub fn new(slo_id: &str, spec: &CountSpec, width: i64, role: Role) -> Self {
        let base = format!("{slo_id}|{}|{width}", spec.fingerprint());
        SeriesKey(match role {
            Role::Slo => base,
            Role::Sla => format!("{base}|sla"),
        })
    }

    /// A key as read from the store (any text is a key; [`SeriesKey::width`] may not parse).
    pub fn from_stored(text: String) -> Self {
        SeriesKey(text)
    }

    /// The stored spelling.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The bucket width the key was written for, so retention can size its cutoff per series;
    /// `None` for a key this version did not write.
    pub fn width(&self) -> Option<i64> {
        let key = self.0.strip_suffix("|sla").unwrap_or(&self.0);
        key.rsplit_once('|')?.1.parse().ok()
    }

    /// Whether this key holds `slo_id`'s own counts (not its SLA's): how the web UI lists the
    /// definitions the store keeps for one SLO without knowing the key's spelling.
    pub fn is_slo_series_of(&self, slo_id: &str) -> bool {
        self.definition_of(slo_id).is_some() && !self.0.ends_with("|sla")
    }

    /// What follows `slo_id` in the key (`fingerprint|width`, `|sla` for an SLA's counts), shown
    /// whole where it cannot be read back; `None` when the key is another SLO's.
    pub fn definition_of(&self, slo_id: &str) -> Option<&str> {
        self.0.strip_prefix(slo_id)?.strip_prefix('|')
    }

    /// The count fingerprint ([`CountSpec::fingerprint`]) and bucket width of `slo_id`'s key, so a
    /// reader can say what a stored version counted; `None` for another SLO's key or one this
    /// version did not write.
    pub fn fingerprint_of(&self, slo_id: &str) -> Option<(&str, i64)> {
        let rest = self.definition_of(slo_id)?;
        let rest = rest.strip_suffix("|sla").unwrap_or(rest);
        let (fingerprint, width) = rest.rsplit_once('|')?;
        Some((fingerprint, width.parse().ok()?))
    }
}

impl fmt::Display for SeriesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One alert: an SLO and a severity. Its records, outbox lanes and PagerDuty dedup keys derive
/// from it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AlertKey {
    /// SLO id, `service/name`.
    pub slo: String,
    /// Page or ticket.
    pub severity: Severity,
}

/// A stored key or record that this version cannot read; it names what it could not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot decode the stored {what} `{key}`: {reason}")]
pub struct DecodeError {
    /// Which kind of record (`alert key`, `outbox entry`).
    pub what: &'static str,
    /// The stored key (an alert key, or an outbox entry's id).
    pub key: String,
    /// Why.
    pub reason: String,
}

impl AlertKey {
    /// The alert of `slo` at `severity`.
    pub fn new(slo: &str, severity: Severity) -> Self {
        AlertKey {
            slo: slo.to_string(),
            severity,
        }
    }

    /// The stored spelling, `service/name|page`.
    pub fn encode(&self) -> String {
        format!("{}|{}", self.slo, self.severity.as_str())
    }

    /// Reads a stored key; an unknown severity is an error, never silently a ticket.
    pub fn decode(text: &str) -> Result<Self, DecodeError> {
        let bad = |reason: &str| DecodeError {
            what: "alert key",
            key: text.to_string(),
            reason: reason.to_string(),
        };
        let (slo, sev) = text
            .rsplit_once('|')
            .ok_or_else(|| bad("no `|` separator"))?;
        let severity = Severity::parse(sev)
            .ok_or_else(|| bad("the severity is neither `page` nor `ticket`"))?;
        if slo.is_empty() {
            return Err(bad("empty SLO id"));
        }
        Ok(AlertKey::new(slo, severity))
    }
}

impl fmt::Display for AlertKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.slo, self.severity.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sli::EventQuery;

    fn spec() -> CountSpec {
        CountSpec::Events {
            good: None,
            bad: Some(EventQuery::Selector("e".into())),
            total: Some(EventQuery::Selector("t".into())),
        }
    }

    #[test]
    fn series_keys_keep_their_stored_spelling_and_width() {
        let k = SeriesKey::new("api/avail", &spec(), 60, Role::Slo);
        assert_eq!(k.as_str(), "api/avail|events|-|sel:e|sel:t|60");
        assert_eq!(k.width(), Some(60));
        let s = SeriesKey::new("api/avail", &spec(), 10, Role::Sla);
        assert_eq!(s.as_str(), "api/avail|events|-|sel:e|sel:t|10|sla");
        assert_eq!(s.width(), Some(10));
        assert_eq!(SeriesKey::from_stored("junk".into()).width(), None);
        assert!(k.is_slo_series_of("api/avail") && !s.is_slo_series_of("api/avail"));
        assert!(
            !k.is_slo_series_of("api/av"),
            "a prefix of another id is not its key"
        );
        assert_eq!(
            k.fingerprint_of("api/avail"),
            Some(("events|-|sel:e|sel:t", 60))
        );
        assert_eq!(
            s.fingerprint_of("api/avail"),
            Some(("events|-|sel:e|sel:t", 10))
        );
        assert_eq!(k.fingerprint_of("db/x"), None);
        assert_eq!(
            k.definition_of("api/avail"),
            Some("events|-|sel:e|sel:t|60")
        );
    }

    #[test]
    fn alert_keys_round_trip_and_refuse_unknown_severities() {
        let k = AlertKey::new("api/avail", Severity::Page);
        assert_eq!(k.encode(), "api/avail|page");
        assert_eq!(AlertKey::decode(&k.encode()), Ok(k));
        let e = AlertKey::decode("api/avail|critical").unwrap_err();
        assert!(e.to_string().contains("api/avail|critical"), "{e}");
        assert!(AlertKey::decode("nopipe").is_err());
    }
}
