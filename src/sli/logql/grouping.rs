//! Grouping of range aggregations: Loki lets only some of them take `by`/`without`
//! (`quantile_over_time(…) by (pod)`); `count_over_time(…) by (pod)` is a 400.

use super::{ident, string};

/// Range aggregations whose result Loki lets group with `by`/`without`
/// (`RangeAggregationExpr.validate` in `pkg/logql/syntax/ast.go`); the others are refused.
const GROUPABLE: [&str; 8] = [
    "avg_over_time",
    "stddev_over_time",
    "stdvar_over_time",
    "quantile_over_time",
    "max_over_time",
    "min_over_time",
    "first_over_time",
    "last_over_time",
];

/// Every range aggregation of LogQL.
const RANGE_AGGREGATIONS: [&str; 15] = [
    "count_over_time",
    "rate",
    "rate_counter",
    "bytes_over_time",
    "bytes_rate",
    "avg_over_time",
    "sum_over_time",
    "min_over_time",
    "max_over_time",
    "stdvar_over_time",
    "stddev_over_time",
    "quantile_over_time",
    "first_over_time",
    "last_over_time",
    "absent_over_time",
];

/// Refuses `count_over_time(…) by (…)` as Loki does (`grouping not allowed for count_over_time
/// aggregation`), for every range aggregation that cannot group; the grouping belongs outside.
pub(super) fn range_grouping(text: &str) -> Result<(), String> {
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '"' || c == '`' {
            rest = string(rest).unwrap_or("");
            continue;
        }
        if !(c.is_ascii_alphabetic() || c == '_') {
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let (word, after) = ident(rest);
        rest = after;
        if !RANGE_AGGREGATIONS.contains(&word) || GROUPABLE.contains(&word) {
            continue;
        }
        let Some(args) = after.trim_start().strip_prefix('(') else {
            continue;
        };
        let Some(end) = closing(args) else {
            continue;
        };
        let (grouping, _) = ident(args[end + 1..].trim_start());
        if grouping == "by" || grouping == "without" {
            return Err(format!(
                "Loki refuses `{word}(…) {grouping} (…)`: \"grouping not allowed for {word} aggregation\"; group outside it, as in `sum {grouping} (x) ({word}(…))` (in `{text}`)"
            ));
        }
    }
    Ok(())
}

/// The byte offset in `s` of the `)` closing a `(` just before `s`, skipping strings.
fn closing(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(c) = s[i..].chars().next() {
        match c {
            '"' | '`' => {
                i = s.len() - string(&s[i..])?.len();
                continue;
            }
            '(' => depth += 1,
            ')' if depth == 0 => return Some(i),
            ')' => depth -= 1,
            _ => {}
        }
        i += c.len_utf8();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::{event_query, metric_query};

    #[test]
    fn grouping_is_refused_where_loki_refuses_it() {
        for (q, word) in [
            (
                r#"sum(count_over_time({app="a"} [$window]) by (pod))"#,
                "count_over_time",
            ),
            (r#"sum(rate({app="a"} [$window]) without (pod))"#, "rate"),
            (
                r#"sum(sum_over_time({app="a"} | unwrap b [$window]) by (pod))"#,
                "sum_over_time",
            ),
            (
                r#"sum(bytes_over_time({app="a"} |= "(" [$window])by(pod))"#,
                "bytes_over_time",
            ),
        ] {
            let e = event_query(q).unwrap_err();
            assert!(
                e.contains(&format!("grouping not allowed for {word} aggregation")),
                "{q}: {e}"
            );
            assert!(e.contains(&format!("({word}(…))`")), "{q}: {e}");
        }
        assert!(event_query(r#"sum by (pod) (count_over_time({app="a"} [$window]))"#).is_ok());
        let q = r#"quantile_over_time(0.9, {app="a"} | unwrap d [1m]) by (pod)"#;
        assert!(metric_query(q).is_ok(), "{:?}", metric_query(q));
        let e = metric_query(r#"rate({app="a"} [1m]) by (pod)"#).unwrap_err();
        assert!(
            e.contains("grouping not allowed for rate aggregation"),
            "{e}"
        );
    }
}
