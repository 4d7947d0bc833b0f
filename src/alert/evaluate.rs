//! The one alert decision: window sums, policy, prior records, silences and maintenance in; the
//! new records and what to send out. Pure (time is a parameter). The daemon calls it every tick
//! and `backtest` at every bucket of its replay, so the two cannot drift apart.

use super::policy::{Hit, Policy, Severity, holding};
use super::silence::Silence;
use super::state::{Record, Send, Transition, sends, step, supersede};
use crate::budget::WindowSum;
use crate::duration::Dur;
use crate::maintenance::Maintenance;
use std::collections::BTreeMap;

/// The SLO being judged: what the policy needs and what silences and maintenance match on.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// SLO id.
    pub id: &'a str,
    /// SLO labels.
    pub labels: &'a BTreeMap<String, String>,
    /// Objective as a ratio.
    pub objective: f64,
    /// Budget periods (for the budget conditions; empty turns them off).
    pub periods: &'a [Dur],
    /// The alert policy.
    pub policy: &'a Policy,
}

/// Everything one decision reads besides the window sums.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    /// The SLO.
    pub subject: Subject<'a>,
    /// The records as they stood: page, then ticket.
    pub prior: [&'a Record; 2],
    /// Silences (any; only those matching the SLO at `at` mute).
    pub silences: &'a [Silence],
    /// Maintenance windows (any; only those applying to the SLO and covering `at` mute).
    pub maintenance: &'a [Maintenance],
    /// Receivers routed to each severity (page, then ticket), with their repeat interval in
    /// seconds (`None`: never repeat).
    pub routes: [Vec<(&'a str, Option<i64>)>; 2],
    /// The evaluation instant (a bucket boundary).
    pub at: i64,
    /// Seconds between evaluations (the bucket width): a `for:` rule that did not hold at the
    /// evaluation before (or was not judged then) starts its wait again.
    pub every: i64,
    /// Since when the caller has watched this SLO: "no data" means coverage *stayed* at 0, so
    /// a first start next to a fresh Prometheus does not ticket at once. `i64::MIN` trusts the
    /// whole history (a replay).
    pub watched_since: i64,
}

/// The outcome for one severity.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Page or ticket.
    pub severity: Severity,
    /// The record to persist.
    pub next: Record,
    /// Whether it fired or resolved now.
    pub transition: Option<Transition>,
    /// Who is told what.
    pub sends: Vec<(String, Send)>,
    /// Why triggers are held back (`maintenance `x``, `silence <id>`), if they are.
    pub muted_by: Option<String>,
}

/// The strongest holding condition of a severity: the highest burn rate. Ties (a total outage
/// burns every window alike) go to the rule listed first: the fastest.
pub fn strongest(hits: &[Hit], severity: Severity) -> Option<(&str, f64)> {
    hits.iter()
        .filter(|h| h.severity == severity)
        .fold(None::<&Hit>, |best, h| match best {
            Some(b) if b.burn >= h.burn * (1.0 - 1e-9) => Some(b),
            _ => Some(h),
        })
        .map(|h| (h.name.as_str(), h.burn))
}

/// Judges one SLO at `input.at`: page first, then ticket (a page supersedes a ticket).
pub fn decide(input: &Input<'_>, window: impl Fn(Dur) -> WindowSum) -> [Decision; 2] {
    let s = &input.subject;
    let mut hits = holding(s.policy, s.objective, s.periods, window);
    if let Some(d) = s.policy.no_data_after
        && input.at.saturating_sub(input.watched_since) < d.as_secs() as i64
    {
        hits.retain(|h| !h.name.starts_with("no data"));
    }
    let maintenance = input
        .maintenance
        .iter()
        .find(|m| m.applies(s.id, s.labels) && m.covers(input.at))
        .map(|m| format!("maintenance `{}`", m.name));
    // A rule with `for:` counts once it has held since at least that long ago (the evaluation
    // it started holding at is kept in its severity's record); until then it is pending.
    let mut since: [BTreeMap<String, [i64; 2]>; 2] = Default::default();
    hits.retain(|h| {
        if h.pending.as_secs() == 0 {
            return true;
        }
        let k = usize::from(h.severity == Severity::Ticket);
        let from = match input.prior[k].pending.get(&h.name) {
            Some(&[since, last]) if input.at - last <= input.every => since,
            _ => input.at,
        };
        since[k].insert(h.name.clone(), [from, input.at]);
        input.at - from >= h.pending.as_secs() as i64
    });
    let held = supersede(
        strongest(&hits, Severity::Page),
        strongest(&hits, Severity::Ticket),
    );
    let mut k = 0;
    held.map(|(severity, holds)| {
        let (mut next, transition) = step(input.prior[k], holds, input.at);
        next.pending = std::mem::take(&mut since[k]);
        let muted_by = maintenance.clone().or_else(|| {
            input
                .silences
                .iter()
                .find(|x| x.mutes(s.id, s.labels, severity, input.at))
                .map(|x| format!("silence {}", x.id))
        });
        let sends = sends(
            &mut next,
            transition.as_ref(),
            muted_by.is_some(),
            input.routes[k].iter().copied(),
            input.at,
        );
        k += 1;
        Decision {
            severity,
            next,
            transition,
            sends,
            muted_by,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::{Bucket, Series};

    const M: Dur = Dur::from_secs(60);

    fn outage() -> Series {
        // A day of 1,000 good events a minute, then 30 minutes of nothing but errors.
        let mut b = vec![Bucket::known(1000.0, 1000.0); 1440];
        b.extend(vec![Bucket::known(0.0, 1000.0); 30]);
        Series::from_buckets(0, M, &b)
    }

    fn input<'a>(
        policy: &'a Policy,
        labels: &'a BTreeMap<String, String>,
        prior: [&'a Record; 2],
        silences: &'a [Silence],
        at: i64,
    ) -> Input<'a> {
        Input {
            subject: Subject {
                id: "api/avail",
                labels,
                objective: 0.999,
                periods: &[],
                policy,
            },
            prior,
            silences,
            maintenance: &[],
            routes: [vec![("pd", None)], vec![("slack", Some(3600))]],
            at,
            every: 60,
            watched_since: i64::MIN,
        }
    }

    #[test]
    fn a_fast_burn_pages_the_page_route_and_supersedes_the_ticket() {
        let policy = Policy::builtin(Dur::from_secs(30 * 86400), M);
        let labels = BTreeMap::new();
        let s = outage();
        let none = Record::default();
        let at = 1470 * 60;
        let [page, ticket] = decide(&input(&policy, &labels, [&none, &none], &[], at), |w| {
            s.window(at, w)
        });
        assert_eq!(page.transition, Some(Transition::Fired));
        assert_eq!(page.next.rule.as_deref(), Some("1h/5m"));
        assert_eq!(
            page.sends,
            [("pd".to_string(), Send::Trigger { repeat: false })]
        );
        assert_eq!(ticket.transition, None, "the page supersedes the ticket");
        assert!(ticket.sends.is_empty());
    }

    #[test]
    fn a_rule_with_for_fires_only_after_holding_that_long_and_starts_over_after_a_break() {
        let mut policy = Policy::builtin(Dur::from_secs(30 * 86400), M);
        policy.rules.retain(|r| r.severity == Severity::Page);
        for r in &mut policy.rules {
            r.pending = Dur::from_secs(5 * 60);
        }
        let labels = BTreeMap::new();
        // A day of good traffic, then errors only: the 1h/5m rule holds from the outage's 4th
        // minute on (1h burn ≥ 14.4 needs 0.0144 × 60 minutes ≈ 0.9 minutes of it; the 5m window
        // is all errors by then).
        let mut b = vec![Bucket::known(1000.0, 1000.0); 1440];
        b.extend(vec![Bucket::known(0.0, 1000.0); 30]);
        let s = Series::from_buckets(0, M, &b);
        let mut prior = [Record::default(), Record::default()];
        let mut first_hold = None;
        let mut fired = None;
        for minute in 1441..=1470 {
            let at = minute * 60;
            let [page, ticket] = decide(
                &input(&policy, &labels, [&prior[0], &prior[1]], &[], at),
                |w| s.window(at, w),
            );
            if first_hold.is_none() && !page.next.pending.is_empty() {
                first_hold = Some(at);
            }
            if page.transition == Some(Transition::Fired) {
                fired = Some(at);
            }
            prior = [page.next, ticket.next];
        }
        let (Some(held), Some(fired)) = (first_hold, fired) else {
            panic!("held {first_hold:?}, fired {fired:?}");
        };
        assert_eq!(
            fired - held,
            5 * 60,
            "fires 5 minutes after it began to hold"
        );
        assert_eq!(
            prior[0].pending.get("1h/5m").map(|p| p[0]),
            Some(held),
            "kept while it holds"
        );
        // A gap in the evaluations (the daemon was down) starts the wait again, although the
        // rule held before and after it.
        let gapped = Record {
            pending: [("1h/5m".to_string(), [held, held])].into(),
            ..Record::default()
        };
        let at = held + 5 * 60;
        let [page, _] = decide(
            &input(&policy, &labels, [&gapped, &prior[1]], &[], at),
            |w| s.window(at, w),
        );
        assert_eq!(page.transition, None, "not fired across a gap");
        assert_eq!(page.next.pending.get("1h/5m"), Some(&[at, at]));
        // The burn stops long enough for the 5m window to clear, and comes back: the wait
        // starts again from the new first evaluation that holds.
        let mut quiet = b[..1443].to_vec();
        quiet.extend(vec![Bucket::known(1000.0, 1000.0); 6]);
        quiet.extend(vec![Bucket::known(0.0, 1000.0); 3]);
        let q = Series::from_buckets(0, M, &quiet);
        let mut rec = [Record::default(), Record::default()];
        let mut seen_holding = Vec::new();
        for minute in 1441..=(quiet.len() as i64) {
            let at = minute * 60;
            let [page, ticket] =
                decide(&input(&policy, &labels, [&rec[0], &rec[1]], &[], at), |w| {
                    q.window(at, w)
                });
            seen_holding.push(page.next.pending.get("1h/5m").map(|p| p[0]));
            rec = [page.next, ticket.next];
        }
        let restarts: Vec<i64> = seen_holding.iter().flatten().copied().collect();
        assert!(
            restarts.windows(2).any(|w| w[1] > w[0]),
            "a break restarts the wait: {seen_holding:?}"
        );
    }

    #[test]
    fn a_silence_holds_the_trigger_but_not_the_state() {
        let policy = Policy::builtin(Dur::from_secs(30 * 86400), M);
        let labels = BTreeMap::new();
        let s = outage();
        let none = Record::default();
        let at = 1470 * 60;
        let silence = Silence {
            id: "s1".into(),
            slo: Some("api/avail".into()),
            labels: BTreeMap::new(),
            severity: None,
            starts_at: 0,
            ends_at: at + 1,
            comment: "deploy".into(),
            created_by: "me".into(),
            created_at: 0,
        };
        let [page, _] = decide(
            &input(&policy, &labels, [&none, &none], &[silence], at),
            |w| s.window(at, w),
        );
        assert_eq!(page.transition, Some(Transition::Fired));
        assert!(page.sends.is_empty());
        assert_eq!(page.muted_by.as_deref(), Some("silence s1"));
    }

    #[test]
    fn no_data_waits_until_the_caller_has_watched_long_enough() {
        let mut policy = Policy::builtin(Dur::from_secs(30 * 86400), M);
        policy.rules.clear();
        let labels = BTreeMap::new();
        let s = Series::from_buckets(0, M, &vec![Bucket::Missing; 120]);
        let none = Record::default();
        let at = 120 * 60;
        let mut inp = input(&policy, &labels, [&none, &none], &[], at);
        inp.watched_since = at - 60;
        let [_, ticket] = decide(&inp, |w| s.window(at, w));
        assert_eq!(ticket.transition, None, "watched for one minute only");
        inp.watched_since = at - 3600;
        let [_, ticket] = decide(&inp, |w| s.window(at, w));
        assert_eq!(ticket.transition, Some(Transition::Fired));
        assert_eq!(ticket.next.rule.as_deref(), Some("no data 30m"));
    }
}
