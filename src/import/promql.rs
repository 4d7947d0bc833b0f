//! The one translator of peers' PromQL into slowburn's SLI sides, so the three formats agree on
//! what is exact. slowburn counts a counter selector by edge differences per series (what
//! `sum(increase(SEL[w]))` means, exactly, at every bucket); anything else becomes a `$window`
//! expression, evaluated once per bucket.
//!
//! The shapes: `SEL`, `sum(rate(SEL[W]))`, `sum(increase(SEL[W]))`, `rate(SEL[W])` (no `by` or
//! `without`) are the counter selector `SEL`; a histogram's `count - bucket{le}` against its
//! `count` (or `bucket{le}` against `count`) is a latency SLI; other text becomes an expression
//! with the window turned into `$window` and `rate(` into `increase(` (a rate is per second, a
//! bucket counts events). A `sum by`/`sum without` at the top of a side asks for one SLO per label
//! value: refused, with the way to say it in slowburn (`group_by` over the summed selectors; the
//! translator does not rewrite a grouped query itself, since its sides must agree on the labels).

use super::Sli;
use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{self, Expr, LabelModifier, VectorSelector};
use regex::Regex;
use std::sync::LazyLock;

/// How a peer's query names its window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window<'a> {
    /// A template placeholder replaced at rule-writing time (Sloth's `{{.window}}`).
    Template(&'a str),
    /// A literal range (`[5m]`) that the peer evaluates as written (OpenSLO): every range in the
    /// query becomes `$window`.
    Literal,
}

/// A translated SLI with what the reader should tell the user (approximations), one line each.
#[derive(Clone, Debug, PartialEq)]
pub struct Translated {
    /// The SLI.
    pub sli: Sli,
    /// Warnings about exactness, to be turned into findings at the query's position.
    pub warnings: Vec<String>,
}

/// A duration no one writes, standing for a template's window while the text is parsed; the
/// parser prints it back unchanged, so it can be found again in any printed sub-expression.
const SENTINEL: &str = "3d4h5m6s7ms";

/// A range or a subquery's range in printed PromQL: `[5m]`, `[1h:]`, `[1h:1m]`.
static RANGE: LazyLock<Result<Regex, regex::Error>> =
    LazyLock::new(|| Regex::new(r"\[\s*[0-9][0-9a-z]*\s*(\]|:)"));
/// `rate(` as a function call (not `irate(`).
static RATE: LazyLock<Result<Regex, regex::Error>> =
    LazyLock::new(|| Regex::new(r"(^|[^a-zA-Z0-9_])rate\s*\("));

/// One query made parseable: the window template replaced by [`SENTINEL`].
fn parseable(query: &str, window: Window<'_>) -> Result<String, String> {
    let text = match window {
        Window::Template(t) => query.replace(t, SENTINEL),
        Window::Literal => query.to_string(),
    };
    if let Some(i) = text.find("{{") {
        let end = text[i..].find("}}").map_or(text.len(), |e| i + e + 2);
        return Err(format!(
            "template action `{}` is not the window: only the window can be filled in",
            &text[i..end]
        ));
    }
    Ok(text)
}

/// Printed PromQL with the window as slowburn writes it.
fn windowed(text: &str, window: Window<'_>) -> String {
    match window {
        Window::Template(_) => text.replace(SENTINEL, "$window"),
        Window::Literal => match RANGE.as_ref() {
            Ok(re) => re.replace_all(text, "[$$window$1").into_owned(),
            Err(_) => text.to_string(),
        },
    }
}

/// `rate(` turned into `increase(`: a side counts events in a bucket, not events per second.
fn increases(text: &str) -> String {
    match RATE.as_ref() {
        Ok(re) => re.replace_all(text, "${1}increase(").into_owned(),
        Err(_) => text.to_string(),
    }
}

