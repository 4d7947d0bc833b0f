//! `group_by:`: one SLO written once that stands for one SLO per value of some labels (one per
//! route, per customer). The file holds the definition; its members are found in the source at
//! run time (`source::groups`), and each member is an ordinary [`Slo`] whose selectors match
//! that value alone: counted, stored, budgeted and alerted on exactly as a hand-written SLO with
//! that matcher would be, so nothing downstream of the engine needs to know about groups beyond
//! the labels it prints.
//!
//! Pure: no I/O. The members' values come from the caller.

use super::{Config, CountSpec, EventQuery, SliKind, Slo};
use crate::sli::SourceKind;
use crate::sli::promql::quote;
use std::collections::BTreeMap;

/// One member's values of its definition's `group_by` labels.
pub type Values = BTreeMap<String, String>;

/// Members a grouped SLO follows unless `max_groups` says otherwise.
pub const DEFAULT_MAX: usize = 100;

/// The largest `max_groups`: beyond it a label is unbounded in all but name, and one query per
/// member per bucket would swamp the source.
pub const LIMIT: u64 = 10_000;

/// Label names a group label cannot take: the labels slowburn sets on its own series and
/// alerts, and the histogram's `le` that latency SLIs match themselves.
pub const RESERVED: [&str; 8] = [
    crate::names::LABEL_WINDOW,
    crate::names::LABEL_PERIOD,
    "le",
    "rule",
    "kind",
    "group",
    "__name__",
    "objective",
];

/// Why `name` cannot be a `group_by` label, if it cannot: not a Prometheus label name, or one
/// slowburn sets on its own series and alerts (members could not be told apart there). One rule
/// for validation and for the importers, which refuse at the source's field rather than write a
/// file that does not validate.
pub fn label_problem(name: &str) -> Option<String> {
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Some(format!(
            "`{name}` is not a Prometheus label name (letters, digits and `_`, not starting with a digit)"
        ));
    }
    if crate::names::RESERVED_LABELS.contains(&name) || RESERVED.contains(&name) {
        return Some(format!(
            "`{name}` is a label slowburn sets on its own series and alerts; its members could not be told apart there: group by another label"
        ));
    }
    None
}

/// Why the SLI of `slo` cannot be split by label, if it cannot: members are made by adding a
/// matcher to each selector, which needs Prometheus counter selectors (a ratio of selectors or a
/// latency histogram). An expression would need the matcher inside every selector it holds, a
/// log query labels that only a parser stage may make.
pub fn ungroupable(slo: &Slo) -> Option<String> {
    if slo.source != SourceKind::Prometheus {
        return Some(format!(
            "group_by needs Prometheus counter selectors; this SLI reads `{}`: write one SLO per value with a matcher",
            slo.source.name()
        ));
    }
    let specs =
        std::iter::once(&slo.counts).chain(slo.sla.iter().filter_map(|s| s.counts.as_ref()));
    for spec in specs {
        match spec {
            CountSpec::Events { good, bad, total } => {
                if let Some(q) = [good, bad, total]
                    .into_iter()
                    .flatten()
                    .find(|q| matches!(q, EventQuery::Expression(_)))
                {
                    return Some(format!(
                        "group_by adds `label=\"value\"` to each counter selector; `{}` is an expression: write its counter selectors (good/errors/total) instead, or one SLO per value",
                        q.text()
                    ));
                }
            }
            CountSpec::Mixed { .. } => {
                return Some(
                    "group_by needs every side in Prometheus; a side read from another source cannot be split by label".into(),
                );
            }
            CountSpec::Timeslice { .. } => {
                return Some(
                    "group_by splits events by label; a time-slice SLI judges one series per slice: write one SLO per value".into(),
                );
            }
        }
    }
    None
}

/// The selectors whose series show which members exist: the total's when the SLI has one
/// (every event is in it), else each side's.
pub fn selectors(def: &Slo) -> Vec<String> {
    let CountSpec::Events { good, bad, total } = &def.counts else {
        return Vec::new();
    };
    let mut out: Vec<String> = match total {
        Some(t) => vec![t.text().to_string()],
        None => [good, bad]
            .into_iter()
            .flatten()
            .map(|q| q.text().to_string())
            .collect(),
    };
    out.dedup();
    out
}

