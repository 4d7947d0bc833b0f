//! PromQL text for the rules: per-bucket tiles by edge differences, window sums of the tiles, and
//! the views the derived families read. Pure string building; every expression here was run
//! through Debian's promtool 2.42 (`tests/data/rules/`).
//!
//! Why these shapes (`shared/reference/scale-out.md` §2 has the measurements):
//! - **Tiles, not `increase()`.** The daemon reads each counter at the bucket edges and takes
//!   per-series differences, reading a decrease as a reset (`src/source/counts.rs`).
//!   `sum(((X - X offset 1m) >= 0) or (X and X offset 1m))` is the same in plain PromQL: the
//!   difference where the counter grew, the new value where it reset, nothing for a series seen
//!   at one edge only. `increase()` tiles were 14-20% low on irregular scrapes.
//! - **`[W-1s]` windows.** Prometheus 2.x range selectors include both ends, so `[1h]` at a
//!   rule's evaluation holds 61 one-minute tiles; `[W-1s]` holds 60 on 2.x and 3.x alike. Sums
//!   computed by a group of another interval (not aligned with the tiles) use `[W-1ms]`, which
//!   holds exactly W/bucket millisecond-stamped tiles at any phase on 2.x.
//! - **Sums, never averaged ratios.** Every ratio divides summed counts.
//! - **Members apart.** A `group_by` definition's tiles are `sum by (<its labels>)`, so every
//!   series it records holds one member's values; every later aggregation keeps those labels
//!   and every match between two series sets (`on(…)`, `unless on(…)`, a zero filling in for a
//!   missing side) matches on them, so no member's counts ever meet another's.

use crate::duration::Dur;

/// The tiles: per-bucket total events, and bad events.
pub(super) const TILE_TOTAL: &str = "slowburn:slo_events_total";
/// The tiles of bad events.
pub(super) const TILE_BAD: &str = "slowburn:slo_events_bad";
/// Total events per window (label `window`).
pub(super) const SUM_TOTAL: &str = "slowburn:slo_events_total:sum";
/// Bad events per window (label `window`).
pub(super) const SUM_BAD: &str = "slowburn:slo_events_bad:sum";
/// Tiles recorded per window (label `window`): the known buckets, for coverage.
pub(super) const KNOWN: &str = "slowburn:slo_buckets_known:count";
/// The SLA's own tiles, when its events differ from the SLO's.
pub(super) const SLA_TILE_TOTAL: &str = "slowburn:slo_sla_events_total";
/// The SLA's own bad tiles.
pub(super) const SLA_TILE_BAD: &str = "slowburn:slo_sla_events_bad";
/// The SLA's total events over its period.
pub(super) const SLA_SUM_TOTAL: &str = "slowburn:slo_sla_events_total:sum";
/// The SLA's bad events over its period.
pub(super) const SLA_SUM_BAD: &str = "slowburn:slo_sla_events_bad:sum";

/// The name of a tile series: `slowburn:slo_events_total:increase1m` for a 1-minute bucket.
pub(super) fn tile_name(base: &str, width: Dur) -> String {
    format!("{base}:increase{width}")
}

pub(super) use crate::sli::promql::quote;

/// A PromQL (and rule-file) duration of `ms` milliseconds in the largest single unit that holds
/// it exactly (`1m`, `3599s`, `2591999999ms`): every ruler and Prometheus since 2.0 read it.
pub(super) fn duration_ms(ms: u64) -> String {
    const UNITS: [(&str, u64); 5] = [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ];
    if ms == 0 {
        return "0s".into();
    }
    UNITS
        .iter()
        .find(|(_, n)| ms.is_multiple_of(*n))
        .map_or_else(|| format!("{ms}ms"), |(u, n)| format!("{}{u}", ms / n))
}

/// [`duration_ms`] of a [`Dur`].
pub(super) fn duration(d: Dur) -> String {
    duration_ms(d.as_millis())
}

/// The range selector of window `w` over tiles: `[W-1s]` where the tiles are recorded by the same
/// group at the same instants (`aligned`), `[W-1ms]` otherwise (see the module doc).
pub(super) fn range(w: Dur, aligned: bool) -> String {
    let less = if aligned { 1_000 } else { 1 };
    format!(
        "[{}]",
        duration_ms(w.as_millis().saturating_sub(less).max(1))
    )
}

