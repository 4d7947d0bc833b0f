//! Time-series charts as SVG, drawn on the server: no chart library, no script, nothing the
//! Content-Security-Policy has to allow. Lines may have gaps (`None`), horizontal reference lines
//! (objective, SLA, burn factors) are dashed, and shaded spans mark missing data and maintenance.

use super::html::{Html, html};
use std::fmt::Write as _;

/// One line.
pub struct Line<'a> {
    /// Legend text.
    pub name: String,
    /// CSS class (its colour per theme).
    pub class: &'a str,
    /// `(unix seconds, value)`; `None` breaks the line.
    pub points: Vec<(i64, Option<f64>)>,
}

/// A dashed horizontal line with a label.
pub struct Rule {
    /// Value.
    pub y: f64,
    /// Label at the right end.
    pub label: String,
    /// CSS class.
    pub class: &'static str,
}

/// A shaded span of the time axis.
pub struct Span {
    /// Start (unix seconds).
    pub from: i64,
    /// End.
    pub to: i64,
    /// CSS class (`gap`, `maintenance`, `correction`, `page`, `ticket`).
    pub class: &'static str,
}

/// A chart.
pub struct Chart<'a> {
    /// Title above it (also the SVG's accessible name).
    pub title: String,
    /// `id` for tests and links.
    pub id: String,
    /// Lines.
    pub lines: Vec<Line<'a>>,
    /// Reference lines.
    pub rules: Vec<Rule>,
    /// Shaded spans.
    pub spans: Vec<Span>,
    /// How to print a value on the axis.
    pub format: fn(f64) -> String,
    /// Force the value range to include these.
    pub include: Vec<f64>,
}

/// The drawing's own units: the SVG scales to its container's width (`width="100%"`, aspect
/// kept), so these set the proportions and the text's size relative to the plot, not pixels.
/// About the width of a full-width chart on a laptop, so 11-unit text reads as 11 to 13 px.
const W: f64 = 1200.0;
const H: f64 = 240.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 110.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 24.0;

/// Vertical room one rule label needs, in SVG units (the axis font is 11 px).
const LABEL_GAP: f64 = 11.0;

/// A time-axis label: the date alone once ticks are whole days apart, the time of day too below.
fn date(t: i64, step: i64) -> String {
    let f = if step >= DAY { "%m-%d" } else { "%m-%d %H:%M" };
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.format(f).to_string())
        .unwrap_or_default()
}

const DAY: i64 = 86_400;

/// Value-axis ticks a person can read at a glance: multiples of 1, 2, 2.5 or 5 times a power of ten,
/// about `n` steps of them, inside `[lo, hi]` (the plotted range is not widened to them).
fn value_ticks(lo: f64, hi: f64, n: u32) -> Vec<f64> {
    let raw = (hi - lo) / f64::from(n.max(1));
    if !(raw.is_finite() && raw > 0.0) {
        return vec![lo];
    }
    let mag = 10f64.powf(raw.log10().floor());
    // The round step nearest `raw` on a log scale, so the count stays near `n`.
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .min_by(|a, b| (a / raw).ln().abs().total_cmp(&(b / raw).ln().abs()))
        .unwrap_or(mag);
    let first = (lo / step).ceil();
    (0..=2 * n)
        .map(|k| (first + f64::from(k)) * step)
        .take_while(|v| *v <= hi + step * 1e-9)
        // -0 prints as "-0%".
        .map(|v| if v.abs() < step * 1e-9 { 0.0 } else { v })
        .collect()
}

/// Time-axis ticks on round UTC times (whole minutes, hours or days), at most `max` of them, and
/// the step chosen.
fn time_ticks(t0: i64, t1: i64, max: i64) -> (Vec<i64>, i64) {
    const STEPS: [i64; 14] = [
        60,
        300,
        900,
        1800,
        3600,
        3 * 3600,
        6 * 3600,
        12 * 3600,
        DAY,
        2 * DAY,
        7 * DAY,
        14 * DAY,
        28 * DAY,
        91 * DAY,
    ];
    let span = (t1 - t0).max(1);
    let step = STEPS
        .into_iter()
        .find(|s| span / s < max)
        .unwrap_or_else(|| span / max.max(1) + 1);
    let first = t0.div_euclid(step) * step + if t0.rem_euclid(step) == 0 { 0 } else { step };
    let ticks = (0..=max)
        .map(|k| first + k * step)
        .take_while(|t| *t <= t1)
        .collect();
    (ticks, step)
}

