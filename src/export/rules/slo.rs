//! One SLO's rules: whether a ruler can compute it at all, then its tiles, window sums and the
//! families `/metrics` carries, in evaluation order.

use super::expr::{self, Ident, Tiles, Views};
use super::file::Rule;
use super::windows::Windows;
use crate::config::{EventQuery, SliKind, Slo, SourceKind};
use crate::duration::Dur;
use crate::names;
use crate::sli::CountSpec;
use std::collections::BTreeMap;

/// The rules of one SLO, by group.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SloRules {
    /// The fast group (every bucket): tiles, the sums it owns, every family, the alerts.
    pub fast: Vec<Rule>,
    /// The slower group: the long windows' sums and tile counts.
    pub long: Vec<Rule>,
}

/// What the rules of every SLO share.
#[derive(Debug, Clone)]
pub(super) struct Context {
    /// The bucket, as a PromQL duration (`1m`): the tiles' width and the fast group's interval.
    pub bucket: String,
    /// The bucket's width.
    pub width: Dur,
    /// `metrics: {detail: full}`.
    pub full: bool,
    /// Whether long windows go to the slower group.
    pub split: bool,
    /// The `last_over_time` range over the slower group's sums.
    pub stale: String,
}

/// Why the rules cannot compute `slo`, or its tiles (and its SLA's, when it counts its own).
pub(super) fn support(slo: &Slo, bucket: &str) -> Result<(Tiles, Option<Tiles>), String> {
    match slo.sli {
        SliKind::Timeslice => {
            return Err("time-slice SLIs need the daemon (a ruler cannot judge each slice once, at its boundary: its evaluations are not aligned to the slices, and a missed one would lose the slice instead of marking it missing)".into());
        }
        SliKind::LogLatency { .. } => return Err(LOG.into()),
        SliKind::Ratio | SliKind::Latency { .. } => {}
    }
    if slo.source != SourceKind::Prometheus {
        return Err(LOG.into());
    }
    let by = group_labels(slo);
    let main = spec_tiles(&slo.counts, bucket, by)?;
    let sla = match slo.sla.as_ref().and_then(|s| s.counts.as_ref()) {
        Some(spec) => Some(spec_tiles(spec, bucket, by).map_err(|e| format!("its SLA: {e}"))?),
        None => None,
    };
    Ok((main, sla))
}

/// The `group_by` labels of a grouped definition, empty for a plain SLO: the rules then compute
/// one SLO per value of them (each member the daemon would follow), side by side in one set of
/// series told apart by these labels.
pub(super) fn group_labels(slo: &Slo) -> &[String] {
    slo.group_by.as_ref().map_or(&[][..], |g| &g.labels[..])
}

/// Why log SLIs stay with the daemon.
const LOG: &str = "log SLIs need the daemon (their events are LogQL queries, which a Prometheus, Thanos, Mimir or vmalert ruler cannot run)";

/// The tiles of a count spec of counter selectors, per member of `by` (see [`group_labels`]).
fn spec_tiles(spec: &CountSpec, bucket: &str, by: &[String]) -> Result<Tiles, String> {
    let (good, bad, total) = match spec {
        CountSpec::Events { good, bad, total } => (good, bad, total),
        CountSpec::Mixed { .. } => {
            return Err("SLIs whose sides read different sources need the daemon (a ruler reads one source, and this SLI's other side is LogQL)".into());
        }
        CountSpec::Timeslice { .. } => {
            return Err("time-slice SLIs need the daemon (a ruler cannot judge each slice once, at its boundary)".into());
        }
    };
    let selector = |q: &Option<EventQuery>| -> Result<Option<String>, String> {
        match q {
            None => Ok(None),
            Some(EventQuery::Selector(s)) => Ok(Some(s.clone())),
            Some(EventQuery::Expression(e)) => Err(format!(
                "`$window` expressions need the daemon (only counter selectors are exported, counted by edge differences as the daemon counts them; `{e}` is evaluated per bucket by the daemon alone)"
            )),
        }
    };
    let (g, b, t) = (selector(good)?, selector(bad)?, selector(total)?);
    expr::tiles(g.as_deref(), b.as_deref(), t.as_deref(), bucket, by)
        .ok_or_else(|| "the SLI names neither good+total, errors+total nor good+errors".into())
}

