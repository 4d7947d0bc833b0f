//! Grafana dashboards rendered from the config: an overview of every SLO, one detail dashboard
//! whose SLO is chosen by variables, and one for slowburn itself. Pure: the same config gives the
//! same bytes (stable uids, panel ids and key order), so the files committed in `dashboards/` can
//! be checked for staleness and a provisioning run can tell "unchanged" without asking Grafana to
//! diff. Every query names series through [`crate::names`], never a retyped string.

mod detail;
mod internals;
mod overview;
pub mod panel;

use crate::alert::policy::Severity;
use crate::config::Config;
use crate::names;
use serde_json::Value;

/// The overview's uid (its URL is `/d/slowburn-overview`).
pub const OVERVIEW_UID: &str = "slowburn-overview";
/// The SLO detail dashboard's uid; `?var-service=…&var-slo=…` picks the SLO.
pub const DETAIL_UID: &str = "slowburn-slo";
/// The uid of the dashboard about slowburn itself.
pub const INTERNALS_UID: &str = "slowburn-internals";
/// The folder the dashboards are provisioned into: the config's default, owned there.
pub use crate::config::validate::FOLDER_UID;

/// One generated dashboard: the file it is written to and its JSON.
#[derive(Debug, Clone)]
pub struct Dashboard {
    /// File name under `dashboards/`.
    pub file: &'static str,
    /// Its uid (also inside `json`).
    pub uid: &'static str,
    /// The dashboard model, as provisioning files and the API take it.
    pub json: Value,
}

impl Dashboard {
    /// The file's bytes: pretty JSON with sorted keys and a final newline, so diffs stay small.
    pub fn render(&self) -> String {
        let mut s = serde_json::to_string_pretty(&self.json).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Every PromQL query in the dashboard (panel targets, variables, annotations), with the
    /// panel or variable it belongs to, for the tests that parse and run them.
    pub fn queries(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(vars) = self.json["templating"]["list"].as_array() {
            for v in vars {
                if let Some(q) = v["query"]["query"].as_str() {
                    out.push((format!("variable {}", v["name"]), q.to_string()));
                }
            }
        }
        if let Some(list) = self.json["annotations"]["list"].as_array() {
            for a in list {
                if let Some(q) = a["expr"].as_str() {
                    out.push((format!("annotation {}", a["name"]), q.to_string()));
                }
            }
        }
        if let Some(panels) = self.json["panels"].as_array() {
            for p in panels {
                for t in p["targets"].as_array().into_iter().flatten() {
                    if let Some(q) = t["expr"].as_str() {
                        out.push((format!("panel {}", p["title"]), q.to_string()));
                    }
                }
            }
        }
        out
    }
}

/// What the dashboards take from the config.
pub(crate) struct Context {
    /// Keys of the SLOs' own labels (`team`, `tier`), each a filter on the overview.
    pub label_keys: Vec<String>,
    /// Distinct burn-rate factors of the SLOs' policies with the most severe severity using
    /// each, highest first: the threshold lines of the burn-rate panel.
    pub factors: Vec<(f64, Severity)>,
    /// The shortest exported window (`5m`) and its seconds: event rates.
    pub short_window: (String, u64),
    /// Every budget period any SLO has (`30d`, `7d`), longest first.
    pub periods: Vec<String>,
    /// The bucket width in seconds (evaluation age thresholds).
    pub bucket_secs: u64,
    /// Every label a grouped SLO (`group_by:`) splits by, sorted. Its members' series carry
    /// them beside `service` and `slo`, so one SLO of the dashboards can be many series: the
    /// panels keep and name them apart by these. Empty without grouped SLOs, which leaves every
    /// query and legend as it was.
    pub group_labels: Vec<String>,
}

/// Labels of `slo_info` that come from slowburn, not from the SLO's `labels:`.
pub const RESERVED_INFO_LABELS: [&str; 6] = [
    names::LABEL_SERVICE,
    names::LABEL_SLO,
    "description",
    "sli",
    names::LABEL_SOURCE,
    "queries",
];

impl Context {
    fn new(cfg: &Config) -> Self {
        let mut label_keys: Vec<String> = cfg
            .slos
            .iter()
            .flat_map(|s| s.labels.keys().map(|k| names::label_name(k)))
            .filter(|k| !RESERVED_INFO_LABELS.contains(&k.as_str()) && k != "datasource")
            .collect();
        label_keys.sort();
        label_keys.dedup();
        // A member carries its definition's `group_by` too, so an expanded config gives the same.
        let mut group_labels: Vec<String> = cfg
            .slos
            .iter()
            .filter_map(|s| s.group_by.as_ref())
            .flat_map(|g| g.labels.iter().cloned())
            .collect();
        group_labels.sort();
        group_labels.dedup();
        let mut factors: Vec<(f64, Severity)> = Vec::new();
        for r in cfg.slos.iter().flat_map(|s| s.policy.rules.iter()) {
            match factors.iter_mut().find(|(f, _)| *f == r.factor) {
                Some((_, sev)) if r.severity == Severity::Page => *sev = Severity::Page,
                Some(_) => {}
                None => factors.push((r.factor, r.severity)),
            }
        }
        if factors.is_empty() {
            factors = crate::alert::policy::WORKBOOK_30D
                .iter()
                .map(|(sev, _, _, f)| (*f, *sev))
                .collect();
        }
        factors.sort_by(|a, b| b.0.total_cmp(&a.0));
        factors.dedup_by(|a, b| a.0 == b.0);
        // The shortest window `/metrics` exports (a scaled policy's own windows are not).
        let short = crate::budget::BURN_WINDOWS[0];
        let mut periods: Vec<crate::duration::Dur> = cfg
            .slos
            .iter()
            .flat_map(|s| s.periods.iter().copied())
            .collect();
        if periods.is_empty() {
            periods = vec![
                crate::duration::Dur::from_secs(30 * 86400),
                crate::duration::Dur::from_secs(7 * 86400),
            ];
        }
        periods.sort();
        periods.dedup();
        periods.reverse();
        // Calendar periods after the rolling ones: the daemon labels their series `month`.
        let mut calendars: Vec<crate::calendar::Unit> = cfg
            .slos
            .iter()
            .flat_map(|s| s.calendars.iter().map(|c| c.unit))
            .collect();
        calendars.sort();
        calendars.dedup();
        let periods = periods
            .iter()
            .map(|p| p.to_string())
            .chain(calendars.iter().map(|u| u.name().to_string()))
            .collect();
        Context {
            label_keys,
            factors,
            short_window: (short.to_string(), short.as_secs()),
            periods,
            bucket_secs: cfg.bucket.as_secs(),
            group_labels,
        }
    }