/// Label positions at least `gap` apart, in the order given, none below `bottom`: a label that
/// would overlap the one above moves down, and the run moves up if that pushes it off the plot.
fn spread(ys: &[f64], gap: f64, bottom: f64) -> Vec<f64> {
    let mut order: Vec<usize> = (0..ys.len()).collect();
    order.sort_by(|a, b| ys[*a].total_cmp(&ys[*b]));
    let mut placed: Vec<f64> = order.iter().map(|i| ys[*i]).collect();
    for k in 1..placed.len() {
        placed[k] = placed[k].max(placed[k - 1] + gap);
    }
    if let Some(last) = placed.last_mut() {
        *last = last.min(bottom);
    }
    for k in (0..placed.len().saturating_sub(1)).rev() {
        placed[k] = placed[k].min(placed[k + 1] - gap);
    }
    let mut out = vec![0.0; ys.len()];
    for (i, y) in order.into_iter().zip(placed) {
        out[i] = y;
    }
    out
}

/// Where a time and a value land in the drawing.
struct Scale {
    t0: i64,
    t1: i64,
    lo: f64,
    hi: f64,
}

impl Scale {
    fn x(&self, t: i64) -> f64 {
        LEFT + (t - self.t0) as f64 / (self.t1 - self.t0) as f64 * (W - LEFT - RIGHT)
    }
    fn y(&self, v: f64) -> f64 {
        TOP + (self.hi - v) / (self.hi - self.lo) * (H - TOP - BOTTOM)
    }
}

