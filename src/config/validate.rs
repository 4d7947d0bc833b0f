//! `RawConfig` → [`Config`], collecting every error with its position instead of stopping at the first.

use super::error::ConfigError;
use super::model::*;
use super::raw::*;
use crate::alert::policy::{Policy, Rule, Severity};
use crate::duration::{self, Dur};
use crate::sli::promql;
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

struct Ctx<'a> {
    file: &'a str,
    env: &'a dyn Fn(&str) -> Option<String>,
    errors: Vec<ConfigError>,
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
    };
    let prometheus = prometheus_settings(&mut cx, raw.prometheus.as_ref());
    let (bucket, default_periods) = defaults(&mut cx, raw.defaults.as_ref());
    let engine = engine_settings(&mut cx, raw.engine.as_ref(), bucket);
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
        if let Some(mut slo) = slo(&mut cx, &s.value, &path, bucket, &default_periods)
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
    if cx.errors.is_empty() {
        Ok(Config {
            file: file.to_string(),
            prometheus,
            bucket,
            engine,
            slos,
            receivers,
            maintenance,
            dashboard_url,
        })
    } else {
        cx.errors.sort_by_key(|e| (e.line, e.column));
        Err(cx.errors)
    }
}

fn prometheus_settings(cx: &mut Ctx, raw: Option<&Spanned<RawPrometheus>>) -> PrometheusSettings {
    let mut p = PrometheusSettings {
        url: DEFAULT_PROMETHEUS_URL.to_string(),
        headers: Vec::new(),
        timeout: DEFAULT_TIMEOUT,
        max_concurrency: DEFAULT_CONCURRENCY as usize,
        retries: DEFAULT_RETRIES,
        max_points_per_query: DEFAULT_MAX_POINTS,
    };
    let Some(raw) = raw else { return p };
    let raw = &raw.value;
    if let Some(url) = cx.string(&raw.url, "prometheus.url") {
        match reqwest::Url::parse(&url) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => p.url = url,
            _ => cx.err(
                &raw.url.referenced,
                "prometheus.url",
                format!("`{url}` is not an http(s) URL; write e.g. http://127.0.0.1:9090"),
            ),
        }
    }
    for (name, value) in &raw.headers {
        if let Some(v) = cx.string(value, &format!("prometheus.headers.{name}")) {
            p.headers.push((name.clone(), v));
        }
    }
    if let Some(t) = &raw.timeout
        && let Some(d) = cx.dur(t, "prometheus.timeout")
    {
        p.timeout = d;
    }
    if let Some(c) = &raw.max_concurrency {
        if c.value == 0 || c.value > 64 {
            cx.err(
                &c.referenced,
                "prometheus.max_concurrency",
                "must be between 1 and 64",
            );
        } else {
            p.max_concurrency = c.value as usize;
        }
    }
    if let Some(r) = &raw.retries {
        if r.value > 20 {
            cx.err(&r.referenced, "prometheus.retries", "must be at most 20");
        } else {
            p.retries = r.value;
        }
    }
    if let Some(m) = &raw.max_points_per_query {
        if m.value < 2 || m.value > 11_000 {
            cx.err(
                &m.referenced,
                "prometheus.max_points_per_query",
                "must be between 2 and 11000 (Prometheus refuses more than 11,000 points per series)",
            );
        } else {
            p.max_points_per_query = m.value;
        }
    }
    p
}

fn engine_settings(cx: &mut Ctx, raw: Option<&RawEngine>, bucket: Dur) -> EngineSettings {
    let mut e = EngineSettings::default();
    let Some(raw) = raw else { return e };
    if let Some(l) = &raw.lag {
        if l.value > 60 {
            cx.err(&l.referenced, "engine.lag", "must be at most 60 buckets");
        } else {
            e.lag = l.value;
        }
    }
    if let Some(d) = &raw.delay
        && let Some(v) = cx.dur(d, "engine.delay")
    {
        if v >= bucket {
            cx.err(
                &d.referenced,
                "engine.delay",
                format!("must be shorter than the bucket ({bucket})"),
            );
        } else {
            e.delay = v;
        }
    }
    if let Some(d) = &raw.heal_interval
        && let Some(v) = cx.dur(d, "engine.heal_interval")
    {
        e.heal_interval = v;
    }
    if let Some(d) = &raw.retention_margin
        && let Some(v) = cx.dur(d, "engine.retention_margin")
    {
        e.retention_margin = v;
    }
    e
}