    /// `service, slo` and every group label: the labels that tell one evaluated SLO (a grouped
    /// SLO's member) from another, for `by (…)` and `on (…)`. A plain SLO's series lack the
    /// group labels, which then group as empty: one series per SLO, as before.
    fn slo_labels(&self) -> String {
        let mut l = vec![
            names::LABEL_SERVICE.to_string(),
            names::LABEL_SLO.to_string(),
        ];
        l.extend(self.group_labels.iter().cloned());
        l.join(", ")
    }

    /// `legend` followed by each group label's value (`{{period}} {{route}}`), so every member
    /// of a grouped SLO draws its own named line; a plain SLO's series lack the labels, which
    /// Grafana prints as nothing. `legend` itself without grouped SLOs.
    fn legend(&self, legend: &str) -> String {
        let values: Vec<String> = self
            .group_labels
            .iter()
            .map(|l| format!("{{{{{l}}}}}"))
            .collect();
        match (legend.is_empty(), values.is_empty()) {
            (_, true) => legend.to_string(),
            (true, false) => values.join(" "),
            (false, false) => format!("{legend} {}", values.join(" ")),
        }
    }

    /// `agg(expr)` without grouped SLOs; `agg by (route, …) (expr)` with them, so each member
    /// keeps its own value where the panel showed one value for the SLO.
    fn per_member(&self, agg: &str, expr: &str) -> String {
        if self.group_labels.is_empty() {
            format!("{agg}({expr})")
        } else {
            format!("{agg} by ({}) ({expr})", self.group_labels.join(", "))
        }
    }

