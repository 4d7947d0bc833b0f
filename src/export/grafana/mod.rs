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
        Context {
            label_keys,
            factors,
            short_window: (short.to_string(), short.as_secs()),
            periods: periods.iter().map(|p| p.to_string()).collect(),
            bucket_secs: cfg.bucket.as_secs(),
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