/// `service` and `slo` (the name), the labels every recorded series carries.
pub(super) fn ident_labels(ident: &Ident<'_>) -> BTreeMap<String, String> {
    [
        (names::LABEL_SERVICE.to_string(), ident.service.to_string()),
        (names::LABEL_SLO.to_string(), ident.name.to_string()),
    ]
    .into()
}

/// The rules of one supported SLO, without its alerts ([`super::alerts`] adds them).
pub(super) fn rules(
    slo: &Slo,
    cx: &Context,
    tiles: &Tiles,
    sla_tiles: Option<&Tiles>,
    w: &Windows,
) -> SloRules {
    let fresh = expr::fresh_range(cx.width);
    let ident = Ident {
        service: &slo.service,
        name: &slo.name,
        fresh: &fresh,
        by: group_labels(slo),
    };
    let labels = ident_labels(&ident);
    let with = |k: &str, v: &str| {
        let mut l = labels.clone();
        l.insert(k.to_string(), v.to_string());
        l
    };
    let tile_total = expr::tile_name(expr::TILE_TOTAL, cx.width);
    let tile_bad = expr::tile_name(expr::TILE_BAD, cx.width);
    let mut fast = vec![
        Rule::record(&tile_total, tiles.total.clone(), labels.clone()),
        Rule::record(&tile_bad, tiles.bad.clone(), labels.clone()),
    ];
    let (t_sel, b_sel) = (ident.sel(&tile_total, ""), ident.sel(&tile_bad, ""));
    let sums = |func: &str, tile: &str, ws: &[Dur]| expr::per_window(func, tile, ws, true);
    fast.push(Rule::record(
        expr::SUM_TOTAL,
        sums("sum_over_time", &t_sel, &w.fast),
        labels.clone(),
    ));
    fast.push(Rule::record(
        expr::SUM_BAD,
        sums("sum_over_time", &b_sel, &w.fast),
        labels.clone(),
    ));
    let fast_shown = w.fast_shown();
    if !fast_shown.is_empty() {
        fast.push(Rule::record(
            expr::KNOWN,
            sums("count_over_time", &t_sel, &fast_shown),
            labels.clone(),
        ));
    }
    let mut long = Vec::new();
    for p in &w.long {
        let range = expr::range(*p, false);
        let l = with(names::LABEL_WINDOW, &p.to_string());
        long.push(Rule::record(
            expr::SUM_TOTAL,
            format!("sum_over_time({t_sel}{range})"),
            l.clone(),
        ));
        long.push(Rule::record(
            expr::SUM_BAD,
            format!("sum_over_time({b_sel}{range})"),
            l.clone(),
        ));
        long.push(Rule::record(
            expr::KNOWN,
            format!("count_over_time({t_sel}{range})"),
            l,
        ));
    }
    let views = Views {
        ident,
        long: &w.long,
        stale: cx.stale.clone(),
        seen: w.longest(),
    };
    families(slo, &views, w, cx, &mut fast);
    if let Some(sla) = &slo.sla {
        fast.push(Rule::record(
            names::SLO_SLA_OBJECTIVE,
            views.constant(&sla.objective.to_string()),
            labels.clone(),
        ));
        let period = slo.periods.first().copied();
        match (sla_tiles, period) {
            (_, None) => {}
            (None, Some(p)) => fast.push(Rule::record(
                names::SLO_SLA_SLI,
                sli_over(&views.total(&[p]), &views.bad(&[p])),
                labels.clone(),
            )),
            (Some(st), Some(p)) => {
                sla_rules(&ident, cx, st, p, w.long.contains(&p), &mut fast, &mut long);
            }
        }
    }
    SloRules { fast, long }
}