/// Parses one side, refusing what an import cannot count.
fn parse(query: &str, window: Window<'_>) -> Result<Expr, String> {
    let text = parseable(query, window)?;
    let expr = parser::parse(&text).map_err(|e| format!("PromQL does not parse: {e}"))?;
    if text.contains("irate(") {
        return Err("`irate` looks at the last two samples only: it cannot count events".into());
    }
    if let Some(labels) = grouping(&expr) {
        return Err(format!(
            "the query keeps one series per {labels}: an import reads one sum per side; sum it without `by` and add `group_by: [label]` to the written SLO for one SLO per value"
        ));
    }
    Ok(expr)
}

/// The labels of a top-level `sum by (...)`/`without`, if the expression keeps them apart.
fn grouping(e: &Expr) -> Option<String> {
    match e {
        Expr::Paren(p) => grouping(&p.expr),
        Expr::Aggregate(a) => match &a.modifier {
            Some(LabelModifier::Include(l)) if !l.labels.is_empty() => {
                Some(format!("`{}`", l.labels.join("`, `")))
            }
            Some(LabelModifier::Exclude(_)) => Some("label but those of `without`".into()),
            _ => None,
        },
        Expr::Binary(b) => grouping(&b.lhs).or_else(|| grouping(&b.rhs)),
        _ => None,
    }
}

/// The counter selector a side counts, when it is one of the exact shapes.
fn counter(e: &Expr) -> Option<&VectorSelector> {
    match e {
        Expr::Paren(p) => counter(&p.expr),
        Expr::VectorSelector(vs) if plain(vs) => Some(vs),
        Expr::Aggregate(a)
            if a.op.to_string() == "sum" && a.param.is_none() && a.modifier.is_none() =>
        {
            counter(&a.expr)
        }
        Expr::Call(c) if matches!(c.func.name, "rate" | "increase") && c.args.args.len() == 1 => {
            match c.args.args[0].as_ref() {
                Expr::MatrixSelector(ms) if plain(&ms.vs) => Some(&ms.vs),
                _ => None,
            }
        }
        _ => None,
    }
}

/// A selector slowburn can read at bucket edges: a metric name, no `offset`, no `@`.
fn plain(vs: &VectorSelector) -> bool {
    vs.name.is_some()
        && vs.offset.is_none()
        && vs.at.is_none()
        && vs.matchers.or_matchers.is_empty()
}

/// A selector as `slo.yaml` writes it: the name, then its matchers (printed, sorted).
fn selector_text(name: &str, matchers: &[String]) -> String {
    if matchers.is_empty() {
        return name.to_string();
    }
    format!("{name}{{{}}}", matchers.join(","))
}

/// The matchers of a selector other than the metric name and `le`, printed and sorted (so two
/// lists compare as sets).
fn matchers(vs: &VectorSelector) -> Vec<String> {
    let mut m: Vec<String> = vs
        .matchers
        .matchers
        .iter()
        .filter(|m| m.name != "__name__" && m.name != "le")
        .map(Matcher::to_string)
        .collect();
    m.sort();
    m
}

/// One side as slowburn writes it: a counter selector, else an expression of increases.
fn side(query: &str, window: Window<'_>) -> Result<(String, bool), String> {
    let expr = parse(query, window)?;
    if let Some(vs) = counter(&expr) {
        return Ok((selector_of(vs), true));
    }
    let text = increases(&windowed(&expr.to_string(), window));
    if !text.contains("$window") {
        return Err(
            "neither a counter selector nor a count over a window: give it a range, like `sum(increase(x[5m]))`"
                .into(),
        );
    }
    Ok((text, false))
}

/// Every matcher of a selector but the metric name, printed.
fn all_matchers(vs: &VectorSelector) -> Vec<String> {
    vs.matchers
        .matchers
        .iter()
        .filter(|m| m.name != "__name__")
        .map(Matcher::to_string)
        .collect()
}

/// A counter selector with all its matchers, sorted.
fn selector_of(vs: &VectorSelector) -> String {
    let mut all = all_matchers(vs);
    all.sort();
    selector_text(vs.name.as_deref().unwrap_or_default(), &all)
}