/// `sum`, or `sum by (route, code) ` when `by` names a grouped definition's labels: an
/// aggregation that keeps each member's series apart (`op(...)` and `op by (…) (...)` alike
/// follow it).
pub(super) fn aggregate(op: &str, by: &[String]) -> String {
    if by.is_empty() {
        op.to_string()
    } else {
        format!("{op} by ({}) ", by.join(", "))
    }
}

/// The events one counter selector counted in the bucket ending now, summed over its series (per
/// member, by the `by` labels, for a grouped definition), by edge differences (a decrease is a
/// reset: the new value counts). Empty when no series of the selector has a sample at both
/// edges: the bucket is unknown, not zero.
pub(super) fn edge(selector: &str, bucket: &str, by: &[String]) -> String {
    format!(
        "{}((({selector} - {selector} offset {bucket}) >= 0) or ({selector} and {selector} offset {bucket}))",
        aggregate("sum", by)
    )
}

/// The two tile expressions of an SLI: total events, and bad events.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Tiles {
    /// Total events in the bucket; empty when the bucket is unknown.
    pub total: String,
    /// Bad events in the bucket, at most the total; present exactly when `total` is.
    pub bad: String,
}

/// The zero a side with no series in a known bucket counts as: `vector(0)` for a plain SLO; for
/// a grouped definition one zero per member that `other` (the other side) has, `(0 * other)`,
/// since a bare `vector(0)` carries no group labels and would match no member.
fn zero_like(other: &str, by: &[String]) -> String {
    if by.is_empty() {
        "vector(0)".to_string()
    } else {
        format!("(0 * {other})")
    }
}

/// The tiles of two of good/bad/total counter selectors, combined per bucket (per member, by the
/// `by` labels, for a grouped definition) as `counts::combine` does: the total side decides
/// whether a bucket is known (for good+bad, either side), an absent good or bad series in a known
/// bucket counts zero, and good is clamped to the total. `None` for any other shape (validation
/// allows exactly two sides).
pub(super) fn tiles(
    good: Option<&str>,
    bad: Option<&str>,
    total: Option<&str>,
    bucket: &str,
    by: &[String],
) -> Option<Tiles> {
    match (good, bad, total) {
        (Some(g), None, Some(t)) => {
            let (g, t) = (edge(g, bucket, by), edge(t, bucket, by));
            let zero = zero_like(&t, by);
            // bad = total − min(good, total) = max(total − good, 0).
            Some(Tiles {
                bad: format!("clamp_min(\n  {t}\n  - ({g} or {zero}),\n  0\n)"),
                total: t,
            })
        }
        (None, Some(b), Some(t)) => {
            let (b, t) = (edge(b, bucket, by), edge(t, bucket, by));
            let zero = zero_like(&t, by);
            // bad = min(bad, total); nothing when the total is unknown.
            Some(Tiles {
                bad: format!("(\n  ({b} or {zero})\n  <= {t}\n)\nor {t}"),
                total: t,
            })
        }
        (Some(g), Some(b), None) => {
            let (g, b) = (edge(g, bucket, by), edge(b, bucket, by));
            let zero = zero_like(&g, by);
            Some(Tiles {
                total: format!("({g} + ({b} or {zero}))\nor {b}"),
                bad: format!("{b}\nor (0 * {g})"),
            })
        }
        _ => None,
    }
}

/// Which SLO a series belongs to: the `service` and `slo` labels, as `/metrics` writes them.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ident<'a> {
    /// The owning service.
    pub service: &'a str,
    /// The SLO's name within the service (the `slo` label of the metrics).
    pub name: &'a str,
    /// The range through which a series this SLO's group records is read at an instant: one
    /// bucket less a second, so it holds only the sample written at that evaluation (see
    /// [`Ident::read`]).
    pub fresh: &'a str,
    /// A grouped definition's `group_by` labels (empty otherwise): its series hold one member
    /// each, told apart by these labels, which every aggregation keeps and every match matches on.
    pub by: &'a [String],
}

/// One bucket less a second (`59s` for `1m`): [`Ident::fresh`].
pub(super) fn fresh_range(width: Dur) -> String {
    duration_ms(width.as_millis().saturating_sub(1000).max(1000))
}

