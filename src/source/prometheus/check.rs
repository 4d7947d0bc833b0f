//! `validate --online` for Prometheus SLIs: every selector has series now, and every latency
//! threshold is one of its histogram's `le` boundaries (a threshold between buckets would count
//! nothing as good).

use super::Inner;
use crate::config::{CountSpec, EventQuery, SliKind, Slo};
use crate::sli::promql::{le_label, le_matcher};
use crate::source::Finding;

/// Runs the online checks of one SLO; each finding names the SLO and the query.
pub(super) async fn check(source: &Inner, slo: &Slo) -> Vec<Finding> {
    let mut out = Vec::new();
    if let SliKind::Latency {
        metric,
        matchers,
        threshold,
    } = &slo.sli
    {
        let sep = if matchers.is_empty() { "" } else { "," };
        let q = format!(
            "{metric}_bucket{{{matchers}{sep}{}}}",
            le_matcher(*threshold)
        );
        match source
            .series_count(&format!("last_over_time({q}[1h])"))
            .await
        {
            Err(e) => {
                // The same failure would repeat for every selector below.
                out.push(Finding::Problem(e.to_string()));
                return out;
            }
            Ok(0) => {
                let all =
                    format!("count by (le) (last_over_time({metric}_bucket{{{matchers}}}[1h]))");
                let n = source.series_count(&all).await.unwrap_or(0);
                out.push(Finding::Problem(format!(
                    "histogram `{metric}` has no `le=\"{}\"` bucket ({n} bucket boundaries exist); the threshold must be one of them",
                    le_label(*threshold)
                )));
            }
            Ok(_) => {}
        }
    }
    let probes: Vec<String> = match &slo.counts {
        CountSpec::Events { good, bad, total } => [good, bad, total]
            .into_iter()
            .flatten()
            .map(|q| match q {
                EventQuery::Selector(s) => format!("last_over_time({s}[1h])"),
                EventQuery::Expression(e) => e.replace("$window", "5m"),
            })
            .collect(),
        CountSpec::Timeslice { query, .. } => vec![query.clone()],
        // The mixed source checks each side with its own source.
        CountSpec::Mixed { .. } => Vec::new(),
    };
    for (q, probe) in slo.counts.queries().iter().zip(probes) {
        match source.series_count(&probe).await {
            Ok(0) => out.push(Finding::Warning(format!(
                "`{q}` returned no series in the last hour"
            ))),
            Ok(_) => {}
            Err(e) => out.push(Finding::Problem(e.to_string())),
        }
    }
    out
}
