//! Corrections: a past range whose buckets must not count (an incident of the monitoring rather
//! than of the service, a test that sent errors on purpose), made through
//! `POST /api/v1/corrections` after the fact.
//!
//! A correction is a one-off maintenance window ([`Correction::maintenance`]) that the engine
//! applies where it sums buckets, not where it stores them: the store keeps the counts the
//! source answered, so deleting a correction gives the budget back exactly as it was. Every
//! change is kept in [`Corrections`] with a generation the engine compares at each tick; a new
//! generation rebuilds every SLO's window sums from the store with the windows in force.
//!
//! Pure, apart from [`Corrections`]' lock: [`NewCorrection::validate`] checks a request against
//! the time, the oldest bucket the store keeps and the SLO ids the daemon evaluates.

use crate::config::Slo;
use crate::maintenance::{Maintenance, Recurrence};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Most corrections kept at once, so a script in a loop cannot grow the store (and the work of
/// every bucket summed) without bound.
pub const MAX_CORRECTIONS: usize = 1000;

/// Longest `reason` and `author`, in characters: text for people, kept in every listing.
pub const MAX_TEXT: usize = 1000;
/// Most SLO ids and labels one correction names.
pub const MAX_NAMES: usize = 200;

/// One correction. Its stored form is its API form: times in RFC 3339.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Correction {
    /// Server-assigned id.
    pub id: String,
    /// SLO ids it applies to (a grouped definition's `service/name` means all its members).
    #[serde(default)]
    pub slos: Vec<String>,
    /// SLO labels that must all match.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Start of the range (unix seconds, inclusive).
    #[serde(with = "crate::alert::silence::rfc3339_secs")]
    pub start: i64,
    /// End of the range (unix seconds, exclusive).
    #[serde(with = "crate::alert::silence::rfc3339_secs")]
    pub end: i64,
    /// Why these buckets do not count: required, it is what a report's reader asks.
    pub reason: String,
    /// Who asked for it, as given by the client.
    pub author: String,
    /// When it was made.
    #[serde(with = "crate::alert::silence::rfc3339_secs")]
    pub created_at: i64,
}

impl Correction {
    /// The one-off maintenance window that excludes its buckets.
    pub fn maintenance(&self) -> Maintenance {
        Maintenance {
            name: format!("correction {}: {}", self.id, self.reason),
            when: Recurrence::Once {
                start: self.start,
                end: self.end,
            },
            slos: self.slos.clone(),
            labels: self.labels.clone(),
        }
    }

    /// Whether it concerns this SLO (by id, definition id or labels).
    pub fn applies(&self, slo: &Slo) -> bool {
        self.maintenance().applies(&slo.id, &slo.labels)
    }

    /// Reads a stored correction.
    pub fn decode(bytes: &[u8]) -> Result<Correction, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// Marks the buckets of `slo` (starting at `start`, `width` apart) that its corrections cover as
/// excluded, as the engine's sums count them: what every view of stored history applies, so a
/// chart or a replay never shows as bad what the budget does not count. Returns how many.
pub fn exclude(
    corrections: &[Correction],
    slo: &Slo,
    start: i64,
    width: i64,
    buckets: &mut [crate::budget::Bucket],
) -> usize {
    let windows: Vec<Maintenance> = corrections
        .iter()
        .filter(|c| c.applies(slo))
        .map(Correction::maintenance)
        .collect();
    crate::maintenance::mask(&windows, start, width, buckets)
}

/// The body of `POST /api/v1/corrections`. Every field is optional here so that a missing one is
/// answered with what to give, not with the parser's words.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCorrection {
    /// SLO ids (`service/name`, or a grouped member's full id).
    #[serde(default)]
    pub slos: Vec<String>,
    /// SLO labels that must all match.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// RFC 3339; required.
    pub start: Option<String>,
    /// RFC 3339; required, not after now.
    pub end: Option<String>,
    /// Why; required.
    pub reason: Option<String>,
    /// Who; required.
    pub author: Option<String>,
}