/// `def`'s group labels with their values in `labels` (a series' or a stored member's), a label
/// that is absent read as empty: how a member is named wherever its values come from.
pub fn values_of(def: &Slo, labels: &BTreeMap<String, String>) -> Values {
    def.group_by
        .iter()
        .flat_map(|g| &g.labels)
        .map(|l| (l.clone(), labels.get(l).cloned().unwrap_or_default()))
        .collect()
}

/// `found` (sorted) cut to `max_groups`, and how many values that left out.
pub fn capped(def: &Slo, mut found: Vec<Values>) -> (Vec<Values>, usize) {
    let max = def.group_by.as_ref().map_or(usize::MAX, |g| g.max);
    let dropped = found.len().saturating_sub(max);
    found.truncate(max);
    (found, dropped)
}

/// `label="value",…` in the order of `group_by`, as a member's selectors and id carry it.
fn matchers(labels: &[String], values: &Values) -> String {
    labels
        .iter()
        .map(|l| format!("{l}={}", quote(values.get(l).map_or("", String::as_str))))
        .collect::<Vec<_>>()
        .join(",")
}

/// A member's id: its definition's with the values as matchers, `api/availability{route="/x"}`:
/// unique, stable, and read as the selector that it is.
pub fn member_id(def: &Slo, values: &Values) -> String {
    let labels = def.group_by.as_ref().map_or(&[][..], |g| &g.labels[..]);
    format!("{}{{{}}}", def.definition_id(), matchers(labels, values))
}

/// Matchers `inner` (the text inside braces, perhaps with a trailing comma) followed by `extra`.
fn joined(inner: &str, extra: &str) -> String {
    let inner = inner.trim();
    let sep = if inner.is_empty() || inner.ends_with(',') {
        ""
    } else {
        ","
    };
    format!("{inner}{sep}{extra}")
}

/// `selector` narrowed by `extra` matchers: `x{a="b"}` → `x{a="b",route="/x"}`, `x` → `x{route="/x"}`.
fn narrowed(selector: &str, extra: &str) -> String {
    let s = selector.trim();
    match s
        .strip_suffix('}')
        .and_then(|body| body.find('{').map(|i| (body, i + 1)))
    {
        Some((body, open)) => format!("{}{}}}", &body[..open], joined(&body[open..], extra)),
        None => format!("{s}{{{extra}}}"),
    }
}

fn narrowed_query(q: &EventQuery, extra: &str) -> EventQuery {
    match q {
        EventQuery::Selector(s) => EventQuery::Selector(narrowed(s, extra)),
        // `ungroupable` refuses these at validation; kept as written if one ever arrives.
        EventQuery::Expression(s) => EventQuery::Expression(s.clone()),
    }
}

fn narrowed_spec(spec: &CountSpec, extra: &str) -> CountSpec {
    match spec {
        CountSpec::Events { good, bad, total } => {
            let n = |q: &Option<EventQuery>| q.as_ref().map(|q| narrowed_query(q, extra));
            CountSpec::Events {
                good: n(good),
                bad: n(bad),
                total: n(total),
            }
        }
        other => other.clone(),
    }
}

/// The member of `def` for `values`: the same SLO with every selector narrowed to those values.
pub fn member(def: &Slo, values: &Values) -> Slo {
    let labels = def.group_by.as_ref().map_or(&[][..], |g| &g.labels[..]);
    let extra = matchers(labels, values);
    let mut m = def.clone();
    m.id = member_id(def, values);
    m.group = values_of(def, values);
    // As labels too: receivers route by them, Alertmanager and slo_info carry them (validation
    // keeps `labels:` keys apart from the group labels).
    m.labels.extend(m.group.clone());
    m.counts = narrowed_spec(&def.counts, &extra);
    if let Some(sla) = &mut m.sla {
        sla.counts = sla.counts.as_ref().map(|c| narrowed_spec(c, &extra));
    }
    if let SliKind::Latency { matchers, .. } = &mut m.sli {
        *matchers = joined(matchers, &extra);
    }
    m
}

/// `cfg` with each definition replaced by its members (as `members` lists them, in that order)
/// where it stood; every other SLO unchanged.
pub fn expand(cfg: &Config, members: impl Fn(&Slo) -> Vec<Values>) -> Config {
    let mut out = cfg.clone();
    out.slos = Vec::with_capacity(cfg.slos.len());
    for slo in &cfg.slos {
        if slo.is_group() {
            out.slos.extend(members(slo).iter().map(|v| member(slo, v)));
        } else {
            out.slos.push(slo.clone());
        }
    }
    out
}

