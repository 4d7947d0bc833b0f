//! Finding a grouped SLO's members in its source: one instant query per selector,
//! `count by (route) (last_over_time(SEL[lookback]))`, never one per member. The values it
//! returns go to [`crate::engine::Members`] (the daemon) or straight into
//! [`crate::config::group::expand`] (`report`, `gate`, `backtest`, `validate --online`).

use super::{SourceError, Sources};
use crate::config::group::{self, Values};
use crate::config::{Config, Slo};
use crate::duration::Dur;
use std::collections::BTreeSet;

/// The query that lists the values of `def`'s group labels among `selector`'s series seen in
/// the `lookback` before the evaluation time.
pub fn query(def: &Slo, selector: &str, lookback: Dur) -> String {
    let by = def
        .group_by
        .as_ref()
        .map(|g| g.labels.join(", "))
        .unwrap_or_default();
    format!("count by ({by}) (last_over_time({selector}[{lookback}]))")
}

/// The values of `def`'s group labels among its selectors' series in the `lookback` before `at`
/// (now when `None`), sorted, each once; a series without a label has it empty.
pub async fn find(
    sources: &Sources,
    def: &Slo,
    at: Option<i64>,
    lookback: Dur,
) -> Result<Vec<Values>, SourceError> {
    if def.group_by.is_none() {
        return Ok(Vec::new());
    }
    let source = sources.for_slo(def)?;
    let mut out: BTreeSet<Values> = BTreeSet::new();
    for selector in group::selectors(def) {
        for found in source
            .label_sets(&query(def, &selector, lookback), at)
            .await?
        {
            out.insert(group::values_of(def, &found));
        }
    }
    Ok(out.into_iter().collect())
}

/// What a one-off command found for each definition: its id, the values found, and how many of
/// them `max_groups` left out.
#[derive(Debug, Clone)]
pub struct Found {
    /// The definition's id.
    pub id: String,
    /// Members followed (at most `max_groups`, the first in sorted order).
    pub members: Vec<Values>,
    /// Values beyond `max_groups`.
    pub dropped: usize,
}

/// `cfg` with every definition replaced by the members seen in its longest period before `at`:
/// what `report`, `gate` and `backtest` evaluate. A failed look is an error (a report missing
/// members would read as complete).
pub async fn expand_at(
    cfg: &Config,
    sources: &Sources,
    at: Option<i64>,
) -> Result<(Config, Vec<Found>), SourceError> {
    let mut found: Vec<Found> = Vec::new();
    for def in cfg.slos.iter().filter(|s| s.is_group()) {
        let all = find(sources, def, at, def.longest_period()).await?;
        let (members, dropped) = group::capped(def, all);
        found.push(Found {
            id: def.id.clone(),
            members,
            dropped,
        });
    }
    let expanded = group::expand(cfg, |d| {
        found
            .iter()
            .find(|f| f.id == d.id)
            .map(|f| f.members.clone())
            .unwrap_or_default()
    });
    Ok((expanded, found))
}
