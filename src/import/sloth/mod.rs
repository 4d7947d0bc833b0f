//! Sloth's SLO files as slowburn SLOs: `version: "prometheus/v1"`, its Kubernetes resource
//! (`sloth.slok.dev/v1` `PrometheusServiceLevel`: the same fields in camelCase under `spec`) and
//! OpenSLO `v1alpha` as Sloth reads it. Sloth's period is a flag of its generator, so it comes
//! from [`Options::period`]; the alert windows are Sloth's catalogue for that period (28d, 30d),
//! which for 30d with both alerts on is exactly slowburn's built-in policy.

use super::promql::{self, Translated, Window};
use super::{Alerting, At, Finding, Imported, Input, Options, Rule, Severity, Sli, Slo};
use super::{not_ours, number, unreadable};
use crate::names::{RESERVED_LABELS, label_name};
use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::collections::BTreeMap;
use std::fmt;

/// Sloth's window placeholder, which the translator turns into `$window`.
const WINDOW: Window<'static> = Window::Template("{{.window}}");
/// A day in seconds: Sloth has alert windows for periods of 28 and 30 of them.
const DAY: u64 = 86_400;
/// Sloth's alert windows (its google-28d and google-30d catalogues share them): severity, long,
/// short, the share of the budget the long window may spend (percent), long window in hours.
const WINDOWS: [(Severity, &str, &str, f64, f64); 4] = [
    (Severity::Page, "1h", "5m", 2.0, 1.0),
    (Severity::Page, "6h", "30m", 5.0, 6.0),
    (Severity::Ticket, "1d", "2h", 10.0, 24.0),
    (Severity::Ticket, "3d", "6h", 10.0, 72.0),
];
/// Why per-alert labels go: slowburn's alerts carry fixed labels.
const ROUTE: &str = "slowburn's alert labels are fixed: route by severity and SLO labels";
/// Why annotations go (gap G4).
const NO_ANNOTATIONS: &str = "slowburn SLOs have no annotations";
/// Gap G2: Sloth with both alerts disabled.
const G2: &str = "page and ticket alerts are disabled in the source, but a slowburn policy cannot have zero burn-rate rules (`rules: []` is refused): the built-in rules stay; the budget and no-data tickets are turned off";

/// A field with its position, for the findings that point at it.
type Opt<T> = Option<Spanned<T>>;
/// A mapping of labels or annotations, whose values may be of any scalar type.
type Map = Opt<Value>;
/// An SLO's labels.
type Labels = BTreeMap<String, String>;
/// What the translator answered, or `None` when the source lacks a query.
type Answer = Option<Result<Translated, String>>;

/// Any YAML node, read without ever failing (`tier: 1` and `generated: true` are labels too): a
/// scalar's text (numbers and booleans written out), or a mapping's entries.
#[derive(Default)]
struct Value {
    text: Option<String>,
    map: BTreeMap<String, Value>,
}

impl Value {
    /// The scalar as a number (`99.9`, `"99.9"`).
    fn number(&self) -> Option<f64> {
        self.text.as_deref()?.trim().parse().ok()
    }
}

/// A scalar [`Value`].
fn scalar<E>(text: String) -> Result<Value, E> {
    Ok(Value {
        text: Some(text),
        ..Value::default()
    })
}