/// `max without(window) ((T - B) / (T > 0))`: an SLI without its window label.
fn sli_over(total: &str, bad: &str) -> String {
    format!(
        "max without({}) (({total} - {bad}) / ({total} > 0))",
        names::LABEL_WINDOW
    )
}

/// An SLA with its own events (a latency SLA with its own threshold): its own tiles, their sum
/// over the first period (in the slower group when that period is long), and its SLI.
fn sla_rules(
    ident: &Ident<'_>,
    cx: &Context,
    tiles: &Tiles,
    period: Dur,
    long_period: bool,
    fast: &mut Vec<Rule>,
    long: &mut Vec<Rule>,
) {
    let labels = ident_labels(ident);
    let tile_total = expr::tile_name(expr::SLA_TILE_TOTAL, cx.width);
    let tile_bad = expr::tile_name(expr::SLA_TILE_BAD, cx.width);
    fast.push(Rule::record(
        &tile_total,
        tiles.total.clone(),
        labels.clone(),
    ));
    fast.push(Rule::record(&tile_bad, tiles.bad.clone(), labels.clone()));
    let (t_sel, b_sel) = (ident.sel(&tile_total, ""), ident.sel(&tile_bad, ""));
    let window = expr::window_matcher(&[period]);
    if long_period {
        let range = expr::range(period, false);
        let mut l = labels.clone();
        l.insert(names::LABEL_WINDOW.to_string(), period.to_string());
        long.push(Rule::record(
            expr::SLA_SUM_TOTAL,
            format!("sum_over_time({t_sel}{range})"),
            l.clone(),
        ));
        long.push(Rule::record(
            expr::SLA_SUM_BAD,
            format!("sum_over_time({b_sel}{range})"),
            l,
        ));
        let read = |s: &str| format!("last_over_time({}[{}])", ident.sel(s, &window), cx.stale);
        fast.push(Rule::record(
            names::SLO_SLA_SLI,
            sli_over(&read(expr::SLA_SUM_TOTAL), &read(expr::SLA_SUM_BAD)),
            labels,
        ));
    } else {
        let total = expr::per_window("sum_over_time", &t_sel, &[period], true);
        let bad = expr::per_window("sum_over_time", &b_sel, &[period], true);
        fast.push(Rule::record(
            names::SLO_SLA_SLI,
            sli_over(&total, &bad),
            labels,
        ));
    }
}

/// The families `/metrics` carries, from the window sums: events, burn rate, SLI, coverage,
/// remaining budget, time to exhaustion, objective and `slo_info`.
fn families(slo: &Slo, v: &Views<'_>, w: &Windows, cx: &Context, out: &mut Vec<Rule>) {
    let labels = ident_labels(&v.ident);
    let with = |k: &str, val: &str| {
        let mut l = labels.clone();
        l.insert(k.to_string(), val.to_string());
        l
    };
    let zeros = || v.zero_fill(&w.counted);
    out.push(Rule::record(
        names::SLO_EVENTS,
        format!("{}\n{}", v.total(&w.counted), zeros()),
        with("kind", "total"),
    ));
    out.push(Rule::record(
        names::SLO_EVENTS,
        format!(
            "({} - {})\n{}",
            v.total(&w.counted),
            v.bad(&w.counted),
            zeros()
        ),
        with("kind", "good"),
    ));
    out.push(Rule::record(
        names::SLO_BURN_RATE,
        format!(
            "{}\n/ ({} > 0)\n/ {}",
            v.bad(&w.exported),
            v.total(&w.exported),
            expr::budget(slo.objective)
        ),
        labels.clone(),
    ));
    if !w.shown.is_empty() {
        out.push(Rule::record(
            names::SLO_SLI,
            format!(
                "({} - {})\n/ ({} > 0)",
                v.total(&w.shown),
                v.bad(&w.shown),
                v.total(&w.shown)
            ),
            labels.clone(),
        ));
        out.push(Rule::record(
            names::SLO_COVERAGE,
            coverage(v, &w.shown, cx.width),
            labels.clone(),
        ));
    }
    if !slo.periods.is_empty() {
        out.push(Rule::record(
            names::SLO_BUDGET_REMAINING,
            remaining(v, &slo.periods, slo.objective),
            labels.clone(),
        ));
        out.push(Rule::record(
            names::SLO_BUDGET_EXHAUSTION,
            exhaustion(&v.ident, &slo.periods),
            labels.clone(),
        ));
    }
    out.push(Rule::record(
        names::SLO_OBJECTIVE,
        v.constant(&slo.objective.to_string()),
        labels,
    ));
    out.push(Rule::record(
        names::SLO_INFO,
        v.constant("1"),
        info_labels(slo),
    ));
}

