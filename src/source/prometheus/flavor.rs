//! What each engine behind the PromQL API needs on a range query so that its answer is whole and
//! raw (`shared/reference/scale-out.md` §4). The rest of the protocol is shared: every flavor gets
//! `partial_response=false` (Thanos answers partial data by default; the others ignore it) and
//! `stats=all`, and `wire` classifies the same statuses for all (400 and 422 are never retried,
//! 429 and 5xx after `Retry-After`).

use crate::config::Flavor;

/// Query parameters a flavor adds to every range query.
pub fn range_params(flavor: Flavor) -> &'static [(&'static str, &'static str)] {
    match flavor {
        Flavor::Prometheus | Flavor::Mimir => &[],
        // Raw samples, never a downsampled 5m or 1h block: a bucket's edges are minutes apart.
        Flavor::Thanos => &[("max_source_resolution", "0s")],
        // VictoriaMetrics caches range results and serves recent buckets from the cache; the
        // daemon re-reads recent buckets precisely because they may have changed.
        Flavor::VictoriaMetrics => &[("nocache", "1")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thanos_reads_raw_data_and_victoriametrics_skips_its_cache() {
        assert_eq!(
            range_params(Flavor::Thanos),
            &[("max_source_resolution", "0s")]
        );
        assert_eq!(range_params(Flavor::VictoriaMetrics), &[("nocache", "1")]);
        assert!(range_params(Flavor::Prometheus).is_empty());
        assert!(range_params(Flavor::Mimir).is_empty());
    }
}
