//! Selectors that differ only in one label's value, asked as one: `x{job="a",code="500"}`,
//! `x{job="b",code="500"}`, … become `x{code="500",job=~"a|b|…"}`, and each series of the answer
//! goes back to the selectors whose value it carries.
//!
//! Fleets of thousands of SLOs are written from templates, one per service, route or customer,
//! so their selectors mostly differ in one label. Measured on the 10,000-SLO bench's Prometheus
//! 2.42 (`scripts/bench-merge.py`), one tick's 20,000 selectors cost Prometheus 3.5–4 s of CPU
//! as 313 requests of 64 selectors tagged with `label_replace` and joined with `or`, and 0.6–0.8 s
//! as 200 merged selectors asked one per request: the tagging and the `or` cost Prometheus about
//! four times what reading the series does. The answer holds the same series either way: a series
//! matches the merged selector exactly when it matches one of the originals, and its value of the
//! varying label says which (a value written `""` stands for a series without that label, as
//! `label=""` matches it).

use crate::sli::promql::quote;
use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{self, Expr};
use std::collections::HashMap;

/// Fewest selectors worth one merged request: below this they go into the `or` batches, where a
/// request is shared by 64 selectors.
pub const MERGE_MIN: usize = 4;
/// Most selectors in one merged request over a tick's few buckets, so that one answer (and one
/// regex) stays small.
pub const MERGE_MAX: usize = 256;

/// One request standing for several selectors.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// The selector asked: the shared matchers and `label=~"v1|v2|…"`.
    pub query: String,
    /// The label whose value tells the members apart.
    pub label: String,
    /// Each member's value of `label` and its index in the selectors given to [`plan`].
    pub members: Vec<(String, usize)>,
}

impl Merged {
    /// The positions in [`Merged::members`] a series with `value` of the label belongs to
    /// (several when two selectors are written differently but mean the same).
    pub fn positions_of(&self, value: &str) -> std::ops::Range<usize> {
        let from = self.members.partition_point(|(v, _)| v.as_str() < value);
        let to = self.members.partition_point(|(v, _)| v.as_str() <= value);
        from..to
    }
}