/// Known buckets / buckets per window, 0 when none is known (as the daemon writes it; per
/// member for a grouped definition).
fn coverage(v: &Views<'_>, shown: &[Dur], width: Dur) -> String {
    let per_bucket = width.as_millis().max(1);
    shown
        .iter()
        .map(|w| {
            let buckets = w.as_millis() / per_bucket;
            expr::with_window(
                &format!("{} / {buckets} or {}", v.of(expr::KNOWN, &[*w]), v.zero()),
                *w,
            )
        })
        .collect::<Vec<_>>()
        .join(" or\n")
}

/// `slo_error_budget_remaining_ratio{period}`: `1 − bad / (budget × total)`, 1 without traffic,
/// absent when nothing in the period is known; the `window` label becomes `period`.
fn remaining(v: &Views<'_>, periods: &[Dur], objective: f64) -> String {
    let total = v.total(periods);
    let (period, window) = (names::LABEL_PERIOD, names::LABEL_WINDOW);
    format!(
        "label_replace(\n  label_replace(\n    ({})\n    or (({total} == 0) + 1),\n    \"{period}\", \"$1\", \"{window}\", \"(.*)\"\n  ),\n  \"{window}\", \"\", \"\", \"\"\n)",
        v.remaining(periods, objective)
    )
}

/// `slo_budget_exhaustion_seconds{period}`: remaining × period / the 1h burn rate, 0 once spent,
/// absent while not burning; from the two families recorded just before it, matched per SLO (and
/// per member of a grouped definition).
fn exhaustion(ident: &Ident<'_>, periods: &[Dur]) -> String {
    let hour = Dur::from_secs(3600);
    let burn_1h = ident.read(names::SLO_BURN_RATE, &expr::window_matcher(&[hour]));
    let remaining = |p: Option<Dur>| {
        let extra = p.map_or(String::new(), |p| {
            format!("{}={}", names::LABEL_PERIOD, expr::quote(&p.to_string()))
        });
        ident.read(names::SLO_BUDGET_REMAINING, &extra)
    };
    let mut parts: Vec<String> = periods
        .iter()
        .map(|p| {
            format!(
                "(({} > 0) * {} / {} group_left() ({burn_1h} > 0))",
                remaining(Some(*p)),
                p.as_secs(),
                ident.on(&[names::LABEL_SERVICE, names::LABEL_SLO])
            )
        })
        .collect();
    parts.push(format!("clamp_min({} <= 0, 0)", remaining(None)));
    parts.join(" or\n")
}

/// `slo_info`'s labels, as `/metrics` writes them: kind, source, queries and the SLO's own
/// labels (those that would overwrite slowburn's are left out there too).
fn info_labels(slo: &Slo) -> BTreeMap<String, String> {
    let mut l: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in &slo.labels {
        let key = names::label_name(k);
        if !crate::export::grafana::RESERVED_INFO_LABELS.contains(&key.as_str()) {
            l.insert(key, v.clone());
        }
    }
    l.insert(names::LABEL_SERVICE.into(), slo.service.clone());
    l.insert(names::LABEL_SLO.into(), slo.name.clone());
    if let Some(d) = slo.description.as_deref().filter(|d| !d.is_empty()) {
        l.insert("description".into(), d.to_string());
    }
    l.insert("sli".into(), slo.sli.name().to_string());
    l.insert(names::LABEL_SOURCE.into(), slo.source.name().to_string());
    l.insert("queries".into(), slo.counts.queries().join(" ; "));
    l
}