impl<'de> Deserialize<'de> for Value {
    /// Takes whatever node is there, so a value of an unexpected type never fails the document.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

/// Builds a [`Value`] from any node.
struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        scalar(v.to_string())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        scalar(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        scalar(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        scalar(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        scalar(number(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::default())
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::default())
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Value, A::Error> {
        while s.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Value::default())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Value, A::Error> {
        let mut map = BTreeMap::new();
        while let Some((k, v)) = m.next_entry::<Value, Value>()? {
            map.insert(k.text.unwrap_or_default(), v);
        }
        Ok(Value { text: None, map })
    }
}

/// The keys that tell documents apart, read first so that a foreign document (a Deployment, a
/// rule file) is skipped whatever its other fields hold.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Head {
    version: Option<Value>,
    api_version: Option<Value>,
    kind: Option<Value>,
}

/// A `prometheus/v1` file or the resource's `spec`. A field spelled differently in the two is
/// read under both names (`*_k8s`: camelCase); the flavour's own is used, the other reported.
#[derive(Deserialize)]
struct Group {
    service: Opt<String>,
    labels: Map,
    slo_plugins: Opt<Plugins>,
    #[serde(rename = "sloPlugins")]
    slo_plugins_k8s: Opt<Plugins>,
    slos: Option<Vec<Spanned<SloSpec>>>,
}

/// The `PrometheusServiceLevel` resource; its metadata only places Sloth's output.
#[derive(Deserialize)]
struct Resource {
    spec: Spanned<Group>,
}

/// One entry of `slos:` (`objective` in percent).
#[derive(Deserialize)]
struct SloSpec {
    name: Opt<String>,
    objective: Map,
    description: Opt<String>,
    labels: Map,
    plugins: Opt<Plugins>,
    sli: Opt<SliSpec>,
    alerting: Opt<AlertSpec>,
}

/// `sli`: exactly one of the three.
#[derive(Deserialize)]
struct SliSpec {
    events: Opt<Events>,
    raw: Opt<Raw>,
    plugin: Opt<Plugin>,
}

/// `sli.events`.
#[derive(Deserialize)]
struct Events {
    error_query: Opt<String>,
    total_query: Opt<String>,
    #[serde(rename = "errorQuery")]
    error_query_k8s: Opt<String>,
    #[serde(rename = "totalQuery")]
    total_query_k8s: Opt<String>,
}

/// `sli.raw`.
#[derive(Deserialize)]
struct Raw {
    error_ratio_query: Opt<String>,
    #[serde(rename = "errorRatioQuery")]
    error_ratio_query_k8s: Opt<String>,
}

/// `alerting`.
#[derive(Deserialize)]
struct AlertSpec {
    name: Opt<String>,
    labels: Map,
    annotations: Map,
    page_alert: Opt<Alert>,
    #[serde(rename = "pageAlert")]
    page_alert_k8s: Opt<Alert>,
    ticket_alert: Opt<Alert>,
    #[serde(rename = "ticketAlert")]
    ticket_alert_k8s: Opt<Alert>,
}

/// `page_alert` / `ticket_alert`.
#[derive(Deserialize)]
struct Alert {
    disable: Option<bool>,
    labels: Map,
    annotations: Map,
}

/// `slo_plugins` / `plugins`.
#[derive(Deserialize)]
struct Plugins {
    chain: Option<Vec<Spanned<Plugin>>>,
}

/// An SLO plugin, or the plugin of `sli.plugin`.
#[derive(Deserialize)]
struct Plugin {
    id: Opt<String>,
    config: Option<Value>,
}

/// OpenSLO `v1alpha` `kind: SLO`, the fields Sloth reads.
#[derive(Deserialize)]
struct Alpha {
    metadata: Option<Meta>,
    spec: Spanned<AlphaSpec>,
}

/// `metadata`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    name: Opt<String>,
    display_name: Opt<String>,
}

/// `spec`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlphaSpec {
    service: Opt<String>,
    description: Opt<String>,
    objectives: Option<Vec<Spanned<Objective>>>,
    time_windows: Option<Vec<Spanned<TimeWindow>>>,
}

/// `spec.objectives[]` (`target` a ratio).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Objective {
    display_name: Opt<String>,
    target: Map,
    ratio_metrics: Opt<RatioMetrics>,
}

/// `ratioMetrics`.
#[derive(Deserialize)]
struct RatioMetrics {
    good: Opt<Metric>,
    total: Opt<Metric>,
}

/// One side of `ratioMetrics`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metric {
    source: Opt<String>,
    query_type: Opt<String>,
    query: Opt<String>,
}

/// `spec.timeWindows[]`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TimeWindow {
    count: Option<Value>,
    unit: Opt<String>,
    is_rolling: Option<bool>,
    calendar: Option<IgnoredAny>,
}

/// Reads one Sloth file: every `---` document on its own, so one bad document refuses only itself.
pub(super) fn read(input: &Input, options: &Options) -> Imported {
    let period = options.period.clone().unwrap_or_else(|| "30d".to_string());
    let secs = crate::duration::parse(&period).ok().map(|d| d.as_secs());
    let mut cx = Cx {
        file: &input.path,
        out: Imported::default(),
        rules: secs.and_then(catalogue),
        thirty: secs == Some(30 * DAY),
        period,
        id: String::new(),
        k8s: false,
    };
    for doc in documents(&input.text) {
        cx.document(&doc);
    }
    cx.out
}

