//! The engine: sources → store → budget core, once per bucket, for every SLO.
//!
//! [`Engine::start`] opens every SLO's history from the store, queries the buckets that are missing
//! (all of them on the first start), and builds rolling window sums ([`prepare`]). [`Engine::tick`]
//! then runs at every bucket boundary as its stages ([`tick`]): plan what to query (the last `lag`
//! buckets for late samples, failed ranges every `heal_interval`), fetch it from each SLO's
//! source, commit the whole tick in one durable transaction, roll the window sums forward (reading
//! the buckets that leave each window from memory or the store), decide alerts ([`alerts`]), and
//! publish an immutable [`Snapshot`] that the HTTP server reads.
//!
//! The engine never reads the clock: every entry point takes the bucket boundary `at`, so tests
//! drive it with a scripted source and explicit times.

mod alerts;
mod checkpoint;
mod groups;
pub mod health;
pub mod members;
mod prepare;
pub mod progress;
pub mod ranges;
mod sanity;
mod snapshot;
mod tick;
mod tracked;

pub use members::Members;
pub use snapshot::{GroupView, Shared, SloView, Snapshot};

use crate::alert::state::Record;
use crate::config::{Config, Slo};
use crate::correction::Correction;
use crate::maintenance::Maintenance;
use crate::source::Sources;
use crate::store::StoreError;
use crate::store::keys::{AlertKey, SeriesKey};
use std::collections::HashMap;
use std::sync::Arc;
use tracing::{error, info, warn};
use tracked::Tracked;

/// One SLO as the engine follows it.
struct SloState {
    slo: Arc<Slo>,
    main: Tracked,
    sla: Option<Tracked>,
    last_error: Option<String>,
    /// What its answers showed that counts cannot mean.
    sanity: sanity::SanityState,
}

/// The engine itself; owned by the run loop.
pub struct Engine {
    /// The config as evaluated: every `group_by` definition replaced by its members.
    /// Shared with [`Shared::config`] (what `/reports` reads), never copied per reader: at
    /// 10,000 SLOs a copy is tens of MiB.
    config: Arc<Config>,
    /// The config as the file says it (definitions not expanded).
    file: Config,
    /// Each definition's members.
    members: Members,
    sources: Sources,
    shared: Arc<Shared>,
    slos: Vec<SloState>,
    last_heal: i64,
    last_retention: i64,
    /// Alert records by SLO id, page then ticket ([`SEVERITIES`]), loaded from the store at
    /// start: one look-up by `&str` a tick per SLO, no key built.
    alerts: HashMap<String, [Record; 2]>,
    /// The first instant this process evaluated alerts (for the no-data rule).
    first_alert_eval: Option<i64>,
    /// Set when memory may disagree with the store (a failure after a commit, an unreadable
    /// leaving bucket, a stall longer than a window, a failed reload): the next tick rebuilds every
    /// series from the store instead of risking counts that drift for good.
    needs_rebuild: bool,
    /// Whether stored running totals may be believed when series are loaded: not after a stored
    /// bucket was found unreadable (the totals counted what can no longer be read).
    trust_sums: bool,
    /// Every stored series' bucket width, for retention (looked up hourly).
    widths: HashMap<u64, i64>,
    /// The windows of the API's corrections that the sums exclude, as last taken.
    corrections: Vec<Maintenance>,
    /// The generation of [`Shared::corrections`] last taken; `None` before the first look.
    corrections_seen: Option<u64>,
}

/// The order of an SLO's two alert records in [`Engine`]'s map and in [`SloView::alerts`], as
/// `decide` answers them.
const SEVERITIES: [crate::alert::policy::Severity; 2] = [
    crate::alert::policy::Severity::Page,
    crate::alert::policy::Severity::Ticket,
];

/// Where a severity's record sits in an SLO's pair ([`SEVERITIES`]).
fn slot(severity: crate::alert::policy::Severity) -> usize {
    match severity {
        crate::alert::policy::Severity::Page => 0,
        crate::alert::policy::Severity::Ticket => 1,
    }
}

impl Engine {
    /// An engine with no SLO loaded yet; call [`Engine::start`].
    pub fn new(config: Config, sources: Sources, shared: Arc<Shared>) -> Self {
        Engine {
            // Definitions are never evaluated as they stand: until `start` finds their members
            // they have none.
            config: Arc::new(crate::config::group::expand(&config, |_| Vec::new())),
            file: config,
            members: Members::default(),
            sources,
            shared,
            slos: Vec::new(),
            last_heal: 0,
            last_retention: 0,
            alerts: HashMap::new(),
            first_alert_eval: None,
            needs_rebuild: false,
            trust_sums: true,
            widths: HashMap::new(),
            corrections: Vec::new(),
            corrections_seen: None,
        }
    }