impl Ident<'_> {
    /// A series this SLO's rules record, read at an instant as `last_over_time(sel[fresh])`
    /// rather than bare. In PromQL the two are equal (the range holds exactly the sample written
    /// at this evaluation), but MetricsQL reads a bare selector that has no sample in the last
    /// step as the sample before it, so a condition that stopped holding would go on firing a
    /// minute in vmalert (measured with vmalert 1.79 replay: 5 alert-minutes wrong, 0 with this).
    pub fn read(&self, metric: &str, extra: &str) -> String {
        format!(
            "last_over_time({}[{}])",
            self.sel(metric, extra),
            self.fresh
        )
    }

    /// `on(<base>, <group labels>)`: a vector match on `base` that also keeps a grouped
    /// definition's members apart (`on()` for a plain SLO and no `base`).
    pub fn on(&self, base: &[&str]) -> String {
        let labels: Vec<&str> = base
            .iter()
            .copied()
            .chain(self.by.iter().map(String::as_str))
            .collect();
        format!("on({})", labels.join(", "))
    }

    /// `count`, or `count by (route) ` for a grouped definition: `op` over one member's series.
    pub fn aggregate(&self, op: &str) -> String {
        aggregate(op, self.by)
    }

    /// `metric{service="…",slo="…"[,extra]}`.
    pub fn sel(&self, metric: &str, extra: &str) -> String {
        let sep = if extra.is_empty() { "" } else { "," };
        format!(
            "{metric}{{{}={},{}={}{sep}{extra}}}",
            crate::names::LABEL_SERVICE,
            quote(self.service),
            crate::names::LABEL_SLO,
            quote(self.name)
        )
    }
}

/// `window="5m"` for one window, `window=~"5m|30m"` for several (anchored, as PromQL regexes
/// are; window names hold only digits and unit letters).
pub(super) fn window_matcher(ws: &[Dur]) -> String {
    let names: Vec<String> = ws.iter().map(|w| w.to_string()).collect();
    let label = crate::names::LABEL_WINDOW;
    match names.as_slice() {
        [one] => format!("{label}={}", quote(one)),
        _ => format!("{label}=~{}", quote(&names.join("|"))),
    }
}

/// `label_replace(X, "window", "5m", "", "")`: gives one window's expression its label.
pub(super) fn with_window(expr: &str, w: Dur) -> String {
    format!(
        "label_replace({expr}, {}, {}, \"\", \"\")",
        quote(crate::names::LABEL_WINDOW),
        quote(&w.to_string())
    )
}

/// One recorded series of every window in `ws` (`sum_over_time` or `count_over_time` of a tile),
/// each with its `window` label: one rule for all of them, which keeps Mimir's rules-per-group
/// budget.
pub(super) fn per_window(func: &str, tile: &str, ws: &[Dur], aligned: bool) -> String {
    ws.iter()
        .map(|w| with_window(&format!("{func}({tile}{})", range(*w, aligned)), *w))
        .collect::<Vec<_>>()
        .join(" or\n")
}

/// Where the derived families find window sums: windows summed in the same group are read as
/// they are; the long ones (summed by the slower group) through `last_over_time`, so an
/// evaluation of that group running late or missed keeps the newest sums instead of a gap.
#[derive(Debug, Clone)]
pub(super) struct Views<'a> {
    /// The SLO.
    pub ident: Ident<'a>,
    /// Windows summed by the slower group.
    pub long: &'a [Dur],
    /// The `last_over_time` range: twice the slower group's interval.
    pub stale: String,
    /// The longest window summed: a grouped definition's members are those with a tile in it
    /// ([`Views::members`]).
    pub seen: Dur,
}

