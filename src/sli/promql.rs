//! PromQL: which texts are counter selectors, which are `$window` expressions, and the selectors
//! of a latency SLI. Every error is a sentence a person can act on; the caller adds the position.

use crate::duration::Dur;
use crate::sli::{CountSpec, EventQuery};
use promql_parser::parser::{self, Expr};

/// A counter selector (read at bucket edges and differenced) or an expression containing
/// `$window` that parses once substituted.
pub fn event_query(text: &str) -> Result<EventQuery, String> {
    let text = text.trim().to_string();
    if text.contains("$window") {
        let probe = text.replace("$window", "1m");
        return match parser::parse(&probe) {
            Ok(_) => Ok(EventQuery::Expression(text)),
            Err(e) => Err(format!("PromQL does not parse: {e} (in `{text}`)")),
        };
    }
    match parser::parse(&text) {
        Ok(Expr::VectorSelector(vs)) if vs.offset.is_none() && vs.at.is_none() => {
            if vs.name.is_none() {
                return Err(format!("selector `{text}` needs a metric name"));
            }
            Ok(EventQuery::Selector(text))
        }
        Ok(_) => Err(format!(
            "`{text}` is neither a counter selector (like `http_requests_total{{code=~\"5..\"}}`) nor an expression containing `$window` (like `sum(increase(x[$window]))`)"
        )),
        Err(e) => Err(format!("PromQL does not parse: {e} (in `{text}`)")),
    }
}

/// Any PromQL expression (a time-slice query).
pub fn expression(text: &str) -> Result<(), String> {
    parser::parse(text)
        .map(|_| ())
        .map_err(|e| format!("PromQL does not parse: {e} (in `{text}`)"))
}

/// A histogram's base selector, split into metric name and the text inside the braces.
pub fn histogram(text: &str) -> Result<(String, String), String> {
    match parser::parse(text) {
        Ok(Expr::VectorSelector(vs))
            if vs.name.is_some() && vs.offset.is_none() && vs.at.is_none() =>
        {
            let (metric, matchers) = split_selector(text);
            for suffix in ["_bucket", "_count", "_sum"] {
                if let Some(base) = metric.strip_suffix(suffix) {
                    return Err(format!(
                        "give the histogram's base name without `{suffix}`: `{base}`"
                    ));
                }
            }
            if vs.matchers.matchers.iter().any(|m| m.name == "le") {
                return Err("do not match on `le`; set `threshold` instead".into());
            }
            Ok((metric, matchers))
        }
        Ok(_) => Err(format!(
            "`{text}` must be a histogram selector like `http_request_duration_seconds{{service=\"api\"}}`"
        )),
        Err(e) => Err(format!("PromQL does not parse: {e} (in `{text}`)")),
    }
}

/// Splits `name{matchers}` into the metric name and the text inside the braces.
fn split_selector(text: &str) -> (String, String) {
    match (text.find('{'), text.rfind('}')) {
        // A trailing comma is legal PromQL, but matchers appended after it (`le`) would make `,,`.
        (Some(a), Some(b)) if b > a => (
            text[..a].trim().to_string(),
            text[a + 1..b]
                .trim()
                .trim_end_matches(',')
                .trim()
                .to_string(),
        ),
        _ => (text.trim().to_string(), String::new()),
    }
}

/// A PromQL string literal: double-quoted, with `\`, `"` and newlines escaped, so any label value
/// (a route, a customer name) can be matched exactly.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The `le` label value Prometheus clients write for a threshold in seconds.
pub fn le_label(threshold: Dur) -> String {
    format!("{}", threshold.as_secs_f64())
}

/// A matcher for the threshold's `le` bucket that accepts both spellings of whole numbers: Go
/// clients write `le="1"`, Python clients and Prometheus 3.x write `le="1.0"`.
pub fn le_matcher(threshold: Dur) -> String {
    let le = le_label(threshold);
    if le.contains('.') {
        format!("le=\"{le}\"")
    } else {
        format!("le=~\"{le}|{le}\\\\.0\"")
    }
}

/// The good/total selectors of a latency SLI for a threshold.
pub fn latency_counts(metric: &str, matchers: &str, threshold: Dur) -> CountSpec {
    let sep = if matchers.is_empty() { "" } else { "," };
    CountSpec::Events {
        good: Some(EventQuery::Selector(format!(
            "{metric}_bucket{{{matchers}{sep}{}}}",
            le_matcher(threshold)
        ))),
        bad: None,
        total: Some(EventQuery::Selector(format!(
            "{metric}_count{{{matchers}}}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_selectors_from_window_expressions_and_rejects_the_rest() {
        assert_eq!(
            event_query(" http_requests_total{code=~\"5..\"} "),
            Ok(EventQuery::Selector(
                "http_requests_total{code=~\"5..\"}".into()
            ))
        );
        assert!(matches!(
            event_query("sum(increase(x[$window]))"),
            Ok(EventQuery::Expression(_))
        ));
        let e = event_query("rate(x[5m])").unwrap_err();
        assert!(e.contains("neither a counter selector"), "{e}");
        let e = event_query("{code=\"500\"}").unwrap_err();
        assert!(e.contains("needs a metric name"), "{e}");
        let e = event_query("x{code=\"500\"").unwrap_err();
        assert!(e.starts_with("PromQL does not parse"), "{e}");
    }

    #[test]
    fn histograms_are_base_names_without_le() {
        assert_eq!(
            histogram("lat_seconds{job=\"api\"}"),
            Ok(("lat_seconds".into(), "job=\"api\"".into()))
        );
        assert!(
            histogram("lat_seconds_bucket")
                .unwrap_err()
                .contains("`lat_seconds`")
        );
        assert!(
            histogram("lat_seconds{le=\"0.1\"}")
                .unwrap_err()
                .contains("threshold")
        );
        assert!(histogram("sum(x)").is_err());
    }

    #[test]
    fn le_matchers_accept_both_spellings_of_whole_seconds() {
        assert_eq!(le_matcher(Dur::from_millis(250)), "le=\"0.25\"");
        assert_eq!(le_matcher(Dur::from_secs(1)), "le=~\"1|1\\\\.0\"");
    }
}