impl NewCorrection {
    /// Checks a request and turns it into a correction with this `id`, made at `now`; the error
    /// says what to fix (the API answers it with 400). `oldest` is the oldest instant the store
    /// keeps buckets of; `known` holds every SLO id (and definition id) the daemon evaluates.
    pub fn validate(
        self,
        id: String,
        now: i64,
        oldest: i64,
        known: &[String],
    ) -> Result<Correction, String> {
        if self.slos.is_empty() && self.labels.is_empty() {
            return Err(
                "a correction needs `slos` (SLO ids) and/or `labels`; it never applies to every SLO unasked"
                    .into(),
            );
        }
        let reason = self.reason.unwrap_or_default().trim().to_string();
        if reason.is_empty() {
            return Err("`reason` is required: say why these buckets do not count".into());
        }
        let author = self.author.unwrap_or_default().trim().to_string();
        if author.is_empty() {
            return Err(
                "`author` is required: who asks for the correction (it is logged and listed)"
                    .into(),
            );
        }
        if reason.chars().count() > MAX_TEXT || author.chars().count() > MAX_TEXT {
            return Err(format!(
                "`reason` and `author` are at most {MAX_TEXT} characters each"
            ));
        }
        if self.slos.len() > MAX_NAMES || self.labels.len() > MAX_NAMES {
            return Err(format!(
                "at most {MAX_NAMES} SLO ids and {MAX_NAMES} labels per correction; use `labels` to name many SLOs at once"
            ));
        }
        let (Some(start), Some(end)) = (self.start, self.end) else {
            return Err("`start` and `end` (RFC 3339) are required".into());
        };
        let start = crate::alert::silence::parse_time("start", &start)?;
        let end = crate::alert::silence::parse_time("end", &end)?;
        if end <= start {
            return Err("`end` must be after `start`".into());
        }
        if end > now {
            return Err(format!(
                "`end` is in the future (now is {}): a correction covers a past range; a maintenance window or a silence is for what is still to come",
                crate::time::rfc3339(now)
            ));
        }
        if start < oldest {
            return Err(format!(
                "`start` is older than the store keeps: the oldest bucket kept begins at {}",
                crate::time::rfc3339(oldest)
            ));
        }
        if let Some(unknown) = self.slos.iter().find(|s| !known.contains(*s)) {
            return Err(format!("no SLO `{unknown}`; GET /api/v1/slos lists them"));
        }
        Ok(Correction {
            id,
            slos: self.slos,
            labels: self.labels,
            start,
            end,
            reason,
            author,
            created_at: now,
        })
    }
}

/// The corrections as the API changed them last, shared by the server and the engine.
#[derive(Debug, Default)]
pub struct Corrections {
    list: RwLock<Vec<Correction>>,
    /// Bumped under the write lock at every change: the engine rebuilds when it moved.
    generation: AtomicU64,
    /// Seconds of history the store keeps (the longest window plus `engine.retention_margin`),
    /// as the engine last published it; 0 before.
    kept: AtomicI64,
}

impl Corrections {
    /// Every correction, oldest first.
    pub fn all(&self) -> Vec<Correction> {
        self.current().1
    }

    /// The generation alone: what the engine compares at every tick before it copies the list.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// The generation and the corrections of that generation, read together.
    pub fn current(&self) -> (u64, Vec<Correction>) {
        let g = match self.list.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        (self.generation.load(Ordering::SeqCst), g.clone())
    }

    /// Changes the list under its write lock (nothing may await in `f`): the generation moves
    /// when `f` succeeds, so concurrent changes never overwrite each other and the engine sees
    /// every one.
    pub fn change<R, E>(
        &self,
        f: impl FnOnce(&mut Vec<Correction>) -> Result<R, E>,
    ) -> Result<R, E> {
        let mut g = match self.list.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let r = f(&mut g)?;
        self.generation.fetch_add(1, Ordering::SeqCst);
        Ok(r)
    }

    /// Seconds of history the store keeps, as the engine last said; 0 before its first
    /// evaluation.
    pub fn kept(&self) -> i64 {
        self.kept.load(Ordering::Relaxed)
    }