    /// The running config.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Replaces the sources (after a reload changed their settings).
    pub fn set_sources(&mut self, sources: Sources) {
        self.sources = sources;
    }

    /// The bucket boundary of the last evaluation.
    pub fn last_at(&self) -> i64 {
        self.shared.snapshot().at
    }

    fn width(&self) -> i64 {
        self.config.bucket.as_secs() as i64
    }

    /// Loads every SLO from the store and backfills what is missing up to `at`, then publishes
    /// the first snapshot.
    pub async fn start(&mut self, at: i64) -> Result<(), StoreError> {
        for (key, bytes) in self.shared.store.alerts()? {
            let why = match (AlertKey::decode(&key), Record::decode(&bytes)) {
                (Ok(k), Ok(r)) => {
                    self.alerts.entry(k.slo).or_default()[slot(k.severity)] = r;
                    continue;
                }
                (Err(e), _) => e.to_string(),
                (Ok(_), Err(reason)) => reason,
            };
            // Said once, with what it was, then removed: kept, it would be reported at every
            // start and could never be resolved.
            error!(key, reason = %why, "unreadable alert record removed; that alert starts over");
            if let Err(e) = self.shared.store.delete_alert(&key) {
                warn!(key, error = %e, "cannot remove the unreadable alert record");
            }
        }
        if self.take_corrections() {
            info!(
                corrections = self.corrections.len(),
                "corrections applied: their ranges do not count in the budgets"
            );
        }
        self.load_members();
        self.find_members(at).await;
        self.config = Arc::new(self.expanded());
        self.shared.set_config(Arc::clone(&self.config));
        let slos = self.config.slos.clone();
        self.slos = self.prepare_all(slos, at, HashMap::new()).await?;
        self.evaluate_alerts(at);
        self.publish(at);
        Ok(())
    }

    /// Applies a new config (as the file says it): unchanged SLOs keep their state, new or
    /// changed ones are backfilled, removed ones stop being evaluated (their stored data ages out
    /// with retention); members of new definitions are looked for first.
    pub async fn reload(&mut self, file: Config, at: i64) -> Result<(), StoreError> {
        let old_file = std::mem::replace(&mut self.file, file);
        self.forget_removed_groups();
        self.find_members(at).await;
        let r = self.apply(Arc::new(self.expanded()), at).await;
        if r.is_err() {
            self.file = old_file;
        }
        r
    }

    /// Applies an expanded config: the body of a reload, also run when a definition's members
    /// or the corrections change.
    async fn apply(&mut self, config: Arc<Config>, at: i64) -> Result<(), StoreError> {
        let width = config.bucket.as_secs() as i64;
        let mut keep: HashMap<SeriesKey, Tracked> = HashMap::new();
        let old_keys: HashMap<String, SeriesKey> = self
            .slos
            .iter()
            .map(|s| (s.slo.id.clone(), s.main.key.clone()))
            .collect();
        for s in std::mem::take(&mut self.slos) {
            keep.insert(s.main.key.clone(), s.main);
            if let Some(t) = s.sla {
                keep.insert(t.key.clone(), t);
            }
        }
        if width != self.width() {
            keep.clear();
        }
        let old_config = std::mem::replace(&mut self.config, config);
        let slos = self.config.slos.clone();
        for slo in &slos {
            let key = SeriesKey::new(&slo.id, &slo.counts, width, crate::store::keys::Role::Slo);
            match old_keys.get(&slo.id) {
                None => info!(slo = %slo.id, "new SLO: backfilling"),
                Some(k) if *k != key => {
                    info!(slo = %slo.id, "definition changed: recording a new definition version and re-querying history")
                }
                Some(_) => {}
            }
        }
        for id in old_keys.keys() {
            if !slos.iter().any(|s| &s.id == id) {
                info!(slo = %id, "SLO removed: no longer evaluated or exported; its stored data is kept until retention");
            }
        }
        match self.prepare_all(slos, at, keep).await {
            Ok(states) => {
                self.slos = states;
                self.shared.set_config(Arc::clone(&self.config));
                let ids: Vec<&str> = self.slos.iter().map(|s| s.slo.id.as_str()).collect();
                if let Ok(mut m) = self.shared.health.source_errors.lock() {
                    m.retain(|(id, _), _| ids.contains(&id.as_str()));
                }
                self.publish(at);
                Ok(())
            }
            Err(e) => {
                // Keep serving the old config: its states are rebuilt from the store next tick.
                self.config = old_config;
                self.needs_rebuild = true;
                Err(e)
            }
        }
    }

