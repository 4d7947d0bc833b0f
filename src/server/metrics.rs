//! `/metrics` in the Prometheus text format 0.0.4, written straight from the latest snapshot.
//!
//! Hand-written rather than through `prometheus-client`: the SLO families are rebuilt from a
//! snapshot at every scrape (no long-lived metric objects to keep in sync on reload), and writing
//! ~40 series per SLO directly keeps 10,000 SLOs well under 100 ms. `promtool check metrics` is
//! run against this output in the tests.

use super::exposition::{header, sample, value};
use crate::engine::{Shared, Snapshot};
use crate::names;
use crate::source::{QUERY_BUCKETS, Sources};
use std::sync::atomic::Ordering;

/// The content type of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Renders every family.
pub fn render(shared: &Shared, sources: &Sources, snap: &Snapshot) -> String {
    let mut out = String::with_capacity(256 + snap.slos.len() * 4096);
    slo_families(&mut out, snap);
    own_families(&mut out, shared, sources, snap);
    out
}

/// One SLO's label prefix and windows, computed once per render.
struct Prepared<'a> {
    view: &'a crate::engine::SloView,
    /// `service="…",slo="…"` (names are validated to need no escaping).
    labels: String,
    /// Every window (burn windows, then periods not already among them) with its sums.
    windows: Vec<Window>,
}

/// One window of one SLO and which families carry it.
struct Window {
    /// `,window="5m"`.
    label: String,
    sum: crate::budget::WindowSum,
    /// A budget period: its SLI and coverage are on the dashboards.
    period: bool,
    /// The shortest window: its events are the dashboards' event rates.
    shortest: bool,
}

impl Window {
    /// Whether the SLI and coverage families carry this window.
    fn shown(&self, full: bool) -> bool {
        full || self.period
    }

    /// Whether the events family carries it.
    fn counted(&self, full: bool) -> bool {
        full || self.shortest
    }
}

/// Writes `name{labels,extra} value` without intermediate allocations.
fn line(out: &mut String, name: &str, labels: &str, extra: &str, v: f64) {
    out.push_str(name);
    out.push('{');
    out.push_str(labels);
    out.push_str(extra);
    out.push_str("} ");
    value(out, v);
    out.push('\n');
}

fn slo_families(out: &mut String, snap: &Snapshot) {
    let prepared: Vec<Prepared<'_>> = snap
        .slos
        .iter()
        .map(|s| {
            let is_period = |d: &crate::duration::Dur| {
                s.eval
                    .periods
                    .iter()
                    .any(|p| p.calendar.is_none() && p.period == *d)
            };
            let mut windows: Vec<Window> = s
                .eval
                .burn
                .iter()
                .enumerate()
                .map(|(i, (d, sum, _))| Window {
                    label: format!(",{}=\"{d}\"", names::LABEL_WINDOW),
                    sum: *sum,
                    period: is_period(d),
                    shortest: i == 0,
                })
                .collect();
            for p in &s.eval.periods {
                // A calendar period's sums so far are its own window, `window="month"`.
                if p.calendar.is_some() || !s.eval.burn.iter().any(|(d, _, _)| *d == p.period) {
                    windows.push(Window {
                        label: format!(",{}=\"{}\"", names::LABEL_WINDOW, p.name()),
                        sum: p.sum,
                        period: true,
                        shortest: false,
                    });
                }
            }
            Prepared {
                view: s,
                labels: format!(
                    "{}=\"{}\",{}=\"{}\"{}",
                    names::LABEL_SERVICE,
                    s.slo.service,
                    names::LABEL_SLO,
                    s.slo.name,
                    group_labels(&s.slo)
                ),
                windows,
            }
        })
        .collect();
    let full = snap.metrics.full;
    window_families(out, &prepared, full);
    budget_families(out, &prepared, full);
    alert_and_sla_families(out, &prepared);
    info_family(out, &prepared);
    if snap.metrics.sloth {
        super::compat::sloth(out, &prepared_views(&prepared));
    }
    if snap.metrics.pyrra {
        super::compat::pyrra(out, &prepared_views(&prepared));
    }
}