    /// Records the seconds of history the store keeps (the engine, at every publish).
    pub fn set_kept(&self, secs: i64) {
        self.kept.store(secs, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn known() -> Vec<String> {
        ["api/avail", "api/latency{route=\"/x\"}", "api/latency"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn req(start: i64, end: i64) -> NewCorrection {
        NewCorrection {
            slos: vec!["api/avail".into()],
            start: Some(crate::time::rfc3339(start)),
            end: Some(crate::time::rfc3339(end)),
            reason: Some("synthetic errors of a load test".into()),
            author: Some("alice".into()),
            ..NewCorrection::default()
        }
    }

    fn check(r: NewCorrection) -> Result<Correction, String> {
        r.validate("c1".into(), NOW, NOW - 40 * 86400, &known())
    }

    #[test]
    fn a_past_range_of_a_known_slo_is_accepted() {
        let c = check(req(NOW - 3600, NOW - 1800)).expect("valid");
        assert_eq!(
            (c.start, c.end, c.created_at),
            (NOW - 3600, NOW - 1800, NOW)
        );
        assert_eq!(
            (c.reason.as_str(), c.author.as_str()),
            ("synthetic errors of a load test", "alice")
        );
        // The definition id of a grouped SLO and labels alone are accepted too.
        let mut r = req(NOW - 3600, NOW);
        r.slos = vec!["api/latency".into()];
        assert!(check(r).is_ok());
        let mut r = req(NOW - 3600, NOW);
        r.slos = vec![];
        r.labels = [("team".to_string(), "a".to_string())].into();
        assert!(check(r).is_ok());
    }

    #[test]
    fn each_bad_request_says_why() {
        let err = |r: NewCorrection| check(r).err().unwrap_or_default();
        assert!(err(req(NOW - 1800, NOW - 3600)).contains("after `start`"));
        assert!(err(req(NOW - 1800, NOW - 1800)).contains("after `start`"));
        assert!(err(req(NOW - 1800, NOW + 60)).contains("in the future"));
        assert!(err(req(NOW - 41 * 86400, NOW - 3600)).contains("older than the store keeps"));
        let mut r = req(NOW - 3600, NOW - 1800);
        r.slos = vec!["api/nope".into()];
        assert!(err(r).contains("no SLO `api/nope`"));
        let mut r = req(NOW - 3600, NOW - 1800);
        r.slos = vec![];
        assert!(err(r).contains("`slos`"));
        let mut r = req(NOW - 3600, NOW - 1800);
        r.reason = None;
        assert!(err(r).contains("`reason` is required"));
        let mut r = req(NOW - 3600, NOW - 1800);
        r.reason = Some("  ".into());
        assert!(err(r).contains("`reason` is required"));
        let mut r = req(NOW - 3600, NOW - 1800);
        r.author = None;
        assert!(err(r).contains("`author` is required"));
        let mut r = req(NOW - 3600, NOW - 1800);
        r.start = None;
        assert!(err(r).contains("`start` and `end`"));
        let mut r = req(NOW - 3600, NOW - 1800);
        r.reason = Some("x".repeat(MAX_TEXT + 1));
        assert!(err(r).contains("at most"));
        let mut r = req(NOW - 3600, NOW - 1800);
        r.slos = vec!["api/avail".into(); MAX_NAMES + 1];
        assert!(err(r).contains("at most"));
        let mut r = req(NOW - 3600, NOW - 1800);
        r.start = Some("yesterday".into());
        assert!(err(r).contains("not an RFC 3339 time"));
    }

    #[test]
    fn a_correction_is_a_one_off_maintenance_window_of_its_slos() {
        let c = check(req(NOW - 3600, NOW - 1800)).expect("valid");
        let m = c.maintenance();
        assert_eq!(
            m.when,
            Recurrence::Once {
                start: NOW - 3600,
                end: NOW - 1800
            }
        );
        assert_eq!(m.name, "correction c1: synthetic errors of a load test");
        assert_eq!(m.slos, vec!["api/avail".to_string()]);
        let none = BTreeMap::new();
        assert!(m.applies("api/avail", &none) && !m.applies("api/other", &none));
        assert!(m.covers(NOW - 3600) && !m.covers(NOW - 1800));
        // A definition id covers its members.
        let mut g = c;
        g.slos = vec!["api/latency".into()];
        assert!(g.maintenance().applies("api/latency{route=\"/x\"}", &none));
    }

    #[test]
    fn the_stored_form_reads_back() {
        let c = check(req(NOW - 3600, NOW - 1800)).expect("valid");
        let bytes = serde_json::to_vec(&c).expect("json");
        let text = String::from_utf8_lossy(&bytes).to_string();
        assert!(text.contains(&crate::time::rfc3339(NOW - 3600)), "{text}");
        assert_eq!(Correction::decode(&bytes).ok(), Some(c));
    }

    #[test]
    fn every_change_moves_the_generation() {
        let all = Corrections::default();
        let (g0, list) = all.current();
        assert!(list.is_empty());
        let c = check(req(NOW - 3600, NOW - 1800)).expect("valid");
        let pushed: Result<(), ()> = all.change(|l| {
            l.push(c);
            Ok(())
        });
        assert!(pushed.is_ok());
        let (g1, list) = all.current();
        assert!(g1 > g0 && list.len() == 1);
        let refused: Result<(), &str> = all.change(|_| Err("no"));
        assert!(refused.is_err());
        assert_eq!(
            all.current().0,
            g1,
            "a refused change leaves the generation"
        );
    }
}
