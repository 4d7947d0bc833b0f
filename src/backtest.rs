//! `slowburn backtest`: replays history through the burn-rate rules and lists what would have
//! fired, so a team can tune a policy before merging it.
//!
//! Every bucket boundary in `[from, to]` is one evaluation, exactly as the daemon would run it.
//! JSON contract: `{"episodes": [{"slo", "severity", "rule", "fired_at", "resolved_at",
//! "peak_burn_rate"}], "summary": {"pages", "tickets"}}`.

use crate::alert::evaluate::{self, Input};
use crate::alert::policy::{Policy, Severity};
use crate::alert::state::{Record, Transition};
use crate::budget::Series;
use crate::config::Config;
use crate::duration::Dur;
use crate::source::{Ask, BucketRange, Sources};
use crate::time::rfc3339;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// One alert from firing to resolution.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    /// SLO id.
    pub slo: String,
    /// Page or ticket.
    pub severity: Severity,
    /// The rule that fired it, e.g. `1h/5m`.
    pub rule: String,
    /// Unix seconds of the evaluation that fired it.
    pub fired_at: i64,
    /// Unix seconds of the evaluation that resolved it; `None` if still firing at `to`.
    pub resolved_at: Option<i64>,
    /// Highest long-window burn rate while it fired.
    pub peak_burn_rate: f64,
}

/// What is being replayed: an SLO's id, objective, periods and policy.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// SLO id.
    pub id: &'a str,
    /// Objective as a ratio.
    pub objective: f64,
    /// Budget periods (for the budget conditions; empty turns them off).
    pub periods: &'a [Dur],
    /// The alert policy.
    pub policy: &'a Policy,
}

/// Replays one SLO's buckets (in `series`) through [`evaluate::decide`], the daemon's own
/// decision, at every boundary of `[from, to]`. Nothing is routed or muted: a replay shows what
/// would have fired.
pub fn replay(
    subject: Subject<'_>,
    series: &Series,
    from: i64,
    to: i64,
    width: i64,
) -> Vec<Episode> {
    let labels = BTreeMap::new();
    let mut records = [Record::default(), Record::default()];
    let mut episodes: Vec<Episode> = Vec::new();
    let mut t = from;
    while t <= to {
        let input = Input {
            subject: evaluate::Subject {
                id: subject.id,
                labels: &labels,
                objective: subject.objective,
                periods: subject.periods,
                policy: subject.policy,
            },
            prior: [&records[0], &records[1]],
            silences: &[],
            maintenance: &[],
            routes: [Vec::new(), Vec::new()],
            at: t,
            every: width,
            watched_since: i64::MIN,
        };
        let decisions = evaluate::decide(&input, |w| series.window(t, w));
        for (k, d) in decisions.into_iter().enumerate() {
            if d.transition == Some(Transition::Fired) {
                episodes.push(Episode {
                    slo: subject.id.to_string(),
                    severity: d.severity,
                    rule: d.next.rule.clone().unwrap_or_default(),
                    fired_at: t,
                    resolved_at: None,
                    peak_burn_rate: d.next.peak_burn_rate,
                });
            } else if let Some(e) = episodes
                .iter_mut()
                .rev()
                .find(|e| e.severity == d.severity && e.resolved_at.is_none())
            {
                if d.transition == Some(Transition::Resolved) {
                    e.resolved_at = Some(t);
                }
                e.peak_burn_rate = d.next.peak_burn_rate;
            }
            records[k] = d.next;
        }
        t += width;
    }
    episodes
}

/// Pulls each SLO's buckets (from the longest rule window before `from` up to `to`) from its
/// source and replays them. Returns the episodes and the query errors. For `--data-dir`, the
/// caller passes [`Sources::only`] a [`crate::source::store::StoreSource`].
pub async fn run(
    config: &Config,
    sources: &Sources,
    from: i64,
    to: i64,
) -> (Vec<Episode>, Vec<String>) {
    run_with(config, sources, from, to, &|_, _| {}).await
}