/// The file's documents, split at `---` lines (which YAML forbids inside content at column 0),
/// each padded with the newlines before it so that positions stay the file's own.
fn documents(text: &str) -> Vec<String> {
    let mut docs = vec![String::new()];
    for (n, line) in text.split_inclusive('\n').enumerate() {
        let bare = line.trim_end();
        if n > 0 && (bare == "---" || bare.starts_with("--- ") || bare.starts_with("---\t")) {
            docs.push("\n".repeat(n));
        }
        if let Some(doc) = docs.last_mut() {
            doc.push_str(line);
        }
    }
    docs
}

/// Sloth's rules for a period (factor = budget share × period hours / 100 / long hours, to 4
/// decimals); `None` for a period it has no catalogue for, which Sloth itself refuses.
fn catalogue(secs: u64) -> Option<Vec<Rule>> {
    let hours = secs as f64 / 3600.0;
    let rules = WINDOWS
        .iter()
        .map(|&(severity, long, short, budget, long_h)| Rule {
            severity,
            long: long.into(),
            short: short.into(),
            factor: (budget * hours / 100.0 / long_h * 1e4).round() / 1e4,
            pending: None,
        });
    [28 * DAY, 30 * DAY]
        .contains(&secs)
        .then(|| rules.collect())
}

/// Whether a label key becomes a label name slowburn sets itself on slo_info and alerts.
fn reserved(key: &str) -> bool {
    RESERVED_LABELS.contains(&label_name(key).as_str())
}

/// The resource's spelling of a `prometheus/v1` field path (`alerting.page_alert` →
/// `alerting.pageAlert`).
fn camel(path: &str) -> String {
    let mut parts = path.split('_');
    let mut out = parts.next().unwrap_or_default().to_string();
    for part in parts {
        let mut chars = part.chars();
        out.extend(chars.next().map(|c| c.to_ascii_uppercase()));
        out.push_str(chars.as_str());
    }
    out
}

/// What a dropped SLO plugin did, and slowburn's counterpart when it has one.
fn plugin_hint(id: &str) -> &'static str {
    if id.contains("denominator_corrected_rules") {
        "it adapts Sloth's rules to low traffic; slowburn's guard for that is `alerting.min_events`"
    } else if id.contains("info_labels") {
        "its labels became SLO labels where the key was free"
    } else if id.contains("error_budget_exhausted_alert") {
        "slowburn's `budget_exhausted` ticket does the same"
    } else {
        "it shapes the rules Sloth writes, and slowburn writes none"
    }
}

/// One file being read: where findings point, what was found, the period, and the SLO being
/// mapped (its id names every finding; empty between SLOs).
struct Cx<'a> {
    file: &'a str,
    out: Imported,
    period: String,
    /// Sloth's rules for the period; `None` when Sloth has no catalogue for it.
    rules: Option<Vec<Rule>>,
    /// The period is 30d: both alerts on is slowburn's built-in policy.
    thirty: bool,
    id: String,
    /// The document is the Kubernetes resource (camelCase fields).
    k8s: bool,
}

