//! LogQL: which texts are log queries (a stream selector and a pipeline, counted per bucket as
//! `sum(count_over_time(QUERY [BUCKET]))`) and which are metric expressions containing
//! `$window`. Checked offline, with messages that say what to write instead; Loki itself has the
//! last word through `validate --online`.

/// Pipeline stages that take no argument or a string argument, as Loki's grammar names them.
const STAGES: [&str; 11] = [
    "json",
    "logfmt",
    "pattern",
    "regexp",
    "unpack",
    "line_format",
    "label_format",
    "drop",
    "keep",
    "decolorize",
    "unwrap",
];

mod grouping;
mod stream;

use super::{CountSpec, EventQuery};
use crate::duration::Dur;
use grouping::range_grouping;
use stream::selector;

/// Operators a label filter may use after a parser stage.
const FILTER_OPS: [&str; 9] = ["=~", "!~", "!=", ">=", "<=", "==", "=", ">", "<"];

/// The metric query that counts an event query's lines over windows of `secs` seconds: a log
/// query becomes `sum(count_over_time(QUERY [Ns]))`; an expression gets `$window` replaced and is
/// wrapped in `sum` too, so it stays one series (Loki refuses more than 500).
pub fn counting(q: &EventQuery, secs: i64) -> String {
    match q {
        EventQuery::Selector(q) => format!("sum(count_over_time({q} [{secs}s]))"),
        EventQuery::Expression(e) => format!("sum({})", e.replace("$window", &format!("{secs}s"))),
    }
}

/// A log query (selector + pipeline, [`EventQuery::Selector`]) or, with `$window`, a metric
/// expression ([`EventQuery::Expression`]).
pub fn event_query(text: &str) -> Result<EventQuery, String> {
    let text = text.trim().to_string();
    balanced(&text)?;
    if text.contains("$window") {
        if !text.contains("[$window]") {
            return Err(format!(
                "`$window` must be a range, as in `sum(count_over_time({{app=\"api\"}} [$window]))` (in `{text}`)"
            ));
        }
        embedded_selector(&text)?;
        range_grouping(&text)?;
        return Ok(EventQuery::Expression(text));
    }
    if !text.starts_with('{') {
        return Err(format!(
            "a log query starts with a stream selector, like `{{app=\"api\"}} | json | status >= 500`; for a metric expression use `$window` as its range (in `{text}`)"
        ));
    }
    let rest = selector(&text).map_err(|e| format!("{e} (in `{text}`)"))?;
    pipeline(rest).map_err(|e| format!("{e} (in `{text}`)"))?;
    Ok(EventQuery::Selector(text))
}

/// A time-slice query: a LogQL metric query (a range aggregation such as
/// `quantile_over_time(0.95, {app="api"} | json | unwrap duration_ms [1m])`), evaluated at every
/// bucket end. `$window`, when present, becomes the bucket.
pub fn metric_query(text: &str) -> Result<String, String> {
    let text = text.trim().to_string();
    balanced(&text)?;
    if text.starts_with('{') {
        return Err(format!(
            "a time-slice query must be a metric query, like `quantile_over_time(0.95, {{app=\"api\"}} | json | unwrap duration_ms [1m])`; `{text}` selects lines"
        ));
    }
    if !text.contains('[') {
        return Err(format!(
            "a LogQL metric query needs a range such as `[1m]` or `[$window]` (in `{text}`)"
        ));
    }
    embedded_selector(&text)?;
    range_grouping(&text)?;
    Ok(text)
}

/// Every stream selector inside a metric expression is well formed (a `{` inside a string, as
/// in `line_format "{{.a}}"`, is not one).
fn embedded_selector(text: &str) -> Result<(), String> {
    let mut rest = text;
    let mut found = false;
    while let Some(c) = rest.chars().next() {
        if c == '"' || c == '`' {
            rest = string(rest).unwrap_or("");
        } else if c == '{' {
            rest = selector(rest).map_err(|e| format!("{e} (in `{text}`)"))?;
            found = true;
        } else {
            rest = &rest[c.len_utf8()..];
        }
    }
    if found {
        Ok(())
    } else {
        Err(format!("no stream selector `{{…}}` in `{text}`"))
    }
}