    /// `30d|7d`: a regex matching every period's window label.
    fn period_regex(&self) -> String {
        self.periods.join("|")
    }
}

/// The dashboards for this config, in a fixed order.
pub fn generate(cfg: &Config) -> Vec<Dashboard> {
    let cx = Context::new(cfg);
    vec![
        Dashboard {
            file: "slowburn-overview.json",
            uid: OVERVIEW_UID,
            json: overview::dashboard(&cx),
        },
        Dashboard {
            file: "slowburn-slo.json",
            uid: DETAIL_UID,
            json: detail::dashboard(&cx),
        },
        Dashboard {
            file: "slowburn-internals.json",
            uid: INTERNALS_UID,
            json: internals::dashboard(&cx),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = r#"slos:
  - service: api
    name: avail
    objective: 99.9
    labels: {team: web}
GROUP    sli:
      ratio:
        errors: 'http_requests_total{code=~"5.."}'
        total: http_requests_total
  - service: api
    name: plain
    objective: 99
    sli:
      ratio:
        errors: 'y_total{code="500"}'
        total: y_total
"#;

    fn config(group: &str) -> Config {
        crate::config::parse_str(&YAML.replace("GROUP", group), "t.yaml", &|_| None)
            .expect("valid config")
    }

    /// The overview's and the detail dashboard's panel queries, with the variables as Grafana
    /// would fill them in, each parsed as PromQL.
    fn parse_panels(boards: &[Dashboard]) {
        for d in boards.iter().take(2) {
            for (place, q) in d.queries() {
                if place.starts_with("variable") {
                    continue;
                }
                let q = q
                    .replace("$service", "api")
                    .replace("$slo", "avail")
                    .replace("$team", ".*");
                assert!(
                    crate::sli::promql::expression(&q).is_ok(),
                    "{} {place}: `{q}` does not parse",
                    d.file
                );
            }
        }
    }

    fn find<'a>(board: &'a Value, title: &str, kind: &str) -> &'a Value {
        board["panels"]
            .as_array()
            .and_then(|p| p.iter().find(|p| p["title"] == title && p["type"] == kind))
            .unwrap_or_else(|| panic!("no {kind} panel {title}"))
    }

    #[test]
    fn without_grouped_slos_queries_and_legends_are_per_slo() {
        let cfg = config("");
        let cx = Context::new(&cfg);
        assert!(cx.group_labels.is_empty());
        assert_eq!(cx.slo_labels(), "service, slo");
        assert_eq!(cx.legend("{{period}}"), "{{period}}");
        assert_eq!(cx.legend(""), "");
        assert_eq!(cx.per_member("min", "x"), "min(x)");
        let boards = generate(&cfg);
        parse_panels(&boards);
        let table = find(&boards[0].json, "SLOs", "table");
        for t in table["targets"].as_array().expect("targets") {
            let q = t["expr"].as_str().expect("expr");
            assert!(
                q.starts_with("max by (service, slo) (")
                    || q.starts_with("min by (service, slo) ("),
                "{q}"
            );
        }
        let burn_down = find(
            &boards[1].json,
            "Error budget left (burn-down)",
            "timeseries",
        );
        assert_eq!(burn_down["targets"][0]["legendFormat"], "{{period}}");
    }

    #[test]
    fn grouped_slos_get_a_row_and_a_line_per_member() {
        let cfg = config("    group_by: [route, code_class]\n");
        assert!(cfg.slos[0].is_group());
        let cx = Context::new(&cfg);
        assert_eq!(cx.group_labels, ["code_class", "route"]);
        assert_eq!(cx.slo_labels(), "service, slo, code_class, route");
        assert_eq!(
            cx.legend("{{period}}"),
            "{{period}} {{code_class}} {{route}}"
        );
        assert_eq!(cx.legend(""), "{{code_class}} {{route}}");
        let boards = generate(&cfg);
        parse_panels(&boards);

        // The overview: one row per member, keyed and headed by its values after the SLO.
        let overview = &boards[0].json;
        let table = find(overview, "SLOs", "table");
        for t in table["targets"].as_array().expect("targets") {
            let q = t["expr"].as_str().expect("expr");
            assert!(
                q.starts_with("max by (service, slo, code_class, route) (")
                    || q.starts_with("min by (service, slo, code_class, route) ("),
                "{q}"
            );
        }
        let index = &table["transformations"][1]["options"]["indexByName"];
        assert_eq!(
            (
                index["code_class"].as_u64(),
                index["route"].as_u64(),
                index["Value #A"].as_u64()
            ),
            (Some(2), Some(3), Some(4))
        );
        let meeting = find(overview, "SLOs meeting their objective", "stat");
        assert!(
            meeting["targets"][0]["expr"]
                .as_str()
                .is_some_and(|q| q.starts_with("count(min by (service, slo, code_class, route) (")),
            "members are counted one by one"
        );

        // The detail dashboard: a named line per member; one objective.
        let detail = &boards[1].json;
        let burn_down = find(detail, "Error budget left (burn-down)", "timeseries");
        assert_eq!(
            burn_down["targets"][0]["legendFormat"],
            "{{period}} {{code_class}} {{route}}"
        );
        let exhaustion = find(detail, "Time to exhaustion", "stat");
        let q = exhaustion["targets"][0]["expr"].as_str().expect("expr");
        assert!(
            q.starts_with("min by (code_class, route) (")
                && q.contains(" and on(code_class, route) max by (code_class, route) ("),
            "{q}"
        );
        let alert = find(detail, "Alert", "stat");
        let q = alert["targets"][0]["expr"].as_str().expect("expr");
        assert!(
            q.starts_with("max by (code_class, route) (") && q.ends_with(" or on() vector(0)"),
            "{q}"
        );
        let objective = find(detail, "Objective", "stat");
        let q = objective["targets"][0]["expr"].as_str().expect("expr");
        assert!(
            q.starts_with(&format!("max({}{{", names::SLO_OBJECTIVE)),
            "{q}"
        );
        let definition = find(detail, "Definition", "table");
        let index = &definition["transformations"][0]["options"]["indexByName"];
        assert_eq!(
            (
                index["code_class"].as_u64(),
                index["route"].as_u64(),
                index["description"].as_u64()
            ),
            (Some(0), Some(1), Some(2))
        );
    }
}