/// `,route="/api"` for each group label of a member (nothing for other SLOs): a member's series
/// are its definition's `slo` with the values that tell the members apart.
fn group_labels(slo: &crate::config::Slo) -> String {
    slo.group
        .iter()
        .map(|(k, v)| format!(",{k}={}", crate::sli::promql::quote(v)))
        .collect()
}

/// `slo_info`: what each SLO is, as labels, for the dashboards' filters and definition panel.
fn info_family(out: &mut String, prepared: &[Prepared<'_>]) {
    header(
        out,
        names::SLO_INFO,
        "gauge",
        "Always 1: the SLO's description, SLI kind, source, queries and own labels.",
    );
    for p in prepared {
        let slo = &p.view.slo;
        let kind = slo.sli.name();
        let queries = slo.counts.queries().join(" ; ");
        let mut labels: Vec<(&str, &str)> = vec![
            (names::LABEL_SERVICE, &slo.service),
            (names::LABEL_SLO, &slo.name),
            ("description", slo.description.as_deref().unwrap_or("")),
            ("sli", kind),
            (names::LABEL_SOURCE, slo.source.name()),
            ("queries", &queries),
        ];
        let own: Vec<(String, &str)> = slo
            .labels
            .iter()
            .map(|(k, v)| (names::label_name(k), v.as_str()))
            .filter(|(k, _)| !crate::export::grafana::RESERVED_INFO_LABELS.contains(&k.as_str()))
            .collect();
        labels.extend(own.iter().map(|(k, v)| (k.as_str(), *v)));
        sample(out, names::SLO_INFO, &labels, 1.0);
    }
}

fn prepared_views<'a>(prepared: &[Prepared<'a>]) -> Vec<&'a crate::engine::SloView> {
    prepared.iter().map(|p| p.view).collect()
}

