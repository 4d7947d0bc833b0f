//! The rule file as a serde tree, serialized with the YAML writer the crate already uses
//! (serde-saphyr): expressions with several lines become literal block scalars (`|-`), and every
//! other string is quoted where YAML needs it, so PromQL's quotes and braces and Go templates'
//! `{{ }}` never have to be escaped by hand.

use serde::Serialize;
use std::collections::BTreeMap;

/// A whole file: the groups, and for Mimir's `mimirtool` the namespace they load into.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(super) struct RuleFile {
    /// `mimirtool rules load` reads the namespace from the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The groups, in a stable order.
    pub groups: Vec<Group>,
}

/// One rule group: its rules run in order, at one timestamp, every `interval`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(super) struct Group {
    /// Stable name: `slowburn-<service>-<name>`.
    pub name: String,
    /// How often the group runs.
    pub interval: String,
    /// How far behind now the group evaluates (Thanos, Mimir, Prometheus ≥ 2.53).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_offset: Option<String>,
    /// Thanos: `abort`, so a rule never records a count from part of the stores.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial_response_strategy: Option<String>,
    /// The rules, in evaluation order.
    pub rules: Vec<Rule>,
}

/// One recording or alerting rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(super) struct Rule {
    /// The recorded series' name (recording rules).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// The alert's name (alerting rules).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    /// The PromQL expression.
    #[serde(serialize_with = "expression")]
    pub expr: String,
    /// Labels set on the result (on alerts, Go templates are expanded in their values).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// An alert's annotations (Go templates).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Rule {
    /// A recording rule.
    pub fn record(name: &str, expr: String, labels: BTreeMap<String, String>) -> Rule {
        Rule {
            record: Some(name.to_string()),
            alert: None,
            expr,
            labels,
            annotations: BTreeMap::new(),
        }
    }

    /// An alerting rule (no `for:`: it fires at the first evaluation that holds, as the daemon's
    /// alerts do).
    pub fn alert(
        name: &str,
        expr: String,
        labels: BTreeMap<String, String>,
        annotations: BTreeMap<String, String>,
    ) -> Rule {
        Rule {
            record: None,
            alert: Some(name.to_string()),
            expr,
            labels,
            annotations,
        }
    }
}

/// Expressions longer than a glance as literal blocks (`|-`): they read as PromQL, not as a
/// folded or quoted YAML string; short ones (`vector(1)`) stay plain.
fn expression<S: serde::Serializer>(expr: &str, s: S) -> Result<S::Ok, S::Error> {
    if expr.contains('\n') || expr.len() > 60 {
        serde_saphyr::LitStr(expr).serialize(s)
    } else {
        s.serialize_str(expr)
    }
}

/// The YAML text of `file`, after `header` (comment lines, each starting with `#`).
pub(super) fn to_yaml(file: &RuleFile, header: &[String]) -> Result<String, String> {
    let options = serde_saphyr::ser_options! {
        compact_list_indent: false,
    };
    let body = serde_saphyr::to_string_with_options(file, options).map_err(|e| e.to_string())?;
    let mut out = String::with_capacity(body.len() + 512);
    for line in header {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&body);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_and_templates_survive_the_yaml() {
        let file = RuleFile {
            namespace: Some("slowburn".into()),
            groups: vec![Group {
                name: "slowburn-api-availability".into(),
                interval: "1m".into(),
                query_offset: None,
                partial_response_strategy: None,
                rules: vec![
                    Rule::record(
                        "x",
                        "sum(a{b=\"c\"})\nor vector(0)".into(),
                        [("window".to_string(), "30d".to_string())].into(),
                    ),
                    Rule::alert(
                        "A",
                        "x > 1".into(),
                        [("team".to_string(), "1".to_string())].into(),
                        [(
                            "summary".to_string(),
                            "[page] {{ $value }}: a # b".to_string(),
                        )]
                        .into(),
                    ),
                ],
            }],
        };
        let yaml = to_yaml(&file, &["# generated".to_string()]).expect("serializes");
        assert!(
            yaml.starts_with("# generated\nnamespace: slowburn\n"),
            "{yaml}"
        );
        let back: serde_json::Value = serde_saphyr::from_str(&yaml).expect("reads back");
        let rules = &back["groups"][0]["rules"];
        assert_eq!(rules[0]["expr"], "sum(a{b=\"c\"})\nor vector(0)");
        assert_eq!(
            rules[1]["labels"]["team"], "1",
            "a number-like label stays a string"
        );
        assert_eq!(
            rules[1]["annotations"]["summary"],
            "[page] {{ $value }}: a # b"
        );
        assert!(rules[0].get("annotations").is_none());
    }
}
