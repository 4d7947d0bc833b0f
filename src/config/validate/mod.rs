//! `RawConfig` → [`Config`], collecting every error with its position instead of stopping at the first.
//!
//! Split by concern: [`sources`] (`prometheus:`, `loki:`), [`defaults`] (bucket, periods, `engine:`),
//! [`slo`] (SLOs, SLIs, SLAs), [`labels`] (an SLO's label keys), [`policy`] (alert policies),
//! [`receivers`] and [`maintenance`].
//! Each part reports into one [`Ctx`]; query-language knowledge lives in [`crate::sli`].

mod backup;
mod defaults;
mod grafana;
mod labels;
mod maintenance;
mod policy;
mod receivers;
mod slo;
mod sources;

pub use grafana::FOLDER_UID;
pub use policy::{RuleError, RuleField, burn_rule, pending_duration};

use defaults::*;
use labels::*;
use maintenance::*;
use policy::*;
use receivers::*;
use slo::*;
use sources::*;

use super::error::ConfigError;
use super::model::*;
use super::raw::*;
use crate::alert::policy::{Policy, Rule, Severity};
use crate::duration::{self, Dur};
use crate::sli::{logql, promql};
use serde_saphyr::{Location, Spanned};
use std::collections::{BTreeMap, HashMap};

/// Default bucket width: one minute, fine enough for a 5-minute burn window.
pub const DEFAULT_BUCKET: Dur = Dur::from_secs(60);
/// Default per-request timeout to Prometheus.
pub const DEFAULT_TIMEOUT: Dur = Dur::from_secs(30);
/// Default queries in flight.
pub const DEFAULT_CONCURRENCY: u32 = 4;
/// Default retries of retriable failures.
pub const DEFAULT_RETRIES: u32 = 3;
/// Default points per range query, safely below Prometheus's hard limit of 11,000.
pub const DEFAULT_MAX_POINTS: u32 = 10_000;
/// The Prometheus a sidecar usually sits next to.
pub const DEFAULT_PROMETHEUS_URL: &str = "http://127.0.0.1:9090";
/// The shortest burn-rate window; the bucket must divide it.
const SHORTEST_WINDOW: Dur = Dur::from_secs(300);

/// Where errors are collected while the parts of the file are validated.
struct Ctx<'a> {
    file: &'a str,
    env: &'a dyn Fn(&str) -> Option<String>,
    errors: Vec<ConfigError>,
    /// Whether a `loki:` section exists, so `source: loki` can say what is missing.
    loki: bool,
}