impl Views<'_> {
    /// The sums in `series` of the windows `ws`, each with its `window` label; parenthesised
    /// when it joins two selectors.
    pub fn of(&self, series: &str, ws: &[Dur]) -> String {
        let (long, fast): (Vec<Dur>, Vec<Dur>) =
            ws.iter().copied().partition(|w| self.long.contains(w));
        let mut parts = Vec::new();
        if !fast.is_empty() {
            parts.push(self.ident.read(series, &window_matcher(&fast)));
        }
        if !long.is_empty() {
            parts.push(format!(
                "last_over_time({}[{}])",
                self.ident.sel(series, &window_matcher(&long)),
                self.stale
            ));
        }
        match parts.as_slice() {
            [one] => one.clone(),
            _ => format!("({})", parts.join(" or ")),
        }
    }

    /// Total events over `ws`.
    pub fn total(&self, ws: &[Dur]) -> String {
        self.of(SUM_TOTAL, ws)
    }

    /// Bad events over `ws`.
    pub fn bad(&self, ws: &[Dur]) -> String {
        self.of(SUM_BAD, ws)
    }

    /// The burn rate over `ws` as the daemon computes it: `(bad / total) / (1 − objective)`,
    /// absent without traffic.
    pub fn burn(&self, ws: &[Dur], objective: f64) -> String {
        format!(
            "{} / ({} > 0) / {}",
            self.bad(ws),
            self.total(ws),
            budget(objective)
        )
    }

    /// Each member of a grouped definition with a tile in the longest window, valued 0, without
    /// `window`: what the families the daemon writes as 0 for a member with nothing in some
    /// window (events, coverage) or as a constant (objective, `slo_info`) are filled from, one
    /// series per member. A zero without the group labels would be no member's.
    pub fn members(&self) -> String {
        format!(
            "0 * max without({}) ({})",
            crate::names::LABEL_WINDOW,
            self.total(&[self.seen])
        )
    }

    /// The right side of an `or` that gives 0 where its left side has no series:
    /// `on() vector(0)` for a plain SLO, `on(<group labels>) (<members>)` per member.
    pub fn zero(&self) -> String {
        if self.ident.by.is_empty() {
            "on() vector(0)".to_string()
        } else {
            format!("{} ({})", self.ident.on(&[]), self.members())
        }
    }

    /// `or on(window) (<a zero per window of ws>)`: 0 for every window of `ws` nothing is known
    /// in, as the daemon writes events; for a grouped definition per member
    /// (`or on(window, route) …`).
    pub fn zero_fill(&self, ws: &[Dur]) -> String {
        let on = self.ident.on(&[crate::names::LABEL_WINDOW]);
        if self.ident.by.is_empty() {
            return format!("or {on} ({})", zeros(ws));
        }
        let members = self.members();
        let each: Vec<String> = ws.iter().map(|w| with_window(&members, *w)).collect();
        format!("or {on} ({})", each.join(" or "))
    }

    /// A family with one constant value (the objective, `slo_info`): `vector(v)`, or for a
    /// grouped definition `v` for each member.
    pub fn constant(&self, v: &str) -> String {
        if self.ident.by.is_empty() {
            format!("vector({v})")
        } else {
            format!("{} + {v}", self.members())
        }
    }

    /// The remaining budget over `ws` with traffic: `1 − bad / ((1 − objective) × total)`.
    pub fn remaining(&self, ws: &[Dur], objective: f64) -> String {
        format!(
            "1 - {} / ({} * ({} > 0))",
            self.bad(ws),
            budget(objective),
            self.total(ws)
        )
    }
}

/// `(1 - 0.999)`: the error budget, computed by the ruler from the objective's exact text, so it
/// is the daemon's `1.0 - objective` to the last bit.
pub(super) fn budget(objective: f64) -> String {
    format!("(1 - {objective})")
}