/// How a log line's duration field is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationUnit {
    /// A number of milliseconds (`"duration_ms": 182`).
    Millis,
    /// A number of seconds (`"duration": 0.182`).
    Seconds,
    /// A Go duration string (`"duration": "182ms"`), compared as a duration.
    Duration,
}

impl DurationUnit {
    /// The spelling in `slo.yaml`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ms" => Some(DurationUnit::Millis),
            "s" => Some(DurationUnit::Seconds),
            "duration" => Some(DurationUnit::Duration),
            _ => None,
        }
    }
}

/// Whether `name` can be a label filter's name (a field a parser stage extracted).
pub fn is_field(name: &str) -> bool {
    let (id, rest) = ident(name);
    !id.is_empty() && rest.is_empty()
}

/// A latency SLI over logs: total = the lines a parser could read, good = those whose `field`
/// is at or under the threshold. Both end in `| __error__=""` because Loki fails a whole metric
/// query when one sample still carries an error label (one line that is not JSON would otherwise
/// make every bucket missing). A line without the field is dropped by the filter and a line whose
/// field is not a number gets an error label, so both count as slow, never as fast.
pub fn latency_counts(lines: &str, field: &str, unit: DurationUnit, threshold: Dur) -> CountSpec {
    let ms = threshold.as_millis();
    let value = match unit {
        DurationUnit::Millis => ms.to_string(),
        DurationUnit::Seconds => format!("{}", ms as f64 / 1000.0),
        DurationUnit::Duration => format!("{ms}ms"),
    };
    CountSpec::Events {
        good: Some(EventQuery::Selector(format!(
            "{lines} | {field} <= {value} | __error__=\"\""
        ))),
        bad: None,
        total: Some(EventQuery::Selector(format!("{lines} | __error__=\"\""))),
    }
}

/// The stream selectors (`{…}`) of a LogQL text, in order and each once: where Loki keeps the
/// lines a query reads, whatever its pipeline keeps of them (the Loki source asks where those
/// lines begin). A `{` inside a string, such as a `line_format` template, is not a selector.
pub fn stream_selectors(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '"' || c == '`' {
            rest = string(rest).unwrap_or("");
            continue;
        }
        if c == '{'
            && let Ok(after) = selector(rest)
        {
            let found = rest[..rest.len() - after.len()].to_string();
            if !out.contains(&found) {
                out.push(found);
            }
            rest = after;
            continue;
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Braces, parentheses and brackets close in order and every string ends.
fn balanced(text: &str) -> Result<(), String> {
    let mut stack: Vec<char> = Vec::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' | '`' => {
                let mut closed = false;
                while let Some(d) = chars.next() {
                    if d == '\\' && c == '"' {
                        chars.next();
                    } else if d == c {
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    return Err(format!("a {c} string is not closed in `{text}`"));
                }
            }
            '{' | '(' | '[' => stack.push(c),
            '}' | ')' | ']' => {
                let want = match c {
                    '}' => '{',
                    ')' => '(',
                    _ => '[',
                };
                if stack.pop() != Some(want) {
                    return Err(format!("`{c}` does not close anything in `{text}`"));
                }
            }
            _ => {}
        }
    }
    match stack.last() {
        Some(open) => Err(format!("`{open}` is not closed in `{text}`")),
        None => Ok(()),
    }
}

/// Reads a string literal at the start of `s` (double quotes with escapes, or backticks);
/// returns the rest.
fn string(s: &str) -> Option<&str> {
    let q = s.chars().next().filter(|c| *c == '"' || *c == '`')?;
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        if escaped {
            escaped = false;
        } else if c == '\\' && q == '"' {
            escaped = true;
        } else if c == q {
            return Some(&s[i + c.len_utf8()..]);
        }
    }
    None
}

fn ident(s: &str) -> (&str, &str) {
    let end = s
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_alphabetic() || *c == '_' || (*i > 0 && c.is_ascii_digit())))
        .map_or(s.len(), |(i, _)| i);
    (&s[..end], &s[end..])
}