/// A histogram's parts from a bucket selector: its base name, its other matchers and `le`.
fn bucket(vs: &VectorSelector) -> Option<(String, Vec<String>, String)> {
    let base = vs.name.as_deref()?.strip_suffix("_bucket")?;
    let le = vs
        .matchers
        .matchers
        .iter()
        .find(|m| m.name == "le" && matches!(m.op, MatchOp::Equal))?;
    Some((base.to_string(), matchers(vs), le.value.clone()))
}

/// A histogram's base name and matchers from a `_count` selector.
fn count(vs: &VectorSelector) -> Option<(String, Vec<String>)> {
    let base = vs.name.as_deref()?.strip_suffix("_count")?;
    Some((base.to_string(), matchers(vs)))
}

/// The latency SLI of a histogram whose `le` slowburn spells the same way.
fn latency_sli(base: &str, rest: &[String], le: &str) -> Option<Sli> {
    let threshold = le_threshold(le)?;
    let dur = crate::duration::parse(&threshold).ok()?;
    let spelled = crate::sli::promql::le_label(dur);
    (spelled == le || format!("{spelled}.0") == le).then(|| Sli::Latency {
        histogram: selector_text(base, rest),
        threshold,
    })
}

/// A histogram pair, if the sides are one: `count - bucket{le}` (or `bucket{le}` as good)
/// against `count`, all with the same matchers.
fn histogram_pair(
    good: Option<&str>,
    errors: Option<&str>,
    total: &str,
    window: Window<'_>,
) -> Option<Sli> {
    let total = parse(total, window).ok()?;
    let (base, rest) = count(counter(&total)?)?;
    let (b, r, le) = match (good, errors) {
        (Some(g), None) => bucket(counter(&parse(g, window).ok()?)?)?,
        (None, Some(e)) => {
            let e = parse(e, window).ok()?;
            let Expr::Binary(bin) = strip(&e) else {
                return None;
            };
            if bin.op.to_string() != "-" || bin.modifier.is_some() {
                return None;
            }
            let (cb, cr) = count(counter(&bin.lhs)?)?;
            let parts = bucket(counter(&bin.rhs)?)?;
            if cb != base || cr != rest {
                return None;
            }
            parts
        }
        _ => return None,
    };
    if b != base || r != rest {
        return None;
    }
    latency_sli(&base, &rest, &le)
}

/// An expression without its outer parentheses.
fn strip(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => strip(&p.expr),
        other => other,
    }
}

/// An event ratio from two of good, errors and total (each a count of events over the window):
/// counter selectors where the shapes allow, a latency SLI for a histogram pair, else `$window`
/// expressions. `Err` says why it cannot be imported (a grouped query, a template action other
/// than the window, text that is not PromQL).
pub fn ratio(
    good: Option<&str>,
    errors: Option<&str>,
    total: Option<&str>,
    window: Window<'_>,
) -> Result<Translated, String> {
    if [good, errors, total].iter().flatten().count() != 2 {
        return Err("an event ratio needs exactly two of good, bad and total".into());
    }
    if let Some(t) = total
        && let Some(sli) = histogram_pair(good, errors, t, window)
    {
        return Ok(Translated {
            sli,
            warnings: Vec::new(),
        });
    }
    let mut warnings = Vec::new();
    let mut tr = |q: Option<&str>| -> Result<Option<String>, String> {
        let Some(q) = q else { return Ok(None) };
        let (text, exact) = side(q, window)?;
        if !exact && window == Window::Literal {
            warnings.push(format!(
                "`{}` is evaluated once per bucket with its range set to the bucket (`$window`)",
                q.trim()
            ));
        }
        Ok(Some(text))
    };
    let (good, errors, total) = (tr(good)?, tr(errors)?, tr(total)?);
    Ok(Translated {
        sli: Sli::Ratio {
            good,
            errors,
            total,
        },
        warnings,
    })
}