/// [`run`], calling `progress(SLOs replayed, SLOs)` after each (a progress bar on a terminal).
pub async fn run_with(
    config: &Config,
    sources: &Sources,
    from: i64,
    to: i64,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> (Vec<Episode>, Vec<String>) {
    let width = config.bucket.as_secs() as i64;
    let mut episodes = Vec::new();
    let mut errors = Vec::new();
    let total = config.slos.len() as u64;
    for (done, slo) in config.slos.iter().enumerate() {
        progress(done as u64, total);
        let lookback = slo
            .policy
            .windows()
            .into_iter()
            .chain(slo.periods.iter().copied())
            .map(|d| d.as_secs() as i64)
            .max()
            .unwrap_or(0);
        let start = from - lookback;
        let range = BucketRange {
            start,
            count: ((to - start) / width) as usize,
            width,
        };
        let source = match sources.for_slo(slo) {
            Ok(s) => s,
            Err(e) => {
                errors.push(format!("{}: {e}", slo.id));
                continue;
            }
        };
        let counts = source.counts(&Ask::slo(slo), range).await;
        let mut buckets = counts.buckets;
        // As in the daemon: maintenance buckets are excluded, so they cannot fire anything.
        crate::maintenance::mask(&config.maintenance_for(slo), start, width, &mut buckets);
        errors.extend(counts.errors.iter().map(|e| format!("{}: {e}", slo.id)));
        let series = Series::from_buckets(start, config.bucket, &buckets);
        episodes.extend(replay(
            Subject {
                id: &slo.id,
                objective: slo.objective,
                periods: &slo.periods,
                policy: &slo.policy,
            },
            &series,
            from,
            to,
            width,
        ));
    }
    progress(total, total);
    (episodes, errors)
}

/// The JSON contract.
pub fn to_json(episodes: &[Episode]) -> Value {
    let list: Vec<Value> = episodes
        .iter()
        .map(|e| {
            json!({
                "slo": e.slo,
                "severity": e.severity.as_str(),
                "rule": e.rule,
                "fired_at": rfc3339(e.fired_at),
                "resolved_at": e.resolved_at.map(rfc3339),
                "peak_burn_rate": e.peak_burn_rate,
            })
        })
        .collect();
    let pages = episodes
        .iter()
        .filter(|e| e.severity == Severity::Page)
        .count();
    json!({"episodes": list, "summary": {"pages": pages, "tickets": episodes.len() - pages}})
}

/// A table for people.
pub fn to_table(episodes: &[Episode]) -> String {
    let mut out = format!(
        "{:<32} {:<8} {:<8} {:<22} {:<22} {}\n",
        "SLO", "SEVERITY", "RULE", "FIRED", "RESOLVED", "PEAK BURN"
    );
    for e in episodes {
        out.push_str(&format!(
            "{:<32} {:<8} {:<8} {:<22} {:<22} {:.1}\n",
            e.slo,
            e.severity.as_str(),
            e.rule,
            rfc3339(e.fired_at),
            e.resolved_at
                .map(rfc3339)
                .unwrap_or_else(|| "still firing".into()),
            e.peak_burn_rate
        ));
    }
    let pages = episodes
        .iter()
        .filter(|e| e.severity == Severity::Page)
        .count();
    out.push_str(&format!(
        "{pages} page(s), {} ticket(s)\n",
        episodes.len() - pages
    ));
    out
}

#[cfg(test)]
mod tests {
    //! Timing against the SRE Workbook: a rule over windows (long, short) with factor f, for an
    //! error ratio r and budget e = 1 − objective, holds `max(f·long·e/r, f·short·e/r)` after the
    //! burn starts, and stops `short·(1 − f·e/r)` after it ends (when the short window's error
    //! share falls below f·e).
    use super::*;
    use crate::alert::policy::Policy;
    use crate::budget::Bucket;

    const W: i64 = 60;
    const OBJ: f64 = 0.999;
    const E: f64 = 0.001;

    /// Steady 1,000 events a minute; `ratio` errors from `start` for `len` seconds.
    fn incident(ratio: f64, start: i64, len: i64, end: i64) -> Series {
        let buckets: Vec<Bucket> = (0..end / W)
            .map(|i| {
                let t = i * W;
                let bad = if t >= start && t < start + len {
                    1000.0 * ratio
                } else {
                    0.0
                };
                Bucket::known(1000.0 - bad, 1000.0)
            })
            .collect();
        Series::from_buckets(0, Dur::from_secs(W as u64), &buckets)
    }

    fn run(ratio: f64, len: i64) -> (Vec<Episode>, i64) {
        let start = 4 * 86400;
        let end = start + len + 2 * 86400;
        let s = incident(ratio, start, len, end);
        // Only the burn-rate rules: the budget conditions are tested in `alert::policy`.
        let policy = Policy::builtin(Dur::from_secs(30 * 86400), Dur::from_secs(W as u64));
        let subject = Subject {
            id: "t/slo",
            objective: OBJ,
            periods: &[],
            policy: &policy,
        };
        (replay(subject, &s, start - 3600, end, W), start)
    }

    fn detection(f: f64, long: i64, short: i64, r: f64) -> f64 {
        (f * long as f64 * E / r).max(f * short as f64 * E / r)
    }

    fn reset(f: f64, short: i64, r: f64) -> f64 {
        short as f64 * (1.0 - f * E / r)
    }

    #[test]
    fn total_outage_pages_within_a_bucket_of_the_workbook_and_resets_after_the_short_window() {
        let (eps, start) = run(1.0, 1800);
        let page = eps
            .iter()
            .find(|e| e.severity == Severity::Page)
            .expect("a page");
        assert_eq!(page.rule, "1h/5m");
        let want = detection(14.4, 3600, 300, 1.0); // 51.84 s
        let got = (page.fired_at - start) as f64;
        assert!(
            got >= want - 1e-6 && got - want <= W as f64 + 1e-6,
            "fired after {got} s, Workbook {want} s"
        );
        // The page lasts until no page rule holds: 6h/30m is the last to let go.
        let want_reset = reset(6.0, 1800, 1.0).max(reset(14.4, 300, 1.0));
        let got_reset = (page.resolved_at.expect("resolved") - (start + 1800)) as f64;
        assert!(
            got_reset >= want_reset && got_reset - want_reset <= W as f64,
            "reset after {got_reset} s, Workbook {want_reset} s"
        );
        assert!(
            got_reset <= 1800.0 + W as f64,
            "within a bucket of the short window"
        );
        assert_eq!(
            eps.iter().filter(|e| e.severity == Severity::Page).count(),
            1,
            "one page, not many"
        );
    }

    #[test]
    fn a_budget_drop_pages_in_a_replay_once_the_span_took_its_share() {
        let start = 4 * 86400;
        let end = start + 1800 + 2 * 86400;
        let s = incident(1.0, start, 1800, end);
        let period = Dur::from_secs(30 * 86400);
        let mut policy = Policy::builtin(period, Dur::from_secs(W as u64));
        policy.rules.clear();
        policy.budget_ticket_below = None;
        policy.budget_exhausted = None;
        policy.budget_drop = Some(crate::alert::policy::BudgetDrop {
            share: 0.05,
            within: Dur::from_secs(3600),
            severity: Severity::Page,
        });
        let subject = Subject {
            id: "t/slo",
            objective: OBJ,
            periods: &[period],
            policy: &policy,
        };
        let eps = replay(subject, &s, start - 3600, end, W);
        // Four days of 1,000 a minute: a budget of 5,760 bad events, 5% of it 288, which the
        // first minute of a total outage (1,000 bad) passes.
        let page = eps
            .iter()
            .find(|e| e.severity == Severity::Page)
            .expect("a page");
        assert_eq!(page.rule, "budget 30d dropped 5% in 1h");
        assert_eq!(page.fired_at - start, W);
        // It lets go once the hour no longer holds 288 bad events of the (grown) budget.
        let resolved = page.resolved_at.expect("resolved") - start;
        assert!(resolved > 3600 && resolved <= 1800 + 3600 + W, "{resolved}");
    }

    #[test]
    fn a_rule_with_for_pages_that_much_later_in_a_replay() {
        let start = 4 * 86400;
        let end = start + 1800 + 2 * 86400;
        let s = incident(1.0, start, 1800, end);
        let mut policy = Policy::builtin(Dur::from_secs(30 * 86400), Dur::from_secs(W as u64));
        for r in &mut policy.rules {
            r.pending = Dur::from_secs(600);
        }
        let subject = |policy| Subject {
            id: "t/slo",
            objective: OBJ,
            periods: &[],
            policy,
        };
        let page = |eps: Vec<Episode>| {
            eps.into_iter()
                .find(|e| e.severity == Severity::Page)
                .map(|e| e.fired_at)
        };
        let waited = page(replay(subject(&policy), &s, start - 3600, end, W));
        let builtin = Policy::builtin(Dur::from_secs(30 * 86400), Dur::from_secs(W as u64));
        let at_once = page(replay(subject(&builtin), &s, start - 3600, end, W));
        let (Some(waited), Some(at_once)) = (waited, at_once) else {
            panic!("both page: {waited:?} {at_once:?}");
        };
        assert_eq!(
            waited - at_once,
            600,
            "the 1h/5m rule held from its first page on"
        );
    }

    #[test]
    fn ten_times_burn_pages_on_the_6h_rule() {
        let r = 10.0 * E;
        let (eps, start) = run(r, 8 * 3600);
        let page = eps
            .iter()
            .find(|e| e.severity == Severity::Page)
            .expect("a page");
        assert_eq!(page.rule, "6h/30m", "14.4× is not reached, 6× is");
        let want = detection(6.0, 21600, 1800, r); // 3.6 h
        let got = (page.fired_at - start) as f64;
        assert!(
            got >= want - 1e-6 && got - want <= W as f64 + 1e-6,
            "fired after {got} s, Workbook {want} s"
        );
        let want_reset = reset(6.0, 1800, r);
        let got_reset = (page.resolved_at.expect("resolved") - (start + 8 * 3600)) as f64;
        assert!(
            (got_reset - want_reset).abs() <= W as f64,
            "reset after {got_reset} s, Workbook {want_reset} s"
        );
        assert!(got_reset <= 1800.0 + W as f64);
    }

    #[test]
    fn twice_the_burn_only_tickets_on_the_3d_rule() {
        let r = 2.0 * E;
        let (eps, start) = run(r, 48 * 3600);
        assert!(
            eps.iter().all(|e| e.severity == Severity::Ticket),
            "{eps:?}"
        );
        let ticket = eps.first().expect("a ticket");
        assert_eq!(ticket.rule, "3d/6h");
        let want = detection(1.0, 259200, 21600, r); // 36 h
        let got = (ticket.fired_at - start) as f64;
        assert!(
            got >= want - 1e-6 && got - want <= W as f64 + 1e-6,
            "fired after {got} s, Workbook {want} s"
        );
    }

    #[test]
    fn half_the_burn_never_alerts() {
        let (eps, _) = run(0.5 * E, 3 * 86400);
        assert!(eps.is_empty(), "{eps:?}");
    }
}
