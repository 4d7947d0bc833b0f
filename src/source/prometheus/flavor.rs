//! What each engine behind the PromQL API needs on a range query so that its answer is whole and
//! raw (`shared/reference/scale-out.md` §4). The rest of the protocol is shared: every flavor gets
//! `partial_response=false` (Thanos answers partial data by default; the others ignore it) and
//! `stats=all`, and `wire` classifies the same statuses for all (400 and 422 are never retried,
//! 429 and 5xx after `Retry-After`).

use crate::config::Flavor;
use crate::source::SourceError;
use std::time::Duration;

/// Query parameters a flavor adds to every range query; `latency_offset` is `engine.delay`.
pub fn range_params(flavor: Flavor, latency_offset: Duration) -> Vec<(&'static str, String)> {
    match flavor {
        Flavor::Prometheus | Flavor::Mimir => Vec::new(),
        // Raw samples, never a downsampled 5m or 1h block: a bucket's edges are minutes apart.
        Flavor::Thanos => vec![("max_source_resolution", "0s".into())],
        // VictoriaMetrics caches range results and serves recent buckets from the cache; the
        // daemon re-reads recent buckets precisely because they may have changed. With a step
        // under a minute it also overwrites points younger than `-search.latencyOffset` (30 s)
        // with older values (`adjustLastPoints`); the daemon already waits `engine.delay` past
        // each edge, so that is the offset it asks for (at least 1 ms, the smallest VM takes;
        // versions before 1.85.2 ignore the argument).
        Flavor::VictoriaMetrics => vec![
            ("nocache", "1".into()),
            (
                "latency_offset",
                format!("{}ms", latency_offset.as_millis().max(1)),
            ),
        ],
    }
}

/// The flavor a `GET /api/v1/status/buildinfo` answer's `data` reveals, read from each
/// engine's own handler: Mimir adds `application` and `features`; VictoriaMetrics answers a
/// constant without `goVersion` (`{}` before 1.96, `{"version":"2.24.0"}` since); Thanos Query
/// has Prometheus's six keys with its own `0.x` version, Cortex with `1.x` (Prometheus 1.x never
/// had the endpoint). Anything else with the six keys is Prometheus; `None` when the answer is
/// not an object.
pub fn from_buildinfo(data: &serde_json::Value) -> Option<Flavor> {
    let o = data.as_object()?;
    if o.contains_key("application") || o.contains_key("features") {
        return Some(Flavor::Mimir);
    }
    if !o.contains_key("goVersion") {
        return Some(Flavor::VictoriaMetrics);
    }
    let version = o.get("version").and_then(|v| v.as_str()).unwrap_or("");
    Some(if version.starts_with("0.") {
        Flavor::Thanos
    } else if version.starts_with("1.") {
        Flavor::Mimir
    } else {
        Flavor::Prometheus
    })
}

/// Whether a refusal says the range was longer than the backend's query-length limit, which a
/// shorter range avoids: Cortex's `the query time range exceeds the limit (query length: …,
/// limit: …)` and Mimir's `err-mimir-max-query-length` / `err-mimir-max-total-query-length`
/// (both 400 `bad_data`, never retried as they are). Other refusals stay refusals.
pub fn range_too_long(e: &SourceError) -> bool {
    let SourceError::Rejected { message, .. } = e else {
        return false;
    };
    let m = message.to_ascii_lowercase();
    m.contains("err-mimir-max-query-length")
        || m.contains("err-mimir-max-total-query-length")
        || (m.contains("exceeds the limit") && m.contains("query length"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(message: &str) -> SourceError {
        SourceError::Rejected {
            backend: "prometheus".into(),
            query: "up".into(),
            message: message.into(),
        }
    }

    #[test]
    fn only_query_length_refusals_ask_for_shorter_ranges() {
        assert!(range_too_long(&rejected(
            "HTTP 400 bad_data: the total query time range exceeds the limit (query length: 744h0m0s, limit: 24h0m0s) (err-mimir-max-total-query-length)"
        )));
        assert!(range_too_long(&rejected(
            "HTTP 400 bad_data: the query time range exceeds the limit (query length: 721h, limit: 720h)"
        )));
        assert!(!range_too_long(&rejected(
            "HTTP 400 bad_data: parse error: unexpected end of input"
        )));
        assert!(!range_too_long(&rejected(
            "HTTP 422 execution: the query hit the max number of chunks limit (limit: 2000000 chunks) (err-mimir-max-chunks-per-query)"
        )));
        assert!(!range_too_long(&SourceError::Setup(
            "query length exceeds the limit".into()
        )));
    }

    #[test]
    fn thanos_reads_raw_data_and_victoriametrics_skips_its_cache_and_latency_offset() {
        let d = Duration::from_secs(10);
        assert_eq!(
            range_params(Flavor::Thanos, d),
            vec![("max_source_resolution", "0s".to_string())]
        );
        assert_eq!(
            range_params(Flavor::VictoriaMetrics, d),
            vec![
                ("nocache", "1".to_string()),
                ("latency_offset", "10000ms".to_string())
            ]
        );
        assert_eq!(
            range_params(Flavor::VictoriaMetrics, Duration::ZERO)[1].1,
            "1ms"
        );
        assert!(range_params(Flavor::Prometheus, d).is_empty());
        assert!(range_params(Flavor::Mimir, d).is_empty());
    }

    #[test]
    fn buildinfo_tells_the_engines_apart() {
        use serde_json::json;
        let six = |v: &str| {
            json!({"version": v, "revision": "r", "branch": "b", "buildUser": "u",
                   "buildDate": "d", "goVersion": "go1.23"})
        };
        assert_eq!(from_buildinfo(&six("2.42.0")), Some(Flavor::Prometheus));
        assert_eq!(from_buildinfo(&six("3.5.0")), Some(Flavor::Prometheus));
        assert_eq!(from_buildinfo(&six("0.36.1")), Some(Flavor::Thanos));
        assert_eq!(from_buildinfo(&six("1.18.0")), Some(Flavor::Mimir));
        assert_eq!(
            from_buildinfo(&json!({"application": "Grafana Mimir", "version": "2.14.0",
                "revision": "r", "branch": "b", "goVersion": "go1.23",
                "features": {"query_sharding": "true"}})),
            Some(Flavor::Mimir)
        );
        assert_eq!(from_buildinfo(&json!({})), Some(Flavor::VictoriaMetrics));
        assert_eq!(
            from_buildinfo(&json!({"version": "2.24.0"})),
            Some(Flavor::VictoriaMetrics)
        );
        assert_eq!(from_buildinfo(&json!([])), None);
    }
}
