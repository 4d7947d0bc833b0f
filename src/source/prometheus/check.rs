//! `validate --online` for Prometheus SLIs: every selector has series now, and every latency
//! threshold is one of its histogram's `le` boundaries (a threshold between buckets would count
//! nothing as good). PromQL annotations on a query (`PromQL warning: …`) are shown, since the
//! daemon counts such answers and logs the annotation only once.

use super::Inner;
use super::wire::InstantAnswer;
use crate::config::{CountSpec, EventQuery, SliKind, Slo};
use crate::sli::promql::{le_label, le_matcher};
use crate::source::{BucketRange, Finding};
use std::sync::Arc;

/// Runs the online checks of one SLO; each finding names the SLO and the query.
pub(super) async fn check(source: &Arc<Inner>, slo: &Slo) -> Vec<Finding> {
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
        match source.instant(&probe).await {
            Ok(a) => out.extend(remarks(q, &a)),
            Err(e) => out.push(Finding::Problem(e.to_string())),
        }
    }
    if matches!(slo.counts, CountSpec::Events { .. }) {
        out.extend(sanity(source, slo).await);
    }
    out
}

/// The daemon's sanity checks ([`crate::source::sanity`]) over the last hour of one-minute
/// buckets, each naming the SLO's queries.
async fn sanity(source: &Arc<Inner>, slo: &Slo) -> Vec<Finding> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let range = BucketRange {
        start: (now / 60) * 60 - 3600,
        count: 60,
        width: 60,
    };
    let found = source.counts(&slo.counts, range).await.sanity;
    let queries = slo.counts.queries().join("`, `");
    found
        .describe()
        .into_iter()
        .map(|why| Finding::Warning(format!("in the last hour, `{queries}`: {why}")))
        .collect()
}

/// What an instant answer says about the query `q`: no series, PromQL annotations (counted, but
/// worth reading), and warnings that make its buckets missing while they last.
fn remarks(q: &str, a: &InstantAnswer) -> Vec<Finding> {
    let mut out = Vec::new();
    if a.series == 0 {
        out.push(Finding::Warning(format!(
            "`{q}` returned no series in the last hour"
        )));
    }
    for n in &a.annotations {
        out.push(Finding::Warning(format!(
            "`{q}`: Prometheus annotates it: {n} (the data is whole and counted)"
        )));
    }
    if !a.warnings.is_empty() {
        out.push(Finding::Warning(format!(
            "`{q}`: Prometheus answered with warnings, so its data may be partial and such buckets stay missing until an answer without them: {}",
            a.warnings.join("; ")
        )));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_and_partial_warnings_are_shown_apart() {
        let a = InstantAnswer {
            series: 2,
            warnings: vec!["remote read: store down".into()],
            annotations: vec!["PromQL info: metric might not be a counter".into()],
        };
        let f = remarks("rate(x[5m])", &a);
        let [Finding::Warning(info), Finding::Warning(partial)] = &f[..] else {
            panic!("{f:?}");
        };
        assert!(info.contains("PromQL info: metric might not") && info.contains("counted"));
        assert!(partial.contains("store down") && partial.contains("partial"));
        let none = remarks("x", &InstantAnswer::default());
        let [Finding::Warning(m)] = &none[..] else {
            panic!("{none:?}");
        };
        assert!(m.contains("no series"), "{m}");
    }
}