/// A precomputed ratio (Sloth's `error_ratio_query`, OpenSLO's `raw`): `failures` says whether it
/// is the share of bad events (else good). `N / D` and `1 - (N / D)` of event counts become the
/// exact pair; anything else becomes one event per bucket (`good: 1 - (R)`, `errors: R`), with a
/// warning that the SLI becomes the time average of the ratio.
pub fn precomputed(query: &str, failures: bool, window: Window<'_>) -> Result<Translated, String> {
    let expr = parse(query, window)?;
    let (inner, flipped) = match strip(&expr) {
        Expr::Binary(b)
            if b.op.to_string() == "-"
                && matches!(strip(&b.lhs), Expr::NumberLiteral(n) if n.val == 1.0) =>
        {
            (strip(&b.rhs), true)
        }
        other => (other, false),
    };
    if let Expr::Binary(b) = inner
        && b.op.to_string() == "/"
        && b.modifier.is_none()
    {
        let print = |e: &Expr| windowed(&e.to_string(), window);
        let (n, d) = (print(&b.lhs), print(&b.rhs));
        let counts_bad = failures != flipped;
        let pair = if counts_bad {
            ratio(None, Some(&n), Some(&d), Window::Template("$window"))
        } else {
            ratio(Some(&n), None, Some(&d), Window::Template("$window"))
        };
        if let Ok(t) = pair {
            return Ok(t);
        }
    }
    let mut r = windowed(&expr.to_string(), window);
    if !r.contains("$window") {
        // A ratio with no range of its own (OpenSLO's `raw`): its average over the bucket.
        r = match strip(&expr) {
            Expr::VectorSelector(_) => format!("avg(avg_over_time({r}[$window]))"),
            _ => format!("avg(avg_over_time(({r})[$window:]))"),
        };
    }
    let atomic = matches!(
        parser::parse(&r.replace("$window", "5m")),
        Ok(Expr::Call(_) | Expr::Aggregate(_) | Expr::VectorSelector(_) | Expr::Paren(_))
    );
    let one_minus = if atomic {
        format!("1 - {r}")
    } else {
        format!("1 - ({r})")
    };
    let (good, errors) = if failures {
        (one_minus, r)
    } else {
        (r, one_minus)
    };
    Ok(Translated {
        sli: Sli::Ratio {
            good: Some(good),
            errors: Some(errors),
            total: None,
        },
        warnings: vec![
            "a ratio that is not a quotient of two event counts is counted as one event per bucket: the SLI becomes the time average of the ratio, and `min_events` counts buckets".into(),
        ],
    })
}

/// Pyrra's latency indicator: `success` is a `_bucket{le="X"}` selector, `total` a `_count`
/// selector (or its `_bucket{le="+Inf"}`); a latency SLI when their other matchers agree, else a
/// good/total ratio of the two selectors as written.
pub fn latency(success: &str, total: &str) -> Result<Translated, String> {
    let literal = Window::Literal;
    let s = parse(success, literal)?;
    let t = parse(total, literal)?;
    let (Some(sv), Some(tv)) = (counter(&s), counter(&t)) else {
        return Err("Pyrra's latency indicator takes two metric selectors".into());
    };
    let total_parts = count(tv).or_else(|| {
        bucket(tv)
            .filter(|(_, _, le)| le == "+Inf")
            .map(|(b, r, _)| (b, r))
    });
    if let (Some((b, r, le)), Some((tb, tr))) = (bucket(sv), total_parts)
        && b == tb
        && r == tr
        && let Some(sli) = latency_sli(&b, &r, &le)
    {
        return Ok(Translated {
            sli,
            warnings: Vec::new(),
        });
    }
    let mut warnings = vec![
        "the success and total selectors differ besides `le`: imported as a good/total ratio of the two selectors".to_string(),
    ];
    let name = sv.name.as_deref().unwrap_or_default();
    let mut good = all_matchers(sv);
    if let Some((_, _, le)) = bucket(sv)
        && !le.contains('.')
        && le != "+Inf"
    {
        // Prometheus 3 writes a whole-number boundary as `1.0`, older clients as `1`.
        good = matchers(sv);
        good.push(format!("le=~\"{le}|{le}\\\\.0\""));
        warnings.push(format!(
            "`le=\"{le}\"` also matches `{le}.0`, as Prometheus 3 writes it"
        ));
    }
    good.sort();
    let good = selector_text(name, &good);
    let total = selector_of(tv);
    Ok(Translated {
        sli: Sli::Ratio {
            good: Some(good),
            errors: None,
            total: Some(total),
        },
        warnings,
    })
}