    /// Takes the corrections as the API left them; true when their windows differ from the ones
    /// the sums exclude (the sums must then be summed again from the stored buckets).
    fn take_corrections(&mut self) -> bool {
        // Every tick asks; the list is copied only when it moved.
        if self.corrections_seen == Some(self.shared.corrections.generation()) {
            return false;
        }
        let (generation, list) = self.shared.corrections.current();
        if self.corrections_seen == Some(generation) {
            return false;
        }
        self.corrections_seen = Some(generation);
        let windows: Vec<Maintenance> = list.iter().map(Correction::maintenance).collect();
        if windows == self.corrections {
            return false;
        }
        self.corrections = windows;
        true
    }

    /// The corrections' windows that concern one SLO: buckets its sums count as excluded
    /// whatever the store holds for them.
    fn corrections_for(&self, slo: &Slo) -> Vec<Maintenance> {
        self.corrections
            .iter()
            .filter(|m| m.applies(&slo.id, &slo.labels))
            .cloned()
            .collect()
    }

    /// Rebuilds every series from the store (and queries what it lacks).
    async fn rebuild(&mut self, at: i64) -> Result<(), StoreError> {
        warn!("rebuilding every SLO's window sums from the store");
        let slos = self.config.slos.clone();
        self.slos = self.prepare_all(slos, at, HashMap::new()).await?;
        self.needs_rebuild = false;
        self.trust_sums = true;
        Ok(())
    }

    /// Evaluates every SLO from its rolling sums and publishes the snapshot.
    fn publish(&self, at: i64) {
        // What retention keeps: the oldest start a correction may have.
        let longest = self.slos.iter().map(|s| s.main.span).max().unwrap_or(0);
        self.shared
            .corrections
            .set_kept(longest + self.config.engine.retention_margin.as_secs() as i64);
        let slos = self
            .slos
            .iter()
            .map(|s| {
                let eval = s.main.rolling.evaluate(s.slo.objective, &s.slo.periods);
                let sla_sli = match (&s.slo.sla, &s.sla) {
                    (None, _) => None,
                    (Some(_), Some(t)) => t.rolling.window(s.slo.periods[0]).sli(),
                    (Some(_), None) => eval.periods.first().and_then(|p| p.sli),
                };
                let sla_unknown = s.sla.as_ref().and_then(|t| t.unknown_until);
                let notice = data_notice(s.main.unknown_until.max(sla_unknown), at - s.main.span);
                // What its answers showed that counts cannot mean, beside the data notice.
                let notice = match (notice, s.sanity.notes.is_empty()) {
                    (n, true) => n,
                    (None, false) => Some(s.sanity.notes.join("; ")),
                    (Some(n), false) => Some(format!("{n}; {}", s.sanity.notes.join("; "))),
                };
                SloView {
                    slo: Arc::clone(&s.slo),
                    eval,
                    sla_sli,
                    series: s.main.series,
                    last_error: s.last_error.clone(),
                    notice,
                    sanity: s.sanity.ticks,
                    // The same order, page then ticket ([`SEVERITIES`]).
                    alerts: self
                        .alerts
                        .get(s.slo.id.as_str())
                        .cloned()
                        .unwrap_or_default(),
                    // The same window sums the alert stage judged this tick.
                    rule_sums: s
                        .slo
                        .policy
                        .rules
                        .iter()
                        .flat_map(|r| [r.long, r.short])
                        .map(|w| (w, s.main.rolling.window(w)))
                        .collect(),
                    dashboard: self.config.dashboard_link(&s.slo),
                }
            })
            .collect();
        self.shared.publish(Snapshot {
            at,
            width: self.width(),
            slos,
            metrics: self.config.metrics,
            groups: self.group_views(),
        });
    }
}

/// The notice of an SLO whose source holds no data before `until` while that lies inside its
/// longest window (from `window_start`): its budgets cover less than their periods, which is
/// not a failure. Gone once those buckets leave the window.
fn data_notice(until: Option<i64>, window_start: i64) -> Option<String> {
    let until = until.filter(|u| *u > window_start)?;
    Some(format!(
        "its source holds no data of this SLI before {}: the buckets before are missing, not zero, so its budgets cover less than their periods until those buckets leave the window",
        crate::time::rfc3339(until)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_notice_lasts_while_the_unknown_buckets_are_in_the_window() {
        assert_eq!(data_notice(None, 1000), None);
        assert_eq!(data_notice(Some(1000), 1000), None, "left the window");
        let n = data_notice(Some(3600), 0).unwrap_or_default();
        assert!(n.contains("before 1970-01-01T01:00:00Z") && n.contains("missing, not zero"));
    }
}