/// Whether `cfg` holds any grouped definition (so the daemon and the reports must find members).
pub fn has_groups(cfg: &Config) -> bool {
    cfg.slos.iter().any(Slo::is_group)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(sli: &str, extra: &str) -> Config {
        let yaml = format!(
            "slos:\n  - service: api\n    name: avail\n    objective: 99\n    group_by: [route, code_class]\n{extra}    sli: {sli}\n  - service: api\n    name: plain\n    objective: 99\n    sli: {{ratio: {{errors: 'e_total', total: 't_total'}}}}\n"
        );
        crate::config::parse_str(&yaml, "slo.yaml", &|_| None).expect("valid")
    }

    fn values(route: &str) -> Values {
        [("route".to_string(), route.to_string())]
            .into_iter()
            .collect()
    }

    #[test]
    fn a_member_narrows_every_selector_and_is_named_by_its_values() {
        let c = cfg(
            "{ratio: {errors: 'http_requests_total{code=~\"5..\"}', total: http_requests_total}}",
            "",
        );
        let def = &c.slos[0];
        assert!(def.is_group());
        assert_eq!(selectors(def), vec!["http_requests_total".to_string()]);
        let m = member(def, &values("/a\"b\\"));
        assert!(!m.is_group());
        assert_eq!(
            m.id, "api/avail{route=\"/a\\\"b\\\\\",code_class=\"\"}",
            "values quoted as PromQL strings; a label the series lacks matches empty"
        );
        assert_eq!(m.definition_id(), "api/avail");
        assert_eq!(
            m.counts.queries(),
            vec![
                "http_requests_total{code=~\"5..\",route=\"/a\\\"b\\\\\",code_class=\"\"}",
                "http_requests_total{route=\"/a\\\"b\\\\\",code_class=\"\"}",
            ]
        );
        for q in m.counts.queries() {
            assert!(
                matches!(
                    crate::sli::promql::event_query(&q),
                    Ok(EventQuery::Selector(_))
                ),
                "{q} is still a selector"
            );
        }
        assert_eq!(m.group.get("route").map(String::as_str), Some("/a\"b\\"));
        assert_eq!(m.group.get("code_class").map(String::as_str), Some(""));
        assert_eq!(m.labels, m.group, "routed by its values like by its labels");
    }

    #[test]
    fn latency_members_narrow_the_histogram_and_its_sla() {
        let c = cfg(
            "{latency: {histogram: 'lat_seconds{job=\"x\",}', threshold: 300ms}}",
            "    sla: {objective: 95, threshold: 1s}\n",
        );
        let m = member(&c.slos[0], &values("/x"));
        let SliKind::Latency { matchers, .. } = &m.sli else {
            panic!("latency")
        };
        assert_eq!(matchers, "job=\"x\",route=\"/x\",code_class=\"\"");
        for q in m.counts.queries().iter().chain(
            m.sla
                .as_ref()
                .and_then(|s| s.counts.as_ref())
                .map(|c| c.queries())
                .unwrap_or_default()
                .iter(),
        ) {
            assert!(q.contains("route=\"/x\""), "{q}");
            assert!(crate::sli::promql::expression(q).is_ok(), "{q}");
        }
    }

    #[test]
    fn expand_puts_members_where_the_definition_stood() {
        let c = cfg("{ratio: {good: g_total, total: t_total}}", "");
        let e = expand(&c, |_| vec![values("/b"), values("/a")]);
        let ids: Vec<&str> = e.slos.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "api/avail{route=\"/b\",code_class=\"\"}",
                "api/avail{route=\"/a\",code_class=\"\"}",
                "api/plain"
            ]
        );
        assert!(has_groups(&c) && !has_groups(&e));
        assert!(expand(&c, |_| Vec::new()).slos.len() == 1);
    }

    #[test]
    fn narrowing_keeps_selectors_parseable() {
        for (s, want) in [
            ("x", "x{a=\"1\"}"),
            ("x{}", "x{a=\"1\"}"),
            ("x{b=\"}\"}", "x{b=\"}\",a=\"1\"}"),
            (" x{b=\"2\",} ", "x{b=\"2\",a=\"1\"}"),
        ] {
            assert_eq!(narrowed(s, "a=\"1\""), want);
        }
    }
}