impl Cx<'_> {
    /// A position in this file.
    fn at<T>(&self, s: &Spanned<T>) -> At {
        At::of(self.file, s)
    }

    /// A finding about the current SLO (or the document, between SLOs).
    fn finding(&self, at: At, field: impl Into<String>, why: impl Into<String>) -> Finding {
        let slo = (!self.id.is_empty()).then(|| self.id.clone());
        Finding {
            at,
            slo,
            field: field.into(),
            why: why.into(),
        }
    }

    /// Records a reason the current SLO cannot be imported.
    fn refuse(&mut self, at: At, field: impl Into<String>, why: impl Into<String>) {
        let f = self.finding(at, field, why);
        self.out.refused.push(f);
    }

    /// Records what the current SLO (or document) loses.
    fn warn(&mut self, at: At, field: impl Into<String>, why: impl Into<String>) {
        let f = self.finding(at, field, why);
        self.out.warnings.push(f);
    }

    /// Starts an SLO: its id, and where its findings start.
    fn begin(&mut self, id: String) -> (usize, usize) {
        self.id = id;
        (self.out.refused.len(), self.out.warnings.len())
    }

    /// Keeps the SLO when nothing of it was refused; a refused SLO's warnings go.
    fn finish(&mut self, (refused, warned): (usize, usize), slo: Option<Slo>) {
        match slo {
            Some(slo) if self.out.refused.len() == refused => self.out.slos.push(slo),
            _ => self.out.warnings.truncate(warned),
        }
        self.id.clear();
    }

    /// Reads one document: Sloth's two formats and OpenSLO v1alpha; anything else is skipped.
    fn document(&mut self, text: &str) {
        let head = match serde_saphyr::from_str::<Option<Spanned<Head>>>(text) {
            Ok(Some(head)) => head,
            Ok(None) => return,
            Err(_) if serde_saphyr::from_str::<IgnoredAny>(text).is_ok() => {
                let what = "a document that is not a mapping";
                self.out
                    .warnings
                    .push(not_ours(self.file, At::file(self.file), what));
                return;
            }
            Err(e) => {
                self.out.refused.push(unreadable(self.file, &e));
                return;
            }
        };
        let text_of = |v: &Option<Value>| v.as_ref().and_then(|v| v.text.clone());
        let h = &head.value;
        let version = text_of(&h.version).unwrap_or_default();
        let api = text_of(&h.api_version).unwrap_or_default();
        let kind = text_of(&h.kind).unwrap_or_default();
        if version == "prometheus/v1" {
            if let Some(group) = self.parse::<Group>(text) {
                self.group(&group, false);
            }
        } else if api == "sloth.slok.dev/v1" && kind == "PrometheusServiceLevel" {
            if let Some(resource) = self.parse::<Resource>(text) {
                self.group(&resource.spec.value, true);
            }
        } else if api == "openslo/v1alpha" && kind == "SLO" {
            if let Some(alpha) = self.parse::<Alpha>(text) {
                self.alpha(&alpha);
            }
        } else {
            let what = match (version.is_empty(), kind.is_empty()) {
                (false, _) => format!("`version: {version}`"),
                (true, false) => format!("`apiVersion: {api}`, `kind: {kind}`"),
                (true, true) => "a document without `version` or `kind`".to_string(),
            };
            self.out
                .warnings
                .push(not_ours(self.file, self.at(&head), &what));
        }
    }

    /// A document of a known kind, typed; a field of the wrong type (or a missing `spec`)
    /// refuses this document (the message has its position), not the file.
    fn parse<T: serde::de::DeserializeOwned>(&mut self, text: &str) -> Option<T> {
        match serde_saphyr::from_str::<T>(text) {
            Ok(v) => Some(v),
            Err(e) => {
                self.out.refused.push(unreadable(self.file, &e));
                None
            }
        }
    }

    /// A field path as the flavour spells it.
    fn spelled(&self, path: &str) -> String {
        if self.k8s {
            camel(path)
        } else {
            path.to_string()
        }
    }

    /// The field `path` as the flavour spells it (`a` snake_case, `b` camelCase); the other
    /// spelling is reported, since Sloth's loaders (and Kubernetes) ignore it.
    fn pick<'s, T>(&mut self, a: &'s Opt<T>, b: &'s Opt<T>, path: &str) -> Option<&'s Spanned<T>> {
        let (used, other) = if self.k8s { (b, a) } else { (a, b) };
        if let Some(o) = other {
            let (mut name, mut wrong) = (path.to_string(), camel(path));
            if self.k8s {
                std::mem::swap(&mut name, &mut wrong);
            }
            self.warn(
                self.at(o),
                wrong,
                format!("ignored: Sloth reads `{name}` in this format"),
            );
        }
        used.as_ref()
    }

    /// Every SLO of a `prometheus/v1` file or of a resource's `spec`.
    fn group(&mut self, g: &Group, k8s: bool) {
        self.k8s = k8s;
        let path = if k8s {
            "spec.slo_plugins"
        } else {
            "slo_plugins"
        };
        let plugins = self.pick(&g.slo_plugins, &g.slo_plugins_k8s, path);
        let service = g.service.as_ref().map_or("", |v| v.value.as_str());
        for e in g.slos.iter().flatten() {
            let name = e.value.name.as_ref().map_or("", |v| v.value.as_str());
            let marks = self.begin(format!("{service}/{name}"));
            let slo = self.slo(g, plugins, e);
            self.finish(marks, slo);
        }
    }

    /// One entry of `slos:`; `None` when something in it is refused (the reasons are recorded).
    fn slo(
        &mut self,
        g: &Group,
        gp: Option<&Spanned<Plugins>>,
        e: &Spanned<SloSpec>,
    ) -> Option<Slo> {
        let (s, entry, p) = (&e.value, self.at(e), if self.k8s { "spec." } else { "" });
        let service = g.service.as_ref().map_or("", |v| v.value.as_str());
        let name = s.name.as_ref().map_or("", |v| v.value.as_str());
        for (missing, field) in [
            (service.is_empty(), format!("{p}service")),
            (name.is_empty(), "name".into()),
        ] {
            if missing {
                self.refuse(entry.clone(), field, "missing: Sloth names the SLO with it");
            }
        }
        let objective = self.percent(&s.objective, 1.0, "objective", &entry);
        let mut labels = self.labels([
            (&g.labels, format!("{p}labels")),
            (&s.labels, "labels".into()),
        ]);
        self.plugins(
            gp,
            &format!("{p}{}", self.spelled("slo_plugins")),
            &mut labels,
        );
        self.plugins(s.plugins.as_ref(), "plugins", &mut labels);
        let sli = self.sli(s.sli.as_ref(), &entry);
        let alerting = self.alerting(s.alerting.as_ref(), &mut labels);
        if self.rules.is_none() {
            let why = format!(
                "Sloth's built-in alert windows are for 28d and 30d, not `{}` (another period needs an AlertWindows catalogue, which the import does not read yet)",
                self.period
            );
            self.refuse(entry, "--period", why);
        }
        let (Some(objective), Some(sli)) = (objective, sli) else {
            return None;
        };
        Some(Slo {
            service: service.to_string(),
            name: name.to_string(),
            objective,
            windows: vec![self.period.clone()],
            timezone: None,
            description: s.description.as_ref().map(|d| d.value.clone()),
            labels,
            sli,
            alerting,
            source: None,
            sla: None,
            group_by: None,
            origin: format!("{}:{}", self.file, e.referenced.line()),
        })
    }

    /// An objective in percent (`scale` 100 for a ratio); slowburn needs 0 < x < 100.
    fn percent(&mut self, v: &Map, scale: f64, field: &str, entry: &At) -> Option<f64> {
        let Some(v) = v else {
            self.refuse(entry.clone(), field, "missing");
            return None;
        };
        let x = v.value.number().map(|n| (n * scale * 1e10).round() / 1e10);
        let why = match x {
            Some(x) if x > 0.0 && x < 100.0 => return Some(x),
            Some(x) if x >= 100.0 => {
                format!("{}% leaves no error budget: use less than 100%", number(x))
            }
            Some(x) => format!("{}%: an objective must be above 0%", number(x)),
            None => "not a number".to_string(),
        };
        self.refuse(self.at(v), field, why);
        None
    }

    /// The group's labels overridden by the SLO's, as Sloth merges them; a key slowburn sets
    /// itself (`severity`, `service`...) is dropped with a warning instead of failing `validate`.
    fn labels(&mut self, maps: [(&Map, String); 2]) -> Labels {
        let mut out = BTreeMap::new();
        for (map, field) in maps {
            let Some(m) = map else { continue };
            for (k, v) in &m.value.map {
                let Some(text) = &v.text else { continue };
                if reserved(k) {
                    let why = format!(
                        "dropped: slowburn sets the label `{}` itself",
                        label_name(k)
                    );
                    self.warn(self.at(m), format!("{field}.{k}"), why);
                } else {
                    out.insert(k.clone(), text.clone());
                }
            }
        }
        out
    }

    /// Gives the SLO a label found outside its labels (an alert label, an `info_labels`
    /// plugin's): only a free key that slowburn does not set; a warning says which happened.
    fn adopt(&mut self, labels: &mut Labels, key: &str, value: &str, at: At, field: String) {
        let why = match labels.get(key) {
            Some(v) if v == value => return,
            Some(_) => format!("dropped: the SLO has its own `{key}` label"),
            None if reserved(key) => format!("dropped: slowburn sets `{}` itself", label_name(key)),
            None => {
                labels.insert(key.to_string(), value.to_string());
                "became an SLO label: it reaches Alertmanager as one".to_string()
            }
        };
        self.warn(at, field, why);
    }

    /// Sloth's SLO plugins shape the rules Sloth writes, and slowburn writes none: each is
    /// dropped with a warning (`info_labels/v1` gives its labels to the SLO first).
    fn plugins(&mut self, chain: Option<&Spanned<Plugins>>, field: &str, labels: &mut Labels) {
        let Some(chain) = chain else { return };
        for (i, p) in chain.value.chain.iter().flatten().enumerate() {
            let name = p.value.id.as_ref().map_or("?", |s| s.value.as_str());
            let (at, field) = (self.at(p), format!("{field}.chain[{i}]"));
            let config = p.value.config.as_ref().and_then(|c| c.map.get("labels"));
            if name.ends_with("/info_labels/v1")
                && let Some(given) = config
            {
                for (k, v) in &given.map {
                    let Some(v) = &v.text else { continue };
                    self.adopt(
                        labels,
                        k,
                        v,
                        at.clone(),
                        format!("{field}.config.labels.{k}"),
                    );
                }
            }
            self.warn(
                at,
                field,
                format!("SLO plugin `{name}` dropped: {}", plugin_hint(name)),
            );
        }
    }

    /// The SLI through the shared translator; a plugin SLI is refused, since its query exists
    /// only once Sloth runs the plugin's Go code.
    fn sli(&mut self, sli: Option<&Spanned<SliSpec>>, entry: &At) -> Option<Sli> {
        let Some(sli) = sli else {
            self.refuse(entry.clone(), "sli", "missing: give sli.events or sli.raw");
            return None;
        };
        match (&sli.value.events, &sli.value.raw, &sli.value.plugin) {
            (Some(e), None, None) => {
                let v = &e.value;
                let err = self.pick(&v.error_query, &v.error_query_k8s, "sli.events.error_query");
                let total = self.pick(&v.total_query, &v.total_query_k8s, "sli.events.total_query");
                let res = err.zip(total).map(|(x, t)| {
                    promql::ratio(None, Some(x.value.as_str()), Some(t.value.as_str()), WINDOW)
                });
                self.translated(res, self.at(e), "sli.events")
            }
            (None, Some(r), None) => {
                let (a, b) = (&r.value.error_ratio_query, &r.value.error_ratio_query_k8s);
                let q = self.pick(a, b, "sli.raw.error_ratio_query");
                let res = q.map(|q| promql::precomputed(&q.value, true, WINDOW));
                self.translated(res, self.at(r), "sli.raw")
            }
            (None, None, Some(p)) => {
                let name = p.value.id.as_ref().map_or("?", |v| v.value.as_str());
                let at = p
                    .value
                    .id
                    .as_ref()
                    .map_or_else(|| self.at(p), |v| self.at(v));
                let why = format!(
                    "`{name}` is Go code Sloth runs to build the query; slowburn cannot run it: write the query it returns as sli.events (error_query/total_query) or sli.raw and import again"
                );
                self.refuse(at, "sli.plugin", why);
                None
            }
            _ => {
                self.refuse(
                    self.at(sli),
                    "sli",
                    "give exactly one of events, raw and plugin",
                );
                None
            }
        }
    }

    /// The translator's answer: its warnings become findings at `at`, its refusal a refusal.
    fn translated(&mut self, res: Answer, at: At, field: &str) -> Option<Sli> {
        match res {
            Some(Ok(t)) => {
                for w in t.warnings {
                    self.warn(at.clone(), field, w);
                }
                Some(t.sli)
            }
            Some(Err(why)) => {
                self.refuse(at, field, why);
                None
            }
            None => {
                self.refuse(at, field, "a query is missing");
                None
            }
        }
    }

    /// `alerting:`: which of Sloth's alerts are on picks the rules of its catalogue for the
    /// period; both off is gap G2 (the built-in rules stay, the extra tickets go).
    fn alerting(&mut self, a: Option<&Spanned<AlertSpec>>, labels: &mut Labels) -> Alerting {
        let (page, ticket) = a.map_or((true, true), |a| self.alert_cosmetics(a, labels));
        if page && ticket && self.thirty {
            return Alerting::default();
        }
        if !page && !ticket {
            let at = a.map_or_else(|| At::file(self.file), |a| self.at(a));
            self.warn(at, "alerting", G2);
            let (budget_exhausted_off, no_data_off) = (true, true);
            let budget_ticket_below = Some(0.0);
            return Alerting {
                rules: None,
                budget_ticket_below,
                budget_exhausted_off,
                no_data_off,
                ..Alerting::default()
            };
        }
        let on = |r: &&Rule| {
            if r.severity == Severity::Page {
                page
            } else {
                ticket
            }
        };
        let rules = self.rules.iter().flatten().filter(on).cloned().collect();
        Alerting {
            rules: Some(rules),
            ..Alerting::default()
        }
    }

    /// Warns about what `alerting:` says that slowburn has no place for; alert labels become SLO
    /// labels where they can. Returns whether the page and the ticket alert are on.
    fn alert_cosmetics(&mut self, a: &Spanned<AlertSpec>, labels: &mut Labels) -> (bool, bool) {
        let v = &a.value;
        if let Some(n) = &v.name {
            let why = format!("`{}` dropped: slowburn names its alerts itself", n.value);
            self.warn(self.at(n), "alerting.name", why);
        }
        if let Some(l) = &v.labels {
            for (k, val) in &l.value.map {
                let Some(val) = &val.text else { continue };
                self.adopt(labels, k, val, self.at(l), format!("alerting.labels.{k}"));
            }
        }
        self.dropped(&v.annotations, "alerting.annotations", NO_ANNOTATIONS);
        let page = self.pick(&v.page_alert, &v.page_alert_k8s, "alerting.page_alert");
        let ticket = self.pick(
            &v.ticket_alert,
            &v.ticket_alert_k8s,
            "alerting.ticket_alert",
        );
        let mut on = [true, true];
        for (i, (alert, path)) in [
            (page, "alerting.page_alert"),
            (ticket, "alerting.ticket_alert"),
        ]
        .into_iter()
        .enumerate()
        {
            let Some(alert) = alert else { continue };
            on[i] = alert.value.disable != Some(true);
            let path = self.spelled(path);
            self.dropped(&alert.value.labels, &format!("{path}.labels"), ROUTE);
            self.dropped(
                &alert.value.annotations,
                &format!("{path}.annotations"),
                NO_ANNOTATIONS,
            );
        }
        (on[0], on[1])
    }

    /// One warning naming the keys of a mapping that is dropped.
    fn dropped(&mut self, map: &Map, field: &str, why: &str) {
        let Some(m) = map.as_ref().filter(|m| !m.value.map.is_empty()) else {
            return;
        };
        let keys: Vec<&str> = m.value.map.keys().map(String::as_str).collect();
        self.warn(
            self.at(m),
            field,
            format!("{{{}}} dropped: {why}", keys.join(", ")),
        );
    }

    /// An OpenSLO v1alpha SLO as Sloth reads it: each objective is one SLO, `<name>-<index>`.
    fn alpha(&mut self, doc: &Alpha) {
        let objectives = doc.spec.value.objectives.as_deref().unwrap_or_default();
        if objectives.is_empty() {
            self.refuse(
                self.at(&doc.spec),
                "spec.objectives",
                "none: Sloth needs at least one",
            );
        }
        let service = doc
            .spec
            .value
            .service
            .as_ref()
            .map_or("", |v| v.value.as_str());
        let base = doc.metadata.as_ref().and_then(|m| m.name.as_ref());
        let base = base.map_or("", |n| n.value.as_str());
        for (i, o) in objectives.iter().enumerate() {
            let marks = self.begin(format!("{service}/{base}-{i}"));
            let slo = self.objective(doc, i, o);
            self.finish(marks, slo);
        }
    }

    /// Objective `i` of a v1alpha SLO: ratioMetrics good/total only, as Sloth; no alerting.
    fn objective(&mut self, doc: &Alpha, i: usize, o: &Spanned<Objective>) -> Option<Slo> {
        let (s, at, path) = (&doc.spec.value, self.at(o), format!("spec.objectives[{i}]"));
        let meta = doc.metadata.as_ref();
        let base = meta
            .and_then(|m| m.name.as_ref())
            .map_or("", |n| n.value.as_str());
        let service = s.service.as_ref().map_or("", |v| v.value.as_str());
        for (missing, field) in [
            (service.is_empty(), "spec.service"),
            (base.is_empty(), "metadata.name"),
        ] {
            if missing {
                self.refuse(at.clone(), field, "missing");
            }
        }
        let shown = [
            (
                meta.and_then(|m| m.display_name.as_ref()),
                "metadata.displayName".to_string(),
            ),
            (o.value.display_name.as_ref(), format!("{path}.displayName")),
        ];
        for (d, field) in shown {
            let Some(d) = d else { continue };
            self.warn(
                self.at(d),
                field,
                "dropped: slowburn SLOs have no display name",
            );
        }
        let why = "OpenSLO v1alpha has no alerting (Sloth generates none for it): slowburn's built-in policy applies";
        self.warn(self.at(&doc.spec), "spec", why);
        let objective = self.percent(&o.value.target, 100.0, &format!("{path}.target"), &at);
        let window = self.time_window(&doc.spec);
        let sli = self.alpha_sli(o, &path);
        let (Some(objective), Some(window), Some(sli)) = (objective, window, sli) else {
            return None;
        };
        Some(Slo {
            service: service.to_string(),
            name: format!("{base}-{i}"),
            objective,
            windows: vec![window],
            timezone: None,
            description: s.description.as_ref().map(|d| d.value.clone()),
            labels: BTreeMap::new(),
            sli,
            alerting: Alerting::default(),
            source: None,
            sla: None,
            group_by: None,
            origin: format!("{}:{}", self.file, o.referenced.line()),
        })
    }

    /// `timeWindows`: none is the period flag; else one rolling window of minutes to weeks.
    fn time_window(&mut self, spec: &Spanned<AlphaSpec>) -> Option<String> {
        let windows = spec.value.time_windows.as_deref().unwrap_or_default();
        let [w] = windows else {
            if windows.is_empty() {
                let why = format!(
                    "none: the period is Sloth's CLI default, {} (`--period`)",
                    self.period
                );
                self.warn(self.at(spec), "spec.timeWindows", why);
                return Some(self.period.clone());
            }
            self.refuse(
                self.at(spec),
                "spec.timeWindows",
                "only one window is supported, as in Sloth",
            );
            return None;
        };
        let t = &w.value;
        let unit = t
            .unit
            .as_ref()
            .map_or_else(String::new, |u| u.value.to_ascii_lowercase());
        let suffix = match unit.as_str() {
            "minute" => "m",
            "hour" => "h",
            "day" => "d",
            "week" => "w",
            _ => "",
        };
        let count = t
            .count
            .as_ref()
            .and_then(Value::number)
            .filter(|c| *c >= 1.0 && c.fract() == 0.0);
        let why = if t.calendar.is_some() || t.is_rolling == Some(false) {
            "calendar windows cannot be imported: slowburn's windows are rolling"
        } else if suffix.is_empty() {
            "unit: Minute, Hour, Day or Week (months, quarters and years have no fixed length)"
        } else if let Some(c) = count {
            return Some(format!("{}{suffix}", c as u64));
        } else {
            "count: a positive whole number is needed"
        };
        self.refuse(self.at(w), "spec.timeWindows[0]", why);
        None
    }

    /// `ratioMetrics` good/total as Sloth reads them (it refuses the other kinds).
    fn alpha_sli(&mut self, o: &Spanned<Objective>, path: &str) -> Option<Sli> {
        let field = format!("{path}.ratioMetrics");
        let Some(rm) = &o.value.ratio_metrics else {
            let why = "missing: Sloth reads only ratioMetrics (a thresholdMetric imports with --from openslo)";
            self.refuse(self.at(o), field, why);
            return None;
        };
        let refused = self.out.refused.len();
        let good = self.alpha_query(&rm.value.good, &format!("{field}.good"));
        let total = self.alpha_query(&rm.value.total, &format!("{field}.total"));
        if self.out.refused.len() > refused {
            return None;
        }
        let res = good
            .zip(total)
            .map(|(g, t)| promql::ratio(Some(g), None, Some(t), WINDOW));
        self.translated(res, self.at(rm), &field)
    }

    /// One side of `ratioMetrics`: a PromQL query of a Prometheus source, as Sloth requires.
    fn alpha_query<'m>(&mut self, m: &'m Opt<Metric>, field: &str) -> Option<&'m str> {
        let m = m.as_ref()?;
        let text = |s: &'m Opt<String>| s.as_ref().map_or("", |s| s.value.as_str());
        let (source, kind) = (text(&m.value.source), text(&m.value.query_type));
        let why = if !matches!(source, "prometheus" | "sloth") {
            format!("source `{source}`: Sloth reads only prometheus (or sloth) queries")
        } else if kind != "promql" {
            format!("queryType `{kind}`: Sloth reads only promql")
        } else {
            return m.value.query.as_ref().map(|q| q.value.as_str());
        };
        self.refuse(self.at(m), field, why);
        None
    }
}

#[cfg(test)]
mod tests;
