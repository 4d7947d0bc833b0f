//! `validate --online` for Loki SLIs: each query runs over the last hour, and Loki's own message
//! is reported for any it rejects (its parser knows LogQL better than slowburn's offline checks).
//! Then, unless `loki.retention` is set, where Loki's lines of the SLI begin: buckets before that
//! are missing, not zero, so a budget over a longer period covers only what Loki holds.

use super::Inner;
use super::horizon::Horizon;
use crate::config::{CountSpec, Slo};
use crate::sli::logql;
use crate::source::{BucketRange, Finding, SourceError};
use crate::time::rfc3339;

/// Bucket of the search for where an SLI's lines begin: five minutes names the time closely
/// enough and keeps a 30-day period to a few dozen requests.
const CHECK_WIDTH: i64 = 300;

/// One instant query per query of the SLO, its range set to one hour; then where its lines
/// begin, when every query ran.
pub(super) async fn check(inner: &Inner, slo: &Slo) -> Vec<Finding> {
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
        match inner.client.instant(&probe, now).await {
            Ok(v) if v.iter().all(|x| *x == 0.0) => out.push(Finding::Warning(format!(
                "`{q}` matched no log lines in the last hour"
            ))),
            Ok(_) => {}
            Err(e) => out.push(Finding::Problem(e.to_string())),
        }
    }
    let ran = !out.iter().any(|f| matches!(f, Finding::Problem(_)));
    if ran && inner.settings.retention.is_none() {
        out.extend(data_start(inner, slo, now).await);
    }
    out
}

/// Where Loki's lines of the SLO's stream selectors begin, searched over its longest period.
async fn data_start(inner: &Inner, slo: &Slo, now: i64) -> Vec<Finding> {
    let Some(period) = slo.periods.iter().max() else {
        return Vec::new();
    };
    let end = now.div_euclid(CHECK_WIDTH) * CHECK_WIDTH;
    let count = (period.as_secs() as i64 / CHECK_WIDTH).max(1) as usize;
    let range = BucketRange::ending_at(end, count, CHECK_WIDTH);
    let selectors = super::selectors(&slo.counts);
    let mut found = Vec::new();
    for sel in &selectors {
        match inner.search(sel, range, now).await {
            Ok(h) => found.push(h),
            Err(e) => return vec![Finding::Warning(cannot_tell(&e))],
        }
    }
    let named = selectors
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ");
    data_start_finding(&found, range, &period.to_string(), &named)
        .into_iter()
        .collect()
}

/// What `validate --online` says about where an SLI's lines begin (the searches of its
/// selectors over `range`, its longest period): nothing when Loki holds the whole period.
fn data_start_finding(
    found: &[Horizon],
    range: BucketRange,
    period: &str,
    selectors: &str,
) -> Option<Finding> {
    if !found.is_empty() && found.iter().all(|h| !h.found) {
        return Some(Finding::Warning(format!(
            "Loki holds no line of this query ({selectors}) in the last {period}; its buckets count as zero (no traffic). If Loki's retention dropped them, set `loki.retention` so older buckets read missing"
        )));
    }
    let first = found
        .iter()
        .filter(|h| h.found)
        .map(|h| h.held_from)
        .min()?;
    if first <= range.start {
        return None;
    }
    let text = if found.iter().any(|h| h.found) {
        format!(
            "Loki holds lines of this query ({selectors}) from {} on, not the whole {period} period; buckets before are missing, not zero, so the budget covers only what Loki holds (a service that is newer reads the same way until its lines are {period} old)",
            rfc3339(first)
        )
    } else {
        format!(
            "Loki holds no line of this query ({selectors}) in the last {period}; its buckets read missing, not zero, until lines arrive"
        )
    };
    Some(Finding::Warning(text))
}

/// A failed search is a warning: the queries themselves ran.
fn cannot_tell(e: &SourceError) -> String {
    format!("cannot tell where Loki's lines of this query begin: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const RANGE: BucketRange = BucketRange {
        start: 30_000,
        count: 100,
        width: CHECK_WIDTH,
    };

    fn found(held_from: i64, found: bool) -> Horizon {
        Horizon {
            from: 0,
            held_from,
            found,
            asked_at: 60_000,
        }
    }

    #[test]
    fn the_earliest_selector_decides_and_a_whole_period_says_nothing() {
        let both = [found(40_000, true), found(29_700, true)];
        assert_eq!(data_start_finding(&both, RANGE, "30d", "`{a}`"), None);
        assert_eq!(data_start_finding(&[], RANGE, "30d", "`{a}`"), None);
        let late = [found(40_000, true), found(45_000, false)];
        let Some(Finding::Warning(m)) = data_start_finding(&late, RANGE, "30d", "`{a}`") else {
            panic!("a warning");
        };
        assert!(
            m.contains("from 1970-01-01T11:06:40Z on") && m.contains("missing, not zero"),
            "{m}"
        );
        let none = [found(60_000, false)];
        let Some(Finding::Warning(m)) = data_start_finding(&none, RANGE, "7d", "`{a}`") else {
            panic!("a warning");
        };
        assert!(m.contains("no line of this query (`{a}`) in the last 7d"));
    }
}