/// A bucket boundary in seconds (`0.3`) as slowburn's threshold (`300ms`); `None` when it is not
/// a finite positive number of whole milliseconds.
pub fn le_threshold(le: &str) -> Option<String> {
    let secs: f64 = le.trim().parse().ok()?;
    if !secs.is_finite() || secs <= 0.0 {
        return None;
    }
    let ms = secs * 1000.0;
    if (ms - ms.round()).abs() > 1e-6 {
        return None;
    }
    let ms = ms.round() as u64;
    Some(if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    })
}

/// Checks that `text` parses as PromQL once `$window` stands for a duration; `Err` has the
/// parser's message.
pub fn check(text: &str) -> Result<(), String> {
    parser::parse(&text.replace("$window", "5m"))
        .map(|_| ())
        .map_err(|e| format!("PromQL does not parse: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Window<'static> = Window::Template("{{.window}}");

    fn sides(t: &Translated) -> (Option<&str>, Option<&str>, Option<&str>) {
        match &t.sli {
            Sli::Ratio {
                good,
                errors,
                total,
            } => (good.as_deref(), errors.as_deref(), total.as_deref()),
            other => panic!("not a ratio: {other:?}"),
        }
    }

    #[test]
    fn sums_of_rates_are_counter_selectors() {
        let t = ratio(
            None,
            Some(r#"sum(rate(http_requests_total{job="api",code=~"5.."}[{{.window}}]))"#),
            Some(r#"sum(rate(http_requests_total{job="api"}[{{.window}}]))"#),
            T,
        );
        let t = t.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            sides(&t),
            (
                None,
                Some(r#"http_requests_total{code=~"5..",job="api"}"#),
                Some(r#"http_requests_total{job="api"}"#)
            )
        );
        assert!(t.warnings.is_empty());
        let bare = ratio(
            None,
            Some("errors_total"),
            Some("requests_total"),
            Window::Literal,
        );
        assert_eq!(
            bare.map(|t| sides(&t).1.map(str::to_string)),
            Ok(Some("errors_total".into()))
        );
    }

    #[test]
    fn a_histogram_pair_is_a_latency_sli() {
        let errors = r#"(sum(rate(h_seconds_count{env="prod"}[{{.window}}])) - sum(rate(h_seconds_bucket{le="0.3",env="prod"}[{{.window}}])))"#;
        let total = r#"sum(rate(h_seconds_count{env="prod"}[{{.window}}]))"#;
        let t = ratio(None, Some(errors), Some(total), T).map(|t| t.sli);
        assert_eq!(
            t,
            Ok(Sli::Latency {
                histogram: r#"h_seconds{env="prod"}"#.into(),
                threshold: "300ms".into()
            })
        );
        let good = ratio(
            Some(r#"h_seconds_bucket{le="1"}"#),
            None,
            Some("h_seconds_count"),
            T,
        );
        assert_eq!(
            good.map(|t| t.sli),
            Ok(Sli::Latency {
                histogram: "h_seconds".into(),
                threshold: "1s".into()
            })
        );
    }

    #[test]
    fn other_shapes_become_window_expressions_of_increases() {
        let q = "sum(rate(a_total[{{.window}}])) or vector(0)";
        let t = ratio(None, Some(q), Some("sum(rate(b_total[{{.window}}]))"), T);
        let t = t.unwrap_or_else(|e| panic!("{e}"));
        let errors = sides(&t).1.unwrap_or_default();
        assert!(errors.contains("increase(a_total[$window])"), "{errors}");
        assert!(!errors.contains("rate("), "{errors}");
        let lit = ratio(
            None,
            Some("sum(rate(x[5m])) > 0"),
            Some("y_total"),
            Window::Literal,
        );
        let lit = lit.unwrap_or_else(|e| panic!("{e}"));
        assert!(sides(&lit).1.unwrap_or_default().contains("[$window]"));
        assert_eq!(lit.warnings.len(), 1);
    }

    #[test]
    fn grouped_queries_template_actions_and_irate_are_refused() {
        let g = ratio(
            None,
            Some("sum by (route) (rate(a[{{.window}}]))"),
            Some("b"),
            T,
        );
        assert!(g.is_err_and(|e| e.contains("`route`")));
        let tpl = ratio(None, Some("a{svc=\"{{.service}}\"}"), Some("b"), T);
        assert!(tpl.is_err_and(|e| e.contains("{{.service}}")));
        let i = ratio(None, Some("sum(irate(a[{{.window}}]))"), Some("b"), T);
        assert!(i.is_err_and(|e| e.contains("irate")));
        assert!(ratio(None, Some("sum(("), Some("b"), T).is_err());
        assert!(ratio(Some("a"), Some("b"), Some("c"), T).is_err());
    }

    #[test]
    fn precomputed_ratios_of_counts_become_their_pair() {
        let q = "sum(rate(e_total[{{.window}}])) / sum(rate(t_total[{{.window}}]))";
        let t = precomputed(q, true, T).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sides(&t), (None, Some("e_total"), Some("t_total")));
        let q = "1 - (sum(rate(g_total[{{.window}}])) / sum(rate(t_total[{{.window}}])))";
        let t = precomputed(q, true, T).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sides(&t), (Some("g_total"), None, Some("t_total")));
        let avg = precomputed("avg(up{job=\"x\"})", false, Window::Literal);
        let avg = avg.unwrap_or_else(|e| panic!("{e}"));
        let (g, e, _) = sides(&avg);
        assert!(
            g.unwrap_or_default()
                .contains("avg_over_time((avg(up{job=\"x\"}))[$window:])")
        );
        assert!(e.unwrap_or_default().starts_with("1 - avg("));
        assert_eq!(avg.warnings.len(), 1);
        let sel = precomputed("errors:ratio5m{job=\"x\"}", true, Window::Literal);
        let sel = sel.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            sides(&sel).1,
            Some("avg(avg_over_time(errors:ratio5m{job=\"x\"}[$window]))")
        );
    }

    #[test]
    fn pyrra_latency_pairs_and_their_fallback() {
        let t = latency(r#"h_bucket{job="a",le="0.5"}"#, r#"h_count{job="a"}"#);
        assert_eq!(
            t.map(|t| t.sli),
            Ok(Sli::Latency {
                histogram: r#"h{job="a"}"#.into(),
                threshold: "500ms".into()
            })
        );
        let f = latency(r#"h_bucket{code=~"2..",le="1"}"#, "h_count");
        let f = f.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sides(&f).0, Some(r#"h_bucket{code=~"2..",le=~"1|1\\.0"}"#));
        assert_eq!(f.warnings.len(), 2);
    }

    #[test]
    fn thresholds_are_whole_milliseconds() {
        assert_eq!(le_threshold("0.3").as_deref(), Some("300ms"));
        assert_eq!(le_threshold("2.5").as_deref(), Some("2500ms"));
        assert_eq!(le_threshold("1").as_deref(), Some("1s"));
        assert_eq!(le_threshold("+Inf"), None);
        assert_eq!(le_threshold("0.0001"), None);
        assert!(check("sum(increase(x[$window]))").is_ok());
        assert!(check("sum(").is_err());
    }
}
