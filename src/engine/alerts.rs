//! The alert stage of a tick: every SLO through [`crate::alert::evaluate::decide`], records
//! persisted before anything is logged, and the tick's notifications stored in one transaction
//! (the outbox) before the dispatcher is woken.

use super::{Engine, SEVERITIES, SloState};
use crate::alert::details::AlertDetails;
use crate::alert::evaluate::{self, Input, Subject};
use crate::alert::policy::Severity;
use crate::alert::state::{Record, Send, Transition};
use crate::config::Config;
use crate::notify::{Action, Notification};
use crate::store::keys::AlertKey;
use crate::time::rfc3339;
use std::collections::HashSet;
use tracing::{info, warn};

impl Engine {
    /// Runs every SLO's alert policy on its current window sums and moves the state machines,
    /// persisting every transition before it is logged or sent.
    pub(super) fn evaluate_alerts(&mut self, at: i64) {
        let silences = self.shared.silences();
        let watched_since = *self.first_alert_eval.get_or_insert(at);
        let mut outbox: Vec<Vec<u8>> = Vec::new();
        // Every changed record of the tick, stored in one transaction before anything is
        // logged or sent (one transaction each cost a second a tick with thousands firing).
        let mut changed: Vec<(String, Vec<u8>)> = Vec::new();
        let mut logs: Vec<(usize, evaluate::Decision)> = Vec::new();
        let none: [Record; 2] = Default::default();
        for (i, s) in self.slos.iter().enumerate() {
            let pair = self.alerts.get(s.slo.id.as_str());
            let prior_pair = pair.unwrap_or(&none);
            let routes = SEVERITIES.map(|sev| {
                self.config
                    .receivers
                    .iter()
                    .filter(|r| r.routes(&s.slo, sev))
                    .map(|r| {
                        (
                            r.name.as_str(),
                            r.repeat_interval.map(|d| d.as_secs() as i64),
                        )
                    })
                    .collect()
            });
            let input = Input {
                subject: Subject {
                    id: &s.slo.id,
                    labels: &s.slo.labels,
                    objective: s.slo.objective,
                    periods: &s.slo.periods,
                    policy: &s.slo.policy,
                },
                prior: [&prior_pair[0], &prior_pair[1]],
                silences: &silences,
                maintenance: &self.config.maintenance,
                routes,
                at,
                every: self.width(),
                watched_since,
            };
            let decisions = evaluate::decide(&input, |w| s.main.rolling.window(w));
            // Only a record that moved is copied, stored and replaced.
            let mut next: Option<[Record; 2]> = None;
            for (k, (d, prior)) in decisions.into_iter().zip(input.prior).enumerate() {
                if d.next != *prior {
                    let key = AlertKey::new(&s.slo.id, SEVERITIES[k]);
                    changed.push((key.encode(), d.next.encode()));
                    next.get_or_insert_with(|| prior_pair.clone())[k] = d.next.clone();
                }
                enqueue(&mut outbox, s, &d, at, &self.config);
                if d.transition.is_some() {
                    logs.push((i, d));
                }
            }
            // Every configured SLO keeps an entry, so more entries than SLOs means removed ones.
            match (next, pair.is_some()) {
                (Some(n), _) => {
                    self.alerts.insert(s.slo.id.clone(), n);
                }
                (None, false) => {
                    self.alerts.insert(s.slo.id.clone(), Default::default());
                }
                (None, true) => {}
            }
        }
        if let Err(e) = self.shared.store.put_alerts(&changed) {
            warn!(records = changed.len(), error = %e, "cannot persist the alert states");
        }
        for (i, d) in &logs {
            log_transition(&self.slos[*i].slo.id, d);
        }
        // Every SLO now has its entry; more entries than that means some belong to SLOs no
        // longer configured (ids are unique), so only then are the ids gathered.
        if self.alerts.len() > self.slos.len() {
            let seen: HashSet<&str> = self.slos.iter().map(|s| s.slo.id.as_str()).collect();
            let gone: Vec<String> = self
                .alerts
                .keys()
                .filter(|k| !seen.contains(k.as_str()))
                .cloned()
                .collect();
            self.resolve_removed(gone, at, &mut outbox);
        }
        if !outbox.is_empty() {
            // Every notification of the tick is stored, in one transaction, before anything is
            // sent: a crash now means a re-send, not a loss, and Slack can group the tick.
            match self.shared.store.outbox_push(&outbox) {
                Ok(_) => self.shared.outbox_wake.notify_one(),
                Err(e) => warn!(error = %e, "cannot store notifications"),
            }
        }
    }