/// Line filters (`|= "x"`, `!= "x"`, `|~ "re"`, `!~ "re"`, and the patterns `|> "<_> x"` and
/// `!> "…"`), parser and label-filter stages.
/// `unwrap` belongs in metric expressions, not in a query whose lines are counted.
fn pipeline(mut rest: &str) -> Result<(), String> {
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(());
        }
        if let Some(op) = ["|=", "|~", "|>", "!=", "!~", "!>"]
            .into_iter()
            .find(|op| rest.starts_with(op))
        {
            let after = rest[op.len()..].trim_start();
            rest =
                string(after).ok_or_else(|| format!("line filter `{op}` needs a quoted string"))?;
            continue;
        }
        let Some(after) = rest.strip_prefix('|') else {
            return Err(format!(
                "expected `|` and a stage at `{}`",
                rest.chars().take(20).collect::<String>()
            ));
        };
        let stage = after.trim_start();
        let end = stage.find('|').unwrap_or(stage.len());
        // A `|` inside a string belongs to the stage (e.g. `line_format "{{.a}}|{{.b}}"`).
        let end = stage_end(stage).unwrap_or(end);
        let (word, _) = ident(stage);
        if word == "unwrap" {
            return Err(
                "`unwrap` makes a metric expression: write the whole expression with `[$window]`, e.g. `sum(sum_over_time({app=\"api\"} | json | unwrap bytes [$window]))`".into(),
            );
        }
        if STAGES.contains(&word) {
            rest = &stage[end..];
        } else {
            // A line filter may follow the label filter in the same stage: `| a="b" != "c"`.
            rest = &stage[label_filter(&stage[..end])?..];
        }
    }
}

/// Where a stage ends: at the next `|` outside strings, or the end.
fn stage_end(stage: &str) -> Option<usize> {
    let mut rest = stage;
    let mut offset = 0;
    while !rest.is_empty() {
        let c = rest.chars().next()?;
        if c == '"' || c == '`' {
            let after = string(rest)?;
            offset += rest.len() - after.len();
            rest = after;
            continue;
        }
        if c == '|' {
            return Some(offset);
        }
        offset += c.len_utf8();
        rest = &rest[c.len_utf8()..];
    }
    Some(offset)
}

/// `name op value` predicates joined by `and`, `or`, `,` or a space, in parentheses or not
/// (e.g. `status >= 500 and route="/pay"`, `level != "a, b"`); a value is a quoted string, a
/// number, a duration (`200ms`), a size (`20KB`) or `ip("…")`. Returns where the filter ends in
/// `text`: its end, or a line filter (`!= "x"`) that follows a complete predicate.
fn label_filter(text: &str) -> Result<usize, String> {
    let mut rest = text.trim_start();
    // Whether a predicate (or `(`) comes next: at the start and after a connective.
    let mut want = true;
    while !rest.is_empty() {
        if want {
            if let Some(after) = rest.strip_prefix('(') {
                rest = after.trim_start();
                continue;
            }
            rest = predicate(rest, text)?.trim_start();
            want = false;
            continue;
        }
        if ["!=", "!~", "!>"]
            .into_iter()
            .any(|op| rest.starts_with(op))
        {
            return Ok(text.len() - rest.len());
        }
        if let Some(after) = rest.strip_prefix(')').or_else(|| rest.strip_prefix(',')) {
            want = rest.starts_with(',');
            rest = after.trim_start();
            continue;
        }
        match ident(rest) {
            ("and" | "or", after) => {
                rest = after.trim_start();
                want = true;
            }
            // Two predicates side by side: Loki reads a space as `and`.
            _ => want = true,
        }
    }
    if want {
        return Err(format!(
            "`{}` is neither a known stage ({}) nor a label filter like `status >= 500`",
            text.trim(),
            STAGES[..10].join(", ")
        ));
    }
    Ok(text.len())
}