fn defaults(cx: &mut Ctx, raw: Option<&RawDefaults>) -> (Dur, Vec<Dur>) {
    let mut bucket = DEFAULT_BUCKET;
    if let Some(b) = raw.and_then(|d| d.bucket.as_ref())
        && let Some(d) = cx.dur(b, "defaults.bucket")
    {
        if d.as_millis() % 1000 != 0
            || d < Dur::from_secs(10)
            || !SHORTEST_WINDOW.as_millis().is_multiple_of(d.as_millis())
        {
            cx.err(
                    &b.referenced,
                    "defaults.bucket",
                    format!(
                        "bucket must be whole seconds, at least 10s, and divide 5m evenly (e.g. 30s, 1m, 5m); got {d}"
                    ),
                );
        } else {
            bucket = d;
        }
    }
    let default_periods = vec![Dur::from_secs(30 * 86400), Dur::from_secs(7 * 86400)];
    let periods = match raw.and_then(|d| d.windows.as_ref()) {
        Some(w) => periods(cx, w, "defaults.windows", bucket).unwrap_or(default_periods),
        None => default_periods,
    };
    (bucket, periods)
}

fn periods(cx: &mut Ctx, raw: &Spanned<Vec<SStr>>, path: &str, bucket: Dur) -> Option<Vec<Dur>> {
    if raw.value.is_empty() {
        cx.err(
            &raw.referenced,
            path,
            "needs at least one period, e.g. [30d, 7d]",
        );
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for (i, w) in raw.value.iter().enumerate() {
        let p = format!("{path}[{i}]");
        match cx.dur(w, &p) {
            Some(d) if d < Dur::from_secs(3600) || d > Dur::from_secs(90 * 86400) => {
                cx.err(
                    &w.referenced,
                    &p,
                    format!("a budget period must be between 1h and 90d, got {d}"),
                );
                ok = false;
            }
            Some(d) if d.as_millis() % bucket.as_millis() != 0 => {
                cx.err(
                    &w.referenced,
                    &p,
                    format!("period {d} is not a whole number of {bucket} buckets"),
                );
                ok = false;
            }
            Some(d) if out.contains(&d) => {
                cx.err(&w.referenced, &p, format!("period {d} is listed twice"));
                ok = false;
            }
            Some(d) => out.push(d),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn slo(
    cx: &mut Ctx,
    raw: &RawSlo,
    path: &str,
    bucket: Dur,
    default_periods: &[Dur],
) -> Option<Slo> {
    let before = cx.errors.len();
    for (field, v) in [("service", &raw.service), ("name", &raw.name)] {
        if !valid_name(&v.value) {
            cx.err(
                &v.referenced,
                format!("{path}.{field}"),
                format!(
                    "`{}` is not a valid {field}: use 1-128 letters, digits, `-`, `_` or `.` (it becomes part of URLs and metric labels)",
                    v.value
                ),
            );
        }
    }
    let objective = cx.percent(&raw.objective, &format!("{path}.objective"));
    let periods = match &raw.windows {
        Some(w) => periods(cx, w, &format!("{path}.windows"), bucket),
        None => Some(default_periods.to_vec()),
    };
    let sli = sli(cx, &raw.sli, &format!("{path}.sli"), bucket);
    let sla = raw
        .sla
        .as_ref()
        .and_then(|s| sla(cx, s, &format!("{path}.sla"), objective, sli.as_ref()));
    if cx.errors.len() > before {
        return None;
    }
    let (kind, counts) = sli?;
    let periods = periods?;
    let periods_first = periods[0];
    Some(Slo {
        id: format!("{}/{}", raw.service.value, raw.name.value),
        service: raw.service.value.clone(),
        name: raw.name.value.clone(),
        objective: objective?,
        periods,
        description: raw.description.clone(),
        labels: raw.labels.clone().into_iter().collect::<BTreeMap<_, _>>(),
        sli: kind,
        source: DEFAULT_SOURCE.to_string(),
        counts,
        sla,
        policy: Policy::builtin(periods_first, bucket),
    })
}

fn sli(
    cx: &mut Ctx,
    raw: &Spanned<RawSli>,
    path: &str,
    bucket: Dur,
) -> Option<(SliKind, CountSpec)> {
    let r = &raw.value;
    let given = [
        r.ratio.is_some(),
        r.latency.is_some(),
        r.timeslice.is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    if given != 1 {
        cx.err(
            &raw.referenced,
            path,
            format!("needs exactly one of `ratio`, `latency` or `timeslice`, found {given}"),
        );
        return None;
    }
    if let Some(ratio) = &r.ratio {
        return ratio_sli(cx, ratio, &format!("{path}.ratio")).map(|c| (SliKind::Ratio, c));
    }
    if let Some(lat) = &r.latency {
        return latency_sli(cx, lat, &format!("{path}.latency"));
    }
    let ts = r.timeslice.as_ref()?;
    timeslice_sli(cx, ts, &format!("{path}.timeslice"), bucket).map(|c| (SliKind::Timeslice, c))
}

fn ratio_sli(cx: &mut Ctx, raw: &Spanned<RawRatio>, path: &str) -> Option<CountSpec> {
    let r = &raw.value;
    if let Some(src) = &r.source {
        match src.value.as_str() {
            "prometheus" => {}
            "loki" => {
                cx.err(
                    &src.referenced,
                    format!("{path}.source"),
                    "Loki SLIs are not supported by this version of slowburn yet; use a Prometheus counter",
                );
                return None;
            }
            other => {
                cx.err(
                    &src.referenced,
                    format!("{path}.source"),
                    format!("unknown source `{other}`; valid: prometheus"),
                );
                return None;
            }
        }
    }
    let present: Vec<&str> = [
        ("good", &r.good),
        ("errors", &r.errors),
        ("total", &r.total),
    ]
    .iter()
    .filter(|(_, v)| v.is_some())
    .map(|(n, _)| *n)
    .collect();
    if present.len() != 2 {
        cx.err(
            &raw.referenced,
            path,
            format!(
                "needs exactly two of `good`, `errors` and `total` (the third is derived), found {}: [{}]",
                present.len(),
                present.join(", ")
            ),
        );
        return None;
    }
    let mut q = |v: &Option<SStr>, name: &str| {
        v.as_ref()
            .and_then(|s| event_query(cx, s, &format!("{path}.{name}")))
    };
    let good = q(&r.good, "good");
    let bad = q(&r.errors, "errors");
    let total = q(&r.total, "total");
    let ok = [(&r.good, &good), (&r.errors, &bad), (&r.total, &total)]
        .iter()
        .all(|(raw, parsed)| raw.is_none() || parsed.is_some());
    ok.then_some(CountSpec::Events { good, bad, total })
}

/// A counter selector, or an expression containing `$window` that parses once substituted.
fn event_query(cx: &mut Ctx, s: &SStr, path: &str) -> Option<EventQuery> {
    let text = cx.string(s, path)?;
    match promql::event_query(&text) {
        Ok(q) => Some(q),
        Err(e) => {
            cx.err(&s.referenced, path, e);
            None
        }
    }
}

fn threshold(cx: &mut Ctx, s: &SStr, path: &str) -> Option<Dur> {
    let text = cx.string(s, path)?;
    if let Ok(secs) = text.trim().parse::<f64>() {
        if secs > 0.0 && secs.is_finite() && (secs * 1000.0).fract().abs() < 1e-9 {
            return Some(Dur::from_millis((secs * 1000.0).round() as u64));
        }
        cx.err(
            &s.referenced,
            path,
            format!("threshold must be a positive whole number of milliseconds, got {text}"),
        );
        return None;
    }
    cx.dur(s, path)
}

fn latency_sli(
    cx: &mut Ctx,
    raw: &Spanned<RawLatency>,
    path: &str,
) -> Option<(SliKind, CountSpec)> {
    let r = &raw.value;
    let hpath = format!("{path}.histogram");
    let text = cx.string(&r.histogram, &hpath)?;
    let threshold = threshold(cx, &r.threshold, &format!("{path}.threshold"));
    match promql::histogram(&text) {
        Ok((metric, matchers)) => {
            let threshold = threshold?;
            let counts = promql::latency_counts(&metric, &matchers, threshold);
            Some((
                SliKind::Latency {
                    metric,
                    matchers,
                    threshold,
                },
                counts,
            ))
        }
        Err(e) => {
            cx.err(&r.histogram.referenced, &hpath, e);
            None
        }
    }
}

fn timeslice_sli(
    cx: &mut Ctx,
    raw: &Spanned<RawTimeslice>,
    path: &str,
    bucket: Dur,
) -> Option<CountSpec> {
    let r = &raw.value;
    let qpath = format!("{path}.query");
    let query = cx.string(&r.query, &qpath);
    if let Some(q) = &query
        && let Err(e) = promql::expression(q)
    {
        cx.err(&r.query.referenced, &qpath, e);
    }
    let good_when = match (&r.below, &r.above) {
        (Some(b), None) => Some(Compare::Below(b.value)),
        (None, Some(a)) => Some(Compare::Above(a.value)),
        _ => {
            cx.err(
                &raw.referenced,
                path,
                "needs exactly one of `below` or `above`",
            );
            None
        }
    };
    let slice = match &r.slice {
        Some(s) => cx.dur(s, &format!("{path}.slice")).and_then(|d| {
            if d == bucket {
                Some(d)
            } else {
                cx.err(
                    &s.referenced,
                    format!("{path}.slice"),
                    format!("slice {d} must equal the bucket ({bucket}) in this version; set `defaults.bucket: {d}` or drop `slice`"),
                );
                None
            }
        }),
        None => Some(bucket),
    };
    Some(CountSpec::Timeslice {
        query: query?,
        good_when: good_when?,
        slice: slice?,
    })
}

fn sla(
    cx: &mut Ctx,
    raw: &Spanned<RawSla>,
    path: &str,
    objective: Option<f64>,
    sli: Option<&(SliKind, CountSpec)>,
) -> Option<Sla> {
    let r = &raw.value;
    let opath = format!("{path}.objective");
    let sla_obj = cx.percent(&r.objective, &opath)?;
    if let Some(o) = objective
        && sla_obj > o
    {
        cx.err(
                &r.objective.referenced,
                &opath,
                format!(
                    "the SLA ({}%) must be looser than the objective ({}%): the SLO is the internal target that protects the external commitment",
                    r.objective.value,
                    o * 100.0
                ),
            );
        return None;
    }
    let counts = match (&r.threshold, sli) {
        (None, _) => None,
        (
            Some(t),
            Some((
                SliKind::Latency {
                    metric,
                    matchers,
                    threshold: slo_t,
                },
                _,
            )),
        ) => {
            let tpath = format!("{path}.threshold");
            let t_val = threshold(cx, t, &tpath)?;
            if t_val < *slo_t {
                cx.err(
                    &t.referenced,
                    &tpath,
                    format!("the SLA threshold ({t_val}) must be at or above the SLO's ({slo_t})"),
                );
                return None;
            }
            Some(promql::latency_counts(metric, matchers, t_val))
        }
        (Some(t), Some(_)) => {
            cx.err(
                &t.referenced,
                format!("{path}.threshold"),
                "`threshold` applies only to latency SLIs",
            );
            return None;
        }
        (Some(_), None) => return None,
    };
    Some(Sla {
        objective: sla_obj,
        counts,
    })
}

/// A named policy: the fields it sets over the built-in default.
#[derive(Debug, Clone, Default)]
pub struct PolicyPatch {
    rules: Option<Vec<Rule>>,
    min_events: Option<f64>,
    budget_ticket_below: Option<Option<f64>>,
    budget_exhausted: Option<Option<Severity>>,
    no_data_after: Option<Option<Dur>>,
}

impl PolicyPatch {
    fn apply(&self, p: &mut Policy) {
        if let Some(r) = &self.rules {
            p.rules = r.clone();
        }
        if let Some(m) = self.min_events {
            p.min_events = m;
        }
        if let Some(b) = self.budget_ticket_below {
            p.budget_ticket_below = b;
        }
        if let Some(b) = self.budget_exhausted {
            p.budget_exhausted = b;
        }
        if let Some(n) = self.no_data_after {
            p.no_data_after = n;
        }
    }
}

fn rules(
    cx: &mut Ctx,
    raw: &Spanned<Vec<Spanned<RawRule>>>,
    path: &str,
    bucket: Dur,
) -> Option<Vec<Rule>> {
    let mut out = Vec::new();
    let mut ok = true;
    for (i, r) in raw.value.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let severity = match r.value.severity.value.as_str() {
            "page" => Some(Severity::Page),
            "ticket" => Some(Severity::Ticket),
            other => {
                cx.err(
                    &r.value.severity.referenced,
                    format!("{p}.severity"),
                    format!("`{other}` is not a severity; use `page` or `ticket`"),
                );
                None
            }
        };
        let long = cx.dur(&r.value.long, &format!("{p}.long"));
        let short = cx.dur(&r.value.short, &format!("{p}.short"));
        let factor = r.value.factor.value;
        if !(factor > 0.0 && factor.is_finite()) {
            cx.err(
                &r.value.factor.referenced,
                format!("{p}.factor"),
                "the burn-rate factor must be a positive number",
            );
            ok = false;
        }
        match (severity, long, short) {
            (Some(severity), Some(long), Some(short)) => {
                if short >= long {
                    cx.err(
                        &r.value.short.referenced,
                        format!("{p}.short"),
                        format!(
                            "the short window ({short}) must be shorter than the long one ({long})"
                        ),
                    );
                    ok = false;
                } else if long.as_millis() % bucket.as_millis() != 0
                    || short.as_millis() % bucket.as_millis() != 0
                {
                    cx.err(
                        &r.referenced,
                        &p,
                        format!("rule windows must be whole buckets ({bucket})"),
                    );
                    ok = false;
                } else {
                    out.push(Rule {
                        severity,
                        long,
                        short,
                        factor,
                    });
                }
            }
            _ => ok = false,
        }
    }
    if raw.value.is_empty() {
        cx.err(
            &raw.referenced,
            path,
            "needs at least one rule, or leave `rules` out to keep the default ones",
        );
        ok = false;
    }
    ok.then_some(out)
}

#[allow(clippy::too_many_arguments)]
fn patch_fields(
    cx: &mut Ctx,
    path: &str,
    bucket: Dur,
    raw_rules: Option<&Spanned<Vec<Spanned<RawRule>>>>,
    min_events: Option<&Spanned<f64>>,
    below: Option<&Spanned<f64>>,
    exhausted: Option<&SStr>,
    no_data: Option<&SStr>,
) -> PolicyPatch {
    let mut patch = PolicyPatch::default();
    if let Some(r) = raw_rules {
        patch.rules = rules(cx, r, &format!("{path}.rules"), bucket);
    }
    if let Some(m) = min_events {
        if m.value >= 0.0 && m.value.is_finite() {
            patch.min_events = Some(m.value);
        } else {
            cx.err(
                &m.referenced,
                format!("{path}.min_events"),
                "must be zero or more events",
            );
        }
    }
    if let Some(b) = below {
        if b.value > 0.0 && b.value < 1.0 {
            patch.budget_ticket_below = Some(Some(b.value));
        } else if b.value == 0.0 {
            patch.budget_ticket_below = Some(None);
        } else {
            cx.err(&b.referenced, format!("{path}.budget_ticket_below"), format!("a share of the budget between 0 and 1 (0.25 for 25%), or 0 to turn it off; got {}", b.value));
        }
    }
    if let Some(e) = exhausted {
        match e.value.as_str() {
            "page" => patch.budget_exhausted = Some(Some(Severity::Page)),
            "ticket" => patch.budget_exhausted = Some(Some(Severity::Ticket)),
            "none" => patch.budget_exhausted = Some(None),
            other => cx.err(
                &e.referenced,
                format!("{path}.budget_exhausted"),
                format!("`{other}`: use `page`, `ticket` or `none`"),
            ),
        }
    }
    if let Some(n) = no_data {
        if n.value == "none" {
            patch.no_data_after = Some(None);
        } else if let Some(d) = cx.dur(n, &format!("{path}.no_data_after")) {
            if d.as_millis() % bucket.as_millis() == 0 {
                patch.no_data_after = Some(Some(d));
            } else {
                cx.err(
                    &n.referenced,
                    format!("{path}.no_data_after"),
                    format!("must be whole buckets ({bucket}), or `none`"),
                );
            }
        }
    }
    patch
}

fn policy_patches(
    cx: &mut Ctx,
    raw: Option<&RawAlerting>,
    bucket: Dur,
) -> BTreeMap<String, PolicyPatch> {
    let mut out = BTreeMap::new();
    let Some(raw) = raw else { return out };
    for (name, p) in &raw.policies {
        let path = format!("alerting.policies.{name}");
        let v = &p.value;
        let patch = patch_fields(
            cx,
            &path,
            bucket,
            v.rules.as_ref(),
            v.min_events.as_ref(),
            v.budget_ticket_below.as_ref(),
            v.budget_exhausted.as_ref(),
            v.no_data_after.as_ref(),
        );
        out.insert(name.clone(), patch);
    }
    out
}

fn resolve_policy(
    cx: &mut Ctx,
    policies: &BTreeMap<String, PolicyPatch>,
    default_name: Option<&(String, Location)>,
    raw: Option<&Spanned<RawSloAlerting>>,
    path: &str,
    period: Dur,
    bucket: Dur,
) -> Option<Policy> {
    let mut policy = Policy::builtin(period, bucket);
    let (name, loc, npath) = match raw.and_then(|r| r.value.policy.as_ref()) {
        Some(n) => (
            n.value.clone(),
            n.referenced,
            format!("{path}.alerting.policy"),
        ),
        None => match default_name {
            Some((n, l)) => (n.clone(), *l, "defaults.alerting".to_string()),
            None => ("default".to_string(), Location::UNKNOWN, String::new()),
        },
    };
    match policies.get(&name) {
        Some(p) => p.apply(&mut policy),
        None if name == "default" => {}
        None => {
            let names: Vec<&str> = policies
                .keys()
                .map(String::as_str)
                .chain(["default"])
                .collect();
            let hint = super::error::nearest(&name, &names)
                .map(|n| format!("; did you mean `{n}`?"))
                .unwrap_or_default();
            cx.err(
                &loc,
                npath,
                format!(
                    "no alert policy named `{name}`{hint} (defined: {})",
                    names.join(", ")
                ),
            );
            return None;
        }
    }
    if let Some(r) = raw {
        let v = &r.value;
        let before = cx.errors.len();
        let patch = patch_fields(
            cx,
            &format!("{path}.alerting"),
            bucket,
            v.rules.as_ref(),
            v.min_events.as_ref(),
            v.budget_ticket_below.as_ref(),
            v.budget_exhausted.as_ref(),
            v.no_data_after.as_ref(),
        );
        if cx.errors.len() > before {
            return None;
        }
        patch.apply(&mut policy);
    }
    Some(policy)
}

/// PagerDuty's Events API v2 endpoint.
pub const PAGERDUTY_URL: &str = "https://events.pagerduty.com/v2/enqueue";

fn http_url(cx: &mut Ctx, s: &SStr, path: &str) -> Option<String> {
    let url = cx.string(s, path)?;
    match reqwest::Url::parse(&url) {
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => Some(url),
        _ => {
            cx.err(&s.referenced, path, "not an http(s) URL");
            None
        }
    }
}

fn header_values(cx: &mut Ctx, raw: &BTreeMap<String, SStr>, path: &str) -> Vec<(String, String)> {
    raw.iter()
        .filter_map(|(k, hv)| Some((k.clone(), cx.string(hv, &format!("{path}.{k}"))?)))
        .collect()
}

/// A mailbox as lettre parses it (`Name <a@b>` or `a@b`).
fn mailbox(cx: &mut Ctx, s: &SStr, path: &str) -> Option<String> {
    let text = cx.string(s, path)?;
    match text.parse::<lettre::message::Mailbox>() {
        Ok(_) => Some(text),
        Err(e) => {
            cx.err(
                &s.referenced,
                path,
                format!("`{text}` is not an email address ({e}); write `oncall@example.org` or `On-call <oncall@example.org>`"),
            );
            None
        }
    }
}

fn email(cx: &mut Ctx, e: &RawEmail, path: &str) -> Option<EmailSettings> {
    let host = cx.string(&e.host, &format!("{path}.host"));
    let tls = match e.tls.as_ref().map(|t| (t, t.value.as_str())) {
        None | Some((_, "starttls")) => Some(SmtpTls::StartTls),
        Some((_, "implicit")) => Some(SmtpTls::Implicit),
        Some((_, "none")) => Some(SmtpTls::None),
        Some((t, other)) => {
            cx.err(
                &t.referenced,
                format!("{path}.tls"),
                format!("`{other}`: use `starttls` (port 587), `implicit` (port 465) or `none` (local relays)"),
            );
            None
        }
    };
    let port = match (&e.port, tls) {
        (Some(p), _) => Some(p.value),
        (None, Some(SmtpTls::Implicit)) => Some(465),
        (None, Some(SmtpTls::StartTls)) => Some(587),
        (None, _) => Some(25),
    };
    let password = e
        .password
        .as_ref()
        .and_then(|p| cx.string(p, &format!("{path}.password")));
    let username = e
        .username
        .as_ref()
        .and_then(|u| cx.string(u, &format!("{path}.username")));
    let credentials = match (username, password) {
        (Some(u), Some(p)) => Some((u, p)),
        (None, None) => None,
        _ => {
            cx.err(
                &e.host.referenced,
                path.to_string(),
                "SMTP authentication needs both `username` and `password`",
            );
            return None;
        }
    };
    let from = mailbox(cx, &e.from, &format!("{path}.from"));
    let mut to = Vec::new();
    if e.to.value.is_empty() {
        cx.err(
            &e.to.referenced,
            format!("{path}.to"),
            "needs at least one recipient",
        );
    }
    for (i, t) in e.to.value.iter().enumerate() {
        to.push(mailbox(cx, t, &format!("{path}.to[{i}]"))?);
    }
    if tls == Some(SmtpTls::None) && credentials.is_some() {
        cx.err(
            &e.host.referenced,
            format!("{path}.tls"),
            "refusing to send an SMTP password without TLS; use `tls: starttls` or `tls: implicit`",
        );
        return None;
    }
    Some(EmailSettings {
        host: host?,
        port: port?,
        tls: tls?,
        credentials,
        from: from?,
        to,
    })
}

fn maintenance(
    cx: &mut Ctx,
    raw: &[Spanned<RawMaintenance>],
    ids: &HashMap<String, u32>,
) -> Vec<crate::maintenance::Maintenance> {
    use crate::maintenance::{Maintenance, Recurrence, WEEK};
    let mut out = Vec::new();
    for (i, m) in raw.iter().enumerate() {
        let path = format!("maintenance[{i}]");
        let v = &m.value;
        let time = |cx: &mut Ctx, s: &SStr, field: &str| -> Option<i64> {
            let text = cx.string(s, &format!("{path}.{field}"))?;
            match chrono::DateTime::parse_from_rfc3339(&text) {
                Ok(t) => Some(t.timestamp()),
                Err(e) => {
                    cx.err(
                        &s.referenced,
                        format!("{path}.{field}"),
                        format!("`{text}` is not an RFC 3339 time ({e}); write e.g. `2026-12-01T02:00:00Z`"),
                    );
                    None
                }
            }
        };
        let when = match (&v.start, &v.end, &v.weekly) {
            (Some(s), Some(e), None) => match (time(cx, s, "start"), time(cx, e, "end")) {
                (Some(start), Some(end)) if end > start => Some(Recurrence::Once { start, end }),
                (Some(_), Some(_)) => {
                    cx.err(
                        &e.referenced,
                        format!("{path}.end"),
                        "must be after `start`",
                    );
                    None
                }
                _ => None,
            },
            (None, None, Some(w)) => {
                let w_path = format!("{path}.weekly");
                const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
                let day_text = w.value.day.value.to_ascii_lowercase();
                let day = DAYS.iter().position(|d| day_text.starts_with(d));
                if day.is_none() {
                    cx.err(
                        &w.value.day.referenced,
                        format!("{w_path}.day"),
                        format!(
                            "`{}`: use one of mon, tue, wed, thu, fri, sat, sun",
                            w.value.day.value
                        ),
                    );
                }
                let at = w.value.at.value.split_once(':').and_then(|(h, m)| {
                    let (h, m) = (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?);
                    ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 3600 + m * 60)
                });
                if at.is_none() {
                    cx.err(
                        &w.value.at.referenced,
                        format!("{w_path}.at"),
                        format!(
                            "`{}`: write the UTC start as HH:MM, e.g. `03:00`",
                            w.value.at.value
                        ),
                    );
                }
                let duration = cx.dur(&w.value.duration, &format!("{w_path}.duration"));
                if let Some(d) = duration
                    && d.as_secs() as i64 >= WEEK
                {
                    cx.err(
                        &w.value.duration.referenced,
                        format!("{w_path}.duration"),
                        "a weekly window must be shorter than a week",
                    );
                    None
                } else {
                    match (day, at, duration) {
                        (Some(d), Some(a), Some(dur)) => Some(Recurrence::Weekly {
                            offset: d as i64 * 86400 + a,
                            duration: dur.as_secs() as i64,
                        }),
                        _ => None,
                    }
                }
            }
            _ => {
                cx.err(
                    &m.referenced,
                    &path,
                    "needs either `start` and `end` (one-off) or `weekly: {day, at, duration}`",
                );
                None
            }
        };
        for (j, s) in v.slos.iter().enumerate() {
            if !ids.contains_key(&s.value) {
                let known: Vec<&str> = ids.keys().map(String::as_str).collect();
                let hint = super::error::nearest(&s.value, &known)
                    .map(|d| format!("; did you mean `{d}`?"))
                    .unwrap_or_default();
                cx.err(
                    &s.referenced,
                    format!("{path}.slos[{j}]"),
                    format!("no SLO `{}` (write `service/name`){hint}", s.value),
                );
            }
        }
        if let Some(when) = when {
            out.push(Maintenance {
                name: v.name.value.clone(),
                when,
                slos: v.slos.iter().map(|s| s.value.clone()).collect(),
                labels: v.labels.clone(),
            });
        }
    }
    out
}

fn receivers(cx: &mut Ctx, raw: &[Spanned<RawReceiver>]) -> Vec<Receiver> {
    let mut out: Vec<Receiver> = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let path = format!("receivers[{i}]");
        let v = &r.value;
        if out.iter().any(|o| o.name == v.name.value) {
            cx.err(
                &v.name.referenced,
                format!("{path}.name"),
                format!("receiver `{}` is defined twice", v.name.value),
            );
            continue;
        }
        let kinds = [
            v.pagerduty.is_some(),
            v.webhook.is_some(),
            v.slack.is_some(),
            v.email.is_some(),
            v.alertmanager.is_some(),
        ];
        let kind = if kinds.iter().filter(|k| **k).count() != 1 {
            cx.err(
                &r.referenced,
                &path,
                "needs exactly one of `pagerduty`, `slack`, `email`, `alertmanager` or `webhook`",
            );
            None
        } else if let Some(sl) = &v.slack {
            http_url(cx, &sl.webhook_url, &format!("{path}.slack.webhook_url"))
                .map(|url| ReceiverKind::Slack { url })
        } else if let Some(pd) = &v.pagerduty {
            let key = cx.string(&pd.routing_key, &format!("{path}.pagerduty.routing_key"));
            if let Some(k) = &key
                && (k.is_empty() || k.len() > 64)
            {
                cx.err(
                    &pd.routing_key.referenced,
                    format!("{path}.pagerduty.routing_key"),
                    "an integration key is 32 characters",
                );
            }
            let url = match &pd.url {
                Some(u) => http_url(cx, u, &format!("{path}.pagerduty.url")),
                None => Some(PAGERDUTY_URL.to_string()),
            };
            match (key, url) {
                (Some(routing_key), Some(url)) => {
                    Some(ReceiverKind::PagerDuty { routing_key, url })
                }
                _ => None,
            }
        } else if let Some(w) = &v.webhook {
            let url = http_url(cx, &w.url, &format!("{path}.webhook.url"));
            let headers = header_values(cx, &w.headers, &format!("{path}.webhook.headers"));
            url.map(|url| ReceiverKind::Webhook { url, headers })
        } else if let Some(am) = &v.alertmanager {
            let url = http_url(cx, &am.url, &format!("{path}.alertmanager.url"));
            let headers = header_values(cx, &am.headers, &format!("{path}.alertmanager.headers"));
            url.map(|url| ReceiverKind::Alertmanager {
                url: format!("{}/api/v2/alerts", url.trim_end_matches('/')),
                headers,
            })
        } else if let Some(e) = &v.email {
            email(cx, e, &format!("{path}.email")).map(ReceiverKind::Email)
        } else {
            None
        };
        let mut severities = vec![Severity::Page, Severity::Ticket];
        if let Some(list) = &v.severities {
            severities.clear();
            for sv in &list.value {
                match sv.value.as_str() {
                    "page" => severities.push(Severity::Page),
                    "ticket" => severities.push(Severity::Ticket),
                    other => cx.err(
                        &sv.referenced,
                        format!("{path}.severities"),
                        format!("`{other}`: use `page` or `ticket`"),
                    ),
                }
            }
        }
        let give_up_after = match &v.give_up_after {
            Some(g) => cx.dur(g, &format!("{path}.give_up_after")),
            None => Some(Dur::from_secs(86400)),
        };
        let repeat_interval = match &v.repeat_interval {
            Some(d) if d.value == "never" || d.value == "0" => Some(None),
            Some(d) => cx.dur(d, &format!("{path}.repeat_interval")).map(Some),
            None => Some(match &kind {
                Some(ReceiverKind::Slack { .. } | ReceiverKind::Email(_)) => {
                    Some(Dur::from_secs(4 * 3600))
                }
                Some(ReceiverKind::Alertmanager { .. }) => Some(Dur::from_secs(60)),
                _ => None,
            }),
        };
        if let (Some(kind), Some(give_up_after), Some(repeat_interval)) =
            (kind, give_up_after, repeat_interval)
        {
            out.push(Receiver {
                name: v.name.value.clone(),
                kind,
                severities,
                labels: v.labels.clone(),
                give_up_after,
                repeat_interval,
            });
        }
    }
    out
}