/// `label_replace(vector(0), "window", "5m", "", "") or …`: a zero for every window of `ws`, for
/// the families the daemon writes as 0 when nothing is known (events, coverage).
pub(super) fn zeros(ws: &[Dur]) -> String {
    ws.iter()
        .map(|w| with_window("vector(0)", *w))
        .collect::<Vec<_>>()
        .join(" or ")
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    #[test]
    fn durations_in_one_unit() {
        assert_eq!(duration_ms(60_000), "1m");
        assert_eq!(duration_ms(3_599_000), "3599s");
        assert_eq!(duration_ms(2_591_999_999), "2591999999ms");
        assert_eq!(duration_ms(86_400_000 * 30), "30d");
        assert_eq!(duration_ms(0), "0s");
        assert_eq!(range(Dur::from_secs(3600), true), "[3599s]");
        assert_eq!(range(Dur::from_secs(30 * 86400), false), "[2591999999ms]");
    }

    #[test]
    fn quotes_escape() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
    }

    #[test]
    fn edge_differences_and_the_three_shapes() {
        assert_eq!(
            edge("x{a=\"b\"}", "1m", &[]),
            "sum(((x{a=\"b\"} - x{a=\"b\"} offset 1m) >= 0) or (x{a=\"b\"} and x{a=\"b\"} offset 1m))"
        );
        let t = tiles(None, Some("e"), Some("t"), "1m", &[]).expect("errors and total");
        assert_eq!(t.total, edge("t", "1m", &[]));
        assert!(
            t.bad
                .contains(&format!("({} or vector(0))", edge("e", "1m", &[])))
        );
        let t = tiles(Some("g"), None, Some("t"), "1m", &[]).expect("good and total");
        assert!(t.bad.starts_with("clamp_min("));
        let t = tiles(Some("g"), Some("e"), None, "1m", &[]).expect("good and errors");
        assert!(t.total.ends_with(&format!("or {}", edge("e", "1m", &[]))));
        assert!(tiles(Some("g"), None, None, "1m", &[]).is_none());
    }

    #[test]
    fn grouped_tiles_sum_by_the_group_labels_and_fill_zeros_per_member() {
        let by = ["route".to_string(), "code_class".to_string()];
        assert_eq!(
            edge("x", "1m", &by),
            "sum by (route, code_class) (((x - x offset 1m) >= 0) or (x and x offset 1m))"
        );
        // A missing side counts zero for each member the other side has, not one label-less 0.
        let t = tiles(None, Some("e"), Some("t"), "1m", &by).expect("errors and total");
        let (e, total) = (edge("e", "1m", &by), edge("t", "1m", &by));
        assert!(
            t.bad.contains(&format!("({e} or (0 * {total}))")),
            "{}",
            t.bad
        );
        let t = tiles(Some("g"), None, Some("t"), "1m", &by).expect("good and total");
        assert!(!t.bad.contains("vector(0)"), "{}", t.bad);
        let t = tiles(Some("g"), Some("e"), None, "1m", &by).expect("good and errors");
        assert!(!t.total.contains("vector(0)"), "{}", t.total);
    }

    /// An availability SLO's views over these long windows and group labels.
    pub(in crate::export::rules) fn views<'a>(long: &'a [Dur], by: &'a [String]) -> Views<'a> {
        Views {
            ident: Ident {
                service: "api",
                name: "availability",
                fresh: "59s",
                by,
            },
            long,
            stale: "10m".into(),
            seen: Dur::from_secs(30 * 86400),
        }
    }

    #[test]
    fn views_read_long_windows_through_last_over_time() {
        let long = [Dur::from_secs(30 * 86400)];
        let v = views(&long, &[]);
        let ws = [Dur::from_secs(300), Dur::from_secs(3600), long[0]];
        assert_eq!(
            v.total(&ws),
            "(last_over_time(slowburn:slo_events_total:sum{service=\"api\",slo=\"availability\",window=~\"5m|1h\"}[59s]) or last_over_time(slowburn:slo_events_total:sum{service=\"api\",slo=\"availability\",window=\"30d\"}[10m]))"
        );
        assert_eq!(
            v.burn(&ws[..1], 0.999),
            "last_over_time(slowburn:slo_events_bad:sum{service=\"api\",slo=\"availability\",window=\"5m\"}[59s]) / (last_over_time(slowburn:slo_events_total:sum{service=\"api\",slo=\"availability\",window=\"5m\"}[59s]) > 0) / (1 - 0.999)"
        );
        assert_eq!(v.zero(), "on() vector(0)");
        assert_eq!(v.constant("0.999"), "vector(0.999)");
        assert_eq!(v.ident.on(&["service", "slo"]), "on(service, slo)");
    }

    #[test]
    fn grouped_views_fill_and_match_per_member() {
        let long = [Dur::from_secs(30 * 86400)];
        let by = ["route".to_string()];
        let v = views(&long, &by);
        let members = "0 * max without(window) (last_over_time(slowburn:slo_events_total:sum{service=\"api\",slo=\"availability\",window=\"30d\"}[10m]))";
        assert_eq!(v.members(), members);
        assert_eq!(v.zero(), format!("on(route) ({members})"));
        assert_eq!(v.constant("0.999"), format!("{members} + 0.999"));
        assert_eq!(v.ident.on(&["service", "slo"]), "on(service, slo, route)");
        assert_eq!(v.ident.aggregate("count"), "count by (route) ");
        let fill = v.zero_fill(&[Dur::from_secs(300)]);
        assert_eq!(
            fill,
            format!(
                "or on(window, route) (label_replace({members}, \"window\", \"5m\", \"\", \"\"))"
            )
        );
        assert!(!fill.contains("vector("), "no label-less zero: {fill}");
    }
}
