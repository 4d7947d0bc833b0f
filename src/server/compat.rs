//! The peers' series, opt-in (`metrics: {compat: [sloth, pyrra]}`), so teams moving from Sloth or
//! Pyrra keep their Grafana dashboards: Sloth's `slo:*` recording-rule names with `sloth_*` labels
//! (dashboards 14348 and 14643, and an `ALERTS` look-alike since slowburn alerts itself) and
//! Pyrra's generic `pyrra_*` series (its list and detail dashboards). Names and labels follow
//! `peers-sloth-pyrra.md` section 4; the values are slowburn's own, computed from stored counts,
//! so they are exact where the rules they replace average averages.

use super::exposition::{header, sample};
use crate::alert::policy::Severity;
use crate::budget::WindowSum;
use crate::duration::Dur;
use crate::engine::SloView;

/// A duration as Prometheus prints it (`5m`, `1d`, `1w` for 7 days, `4w` for 28, `30d`: years
/// and weeks only when exact), which is how Sloth names its windows.
pub fn prometheus_duration(d: Dur) -> String {
    let mut s = d.as_secs();
    if s == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, secs, exact) in [
        ("y", 365 * 86400, true),
        ("w", 7 * 86400, true),
        ("d", 86400, false),
        ("h", 3600, false),
        ("m", 60, false),
        ("s", 1, false),
    ] {
        if s >= secs && (!exact || s.is_multiple_of(secs)) {
            out.push_str(&format!("{}{unit}", s / secs));
            s %= secs;
        }
    }
    out
}

