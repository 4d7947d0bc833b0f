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

/// The events one counter selector counted in the bucket ending now, summed over its series, by
/// edge differences (a decrease is a reset: the new value counts). Empty when no series of the
/// selector has a sample at both edges: the bucket is unknown, not zero.
pub(super) fn edge(selector: &str, bucket: &str) -> String {
    format!(
        "sum((({selector} - {selector} offset {bucket}) >= 0) or ({selector} and {selector} offset {bucket}))"
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

/// The tiles of two of good/bad/total counter selectors, combined per bucket as
/// `counts::combine` does: the total side decides whether a bucket is known (for good+bad,
/// either side), an absent good or bad series in a known bucket counts zero, and good is clamped
/// to the total. `None` for any other shape (validation allows exactly two sides).
pub(super) fn tiles(
    good: Option<&str>,
    bad: Option<&str>,
    total: Option<&str>,
    bucket: &str,
) -> Option<Tiles> {
    match (good, bad, total) {
        (Some(g), None, Some(t)) => {
            let (g, t) = (edge(g, bucket), edge(t, bucket));
            // bad = total − min(good, total) = max(total − good, 0).
            Some(Tiles {
                bad: format!("clamp_min(\n  {t}\n  - ({g} or vector(0)),\n  0\n)"),
                total: t,
            })
        }
        (None, Some(b), Some(t)) => {
            let (b, t) = (edge(b, bucket), edge(t, bucket));
            // bad = min(bad, total); nothing when the total is unknown.
            Some(Tiles {
                bad: format!("(\n  ({b} or vector(0))\n  <= {t}\n)\nor {t}"),
                total: t,
            })
        }
        (Some(g), Some(b), None) => {
            let (g, b) = (edge(g, bucket), edge(b, bucket));
            Some(Tiles {
                total: format!("({g} + ({b} or vector(0)))\nor {b}"),
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
mod tests {
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
            edge("x{a=\"b\"}", "1m"),
            "sum(((x{a=\"b\"} - x{a=\"b\"} offset 1m) >= 0) or (x{a=\"b\"} and x{a=\"b\"} offset 1m))"
        );
        let t = tiles(None, Some("e"), Some("t"), "1m").expect("errors and total");
        assert_eq!(t.total, edge("t", "1m"));
        assert!(
            t.bad
                .contains(&format!("({} or vector(0))", edge("e", "1m")))
        );
        let t = tiles(Some("g"), None, Some("t"), "1m").expect("good and total");
        assert!(t.bad.starts_with("clamp_min("));
        let t = tiles(Some("g"), Some("e"), None, "1m").expect("good and errors");
        assert!(t.total.ends_with(&format!("or {}", edge("e", "1m"))));
        assert!(tiles(Some("g"), None, None, "1m").is_none());
    }

    #[test]
    fn views_read_long_windows_through_last_over_time() {
        let long = [Dur::from_secs(30 * 86400)];
        let v = Views {
            ident: Ident {
                service: "api",
                name: "availability",
                fresh: "59s",
            },
            long: &long,
            stale: "10m".into(),
        };
        let ws = [Dur::from_secs(300), Dur::from_secs(3600), long[0]];
        assert_eq!(
            v.total(&ws),
            "(last_over_time(slowburn:slo_events_total:sum{service=\"api\",slo=\"availability\",window=~\"5m|1h\"}[59s]) or last_over_time(slowburn:slo_events_total:sum{service=\"api\",slo=\"availability\",window=\"30d\"}[10m]))"
        );
        assert_eq!(
            v.burn(&ws[..1], 0.999),
            "last_over_time(slowburn:slo_events_bad:sum{service=\"api\",slo=\"availability\",window=\"5m\"}[59s]) / (last_over_time(slowburn:slo_events_total:sum{service=\"api\",slo=\"availability\",window=\"5m\"}[59s]) > 0) / (1 - 0.999)"
        );
    }
}