/// A parsed selector: its metric name and matchers, each as `(label, op, value)`, sorted.
#[derive(Debug, PartialEq)]
pub(super) struct Parts {
    pub name: String,
    pub matchers: Vec<(String, &'static str, String)>,
}

/// Merged requests and the indexes of the selectors left to ask as they are.
pub type Plan = (Vec<Merged>, Vec<usize>);

/// Splits `selectors` into merged requests of at most `max` members and the indexes left to ask
/// as they are. Each selector joins the largest group it could belong to (by which of its labels
/// varies), and a group smaller than [`MERGE_MIN`] is not merged.
pub fn plan(selectors: &[impl AsRef<str>], max: usize) -> Plan {
    let parts: Vec<Option<Parts>> = selectors.iter().map(|s| parse(s.as_ref())).collect();
    // Every (varying label, the other matchers) a selector could be merged under.
    let keys: Vec<Vec<(String, String)>> = parts
        .iter()
        .map(|p| p.as_ref().map(candidates).unwrap_or_default())
        .collect();
    let mut sizes: HashMap<&(String, String), usize> = HashMap::new();
    for k in keys.iter().flatten() {
        *sizes.entry(k).or_default() += 1;
    }
    let mut groups: HashMap<&(String, String), Vec<(String, usize)>> = HashMap::new();
    let mut singles = Vec::new();
    for (i, ks) in keys.iter().enumerate() {
        let best = ks
            .iter()
            .filter(|k| sizes[k] >= MERGE_MIN)
            .max_by(|a, b| sizes[a].cmp(&sizes[b]).then_with(|| b.0.cmp(&a.0)));
        match (best, &parts[i]) {
            (Some(k), Some(p)) => {
                let value = p
                    .matchers
                    .iter()
                    .find(|(l, _, _)| *l == k.0)
                    .map(|(_, _, v)| v.clone())
                    .unwrap_or_default();
                groups.entry(k).or_default().push((value, i));
            }
            _ => singles.push(i),
        }
    }
    let mut merged = Vec::new();
    let mut keyed: Vec<_> = groups.into_iter().collect();
    keyed.sort_by(|a, b| a.0.cmp(b.0));
    for ((label, rest), mut members) in keyed {
        members.sort();
        for part in members.chunks(max.max(1)) {
            if part.len() < MERGE_MIN {
                singles.extend(part.iter().map(|(_, i)| *i));
                continue;
            }
            merged.push(Merged {
                query: query(rest, label, part),
                label: label.clone(),
                members: part.to_vec(),
            });
        }
    }
    singles.sort_unstable();
    (merged, singles)
}

/// A plain selector's parts; `None` for anything the merge must not touch (modifiers, `or`
/// inside the braces, no metric name, text that does not parse).
pub(super) fn parse(text: &str) -> Option<Parts> {
    simple(text).or_else(|| parse_promql(text))
}

/// The common shape, `name{label="value",…}` with values free of escapes, read without the
/// PromQL parser: a restart plans 20,000 selectors before its first request, and the parser
/// took a tenth of that restart's CPU. Anything else (escapes, modifiers, other quotes, `or`
/// inside the braces) is left to [`parse_promql`]. The text has passed the parser once already,
/// when the configuration was loaded.
fn simple(text: &str) -> Option<Parts> {
    let ident_end = |s: &str| {
        s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(s.len())
    };
    let t = text.trim();
    let name = &t[..ident_end(t)];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let rest = t[name.len()..].trim();
    let mut matchers = Vec::new();
    if !rest.is_empty() {
        let mut s = rest.strip_prefix('{')?.strip_suffix('}')?.trim_start();
        while !s.is_empty() {
            let label = &s[..ident_end(s)];
            if label.is_empty()
                || label.contains(':')
                || label.starts_with(|c: char| c.is_ascii_digit())
            {
                return None;
            }
            s = s[label.len()..].trim_start();
            let op = ["=~", "!~", "!=", "="]
                .into_iter()
                .find(|o| s.starts_with(o))?;
            s = s[op.len()..].trim_start().strip_prefix('"')?;
            let end = s.find(['"', '\\'])?;
            if !s[end..].starts_with('"') {
                return None;
            }
            matchers.push((label.to_string(), op, s[..end].to_string()));
            s = s[end + 1..].trim_start();
            if let Some(next) = s.strip_prefix(',') {
                s = next.trim_start();
            } else if !s.is_empty() {
                return None;
            }
        }
    }
    matchers.sort();
    Some(Parts {
        name: name.to_string(),
        matchers,
    })
}

/// [`parse`] by the PromQL parser.
fn parse_promql(text: &str) -> Option<Parts> {
    let Ok(Expr::VectorSelector(vs)) = parser::parse(text) else {
        return None;
    };
    if vs.offset.is_some() || vs.at.is_some() || !vs.matchers.or_matchers.is_empty() {
        return None;
    }
    let name = vs.name?;
    // Names that need quoting (Prometheus 3's UTF-8 names) would be written back wrong.
    let plain = |s: &str, colon: bool| {
        s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || (colon && c == ':'))
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':'))
    };
    if !plain(&name, true) || vs.matchers.matchers.iter().any(|m| !plain(&m.name, false)) {
        return None;
    }
    let mut matchers: Vec<(String, &'static str, String)> = vs
        .matchers
        .matchers
        .into_iter()
        .map(|m: Matcher| (m.name, op(&m.op), m.value))
        .collect();
    matchers.sort();
    Some(Parts { name, matchers })
}

fn op(op: &MatchOp) -> &'static str {
    match op {
        MatchOp::Equal => "=",
        MatchOp::NotEqual => "!=",
        MatchOp::Re(_) => "=~",
        MatchOp::NotRe(_) => "!~",
    }
}