impl Chart<'_> {
    /// The time and value ranges the chart draws (values padded by 5%), or `None` when there is
    /// nothing to draw.
    fn scale(&self) -> Option<Scale> {
        let ts = self.lines.iter().flat_map(|l| l.points.iter().map(|p| p.0));
        let (t0, t1) = ts.fold((i64::MAX, i64::MIN), |(a, b), t| (a.min(t), b.max(t)));
        let vals = self
            .lines
            .iter()
            .flat_map(|l| l.points.iter().filter_map(|p| p.1))
            .filter(|v| v.is_finite())
            .chain(self.include.iter().copied())
            .chain(self.rules.iter().map(|r| r.y));
        let (mut lo, mut hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        if t0 >= t1 || !lo.is_finite() {
            return None;
        }
        if hi - lo < 1e-12 {
            lo -= 0.5;
            hi += 0.5;
        }
        let pad = (hi - lo) * 0.05;
        Some(Scale {
            t0,
            t1,
            lo: lo - pad,
            hi: hi + pad,
        })
    }

    /// The SVG, inside a `<figure>` with the title and a legend. The SVG takes its container's
    /// whole width and keeps its proportions.
    pub fn render(&self) -> Html {
        let head = html! {
            "<figure class=\"chart\" id=\"" (self.id) "\"><figcaption>" (self.title)
            "</figcaption>"
        };
        let Some(sc) = self.scale() else {
            return html! {
                (head) "<p class=\"empty\">No data in this range yet.</p></figure>"
            };
        };
        html! {
            (head)
            "<svg viewBox=\"0 0 " (W) " " (H) "\" width=\"100%\" preserveAspectRatio=\"xMidYMid meet\" role=\"img\" aria-label=\""
            (self.title) "\"><rect class=\"plot\" x=\"" (LEFT) "\" y=\"" (TOP) "\" width=\""
            (W - LEFT - RIGHT) "\" height=\"" (H - TOP - BOTTOM) "\"/>"
            (self.spans_svg(&sc))
            (self.value_axis(&sc))
            (time_axis(&sc))
            (self.rules_svg(&sc))
            (self.lines_svg(&sc))
            "</svg>"
            (self.legend())
            "</figure>"
        }
    }

    fn spans_svg(&self, sc: &Scale) -> Html {
        let mut h = Html::new();
        for sp in &self.spans {
            let (a, b) = (sc.x(sp.from.max(sc.t0)), sc.x(sp.to.min(sc.t1)));
            if b > a {
                h.push(&html! {
                    "<rect class=\"span " (sp.class) "\" x=\"" (f1(a)) "\" y=\"" (TOP)
                    "\" width=\"" (f1((b - a).max(1.0))) "\" height=\"" (H - TOP - BOTTOM) "\"/>"
                });
            }
        }
        h
    }

    fn value_axis(&self, sc: &Scale) -> Html {
        value_ticks(sc.lo, sc.hi, 4)
            .into_iter()
            .map(|v| {
                let yy = f1(sc.y(v));
                html! {
                    "<line class=\"grid\" x1=\"" (LEFT) "\" x2=\"" (W - RIGHT) "\" y1=\"" (yy)
                    "\" y2=\"" (yy) "\"/><text class=\"axis\" x=\"" (LEFT - 4.0) "\" y=\""
                    (f1(sc.y(v) + 4.0)) "\" text-anchor=\"end\">" ((self.format)(v)) "</text>"
                }
            })
            .collect()
    }

    fn rules_svg(&self, sc: &Scale) -> Html {
        let label_ys = spread(
            &self
                .rules
                .iter()
                .map(|r| sc.y(r.y) + 4.0)
                .collect::<Vec<_>>(),
            LABEL_GAP,
            H - BOTTOM + 4.0,
        );
        self.rules
            .iter()
            .zip(label_ys)
            .map(|(r, ly)| {
                let yy = f1(sc.y(r.y));
                html! {
                    "<line class=\"rule " (r.class) "\" x1=\"" (LEFT) "\" x2=\"" (W - RIGHT)
                    "\" y1=\"" (yy) "\" y2=\"" (yy) "\"/><text class=\"rule-label " (r.class)
                    "\" x=\"" (W - RIGHT + 4.0) "\" y=\"" (f1(ly)) "\">" (r.label) "</text>"
                }
            })
            .collect()
    }

    fn lines_svg(&self, sc: &Scale) -> Html {
        self.lines
            .iter()
            .map(|l| {
                let mut d = String::new();
                let mut pen = false;
                for (t, v) in &l.points {
                    match v.filter(|v| v.is_finite()) {
                        Some(v) => {
                            let m = if pen { "L" } else { "M" };
                            let _ = write!(d, "{m}{:.1},{:.1}", sc.x(*t), sc.y(v));
                            pen = true;
                        }
                        None => pen = false,
                    }
                }
                html! {
                    "<path class=\"line " (l.class) "\" d=\"" (d) "\" data-points=\""
                    (l.points.len()) "\"><title>" (l.name) "</title></path>"
                }
            })
            .collect()
    }

    fn legend(&self) -> Html {
        let mut h = Html::from_static("<ul class=\"legend\">");
        for l in &self.lines {
            h.push(&html! { "<li class=\"" (l.class) "\">" (l.name) "</li>" });
        }
        for (sp, text) in [
            ("gap", "data missing"),
            ("maintenance", "maintenance"),
            ("correction", "corrected"),
            ("page", "page firing"),
            ("ticket", "ticket firing"),
        ] {
            if self.spans.iter().any(|x| x.class == sp) {
                h.push(&html! { "<li class=\"span-" (sp) "\">" (text) "</li>" });
            }
        }
        h.push_static("</ul>");
        h
    }
}

/// The time axis's labels on round UTC times.
fn time_axis(sc: &Scale) -> Html {
    let (times, step) = time_ticks(sc.t0, sc.t1, 6);
    times
        .into_iter()
        .map(|t| {
            html! {
                "<text class=\"axis\" x=\"" (f1(sc.x(t))) "\" y=\"" (H - 6.0)
                "\" text-anchor=\"middle\">" (date(t, step)) "</text>"
            }
        })
        .collect()
}

/// A coordinate with one decimal, as every position in the drawing is written.
fn f1(v: f64) -> String {
    format!("{v:.1}")
}