    /// Alerts of SLOs no longer in slo.yaml (`gone` names them): their receivers get a resolve,
    /// and the records are forgotten.
    fn resolve_removed(&mut self, gone: Vec<String>, at: i64, outbox: &mut Vec<Vec<u8>>) {
        let keys = gone
            .into_iter()
            .filter_map(|id| self.alerts.remove(&id).map(|p| (id, p)));
        let gone: Vec<(AlertKey, Record)> = keys
            .flat_map(|(id, [page, ticket])| {
                [
                    (AlertKey::new(&id, Severity::Page), page),
                    (AlertKey::new(&id, Severity::Ticket), ticket),
                ]
            })
            .collect();
        for (key, rec) in gone {
            if rec.firing() {
                info!(
                    slo = %key.slo,
                    severity = key.severity.as_str(),
                    "SLO removed from the config while firing; resolving"
                );
            }
            for receiver in rec.sent.keys() {
                outbox.push(
                    Notification {
                        receiver: receiver.clone(),
                        slo: key.slo.clone(),
                        severity: key.severity,
                        action: Action::Resolve,
                        created_at: at,
                        attempts: 0,
                        next_attempt: 0,
                        details: AlertDetails {
                            slo: key.slo.clone(),
                            reason: Some("SLO removed from the configuration".into()),
                            ..Default::default()
                        },
                    }
                    .encode(),
                );
            }
            if let Err(e) = self.shared.store.delete_alert(&key.encode()) {
                warn!(slo = %key.slo, error = %e, "cannot delete the alert state of a removed SLO");
            }
        }
    }
}

/// The decision's sends as outbox entries, each with the alert's details.
fn enqueue(
    outbox: &mut Vec<Vec<u8>>,
    s: &SloState,
    d: &evaluate::Decision,
    at: i64,
    config: &Config,
) {
    if d.sends.is_empty() {
        return;
    }
    let details = alert_details(s, &d.next, at, config);
    for (receiver, send) in &d.sends {
        let action = match send {
            Send::Resolve => Action::Resolve,
            Send::Trigger { .. } => Action::Trigger,
        };
        let n = Notification {
            receiver: receiver.clone(),
            slo: s.slo.id.clone(),
            severity: d.severity,
            action,
            created_at: at,
            attempts: 0,
            next_attempt: 0,
            details: AlertDetails {
                repeat: *send == Send::Trigger { repeat: true },
                ..details.clone()
            },
        };
        outbox.push(n.encode());
    }
}

/// One log line per transition: a firing alert is a warning, a resolve is news.
fn log_transition(slo: &str, d: &evaluate::Decision) {
    match d.transition {
        Some(Transition::Fired) => warn!(
            slo,
            severity = d.severity.as_str(),
            rule = d.next.rule.as_deref().unwrap_or(""),
            burn_rate = d.next.peak_burn_rate,
            muted_by = d.muted_by.as_deref().unwrap_or(""),
            "alert firing"
        ),
        Some(Transition::Resolved) => {
            info!(slo, severity = d.severity.as_str(), "alert resolved")
        }
        None => {}
    }
}

/// What a notification says about an SLO's alert: enough to act on without opening a dashboard.
fn alert_details(s: &SloState, rec: &Record, at: i64, config: &Config) -> AlertDetails {
    let eval = s.main.rolling.evaluate(s.slo.objective, &s.slo.periods);
    AlertDetails {
        slo: s.slo.id.clone(),
        service: s.slo.service.clone(),
        name: s.slo.name.clone(),
        objective: Some(s.slo.objective),
        description: s.slo.description.clone(),
        rule: rec.rule.clone(),
        burn_rate: rec.peak_burn_rate,
        burn_rates: eval
            .burn
            .iter()
            .map(|(w, _, r)| (w.to_string(), *r))
            .collect(),
        error_budget_remaining: eval
            .periods
            .iter()
            .map(|p| (p.name(), p.remaining))
            .collect(),
        time_to_exhaustion_seconds: eval
            .periods
            .iter()
            .map(|p| (p.name(), p.exhaustion_1h))
            .collect(),
        queries: s.slo.counts.queries(),
        fired_at: rec.fired_at.map(rfc3339),
        at: Some(rfc3339(at)),
        labels: s.slo.labels.clone(),
        dashboard: config.dashboard_link(&s.slo),
        repeat: false,
        test: false,
        reason: None,
        message: None,
    }
}
