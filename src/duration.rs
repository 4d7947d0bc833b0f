//! Durations as written in `slo.yaml` (`30d`, `1h30m`, `200ms`).
//!
//! slowburn keeps its own tiny parser instead of `humantime` so that the error can say exactly which
//! units are accepted, and so that every SLO window is a whole number of milliseconds that can be
//! compared and divided exactly (bucket arithmetic must never round).

use std::fmt;

/// A non-negative span of time with millisecond resolution, as used for windows, buckets and thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Dur(u64);

impl Dur {
    /// Builds a duration from whole seconds; windows and buckets are usually spoken of in seconds.
    pub const fn from_secs(s: u64) -> Self {
        Dur(s * 1000)
    }
    /// Builds a duration from milliseconds, the resolution of latency thresholds.
    pub const fn from_millis(ms: u64) -> Self {
        Dur(ms)
    }
    /// Whole milliseconds.
    pub const fn as_millis(self) -> u64 {
        self.0
    }
    /// Whole seconds (rounded down); bucket and window arithmetic happens in seconds.
    pub const fn as_secs(self) -> u64 {
        self.0 / 1000
    }
    /// Seconds as a float, for thresholds compared against Prometheus values.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }
    /// Whether this is a whole number of `bucket`s: windows, periods and no-data timeouts must
    /// be, or a window would count part of a bucket. False for a zero bucket, never a panic.
    pub const fn is_whole_buckets(self, bucket: Dur) -> bool {
        bucket.0 > 0 && self.0.is_multiple_of(bucket.0)
    }
}

/// The longest duration accepted: ten years (a period or window beyond it is a typo, and its
/// milliseconds would overflow the arithmetic that follows).
pub const MAX: Dur = Dur::from_secs(3650 * 86400);

/// Why a duration string was rejected; the message names the accepted form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", if *too_long {
    format!("duration `{input}` is too long: at most {} (ten years) is accepted", MAX)
} else {
    format!("invalid duration `{input}`: expected a number followed by a unit (ms, s, m, h, d, w), e.g. `30d`, `1h30m`, `200ms`")
})]
pub struct DurationError {
    /// The text that failed to parse.
    pub input: String,
    /// It parsed, but is longer than [`MAX`].
    pub too_long: bool,
}

/// Parses `30d`, `1h30m`, `200ms`, `0.5s`. Fractions are allowed as long as the result is a whole
/// number of milliseconds.
pub fn parse(input: &str) -> Result<Dur, DurationError> {
    let err = || DurationError {
        input: input.to_string(),
        too_long: false,
    };
    let s = input.trim();
    if s.is_empty() {
        return Err(err());
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut total_ms: f64 = 0.0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        let number: f64 = s[start..i].parse().map_err(|_| err())?;
        let ustart = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit_ms = match &s[ustart..i] {
            "ms" => 1.0,
            "s" => 1_000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            "d" => 86_400_000.0,
            "w" => 604_800_000.0,
            _ => return Err(err()),
        };
        total_ms += number * unit_ms;
    }
    if total_ms > MAX.0 as f64 {
        return Err(DurationError {
            input: input.to_string(),
            too_long: true,
        });
    }
    if !total_ms.is_finite() || total_ms.fract().abs() > 1e-6 {
        return Err(err());
    }
    Ok(Dur(total_ms.round() as u64))
}

impl fmt::Display for Dur {
    /// Prints the shortest exact form (`30d`, `1h30m`, `200ms`), the way windows are labelled in
    /// metrics and JSON keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.0;
        for (unit, ms) in [
            ("d", 86_400_000u64),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1_000),
            ("ms", 1),
        ] {
            if rest >= ms {
                write!(f, "{}{}", rest / ms, unit)?;
                rest %= ms;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_buckets() {
        let minute = Dur::from_secs(60);
        assert!(Dur::from_secs(3600).is_whole_buckets(minute));
        assert!(!Dur::from_secs(90).is_whole_buckets(minute));
        assert!(!Dur::from_millis(1500).is_whole_buckets(Dur::from_secs(1)));
        assert!(!Dur::from_secs(60).is_whole_buckets(Dur::from_secs(0)));
    }

    #[test]
    fn parses_units_and_compounds() {
        assert_eq!(parse("30d").unwrap(), Dur::from_secs(30 * 86400));
        assert_eq!(parse("1h30m").unwrap(), Dur::from_secs(5400));
        assert_eq!(parse("200ms").unwrap(), Dur::from_millis(200));
        assert_eq!(parse("0.5s").unwrap(), Dur::from_millis(500));
        assert_eq!(parse("1w").unwrap(), Dur::from_secs(7 * 86400));
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "30", "d", "5x", "1.2.3m", "-5m", "0.0001ms"] {
            assert!(parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn too_long_says_so_rather_than_bad_syntax() {
        assert_eq!(parse("3650d").unwrap(), MAX);
        for long in ["3651d", "100000000000d", "99999999999999999999999ms"] {
            let e = parse(long).unwrap_err();
            assert!(e.too_long, "{long}");
            assert!(e.to_string().contains("too long: at most 3650d"), "{e}");
        }
    }

    #[test]
    fn display_round_trips() {
        for s in ["30d", "7d", "5m", "1h30m", "200ms", "1d2h"] {
            assert_eq!(parse(s).unwrap().to_string(), s);
        }
    }
}