/// Merges adjacent steps that share a condition into spans.
pub fn spans_where(
    times: &[i64],
    step: i64,
    hit: impl Fn(usize) -> bool,
    class: &'static str,
) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    for (i, t) in times.iter().enumerate() {
        if !hit(i) {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.to == t - step => last.to = *t,
            _ => out.push(Span {
                from: t - step,
                to: *t,
                class,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_ticks_are_round_and_inside_the_range() {
        assert_eq!(value_ticks(-0.05, 1.05, 4), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(value_ticks(-8.7, 182.5, 4), vec![0.0, 50.0, 100.0, 150.0]);
        let t = value_ticks(0.5254, 1.0224, 4);
        assert_eq!(t.len(), 5, "{t:?}");
        assert!(
            (t[0] - 0.6).abs() < 1e-12 && (t[4] - 1.0).abs() < 1e-12,
            "{t:?}"
        );
        assert_eq!(value_ticks(-0.5, 0.5, 4), vec![-0.5, -0.25, 0.0, 0.25, 0.5]);
        assert_eq!(value_ticks(3.0, 3.0, 4), vec![3.0]);
    }

    #[test]
    fn time_ticks_fall_on_round_utc_times() {
        let t0 = 1_796_292_540 - 30 * DAY;
        let (ticks, step) = time_ticks(t0, 1_796_292_540, 6);
        assert_eq!(step, 7 * DAY);
        assert!(ticks.len() >= 4 && ticks.len() <= 6, "{ticks:?}");
        assert!(ticks.iter().all(|t| t % step == 0 && *t >= t0));
        let (ticks, step) = time_ticks(0, 3600, 6);
        assert_eq!((step, ticks.len()), (900, 5));
        assert_eq!(date(DAY * 20_000, DAY), "10-04");
    }

    #[test]
    fn rule_labels_do_not_overlap() {
        // Burn factors 14.4, 6, 3 and 1 on a 0-180 axis land within a few units of each other.
        let ys = [180.0, 183.0, 185.0, 186.0];
        let out = spread(&ys, LABEL_GAP, 196.0);
        let mut sorted = out.clone();
        sorted.sort_by(f64::total_cmp);
        assert!(
            sorted.windows(2).all(|w| w[1] - w[0] >= LABEL_GAP - 1e-9),
            "{out:?}"
        );
        assert!(sorted[3] <= 196.0, "{out:?}");
        assert!(out[0] < out[1] && out[1] < out[2], "order kept: {out:?}");
        assert_eq!(spread(&[10.0, 100.0], LABEL_GAP, 196.0), vec![10.0, 100.0]);
    }

    #[test]
    fn draws_lines_with_gaps_rules_and_spans() {
        let c = Chart {
            title: "Budget <left>".into(),
            id: "budget".into(),
            lines: vec![Line {
                name: "30d".into(),
                class: "s0",
                points: vec![
                    (0, Some(1.0)),
                    (60, None),
                    (120, Some(0.5)),
                    (180, Some(0.25)),
                ],
            }],
            rules: vec![Rule {
                y: 0.0,
                label: "spent".into(),
                class: "zero",
            }],
            spans: {
                let mut v = spans_where(&[60, 120, 180], 60, |i| i < 2, "gap");
                v.push(Span {
                    from: 120,
                    to: 180,
                    class: "page",
                });
                v
            },
            format: |v| format!("{v:.1}"),
            include: vec![],
        };
        let svg = c.render().into_string();
        assert!(
            svg.contains(r#"width="100%""#),
            "the chart takes its container's width"
        );
        assert!(svg.contains("Budget &lt;left&gt;"));
        // Two segments: a move after the gap.
        let d = svg
            .split(r#"<path class="line s0" d=""#)
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(d.matches('M').count(), 2, "{d}");
        assert_eq!(
            svg.matches(r#"class="span gap""#).count(),
            1,
            "adjacent steps merge"
        );
        assert!(svg.contains("data missing"));
        assert!(svg.contains(r#"<li class="span-page">page firing</li>"#));
        assert!(
            !svg.contains("span-maintenance"),
            "no legend for a span not drawn"
        );
    }
}