/// One `name op value` at the start of `s`; returns what follows it. `stage` is the whole
/// stage, for the message.
fn predicate<'a>(s: &'a str, stage: &str) -> Result<&'a str, String> {
    let (name, after) = ident(s);
    let after = after.trim_start();
    let Some(op) = FILTER_OPS.into_iter().find(|op| after.starts_with(op)) else {
        return Err(format!(
            "`{}` is neither a known stage ({}) nor a label filter like `status >= 500`",
            stage.trim(),
            STAGES[..10].join(", ")
        ));
    };
    if name.is_empty() {
        return Err(format!(
            "a label filter needs a label name before `{op}` (in `{}`)",
            stage.trim()
        ));
    }
    let value = after[op.len()..].trim_start();
    if value.starts_with(['"', '`']) {
        return string(value)
            .ok_or_else(|| format!("the value of `{name}` is not a closed string"));
    }
    if let ("ip", args) = ident(value)
        && let Some(args) = args.trim_start().strip_prefix('(')
    {
        let after = string(args.trim_start())
            .and_then(|a| a.trim_start().strip_prefix(')'))
            .ok_or_else(|| format!("`{name} {op} ip(…)` takes a quoted address or range"))?;
        return Ok(after);
    }
    let end = value
        .char_indices()
        .find(|&(_, c)| !(c.is_alphanumeric() || matches!(c, '.' | '-' | '+')))
        .map_or(value.len(), |(i, _)| i);
    if end == 0 {
        return Err(format!(
            "`{name} {op}` needs a value: a quoted string, a number, a duration like `200ms` or a size like `20KB`"
        ));
    }
    Ok(&value[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_queries_are_counted_per_bucket() {
        let q = event_query(r#"{app="backend"} | json | status >= 500"#).unwrap();
        assert_eq!(
            counting(&q, 60),
            r#"sum(count_over_time({app="backend"} | json | status >= 500 [60s]))"#
        );
        let e = event_query(r#"sum(count_over_time({app="a"} |= "GET" [$window]))"#).unwrap();
        assert!(matches!(e, EventQuery::Expression(_)));
        assert_eq!(
            counting(&e, 10),
            r#"sum(sum(count_over_time({app="a"} |= "GET" [10s])))"#
        );
    }

    #[test]
    fn stream_selectors_are_found_outside_strings() {
        assert_eq!(
            stream_selectors(r#"{app="api", env!="dev"} | json | status >= 500"#),
            vec![r#"{app="api", env!="dev"}"#]
        );
        let expr = r#"sum(count_over_time({app="a"} | line_format "{{.b}}" [$window])) - sum(count_over_time({app="b"} [$window])) + sum(count_over_time({app="a"} [$window]))"#;
        assert_eq!(stream_selectors(expr), vec![r#"{app="a"}"#, r#"{app="b"}"#]);
        assert!(stream_selectors("up").is_empty());
    }

    #[test]
    fn accepts_the_pipelines_slis_use() {
        for ok in [
            r#"{app="api", env!="dev"}"#,
            r#"{app=~"api|web"} |= "GET" != "health" | logfmt | duration <= 200ms"#,
            r#"{app="api"} | json | __error__="" | status >= 500 and route="/pay""#,
            r#"{app="api"} | line_format "{{.a}}|{{.b}}" | json"#,
            r#"{app="api"} | pattern "<ip> <_> <status>" | status="503""#,
        ] {
            assert!(event_query(ok).is_ok(), "{ok}: {:?}", event_query(ok));
        }
    }

    #[test]
    fn rejects_what_loki_would_with_the_fix() {
        let cases = [
            (r#"{} | json"#, "at least one matcher"),
            (r#"{app} | json"#, "needs `=`"),
            (r#"{app=api}"#, "quoted string"),
            (r#"{app="api" | json"#, "is not closed"),
            (r#"{app="api} | json"#, "string is not closed"),
            (r#"{app="api"} | jsn"#, "neither a known stage"),
            (r#"{app="api"} | json | unwrap ms"#, "metric expression"),
            (
                r#"count_over_time({app="api"}[5m])"#,
                "starts with a stream selector",
            ),
            (
                r#"sum(count_over_time({app="api"} [$window])"#,
                "`(` is not closed",
            ),
            (
                r#"sum(count_over_time({app="api"}[5m])) * $window"#,
                "must be a range",
            ),
        ];
        for (q, want) in cases {
            let e = event_query(q).unwrap_err();
            assert!(e.contains(want), "{q}: {e}");
        }
    }

    #[test]
    fn pattern_and_label_filters_read_as_loki_reads_them() {
        for ok in [
            r#"{app="api"} |> "<_> error <_>""#,
            r#"{app="api"} !> "<_> debug <_>" |= "x""#,
            r#"{app="api"} | level != "debug""#,
            r#"{app="api"} |= "x" | level != "debug""#,
            r#"{app="api"} | json | level!="a, b" and msg != "x or y""#,
            r#"{app="api"} | json | (status >= 500 or level="error"), route != "/health""#,
            r#"{app="api"} | logfmt | duration > 1.5s size <= 20KB"#,
            r#"{app="api"} | logfmt | addr = ip("10.0.0.0/8")"#,
            r#"{app="api"} | json | level="x" != "debug" |~ "a|b" | status >= 500"#,
        ] {
            assert!(event_query(ok).is_ok(), "{ok}: {:?}", event_query(ok));
        }
        for (q, want) in [
            (r#"{app="api"} | level !="#, "needs a value"),
            (
                r#"{app="api"} | json | level = "a" and"#,
                "neither a known stage",
            ),
            (r#"{app="api"} | != "x""#, "needs a label name"),
            (r#"{app="api"} |> 5"#, "needs a quoted string"),
            (r#"{env!="dev"} | json"#, "empty-compatible value"),
        ] {
            let e = event_query(q).unwrap_err();
            assert!(e.contains(want), "{q}: {e}");
        }
    }

    #[test]
    fn every_selector_of_an_expression_is_checked() {
        let e = event_query(r#"sum(count_over_time({app=~".*"} [$window]))"#).unwrap_err();
        assert!(e.contains("empty-compatible value"), "{e}");
        let e = metric_query(
            r#"max_over_time({a="b"} | unwrap x [1m]) / max_over_time({env!="dev"} | unwrap x [1m])"#,
        )
        .unwrap_err();
        assert!(e.contains(r#"`{env!="dev"}`"#), "{e}");
        let q = r#"sum(count_over_time({app="a"} | line_format "{{.a}}" [$window]))"#;
        assert!(event_query(q).is_ok(), "{:?}", event_query(q));
        let e = metric_query(r#"rate(x [1m])"#).unwrap_err();
        assert!(e.contains("no stream selector"), "{e}");
    }

    #[test]
    fn metric_queries_and_log_latency() {
        assert!(
            metric_query(r#"quantile_over_time(0.95, {app="a"} | json | unwrap ms [1m])"#).is_ok()
        );
        let e = metric_query(r#"{app="a"} | json"#).unwrap_err();
        assert!(e.contains("must be a metric query"), "{e}");
        let e = metric_query(r#"max_over_time({app="a"} | json | unwrap ms)"#).unwrap_err();
        assert!(e.contains("needs a range"), "{e}");
        let spec = latency_counts(
            r#"{app="a"} | json"#,
            "duration_ms",
            DurationUnit::Millis,
            Dur::from_millis(250),
        );
        let CountSpec::Events { good, total, .. } = spec else {
            panic!("events")
        };
        assert_eq!(
            good.unwrap().text(),
            r#"{app="a"} | json | duration_ms <= 250 | __error__="""#
        );
        assert_eq!(total.unwrap().text(), r#"{app="a"} | json | __error__="""#);
        // The good query is itself a valid log query.
        let d = latency_counts(
            "{a=\"b\"}",
            "d",
            DurationUnit::Duration,
            Dur::from_millis(1500),
        );
        let CountSpec::Events { good, .. } = d else {
            panic!("events")
        };
        assert!(event_query(good.unwrap().text()).is_ok());
        assert!(is_field("duration_ms") && !is_field("a b") && !is_field(""));
    }
}
