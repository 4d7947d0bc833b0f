//! `validate --online` for Loki SLIs: each query runs over the last hour, and Loki's own message
//! is reported for any it rejects (its parser knows LogQL better than slowburn's offline checks).

use super::client::Client;
use crate::config::{CountSpec, Slo};
use crate::sli::logql;
use crate::source::Finding;

/// One instant query per query of the SLO, its range set to one hour.
pub(super) async fn check(client: &Client, slo: &Slo) -> Vec<Finding> {
    let probes: Vec<String> = match &slo.counts {
        CountSpec::Events { good, bad, total } => [good, bad, total]
            .into_iter()
            .flatten()
            .map(|q| logql::counting(q, 3600))
            .collect(),
        // A slice's `$window` is the bucket; an hour asks the same question of the whole hour.
        CountSpec::Timeslice { query, .. } => vec![query.replace("$window", "1h")],
        CountSpec::Mixed { .. } => Vec::new(),
    };
    let now = crate::time::now_secs();
    let mut out = Vec::new();
    for (q, probe) in slo.counts.queries().iter().zip(probes) {
        match client.instant(&probe, now).await {
            Ok(v) if v.iter().all(|x| *x == 0.0) => out.push(Finding::Warning(format!(
                "`{q}` matched no log lines in the last hour"
            ))),
            Ok(_) => {}
            Err(e) => out.push(Finding::Problem(e.to_string())),
        }
    }
    out
}