/// Sloth's id labels of one SLO: `sloth_id`, `sloth_service`, `sloth_slo`.
fn sloth_ids(v: &SloView) -> [(&'static str, String); 3] {
    [
        ("sloth_id", format!("{}-{}", v.slo.service, v.slo.name)),
        ("sloth_service", v.slo.service.clone()),
        ("sloth_slo", v.slo.name.clone()),
    ]
}

/// One family: its name, help and value per SLO (absent when `None`).
type Family = (&'static str, &'static str, fn(&SloView) -> Option<f64>);

/// The shortest burn window (5m) with its sums and burn rate, chosen by its length rather than
/// its place in the evaluation.
fn shortest(v: &SloView) -> Option<&(Dur, WindowSum, Option<f64>)> {
    v.eval.burn.iter().min_by_key(|(d, _, _)| *d)
}

/// Seconds and sums of the shortest window (5m).
fn short(v: &SloView) -> Option<(f64, WindowSum)> {
    shortest(v).map(|(d, s, _)| (d.as_secs() as f64, *s))
}

fn refs<'a>(labels: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    labels.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// The error ratio (bad / total) of a window, when it had traffic.
fn error_ratio(sum: &WindowSum) -> Option<f64> {
    sum.sli().map(|s| 1.0 - s)
}

/// Sloth's SLI, metadata and alert series: `ratio_rate` for every window and every period;
/// the `period_*` series follow the SLO's first period, which its policy follows too.
pub fn sloth(out: &mut String, views: &[&SloView]) {
    // slo:sli_error:ratio_rate<W> for every burn window and the first period.
    let mut names: Vec<String> = Vec::new();
    for v in views {
        for (d, _, _) in &v.eval.burn {
            names.push(prometheus_duration(*d));
        }
        for p in v.eval.periods.iter().filter(|p| p.calendar.is_none()) {
            names.push(prometheus_duration(p.period));
        }
    }
    names.sort();
    names.dedup();
    for w in &names {
        let name = format!("slo:sli_error:ratio_rate{w}");
        header(
            out,
            &name,
            "gauge",
            "Sloth-compatible error ratio over the window (slowburn's counts).",
        );
        for v in views {
            let sums = v.eval.burn.iter().map(|(d, s, _)| (*d, *s)).chain(
                v.eval
                    .periods
                    .iter()
                    .filter(|p| p.calendar.is_none())
                    .map(|p| (p.period, p.sum)),
            );
            if let Some((_, sum)) = sums
                .into_iter()
                .find(|(d, _)| prometheus_duration(*d) == *w)
                && let Some(r) = error_ratio(&sum)
            {
                let mut l = sloth_ids(v).to_vec();
                l.push(("sloth_window", w.clone()));
                sample(out, &name, &refs(&l), r);
            }
        }
    }
    let meta: [Family; 6] = [
        (
            "slo:objective:ratio",
            "Sloth-compatible objective as a ratio.",
            |v| Some(v.slo.objective),
        ),
        (
            "slo:error_budget:ratio",
            "Sloth-compatible error budget ratio (1 - objective).",
            |v| Some(1.0 - v.slo.objective),
        ),
        (
            "slo:time_period:days",
            "Sloth-compatible SLO period in days.",
            |v| v.slo.periods.first().map(|p| p.as_secs() as f64 / 86400.0),
        ),
        (
            "slo:current_burn_rate:ratio",
            "Sloth-compatible burn rate over the shortest window (5m).",
            |v| shortest(v).and_then(|(_, _, b)| *b),
        ),
        (
            "slo:period_burn_rate:ratio",
            "Sloth-compatible burn rate over the period.",
            |v| {
                v.eval
                    .periods
                    .first()
                    .and_then(|p| error_ratio(&p.sum))
                    .map(|r| r / (1.0 - v.slo.objective))
            },
        ),
        (
            "slo:period_error_budget_remaining:ratio",
            "Sloth-compatible share of the period's error budget left.",
            |v| v.eval.periods.first().and_then(|p| p.remaining),
        ),
    ];
    for (name, help, f) in meta {
        header(out, name, "gauge", help);
        for v in views {
            if let Some(x) = f(v) {
                sample(out, name, &refs(&sloth_ids(v)), x);
            }
        }
    }
    header(
        out,
        "sloth_slo_info",
        "gauge",
        "Sloth-compatible SLO info, always 1.",
    );
    for v in views {
        let mut l = sloth_ids(v).to_vec();
        l.push(("sloth_mode", "slowburn".into()));
        l.push((
            "sloth_objective",
            format!("{}", (v.slo.objective * 1e6).round() / 1e4),
        ));
        l.push(("sloth_spec", "slowburn/v1".into()));
        l.push((
            "sloth_version",
            concat!("slowburn-", env!("CARGO_PKG_VERSION")).into(),
        ));
        sample(out, "sloth_slo_info", &refs(&l), 1.0);
    }
    header(
        out,
        "ALERTS",
        "gauge",
        "Prometheus-style alert series for Sloth's dashboards: 1 while slowburn's page or ticket fires.",
    );
    for v in views {
        for sev in [Severity::Page, Severity::Ticket] {
            if v.alert(sev).firing() {
                let mut l = sloth_ids(v).to_vec();
                l.insert(0, ("alertname", "SlowburnErrorBudgetBurn".into()));
                l.insert(1, ("alertstate", "firing".into()));
                l.push(("sloth_severity", sev.as_str().into()));
                sample(out, "ALERTS", &refs(&l), 1.0);
            }
        }
    }
}

/// Pyrra's generic series: objective, window, availability and 5-minute rates, labelled `slo`.
pub fn pyrra(out: &mut String, views: &[&SloView]) {
    let id = |v: &SloView| format!("{}-{}", v.slo.service, v.slo.name);
    let families: [Family; 5] = [
        (
            "pyrra_objective",
            "Pyrra-compatible objective as a ratio.",
            |v| Some(v.slo.objective),
        ),
        (
            "pyrra_window",
            "Pyrra-compatible SLO window in seconds.",
            |v| v.slo.periods.first().map(|p| p.as_secs() as f64),
        ),
        (
            "pyrra_availability",
            "Pyrra-compatible availability (good / total) over the window.",
            |v| v.eval.periods.first().and_then(|p| p.sum.sli()),
        ),
        (
            "pyrra_requests:rate5m",
            "Pyrra-compatible events per second over 5 minutes.",
            |v| short(v).map(|(secs, s)| s.total / secs),
        ),
        (
            "pyrra_errors:rate5m",
            "Pyrra-compatible bad events per second over 5 minutes.",
            |v| short(v).map(|(secs, s)| (s.total - s.good) / secs),
        ),
    ];
    for (name, help, f) in families {
        header(out, name, "gauge", help);
        for v in views {
            if let Some(x) = f(v) {
                let slo = id(v);
                sample(out, name, &[("slo", slo.as_str())], x);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_named_as_prometheus_and_sloth_name_them() {
        let d = |s: u64| prometheus_duration(Dur::from_secs(s));
        assert_eq!(d(300), "5m");
        assert_eq!(d(86400), "1d");
        assert_eq!(d(3 * 86400), "3d");
        assert_eq!(d(7 * 86400), "1w");
        assert_eq!(d(28 * 86400), "4w");
        assert_eq!(d(30 * 86400), "30d");
        assert_eq!(d(90 * 86400), "90d");
        assert_eq!(d(90 * 60), "1h30m");
    }
}
