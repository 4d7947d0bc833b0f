//! Time-series charts as SVG, drawn on the server: no chart library, no script, nothing the
//! Content-Security-Policy has to allow. Lines may have gaps (`None`), horizontal reference lines
//! (objective, SLA, burn factors) are dashed, and shaded spans mark missing data and maintenance.

use super::esc;
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
    /// CSS class (`gap`, `maintenance`, `page`, `ticket`).
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

const W: f64 = 900.0;
const H: f64 = 220.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 110.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 24.0;

fn date(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

impl Chart<'_> {
    /// The SVG, inside a `<figure>` with the title and a legend.
    pub fn render(&self) -> String {
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
        let mut s = format!(
            r#"<figure class="chart" id="{}"><figcaption>{}</figcaption>"#,
            esc(&self.id),
            esc(&self.title)
        );
        if t0 >= t1 || !lo.is_finite() {
            s.push_str(r#"<p class="empty">No data in this range yet.</p></figure>"#);
            return s;
        }
        if hi - lo < 1e-12 {
            lo -= 0.5;
            hi += 0.5;
        }
        let pad = (hi - lo) * 0.05;
        let (lo, hi) = (lo - pad, hi + pad);
        let x = |t: i64| LEFT + (t - t0) as f64 / (t1 - t0) as f64 * (W - LEFT - RIGHT);
        let y = |v: f64| TOP + (hi - v) / (hi - lo) * (H - TOP - BOTTOM);
        let _ = write!(
            s,
            r#"<svg viewBox="0 0 {W} {H}" width="100%" role="img" aria-label="{}"><rect class="plot" x="{LEFT}" y="{TOP}" width="{}" height="{}"/>"#,
            esc(&self.title),
            W - LEFT - RIGHT,
            H - TOP - BOTTOM
        );
        for sp in &self.spans {
            let (a, b) = (x(sp.from.max(t0)), x(sp.to.min(t1)));
            if b > a {
                let _ = write!(
                    s,
                    r#"<rect class="span {}" x="{a:.1}" y="{TOP}" width="{:.1}" height="{}"/>"#,
                    sp.class,
                    (b - a).max(1.0),
                    H - TOP - BOTTOM
                );
            }
        }
        for k in 0..=4 {
            let v = lo + (hi - lo) * f64::from(k) / 4.0;
            let _ = write!(
                s,
                r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{yy:.1}" y2="{yy:.1}"/><text class="axis" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
                W - RIGHT,
                LEFT - 4.0,
                y(v) + 4.0,
                esc(&(self.format)(v)),
                yy = y(v)
            );
        }
        for k in 0..=4 {
            let t = t0 + (t1 - t0) * k / 4;
            let _ = write!(
                s,
                r#"<text class="axis" x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
                x(t),
                H - 6.0,
                date(t)
            );
        }
        for r in &self.rules {
            let _ = write!(
                s,
                r#"<line class="rule {}" x1="{LEFT}" x2="{}" y1="{yy:.1}" y2="{yy:.1}"/><text class="rule-label {}" x="{}" y="{:.1}">{}</text>"#,
                r.class,
                W - RIGHT,
                r.class,
                W - RIGHT + 4.0,
                y(r.y) + 4.0,
                esc(&r.label),
                yy = y(r.y)
            );
        }
        for l in &self.lines {
            let mut d = String::new();
            let mut pen = false;
            for (t, v) in &l.points {
                match v.filter(|v| v.is_finite()) {
                    Some(v) => {
                        let _ =
                            write!(d, "{}{:.1},{:.1}", if pen { "L" } else { "M" }, x(*t), y(v));
                        pen = true;
                    }
                    None => pen = false,
                }
            }
            let _ = write!(
                s,
                r#"<path class="line {}" d="{d}" data-points="{}"><title>{}</title></path>"#,
                l.class,
                l.points.len(),
                esc(&l.name)
            );
        }
        s.push_str("</svg><ul class=\"legend\">");
        for l in &self.lines {
            let _ = write!(s, r#"<li class="{}">{}</li>"#, l.class, esc(&l.name));
        }
        for sp in ["gap", "maintenance"] {
            if self.spans.iter().any(|x| x.class == sp) {
                let _ = write!(
                    s,
                    r#"<li class="span-{sp}">{}</li>"#,
                    if sp == "gap" {
                        "data missing"
                    } else {
                        "maintenance"
                    }
                );
            }
        }
        s.push_str("</ul></figure>");
        s
    }
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
            spans: spans_where(&[60, 120, 180], 60, |i| i < 2, "gap"),
            format: |v| format!("{v:.1}"),
            include: vec![],
        };
        let svg = c.render();
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
    }
}
