//! `Retry-After` (RFC 9110 §10.2.3), read in one place for every outbound client: the sources'
//! shared layer, the notifiers and Grafana provisioning. A server may send delta-seconds (`120`)
//! or an HTTP date in any of the three forms HTTP allows (IMF-fixdate, RFC 850, asctime); a
//! date already past means "now", and anything else is no advice at all.

use reqwest::header::{HeaderMap, RETRY_AFTER};
use std::time::{Duration, SystemTime};

/// How long `value` asks to wait from `now`: delta-seconds or an HTTP date (zero when the date
/// has passed); `None` when it is neither, so the caller falls back on its own backoff.
pub fn parse(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        // A number too long for u64 is still "a very long time": the caller's cap decides.
        return Some(Duration::from_secs(v.parse::<u64>().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The wait a response's `Retry-After` asks for, at most `cap` (a server may not park a client
/// for an hour); `None` when the header is absent, not text, or unreadable.
pub fn from_headers(headers: &HeaderMap, now: SystemTime, cap: Duration) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?;
    parse(v, now).map(|d| d.min(cap))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    /// Wed, 21 Oct 2015 07:28:00 GMT.
    fn at() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480)
    }

    #[test]
    fn seconds_are_read_with_spaces_around() {
        assert_eq!(parse("12", at()), Some(Duration::from_secs(12)));
        assert_eq!(parse(" 0 ", at()), Some(Duration::ZERO));
        assert_eq!(
            parse("99999999999999999999999", at()),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn a_date_in_the_future_is_the_time_until_it() {
        assert_eq!(
            parse("Wed, 21 Oct 2015 07:30:00 GMT", at()),
            Some(Duration::from_secs(120))
        );
        // RFC 850 and asctime, which HTTP still allows a server to send.
        assert_eq!(
            parse("Wednesday, 21-Oct-15 07:29:00 GMT", at()),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse("Wed Oct 21 07:28:30 2015", at()),
            Some(Duration::from_secs(30))
        );
    }

    #[test]
    fn a_date_in_the_past_means_now() {
        assert_eq!(
            parse("Wed, 21 Oct 2015 07:00:00 GMT", at()),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn anything_else_is_no_advice() {
        for v in [
            "soon",
            "",
            "-5",
            "1.5",
            "12s",
            "Wed, 32 Oct 2015 07:28:00 GMT",
        ] {
            assert_eq!(parse(v, at()), None, "{v:?}");
        }
    }

    #[test]
    fn the_header_is_capped_and_may_be_absent() {
        let mut h = HeaderMap::new();
        let cap = Duration::from_secs(30);
        assert_eq!(from_headers(&h, at(), cap), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("3600"));
        assert_eq!(from_headers(&h, at(), cap), Some(cap));
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(from_headers(&h, at(), cap), Some(Duration::from_secs(7)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 08:28:00 GMT"),
        );
        assert_eq!(from_headers(&h, at(), cap), Some(cap));
        h.insert(RETRY_AFTER, HeaderValue::from_static("later"));
        assert_eq!(from_headers(&h, at(), cap), None);
    }
}
