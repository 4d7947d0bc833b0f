//! What the engine publishes and the HTTP server reads: an immutable [`Snapshot`] of every SLO's
//! latest evaluation, behind the [`Shared`] state (health, store, outbox wake-up, silences,
//! corrections).

use super::health::Health;
use crate::alert::policy::Severity;
use crate::alert::state::Record;
use crate::budget::{Evaluation, WindowSum};
use crate::config::Slo;
use crate::duration::Dur;
use crate::status::{self, AlertStatus, Alerts, RuleStatus, SloStatus};
use crate::store::Store;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// What the HTTP server reads: the latest evaluation of every SLO.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Evaluation time (unix seconds, a bucket boundary); 0 before the first evaluation.
    pub at: i64,
    /// Bucket width in seconds.
    pub width: i64,
    /// One entry per SLO, in config order.
    pub slos: Vec<SloView>,
    /// Which series `/metrics` renders from it.
    pub metrics: crate::config::MetricsSettings,
    /// Every `group_by` definition and how many members it has, in file order.
    pub groups: Vec<GroupView>,
}

/// One grouped definition in a [`Snapshot`]: for `slowburn_group_members` and the web UI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupView {
    /// The definition's id (`service/name`).
    pub id: String,
    /// Members followed.
    pub members: usize,
    /// Values found at the last look that `max_groups` kept out.
    pub dropped: usize,
    /// `max_groups`.
    pub max: usize,
}

/// One SLO in a [`Snapshot`].
#[derive(Debug, Clone)]
pub struct SloView {
    /// The SLO as configured (shared, so publishing a snapshot copies no strings).
    pub slo: Arc<Slo>,
    /// Its numbers at the snapshot time.
    pub eval: Evaluation,
    /// SLI of the SLA's own counts (or the SLO's) over the first period.
    pub sla_sli: Option<f64>,
    /// Store series id of the current definition: a changed query gets a new one.
    pub series: u64,
    /// The last query error, if the last tick had one.
    pub last_error: Option<String>,
    /// Why its budgets cover less than their periods although nothing failed: its source holds
    /// no data before some time inside its window (Loki's retention). Shown in its row as a
    /// notice, not an error: asking again will not change it.
    pub notice: Option<String>,
    /// Ticks at which each kind of sanity finding was seen ([`crate::source::sanity::KINDS`]).
    pub sanity: [u64; 4],
    /// Alert state: page, then ticket (read it with [`SloView::alert`]).
    pub alerts: [Record; 2],
    /// The window sums of its policy's burn-rate rules, as the alert stage judged them: the
    /// rules' status (what the gate reads as "a page-level burn") is derived from them when
    /// asked, not built with a dozen strings per SLO at every tick (inline for the usual four
    /// rules: no allocation per SLO per tick).
    pub rule_sums: smallvec::SmallVec<[(Dur, WindowSum); 8]>,
    /// Its Grafana dashboard, when `alerting.dashboard_url` is set (for the web UI's link).
    pub dashboard: Option<String>,
}

impl SloView {
    /// The alert record of one severity, so no reader depends on the array's order.
    pub fn alert(&self, severity: Severity) -> &Record {
        &self.alerts[super::slot(severity)]
    }

    /// Its policy's burn-rate rules over the sums the alert stage judged.
    pub fn rules(&self) -> Vec<RuleStatus> {
        status::rules(&self.slo.policy, self.slo.objective, |w| {
            self.rule_sums
                .iter()
                .find(|(d, _)| *d == w)
                .map(|(_, s)| *s)
                .unwrap_or_default()
        })
    }

    /// The typed status of this SLO with its alerts and last error: what the API serves, the gate
    /// decides on and the web UI shows.
    pub fn status(&self) -> SloStatus {
        status::build(
            &self.slo,
            &self.eval,
            self.rules(),
            self.sla_sli,
            self.last_error.iter().cloned().collect(),
            Some(Alerts {
                page: AlertStatus::of(self.alert(Severity::Page)),
                ticket: AlertStatus::of(self.alert(Severity::Ticket)),
            }),
        )
    }
}

/// State shared between the engine, the HTTP server and the reloader.
pub struct Shared {
    /// The daemon's own health.
    pub health: Health,
    /// The latest evaluation.
    pub snapshot: RwLock<Arc<Snapshot>>,
    /// The store, for history requests.
    pub store: Arc<Store>,
    /// Wakes the notification dispatcher when the outbox got something.
    pub outbox_wake: tokio::sync::Notify,
    /// Notification outcomes per receiver.
    pub notifications: crate::notify::Counters,
    /// Notifications waiting in the outbox per receiver when the dispatcher's latest pass began;
    /// its keys are the configured receivers. Readers want [`Shared::pending_now`].
    pub pending: std::sync::Mutex<BTreeMap<String, u64>>,
    /// Silences, as stored; the API edits both.
    pub silences: RwLock<Vec<crate::alert::silence::Silence>>,
    /// Corrections, as stored; the API edits both and the engine applies a changed set at its
    /// next tick.
    pub corrections: crate::correction::Corrections,
    /// The config the engine evaluates (grouped SLOs expanded), for what reads the store as the
    /// engine does (`/reports/{period}`); `None` before the first evaluation.
    pub config: RwLock<Option<Arc<crate::config::Config>>>,
}

impl Shared {
    /// The config the engine evaluates now, if it has evaluated.
    pub fn config(&self) -> Option<Arc<crate::config::Config>> {
        match self.config.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Records the config the engine evaluates (at start and at every applied change).
    pub fn set_config(&self, config: Arc<crate::config::Config>) {
        let c = Some(config);
        match self.config.write() {
            Ok(mut g) => *g = c,
            Err(p) => *p.into_inner() = c,
        }
    }

    /// A fresh state around an open store.
    pub fn new(store: Arc<Store>) -> Arc<Self> {
        Arc::new(Shared {
            health: Health::default(),
            snapshot: RwLock::new(Arc::new(Snapshot::default())),
            store,
            outbox_wake: tokio::sync::Notify::new(),
            notifications: Default::default(),
            pending: Default::default(),
            silences: RwLock::new(Vec::new()),
            corrections: Default::default(),
            config: RwLock::new(None),
        })
    }

    /// The latest snapshot (cheap: an `Arc` clone).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.snapshot.read() {
            Ok(s) => Arc::clone(&s),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }

    /// Replaces the snapshot and records the evaluation in the health gauges.
    pub(super) fn publish(&self, snap: Snapshot) {
        let at = snap.at;
        let snap = Arc::new(snap);
        match self.snapshot.write() {
            Ok(mut g) => *g = snap,
            Err(p) => *p.into_inner() = snap,
        }
        use std::sync::atomic::Ordering::Relaxed;
        self.health.last_eval.store(at, Relaxed);
        self.health.ticks.fetch_add(1, Relaxed);
        self.health.beat();
    }

    /// Notifications waiting per receiver as the outbox holds them at this moment (configured
    /// receivers at 0 included); `None` when the store cannot be read.
    pub fn pending_now(&self) -> Option<BTreeMap<String, u64>> {
        let known = match self.pending.lock() {
            Ok(m) => m.clone(),
            Err(p) => p.into_inner().clone(),
        };
        crate::notify::pending_now(&self.store, &known)
    }

    /// The silences as they stand (a poisoned lock still yields its data).
    pub fn silences(&self) -> Vec<crate::alert::silence::Silence> {
        match self.silences.read() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
}