/// The groups a selector could join: for each label it matches with `=` and nothing else, that
/// label and the selector without it, written out (the name first, matchers sorted).
fn candidates(p: &Parts) -> Vec<(String, String)> {
    p.matchers
        .iter()
        .enumerate()
        .filter(|(_, (l, o, _))| {
            *o == "=" && l != "__name__" && p.matchers.iter().filter(|m| m.0 == *l).count() == 1
        })
        .map(|(skip, (l, _, _))| {
            let rest: Vec<String> = p
                .matchers
                .iter()
                .enumerate()
                .filter(|(k, _)| *k != skip)
                .map(|(_, (l, o, v))| format!("{l}{o}{}", quote(v)))
                .collect();
            (l.clone(), format!("{}{{{}}}", p.name, rest.join(",")))
        })
        .collect()
}

/// `name{rest…,label=~"v1|v2|…"}` from a candidate's written-out rest (`name{…}`).
fn query(rest: &str, label: &str, members: &[(String, usize)]) -> String {
    let mut values: Vec<String> = members.iter().map(|(v, _)| escape(v)).collect();
    values.dedup();
    let regex = quote(&values.join("|"));
    let inner = rest.strip_suffix('}').unwrap_or(rest);
    let sep = if inner.ends_with('{') { "" } else { "," };
    format!("{inner}{sep}{label}=~{regex}}}")
}

