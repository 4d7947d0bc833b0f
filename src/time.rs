//! Time helpers shared by every module: bucket alignment and the one RFC 3339 spelling of JSON
//! timestamps. Kept apart so the pure core never depends on an I/O adapter for them.

use crate::duration::Dur;
use chrono::{TimeZone, Utc};

/// Rounds a unix time down to a bucket boundary; buckets are aligned to the epoch so every
/// process (and every source) agrees on where a bucket starts.
pub fn align(t: i64, bucket: Dur) -> i64 {
    let w = bucket.as_secs().max(1) as i64;
    t.div_euclid(w) * w
}

/// The wall clock in unix seconds: the one place the shell reads it.
pub fn now_secs() -> i64 {
    Utc::now().timestamp()
}

/// RFC 3339 (seconds, `Z`) of a unix time, as every JSON timestamp of slowburn is written; empty
/// for a time chrono cannot represent.
pub fn rfc3339(t: i64) -> String {
    Utc.timestamp_opt(t, 0)
        .single()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_down_also_before_the_epoch() {
        let m = Dur::from_secs(60);
        assert_eq!(align(119, m), 60);
        assert_eq!(align(120, m), 120);
        assert_eq!(align(-1, m), -60);
    }

    #[test]
    fn writes_seconds_with_z() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}