impl Ctx<'_> {
    fn err(&mut self, loc: &Location, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ConfigError {
            file: self.file.to_string(),
            line: loc.line() as u32,
            column: loc.column() as u32,
            path: path.into(),
            message: message.into(),
        });
    }

    /// The string with `${ENV}` expanded, or an error at its position.
    fn string(&mut self, s: &SStr, path: &str) -> Option<String> {
        match super::env::expand(&s.value, self.env) {
            Ok(v) if v.contains(['\n', '\r']) && !s.value.contains(['\n', '\r']) => {
                // Caught here, not when `run` builds a header or a URL from it.
                self.err(
                    &s.referenced,
                    path,
                    "a `${…}` value contains a line break (a secret file with two lines, or an exported variable with one); headers, URLs and tokens cannot hold one",
                );
                None
            }
            Ok(v) => Some(v),
            Err(missing) => {
                let (files, vars): (Vec<String>, Vec<String>) =
                    missing.into_iter().partition(|m| m.starts_with("file:"));
                let list = |v: &[String]| {
                    v.iter()
                        .map(|m| format!("${{{m}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                if !vars.is_empty() {
                    self.err(
                        &s.referenced,
                        path,
                        format!(
                            "environment variable {} is not set; export it or write the value here",
                            list(&vars)
                        ),
                    );
                }
                if !files.is_empty() {
                    self.err(
                        &s.referenced,
                        path,
                        format!(
                            "cannot read the secret file in {}; check the path and its permissions",
                            list(&files)
                        ),
                    );
                }
                None
            }
        }
    }

    /// [`Ctx::string`] for a value sent in an HTTP header (a header value, a token, a tenant, a
    /// password): one holding a line break or another control character, as a `|` block or a
    /// `"…\n"` leaves, is refused here at its position, not when `run` builds the request.
    fn header_text(&mut self, s: &SStr, path: &str) -> Option<String> {
        let v = self.string(s, path)?;
        let Some(c) = v.chars().find(|c| c.is_ascii_control() && *c != '\t') else {
            return Some(v);
        };
        let what = if matches!(c, '\n' | '\r') {
            "a line break"
        } else {
            "a control character"
        };
        self.err(
            &s.referenced,
            path,
            format!(
                "the value holds {what}, which an HTTP header cannot carry; write it on one line (a `|` or `>` block ends in a line break)"
            ),
        );
        None
    }

    fn dur(&mut self, s: &SStr, path: &str) -> Option<Dur> {
        let text = self.string(s, path)?;
        match duration::parse(&text) {
            Ok(d) if d.as_millis() > 0 => Some(d),
            Ok(_) => {
                self.err(&s.referenced, path, "duration must be greater than zero");
                None
            }
            Err(e) => {
                self.err(&s.referenced, path, e.to_string());
                None
            }
        }
    }

    fn percent(&mut self, v: &Spanned<f64>, path: &str) -> Option<f64> {
        if v.value > 0.0 && v.value < 100.0 && v.value.is_finite() {
            // Round away binary noise: 99.9 / 100 would print as 0.9990000000000001.
            Some((v.value * 1e9).round() / 1e11)
        } else {
            self.err(
                &v.referenced,
                path,
                format!(
                    "must be a percentage between 0 and 100 (exclusive), got {}; write 99.9 for 99.9%",
                    v.value
                ),
            );
            None
        }
    }
}

/// Validates the raw file. On success every SLO is usable; on failure every problem is listed.
pub fn from_raw(
    raw: RawConfig,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, Vec<ConfigError>> {
    let mut cx = Ctx {
        file,
        env,
        errors: Vec::new(),
        loki: raw.loki.is_some(),
    };
    let mut prometheus = prometheus_settings(&mut cx, raw.prometheus.as_ref());
    let loki = loki_settings(&mut cx, raw.loki.as_ref());
    let grafana = grafana::grafana_settings(&mut cx, raw.grafana.as_ref());
    let metrics = grafana::metrics_settings(&mut cx, raw.metrics.as_ref());
    if metrics.sloth || metrics.pyrra {
        grafana::compat_ids(&mut cx, &raw.slos);
    }
    let defaults = defaults(&mut cx, raw.defaults.as_ref());
    let bucket = defaults.bucket;
    let engine = engine_settings(&mut cx, raw.engine.as_ref(), bucket);
    prometheus.latency_offset = engine.delay;
    let policies = policy_patches(&mut cx, raw.alerting.as_ref(), bucket);
    let default_policy = raw
        .defaults
        .as_ref()
        .and_then(|d| d.alerting.as_ref())
        .map(|n| (n.value.clone(), n.referenced));
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut slos = Vec::new();
    for (i, s) in raw.slos.iter().enumerate() {
        let path = format!("slos[{i}]");
        let id = format!("{}/{}", s.value.service.value, s.value.name.value);
        if let Some(first) = seen.get(&id) {
            cx.err(
                &s.value.name.referenced,
                format!("{path}.name"),
                format!("duplicate SLO id `{id}` (first defined at line {first}); give each service/name pair its own name"),
            );
            continue;
        }
        seen.insert(id, s.referenced.line() as u32);
        if let Some(mut slo) = slo(&mut cx, &s.value, &path, bucket, &defaults)
            && let Some(p) = resolve_policy(
                &mut cx,
                &policies,
                default_policy.as_ref(),
                s.value.alerting.as_ref(),
                &path,
                slo.periods[0],
                bucket,
            )
        {
            slo.policy = p;
            slos.push(slo);
        }
    }
    let receivers = receivers(&mut cx, &raw.receivers);
    let maintenance = maintenance(&mut cx, &raw.maintenance, &seen);
    let dashboard_url = raw
        .alerting
        .as_ref()
        .and_then(|a| a.dashboard_url.as_ref())
        .and_then(|u| http_url(&mut cx, u, "alerting.dashboard_url"));
    let backup = backup::backup_settings(&mut cx, raw.backup.as_ref());
    let replicas = match &raw.replicas {
        Some(r) if r.value == 0 => {
            cx.err(
                &r.referenced,
                "replicas",
                "at least one daemon runs the file; an HA pair is `replicas: 2`",
            );
            1
        }
        Some(r) => r.value,
        None => 1,
    };
    if cx.errors.is_empty() {
        Ok(Config {
            file: file.to_string(),
            prometheus,
            loki,
            grafana,
            metrics,
            bucket,
            engine,
            slos,
            receivers,
            maintenance,
            dashboard_url,
            backup,
            replicas,
        })
    } else {
        cx.errors.sort_by_key(|e| (e.line, e.column));
        Err(cx.errors)
    }
}

/// Test helper for every part: validates `body` after a minimal valid head (a Prometheus URL and
/// one SLO unless `body` brings its own `slos:`), and returns the errors as printed.
#[cfg(test)]
fn errors_of(body: &str) -> Vec<String> {
    let slos = if body.contains("slos:") {
        ""
    } else {
        "slos:\n  - service: api\n    name: avail\n    objective: 99.9\n    sli: {ratio: {errors: e_total, total: t_total}}\n"
    };
    let text = format!("{body}\n{slos}");
    match crate::config::parse_str(&text, "t.yaml", &|k| (k == "SET").then(|| "v".into())) {
        Ok(_) => Vec::new(),
        Err(e) => e.0.iter().map(|e| e.to_string()).collect(),
    }
}
