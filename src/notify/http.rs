//! The HTTP side of delivery, shared by every receiver that POSTs JSON: the one place where an
//! answer's status is classified and its `Retry-After` read.

use super::Delivery;
use crate::secret::Secret;
use serde_json::Value;
use std::time::Duration;

/// The one place HTTP statuses are classified: 2xx delivered; 408, 429 and 5xx retried; other
/// 4xx rejected.
pub fn classify(status: u16, retry_after: Option<Duration>, body: &str) -> Delivery {
    match status {
        200..=299 => Delivery::Delivered,
        408 | 429 | 500..=599 => Delivery::RetryLater(retry_after),
        _ => Delivery::Rejected(format!(
            "HTTP {status}: {}",
            body.chars().take(300).collect::<String>()
        )),
    }
}

/// The longest wait an answer's `Retry-After` can impose on one receiver: the outbox keeps the
/// notification meanwhile, and its `give_up_after` still ends it.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// How long an answer asks to wait before the next try: `Retry-After` as seconds (Slack's form)
/// or an HTTP date, read by the one parser sources and provisioning use too, and capped.
pub(super) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    crate::http::retry_after::from_headers(headers, std::time::SystemTime::now(), MAX_RETRY_AFTER)
}

/// POSTs `body` as JSON to `url` with `headers` and classifies the answer. The header values
/// are exposed here, where the request is built, and nowhere else. `throttled` is the wait
/// after a 429 that names none (PagerDuty's), `None` to leave it to the backoff.
pub(super) async fn post(
    client: &reqwest::Client,
    url: &str,
    body: Value,
    headers: &[(String, Secret)],
    throttled: Option<Duration>,
) -> Delivery {
    let mut req = client.post(url).json(&body);
    for (name, value) in headers {
        req = req.header(name.as_str(), value.expose());
    }
    match req.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let retry_after = match retry_after(resp.headers()) {
                None if status == 429 => throttled,
                given => given,
            };
            let text = resp.text().await.unwrap_or_default();
            classify(status, retry_after, &text)
        }
        Err(e) if e.is_builder() => Delivery::Rejected("cannot build the request".into()),
        Err(_) => Delivery::RetryLater(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified_in_one_place() {
        for ok in [200, 202, 204] {
            assert_eq!(classify(ok, None, ""), Delivery::Delivered);
        }
        for retry in [408, 429, 500, 502, 503, 504] {
            assert!(
                matches!(classify(retry, None, ""), Delivery::RetryLater(_)),
                "{retry}"
            );
        }
        for reject in [400, 401, 403, 404, 413, 422] {
            assert!(
                matches!(classify(reject, None, ""), Delivery::Rejected(_)),
                "{reject}"
            );
        }
        assert_eq!(
            classify(429, Some(Duration::from_secs(30)), ""),
            Delivery::RetryLater(Some(Duration::from_secs(30)))
        );
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_a_date_and_capped() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(
            "retry-after",
            reqwest::header::HeaderValue::from_static(" 5 "),
        );
        assert_eq!(retry_after(&h), Some(Duration::from_secs(5)));
        h.insert(
            "retry-after",
            reqwest::header::HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        // A date already past: try again now.
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert(
            "retry-after",
            reqwest::header::HeaderValue::from_static("99999999"),
        );
        assert_eq!(retry_after(&h), Some(MAX_RETRY_AFTER));
    }
}