/// A label value as a literal of Go's regex syntax (RE2): its metacharacters escaped, and only
/// those, so that Prometheus still reads the alternation as a set of values (its fast path for
/// `=~"a|b|c"` gives up on escapes it does not know).
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if r"\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sels(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn selectors_differing_in_one_label_are_merged_and_routed_back_by_its_value() {
        let s = sels(&[
            r#"http_requests_total{job="a",code="500"}"#,
            r#"http_requests_total{job="b",code="500"}"#,
            r#"http_requests_total{code="500",job="c"}"#,
            r#"http_requests_total{job="d.e",code="500"}"#,
            r#"http_requests_total{job="a"}"#,
            r#"other_total{job="a"}"#,
        ]);
        let (merged, singles) = plan(&s, MERGE_MAX);
        assert_eq!(singles, vec![4, 5]);
        assert_eq!(merged.len(), 1);
        let m = &merged[0];
        assert_eq!(m.label, "job");
        assert_eq!(
            m.query,
            r#"http_requests_total{code="500",job=~"a|b|c|d\\.e"}"#
        );
        // The merged text is PromQL, with the same matchers.
        assert!(parse(&m.query).is_some());
        assert_eq!(m.members[m.positions_of("b").start].1, 1);
        assert_eq!(m.positions_of("d.e").len(), 1);
        assert_eq!(m.members[m.positions_of("d.e").start].1, 3);
        assert!(m.positions_of("x").is_empty());
    }

    #[test]
    fn the_quick_reading_agrees_with_the_promql_parser_or_leaves_it_the_text() {
        for text in [
            r#"up"#,
            r#"http_requests_total{job="a",code=~"5..", route != "/x" ,}"#,
            r#"x:rate5m{ a!~"b|c" }"#,
            r#"x{a="é ü",b=""}"#,
            r#"x {a="1"}"#,
        ] {
            assert_eq!(simple(text), parse_promql(text), "{text}");
            assert!(simple(text).is_some(), "{text}");
        }
        for text in [
            r#"x{a="q\"t"}"#,
            r#"x{a='single'}"#,
            r#"x{a="1"} offset 5m"#,
            r#"x{a="1" or a="2"}"#,
            r#"{__name__="x"}"#,
            r#"x{a="1"}[5m]"#,
            r#"x{1a="1"}"#,
            r#"x{a:b="1"}"#,
            r#"x{a="1" b="2"}"#,
        ] {
            assert_eq!(simple(text), None, "{text}");
        }
        // Escapes go to the parser, which reads them.
        let p = parse(r#"x{a="q\"t"}"#).expect("parsed");
        assert_eq!(p.matchers[0].2, "q\"t");
    }

    #[test]
    fn the_largest_group_wins_and_small_groups_stay_single() {
        // Each varies in `route` within a service; grouping by `service` would give groups of one.
        let mut v = Vec::new();
        for svc in ["s1", "s2"] {
            for r in 0..5 {
                v.push(format!(r#"x_total{{service="{svc}",route="/r{r}"}}"#));
            }
        }
        v.push(r#"x_total{service="s3",route="/r0"}"#.to_string());
        let (merged, singles) = plan(&v, MERGE_MAX);
        assert_eq!(merged.len(), 2);
        assert!(
            merged
                .iter()
                .all(|m| m.label == "route" && m.members.len() == 5)
        );
        // `service` would group `/r0` of s1, s2 and s3 (3 < MERGE_MIN): s3's stays single.
        assert_eq!(singles, vec![10]);
    }

    #[test]
    fn modifiers_regex_only_labels_and_unparsable_text_are_left_alone() {
        let s = sels(&[
            r#"x{a=~"1"}"#,
            r#"x{a=~"2"}"#,
            r#"x{a=~"3"}"#,
            r#"x{a=~"4"}"#,
            r#"x{a="1"} offset 5m"#,
            r#"x{a="2"} offset 5m"#,
            r#"x{a="3"} offset 5m"#,
            r#"x{a="4"} offset 5m"#,
            "not promql {",
        ]);
        let (merged, singles) = plan(&s, MERGE_MAX);
        assert!(merged.is_empty());
        assert_eq!(singles.len(), s.len());
    }

    #[test]
    fn the_same_selector_written_twice_gets_both_slots_and_the_empty_value_stands_for_absence() {
        let s = sels(&[
            r#"x{a="1",b="k"}"#,
            r#"x{b="k",a="1"}"#,
            r#"x{a="",b="k"}"#,
            r#"x{a="3",b="k"}"#,
            r#"x{a="4",b="k"}"#,
        ]);
        let (merged, singles) = plan(&s, MERGE_MAX);
        assert!(singles.is_empty(), "{singles:?}");
        let m = &merged[0];
        assert_eq!(m.label, "a");
        let of =
            |v: &str| -> Vec<usize> { m.members[m.positions_of(v)].iter().map(|x| x.1).collect() };
        assert_eq!(of("1"), vec![0, 1]);
        assert_eq!(of(""), vec![2]);
        assert_eq!(m.query, r#"x{b="k",a=~"|1|3|4"}"#);
    }

    #[test]
    fn groups_are_cut_at_merge_max_and_a_short_tail_goes_single() {
        let v: Vec<String> = (0..MERGE_MAX + 2)
            .map(|i| format!(r#"x{{id="{i:04}"}}"#))
            .collect();
        let (merged, singles) = plan(&v, MERGE_MAX);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].members.len(), MERGE_MAX);
        assert_eq!(singles.len(), 2);
    }

    #[test]
    fn regex_metacharacters_in_values_are_escaped_for_re2_and_quoted_for_promql() {
        assert_eq!(escape("a.b|c(d)"), r"a\.b\|c\(d\)");
        assert_eq!(escape("/api/v1-x#"), "/api/v1-x#");
        let v: Vec<String> = ["a\"q", "b\\s", "c", "d"]
            .iter()
            .map(|x| format!("x{{k={}}}", quote(x)))
            .collect();
        let (merged, _) = plan(&v, MERGE_MAX);
        let Some(Expr::VectorSelector(vs)) = parser::parse(&merged[0].query).ok() else {
            panic!("{} does not parse", merged[0].query);
        };
        let m = &vs.matchers.matchers[0];
        for value in ["a\"q", "b\\s", "c", "d"] {
            assert!(m.is_match(value), "{value} against {}", m.value);
        }
        assert!(!m.is_match("b\\\\s") && !m.is_match("e"));
    }
}