/// Objective, SLI, burn rate and events per window.
fn window_families(out: &mut String, prepared: &[Prepared<'_>], full: bool) {
    header(
        out,
        names::SLO_OBJECTIVE,
        "gauge",
        "The SLO's objective as a ratio (0.999 for 99.9%).",
    );
    for p in prepared {
        line(
            out,
            names::SLO_OBJECTIVE,
            &p.labels,
            "",
            p.view.slo.objective,
        );
    }
    header(
        out,
        names::SLO_SLI,
        "gauge",
        "Good events / total events over the window (absent without traffic).",
    );
    for p in prepared {
        for w in p.windows.iter().filter(|w| w.shown(full)) {
            if let Some(v) = w.sum.sli() {
                line(out, names::SLO_SLI, &p.labels, &w.label, v);
            }
        }
    }
    header(
        out,
        names::SLO_BURN_RATE,
        "gauge",
        "Error ratio over the window divided by the error budget; 1 spends the budget in exactly one period.",
    );
    for p in prepared {
        for w in &p.windows {
            if let Some(v) = w.sum.burn_rate(p.view.slo.objective) {
                line(out, names::SLO_BURN_RATE, &p.labels, &w.label, v);
            }
        }
    }
    header(
        out,
        names::SLO_EVENTS,
        "gauge",
        "Events counted in the window's known buckets, by kind (good or total).",
    );
    for p in prepared {
        for w in p.windows.iter().filter(|w| w.counted(full)) {
            out.push_str(names::SLO_EVENTS);
            out.push('{');
            out.push_str(&p.labels);
            out.push_str(&w.label);
            out.push_str(",kind=\"good\"} ");
            value(out, w.sum.good);
            out.push_str("\nslo_events{");
            out.push_str(&p.labels);
            out.push_str(&w.label);
            out.push_str(",kind=\"total\"} ");
            value(out, w.sum.total);
            out.push('\n');
        }
    }
}

/// Coverage per window, remaining budget and time to exhaustion per period.
fn budget_families(out: &mut String, prepared: &[Prepared<'_>], full: bool) {
    header(
        out,
        names::SLO_COVERAGE,
        "gauge",
        "Known buckets / buckets in the window; below 1 when the source was down or lacks history.",
    );
    for p in prepared {
        for w in p.windows.iter().filter(|w| w.shown(full)) {
            line(
                out,
                names::SLO_COVERAGE,
                &p.labels,
                &w.label,
                w.sum.coverage(),
            );
        }
    }
    header(
        out,
        names::SLO_BUDGET_REMAINING,
        "gauge",
        "Share of the period's error budget left: 1 untouched, 0 spent, negative overspent.",
    );
    for p in prepared {
        for st in &p.view.eval.periods {
            if let Some(v) = st.remaining {
                line(
                    out,
                    names::SLO_BUDGET_REMAINING,
                    &p.labels,
                    &format!(",{}=\"{}\"", names::LABEL_PERIOD, st.name()),
                    v,
                );
            }
        }
    }
    header(
        out,
        names::SLO_BUDGET_EXHAUSTION,
        "gauge",
        "Seconds until the period's budget is spent at the current 1h burn rate (absent when not burning).",
    );
    for p in prepared {
        for st in &p.view.eval.periods {
            if let Some(v) = st.exhaustion_1h {
                line(
                    out,
                    names::SLO_BUDGET_EXHAUSTION,
                    &p.labels,
                    &format!(",{}=\"{}\"", names::LABEL_PERIOD, st.name()),
                    v,
                );
            }
        }
    }
}

/// Alert state per severity, and the SLA's objective and SLI.
fn alert_and_sla_families(out: &mut String, prepared: &[Prepared<'_>]) {
    header(
        out,
        names::SLO_ALERT_FIRING,
        "gauge",
        "1 while the SLO's page or ticket alert fires (a page supersedes a ticket).",
    );
    for p in prepared {
        for (sev, rec) in ["page", "ticket"].iter().zip(&p.view.alerts) {
            let extra = format!(",{}=\"{sev}\"", names::LABEL_SEVERITY);
            let v = if rec.firing() { 1.0 } else { 0.0 };
            line(out, names::SLO_ALERT_FIRING, &p.labels, &extra, v);
        }
    }
    header(
        out,
        names::SLO_SLA_OBJECTIVE,
        "gauge",
        "The external commitment (SLA) as a ratio, for SLOs that have one.",
    );
    for p in prepared {
        if let Some(sla) = &p.view.slo.sla {
            line(out, names::SLO_SLA_OBJECTIVE, &p.labels, "", sla.objective);
        }
    }
    header(
        out,
        names::SLO_SLA_SLI,
        "gauge",
        "SLI of the SLA's events over the first period.",
    );
    for p in prepared {
        if let (Some(_), Some(v)) = (&p.view.slo.sla, p.view.sla_sli) {
            line(out, names::SLO_SLA_SLI, &p.labels, "", v);
        }
    }
}

fn own_families(out: &mut String, shared: &Shared, sources: &Sources, snap: &Snapshot) {
    daemon_families(out, shared, snap);
    sanity_family(out, snap);
    group_families(out, snap);
    delivery_families(out, shared);
    source_families(out, sources);
}

/// Build, SLO count, readiness, reload and evaluation age.
fn daemon_families(out: &mut String, shared: &Shared, snap: &Snapshot) {
    let h = &shared.health;
    header(
        out,
        names::BUILD_INFO,
        "gauge",
        "Always 1; the version is a label.",
    );
    sample(
        out,
        names::BUILD_INFO,
        &[("version", env!("CARGO_PKG_VERSION"))],
        1.0,
    );
    let (shard, shards) = h.shard.get().map_or((0, 1), |s| (s.index(), s.count()));
    header(
        out,
        names::SHARD_INFO,
        "gauge",
        "Always 1: which shard of how many this daemon is (run --shard); shard 0 of 1 owns every SLO.",
    );
    sample(
        out,
        names::SHARD_INFO,
        &[
            ("shard", shard.to_string().as_str()),
            ("shards", shards.to_string().as_str()),
        ],
        1.0,
    );
    header(out, names::SLOS, "gauge", "SLOs being evaluated.");
    sample(out, names::SLOS, &[], snap.slos.len() as f64);
    header(
        out,
        names::READY,
        "gauge",
        "1 once the startup backfill is done.",
    );
    sample(
        out,
        names::READY,
        &[],
        if h.ready.load(Ordering::Relaxed) {
            1.0
        } else {
            0.0
        },
    );
    header(
        out,
        names::CONFIG_RELOAD_SUCCESS,
        "gauge",
        "1 when the last config (re)load succeeded, 0 when a bad file was rejected and the old config kept.",
    );
    sample(
        out,
        names::CONFIG_RELOAD_SUCCESS,
        &[],
        if h.reload_failed.load(Ordering::Relaxed) {
            0.0
        } else {
            1.0
        },
    );
    header(
        out,
        names::LAST_EVAL,
        "gauge",
        "Bucket boundary of the last completed evaluation (unix seconds).",
    );
    // The snapshot's own time, so it always pairs with the budgets rendered beside it (a tick
    // publishing during the render cannot mix two evaluations).
    sample(out, names::LAST_EVAL, &[], snap.at as f64);
    header(
        out,
        names::STORE_DAMAGED,
        "counter",
        "Stored values whose checksum failed since start: chunks read as missing (and queried again), other values skipped. Any increase deserves `slowburn store verify`.",
    );
    sample(
        out,
        names::STORE_DAMAGED,
        &[],
        shared.store.damaged() as f64,
    );
    header(
        out,
        names::STORE_UNREADABLE,
        "counter",
        "Stored values whose checksum held but which do not read (kind=\"silence\": an unknown severity, say), logged with their key and removed.",
    );
    if let Ok(m) = shared.health.unreadable.lock() {
        for (kind, n) in m.iter() {
            sample(out, names::STORE_UNREADABLE, &[("kind", *kind)], *n as f64);
        }
    }
    header(
        out,
        names::STORE_REOPENS,
        "counter",
        "Times the store was reopened after an I/O error such as a full disk; evaluation resumes once it reopens.",
    );
    sample(
        out,
        names::STORE_REOPENS,
        &[],
        shared.store.reopens() as f64,
    );
    header(
        out,
        names::BACKUP_LAST_SUCCESS,
        "gauge",
        "When the newest verified store backup was taken (unix seconds; 0: none). Alert on time() minus this.",
    );
    sample(
        out,
        names::BACKUP_LAST_SUCCESS,
        &[],
        h.last_backup.load(Ordering::Relaxed) as f64,
    );
    header(
        out,
        names::BACKUPS,
        "counter",
        "Scheduled store backups (`backup:` in slo.yaml) by result.",
    );
    if let Ok(m) = h.backups.lock() {
        for result in ["ok", "failed"] {
            let n = m.get(result).copied().unwrap_or(0);
            sample(out, names::BACKUPS, &[("result", result)], n as f64);
        }
    }
}

/// Each grouped definition's member count and the values `max_groups` left out.
fn group_families(out: &mut String, snap: &Snapshot) {
    header(
        out,
        names::GROUP_MEMBERS,
        "gauge",
        "Members a group_by SLO follows (one SLO per value of its group labels).",
    );
    for g in &snap.groups {
        sample(
            out,
            names::GROUP_MEMBERS,
            &[(names::LABEL_SLO, &g.id)],
            g.members as f64,
        );
    }
    header(
        out,
        names::GROUP_MEMBERS_DROPPED,
        "gauge",
        "Values of a group_by SLO's labels found but not followed because max_groups was reached; raise max_groups or narrow the selectors.",
    );
    for g in &snap.groups {
        sample(
            out,
            names::GROUP_MEMBERS_DROPPED,
            &[(names::LABEL_SLO, &g.id)],
            g.dropped as f64,
        );
    }
}

/// Sanity findings per SLO and kind, only where there were some (10,000 SLOs would otherwise
/// write 40,000 zeros).
fn sanity_family(out: &mut String, snap: &Snapshot) {
    header(
        out,
        names::SANITY_WARNINGS,
        "counter",
        "Ticks at which an SLO's answers showed what counts cannot mean: good or errors above total, a counter falling without a restart, a selector matching nothing for longer than the no-data timeout.",
    );
    for s in &snap.slos {
        for (kind, n) in crate::source::sanity::KINDS.iter().zip(s.sanity) {
            if n > 0 {
                sample(
                    out,
                    names::SANITY_WARNINGS,
                    &[(names::LABEL_SLO, &s.slo.id), ("kind", kind)],
                    n as f64,
                );
            }
        }
    }
}

/// Source errors per SLO and notification outcomes and backlog per receiver.
fn delivery_families(out: &mut String, shared: &Shared) {
    let h = &shared.health;
    header(
        out,
        names::SOURCE_ERRORS,
        "counter",
        "Failed source queries, by SLO and source; their buckets are missing until healed.",
    );
    if let Ok(m) = h.source_errors.lock() {
        for ((slo, source), n) in m.iter() {
            sample(
                out,
                names::SOURCE_ERRORS,
                &[(names::LABEL_SLO, slo), (names::LABEL_SOURCE, source)],
                *n as f64,
            );
        }
    }
    header(
        out,
        names::GRAFANA_PROVISIONS,
        "counter",
        "Dashboard provisioning outcomes: created, updated or unchanged per dashboard, failed per run.",
    );
    if let Ok(m) = h.provisions.lock() {
        for (result, n) in m.iter() {
            sample(
                out,
                names::GRAFANA_PROVISIONS,
                &[("result", result)],
                *n as f64,
            );
        }
    }
    header(
        out,
        names::NOTIFICATIONS,
        "counter",
        "Notification attempts by receiver and result (sent, retry, failed, dropped).",
    );
    if let Ok(m) = shared.notifications.lock() {
        for ((receiver, result), n) in m.iter() {
            let labels = [("receiver", receiver.as_str()), ("result", result.as_str())];
            sample(out, names::NOTIFICATIONS, &labels, *n as f64);
        }
    }
    header(
        out,
        names::NOTIFICATIONS_PENDING,
        "gauge",
        "Notifications stored in the outbox and not yet accepted, by receiver.",
    );
    if let Some(m) = shared.pending_now() {
        for (receiver, n) in m.iter() {
            sample(
                out,
                names::NOTIFICATIONS_PENDING,
                &[("receiver", receiver)],
                *n as f64,
            );
        }
    }
}

/// Request durations and samples read, per source.
fn source_families(out: &mut String, sources: &Sources) {
    header(
        out,
        names::SOURCE_QUERY_DURATION,
        "histogram",
        "Duration of requests to each source.",
    );
    let bucket = names::bucket(names::SOURCE_QUERY_DURATION);
    let sum = format!("{}_sum", names::SOURCE_QUERY_DURATION);
    let count_name = format!("{}_count", names::SOURCE_QUERY_DURATION);
    for source in sources.iter() {
        let (name, stats) = (source.name(), source.stats());
        for (i, b) in QUERY_BUCKETS.iter().enumerate() {
            let le = format!("{b}");
            sample(
                out,
                &bucket,
                &[(names::LABEL_SOURCE, name), ("le", &le)],
                stats.duration_buckets[i].load(Ordering::Relaxed) as f64,
            );
        }
        let count = stats.requests.load(Ordering::Relaxed) as f64;
        sample(
            out,
            &bucket,
            &[(names::LABEL_SOURCE, name), ("le", "+Inf")],
            count,
        );
        sample(
            out,
            &sum,
            &[(names::LABEL_SOURCE, name)],
            stats.busy_micros.load(Ordering::Relaxed) as f64 / 1e6,
        );
        sample(out, &count_name, &[(names::LABEL_SOURCE, name)], count);
    }
    header(
        out,
        names::SOURCE_SAMPLES_READ,
        "counter",
        "Samples each source reported reading for slowburn's queries (Prometheus: stats=all).",
    );
    for source in sources.iter() {
        sample(
            out,
            names::SOURCE_SAMPLES_READ,
            &[(names::LABEL_SOURCE, source.name())],
            source.stats().samples.load(Ordering::Relaxed) as f64,
        );
    }
    header(
        out,
        names::SOURCE_UNTRUSTED,
        "counter",
        "Source answers not believed, by reason: `partial` (the answer carried warnings) or `contract` (duplicated or non-finite samples, instants never asked for). Their buckets stay missing until asked again.",
    );
    for source in sources.iter() {
        let stats = source.stats();
        for (reason, n) in [("partial", &stats.partial), ("contract", &stats.contract)] {
            sample(
                out,
                names::SOURCE_UNTRUSTED,
                &[(names::LABEL_SOURCE, source.name()), ("reason", reason)],
                n.load(Ordering::Relaxed) as f64,
            );
        }
    }
}
