//! OpenSLO v1 (`--from openslo`): every file is loaded first, since an SLO names its SLI, its
//! alert policies and their conditions by `metadata.name`, in any file. Each objective of an SLO
//! becomes one slowburn SLO; what slowburn cannot hold (calendar windows other than a week, month or quarter, RatioTimeslices, data
//! sources other than Prometheus) refuses that SLO at the field that says it.
//!
//! What slowburn's own export (`slowburn export --to openslo`) writes where OpenSLO has no field
//! — its `slowburn.dev/<key>` annotations ([`NOTES`]) — is read back, so export, import and
//! export again give the same bytes.

use super::promql::{self, Window};
use super::{
    Alerting, At, Finding, GroupBy, Imported, Input, Options, Rule, Severity, Sla, Sli, Slo,
};
use super::{not_ours, number, unreadable};
use crate::duration::{self, Dur};
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

/// A string with its position, so a finding can point at it.
type SStr = Spanned<String>;
/// A loosely typed field with its position.
type SVal = Spanned<Json>;

/// The kinds OpenSLO v1 defines; other kinds are not ours.
const KINDS: &str = "Service SLO SLI DataSource AlertPolicy AlertCondition AlertNotificationTarget";
/// Label keys slowburn sets itself on what it exports: an SLO label of that name would clash.
const RESERVED: &str = "service slo description sli source queries alertname severity";
/// The prefix of the annotations slowburn's export writes.
const PREFIX: &str = "slowburn.dev/";
/// The `slowburn.dev/<key>` annotations read back (`short` on an AlertCondition, the others on
/// an SLO): what OpenSLO has no field for, spelled as the `slo.yaml` path it comes from.
const NOTES: &str = "windows timezone sli.source group_by max_groups sla.objective sla.threshold alerting.min_events alerting.budget_ticket_below alerting.budget_exhausted alerting.no_data_after short";

/// Any OpenSLO object, inline or a reference to one (`alertPolicyRef`, `conditionRef`,
/// `targetRef`): one union type reads every kind, and every field is optional so a missing one
/// is a finding at its SLO rather than a YAML error for the whole file.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Node {
    api_version: Option<SStr>,
    kind: Option<SStr>,
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    spec: Spec,
    alert_policy_ref: Option<SStr>,
    condition_ref: Option<SStr>,
    target_ref: Option<SStr>,
}

/// `metadata`: the name references resolve by; labels (a value may be a list); what is dropped.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    name: Option<SStr>,
    display_name: Option<SStr>,
    #[serde(default)]
    labels: BTreeMap<String, SVal>,
    annotations: Option<Spanned<BTreeMap<String, Json>>>,
}

/// A list written with nothing after its key (`alertPolicies:` followed only by a comment, as
/// OpenSLO's own examples do) reads as empty, not as a type error of the whole document.
fn empty_if_null<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `spec` of every kind at once: SLO (description … alertPolicies), SLI (description,
/// ratioMetric, thresholdMetric), DataSource (type, connectionDetails), AlertPolicy
/// (alertWhenNoData, alertWhenBreaching, conditions, notificationTargets), AlertCondition
/// (severity, condition) and AlertNotificationTarget (target).
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    description: Option<SStr>,
    service: Option<SStr>,
    indicator: Option<Box<Node>>,
    indicator_ref: Option<SStr>,
    #[serde(default, deserialize_with = "empty_if_null")]
    time_window: Vec<Spanned<TimeWindow>>,
    budgeting_method: Option<SStr>,
    #[serde(default, deserialize_with = "empty_if_null")]
    objectives: Vec<Spanned<Objective>>,
    #[serde(default, deserialize_with = "empty_if_null")]
    alert_policies: Vec<Node>,
    ratio_metric: Option<Spanned<RatioMetric>>,
    threshold_metric: Option<Spanned<Metric>>,
    #[serde(rename = "type")]
    source_type: Option<SStr>,
    connection_details: Option<Spanned<BTreeMap<String, Json>>>,
    alert_when_no_data: Option<SVal>,
    alert_when_breaching: Option<SVal>,
    #[serde(default, deserialize_with = "empty_if_null")]
    conditions: Vec<Node>,
    #[serde(default, deserialize_with = "empty_if_null")]
    notification_targets: Vec<Node>,
    severity: Option<SStr>,
    condition: Option<Spanned<Condition>>,
    target: Option<SStr>,
}

/// `timeWindow[]`: rolling (`duration`, `isRolling: true`) or calendar-aligned (a week, month or
/// quarter from its natural start).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TimeWindow {
    duration: Option<SStr>,
    is_rolling: Option<SVal>,
    calendar: Option<Spanned<BTreeMap<String, Json>>>,
}

/// `objectives[]`: the target, and for threshold SLIs the comparison and the slice fields.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Objective {
    display_name: Option<SStr>,
    op: Option<SStr>,
    value: Option<SVal>,
    target: Option<SVal>,
    target_percent: Option<SVal>,
    time_slice_target: Option<SVal>,
    time_slice_window: Option<SVal>,
}

/// `ratioMetric`: good or bad with total, or a precomputed `raw` ratio and its `rawType`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RatioMetric {
    good: Option<Spanned<Metric>>,
    bad: Option<Spanned<Metric>>,
    total: Option<Spanned<Metric>>,
    raw_type: Option<SStr>,
    raw: Option<Spanned<Metric>>,
}

/// A side of a ratio or a threshold metric: `{metricSource: {metricSourceRef | type, spec}}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metric {
    metric_source: Option<Spanned<MetricSource>>,
}

/// `metricSource`: where the query runs (inline `type` or a DataSource by name) and the query.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetricSource {
    metric_source_ref: Option<SStr>,
    #[serde(rename = "type")]
    source_type: Option<SStr>,
    #[serde(default)]
    spec: BTreeMap<String, SVal>,
}

/// `AlertCondition.spec.condition`: a burn rate over `lookbackWindow` at or above `threshold`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Condition {
    kind: Option<SStr>,
    op: Option<SStr>,
    threshold: Option<SVal>,
    lookback_window: Option<SStr>,
    alert_after: Option<SStr>,
}

/// A field peers write as a number or a string (`tier: 1`, `target: "0.99"`), a string or a
/// list (labels), or a mapping: read as any value, judged where it is used, so one odd field
/// never fails the file.
type Json = serde_json::Value;

/// A scalar as text (`1` is "1", `true` is "true"); `None` for lists, mappings and null.
fn scalar(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A finite number, written as a number or a string.
fn num(v: &Json) -> Option<f64> {
    scalar(v)?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
}

/// An explicit `false` (a missing flag keeps its default, true).
fn is_false(v: &Json) -> bool {
    scalar(v).is_some_and(|s| s.eq_ignore_ascii_case("false"))
}

/// The text of an optional string field, empty when missing.
fn text(s: Option<&SStr>) -> &str {
    s.map_or("", |s| s.value.as_str())
}

/// A `slowburn.dev/<key>` annotation of an object, as text.
fn note(meta: &Meta, key: &str) -> Option<String> {
    let a = meta.annotations.as_ref()?;
    scalar(a.value.get(&format!("{PREFIX}{key}"))?).map(|s| s.trim().to_string())
}

/// Where an object's annotations are (their values have no position of their own).
fn notes_at(file: &str, meta: &Meta) -> At {
    meta.annotations
        .as_ref()
        .map_or_else(|| At::file(file), |a| At::of(file, a))
}

/// Why a field is refused when it names another source than Prometheus.
const ONLY: &str = "slowburn reads Prometheus (and Loki) only";

/// Why a reference is refused when no given file defines what it names.
fn missing(kind: &str, name: &str) -> String {
    format!("no {kind} named `{name}` in the given files: give its file too")
}

impl Node {
    /// Its kind, empty when missing.
    fn kind(&self) -> &str {
        text(self.kind.as_ref())
    }
    /// Its name, empty when missing.
    fn name(&self) -> &str {
        text(self.metadata.name.as_ref())
    }
    /// Where it starts (its kind, else its name), for findings about it as a whole.
    fn at(&self, file: &str) -> At {
        let s = self.kind.as_ref().or(self.metadata.name.as_ref());
        s.map_or_else(|| At::file(file), |s| At::of(file, s))
    }
}

/// A document of the second pass and the file it came from.
struct Loaded {
    /// The file, as findings name it.
    file: String,
    /// The object.
    node: Node,
}

/// Where an SLI's fields are: its file and the path of its `spec` as the input names it
/// (`spec.indicator.spec` inline, `spec` in an SLI document).
#[derive(Clone, Copy)]
struct Src<'a>(&'a str, &'static str);

/// One objective with its file and index: op, value and the slice fields live in the SLO.
#[derive(Clone, Copy)]
struct Goal<'a>(&'a str, &'a Spanned<Objective>, usize);

/// One SLO being built: its findings stay apart until the end, since one refusal drops the SLO
/// and its warnings with it.
struct Ctx<'a> {
    /// Every loaded document, for references.
    docs: &'a [Loaded],
    /// `service/name`.
    id: String,
    /// Reasons to drop the SLO.
    refused: Vec<Finding>,
    /// What it loses.
    warnings: Vec<Finding>,
    /// Its queries are LogQL (`slowburn.dev/sli.source: loki`): taken as written, since the
    /// PromQL translator cannot read them; slowburn checks them when it loads the file.
    loki: bool,
}

impl<'a> Ctx<'a> {
    /// A finding about this SLO.
    fn finding(&self, at: At, field: &str, why: String) -> Finding {
        let (slo, field) = (Some(self.id.clone()), field.to_string());
        Finding {
            at,
            slo,
            field,
            why,
        }
    }
    /// Records a refusal; `None` lets callers return it.
    fn refuse<T>(&mut self, at: At, field: &str, why: impl Into<String>) -> Option<T> {
        let f = self.finding(at, field, why.into());
        self.refused.push(f);
        None
    }
    /// Records a warning.
    fn warn(&mut self, at: At, field: &str, why: impl Into<String>) {
        let f = self.finding(at, field, why.into());
        self.warnings.push(f);
    }
    /// The document of `kind` named `name`, in any file.
    fn find(&self, kind: &str, name: &str) -> Option<&'a Loaded> {
        self.docs
            .iter()
            .find(|d| d.node.kind() == kind && d.node.name() == name)
    }
    /// The object reference `r` (at `field`) names, or the inline `node` when there is none.
    fn resolve(
        &mut self,
        (file, node): (&'a str, &'a Node),
        r: Option<&SStr>,
        kind: &str,
        field: &str,
    ) -> Option<(&'a str, &'a Node)> {
        let Some(r) = r else {
            return Some((file, node));
        };
        match self.find(kind, &r.value) {
            Some(d) => Some((d.file.as_str(), &d.node)),
            None => self.refuse(At::of(file, r), field, missing(kind, &r.value)),
        }
    }
}

/// Reads every file, then every SLO, resolving references across the files.
pub(super) fn read(inputs: &[Input], options: &Options) -> Imported {
    let mut out = Imported::default();
    let mut docs = Vec::new();
    for input in inputs {
        // `---`-separated documents, or one list of them (go-sdk reads both).
        let parsed = serde_saphyr::from_multiple::<Node>(&input.text).or_else(|e| {
            serde_saphyr::from_str::<Vec<Option<Node>>>(&input.text)
                .map(|list| list.into_iter().flatten().collect())
                .map_err(|_| e)
        });
        match parsed {
            Ok(parsed) => keep(input, parsed, &mut docs, &mut out),
            Err(e) => out.refused.push(unreadable(&input.path, &e)),
        }
    }
    for d in docs.iter().filter(|d| d.node.kind() == "DataSource") {
        let spec = &d.node.spec;
        let ty = text(spec.source_type.as_ref()).to_ascii_lowercase();
        let url = spec
            .connection_details
            .as_ref()
            .and_then(|c| scalar(c.value.get("url")?));
        let slot = match ty.as_str() {
            "prometheus" => &mut out.prometheus_url,
            "loki" => &mut out.loki_url,
            _ => continue,
        };
        if slot.is_none() {
            *slot = url;
        }
    }
    for d in docs.iter().filter(|d| d.node.kind() == "SLO") {
        slo(d, &docs, options, &mut out);
    }
    out
}

/// Keeps a file's OpenSLO v1 documents; others are skipped with a warning.
fn keep(input: &Input, parsed: Vec<Node>, docs: &mut Vec<Loaded>, out: &mut Imported) {
    for node in parsed {
        let (version, kind) = (text(node.api_version.as_ref()).to_string(), node.kind());
        let what = match version.as_str() {
            "openslo/v1" | "openslo.com/v1" if KINDS.split(' ').any(|k| k == kind) => {
                docs.push(Loaded {
                    file: input.path.clone(),
                    node,
                });
                continue;
            }
            "openslo/v1" | "openslo.com/v1" => format!("kind `{kind}`"),
            "openslo/v1alpha" => "`openslo/v1alpha` (as Sloth reads it: use `--from sloth`)".into(),
            "" => format!("`{kind}` without apiVersion"),
            v => format!("apiVersion `{v}`"),
        };
        out.warnings
            .push(not_ours(&input.path, node.at(&input.path), &what));
    }
}

/// Every objective of one SLO document, each a slowburn SLO.
fn slo(d: &Loaded, docs: &[Loaded], options: &Options, out: &mut Imported) {
    let (spec, name) = (&d.node.spec, d.node.name());
    let service = text(spec.service.as_ref());
    let loki = note(&d.node.metadata, "sli.source").is_some_and(|s| s == "loki");
    let new = |name: &str| Ctx {
        docs,
        id: format!("{service}/{name}"),
        refused: Vec::new(),
        warnings: Vec::new(),
        loki,
    };
    if spec.objectives.is_empty() {
        let mut cx = new(name);
        let why = "none: nothing to budget";
        cx.refuse::<()>(d.node.at(&d.file), "spec.objectives", why);
        out.refused.extend(cx.refused);
    }
    for (i, obj) in spec.objectives.iter().enumerate() {
        let name = objective_name(name, spec.objectives.len(), i, &obj.value);
        let mut cx = new(&name);
        match build(&mut cx, d, Goal(&d.file, obj, i), name, options) {
            Some(s) if cx.refused.is_empty() => {
                out.slos.push(s);
                out.warnings.extend(cx.warnings);
            }
            _ => out.refused.extend(cx.refused),
        }
    }
}

/// `<slo>` for one objective, `<slo>-<displayName or index>` for several.
fn objective_name(name: &str, count: usize, i: usize, obj: &Objective) -> String {
    let label = text(obj.display_name.as_ref()).to_ascii_lowercase();
    let split = label.split(|c: char| !c.is_ascii_alphanumeric());
    let words: Vec<&str> = split.filter(|w| !w.is_empty()).collect();
    match (count, words.is_empty()) {
        (1, _) => name.to_string(),
        (_, true) => format!("{name}-{i}"),
        (_, false) => format!("{name}-{}", words.join("-")),
    }
}

/// One SLO for one objective; `None` when something was refused.
fn build<'a>(
    cx: &mut Ctx<'a>,
    d: &'a Loaded,
    goal: Goal<'_>,
    name: String,
    options: &Options,
) -> Option<Slo> {
    let (file, spec, meta) = (d.file.as_str(), &d.node.spec, &d.node.metadata);
    identity(cx, file, &d.node);
    let windows = windows(cx, file, spec, options)
        .zip(more_windows(cx, file, meta))
        .map(|((mut w, zone), more)| {
            w.extend(more);
            (w, zone)
        });
    let zone = timezone(cx, file, meta);
    let objective = objective(cx, goal);
    let found = indicator(cx, d);
    let method = timeslices(cx, file, spec.budgeting_method.as_ref());
    let sli = method
        .zip(found)
        .and_then(|(ts, (src, n))| sli(cx, src, n, ts, goal));
    let description = spec
        .description
        .as_ref()
        .or_else(|| found.and_then(|(_, n)| n.spec.description.as_ref()))
        .map(|s| s.value.clone());
    let mut alerting = alerting(cx, d);
    overrides(cx, file, meta, &mut alerting);
    let (source, sla) = (source(cx, file, meta), sla(cx, file, meta));
    let labels = labels(cx, file, meta);
    let group_by = group_by(cx, file, meta, &labels, sli.as_ref(), source.as_deref());
    let service = text(spec.service.as_ref()).to_string();
    let origin = format!("{file}:{}", d.node.at(file).line);
    let (objective, (windows, calendar_zone), sli) = (objective?, windows?, sli?);
    let timezone = calendar_zone.or(zone?);
    Some(Slo {
        service,
        name,
        objective,
        windows,
        timezone,
        description,
        labels,
        sli,
        alerting,
        source,
        sla,
        group_by,
        origin,
    })
}

/// `slowburn.dev/timezone`: the zone of the calendar periods among the windows.
fn timezone(cx: &mut Ctx<'_>, file: &str, meta: &Meta) -> Option<Option<String>> {
    let Some(zone) = note(meta, "timezone") else {
        return Some(None);
    };
    match crate::calendar::parse_zone(&zone) {
        Ok(_) => Some(Some(zone)),
        Err(e) => {
            let field = format!("metadata.annotations.{PREFIX}timezone");
            cx.refuse(notes_at(file, meta), &field, e)
        }
    }
}

/// `slowburn.dev/windows`: the windows after the first, comma-separated.
fn more_windows(cx: &mut Ctx<'_>, file: &str, meta: &Meta) -> Option<Vec<String>> {
    let Some(list) = note(meta, "windows") else {
        return Some(Vec::new());
    };
    let mut out = Vec::new();
    for w in list.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        if crate::calendar::Unit::parse(w).is_some() {
            out.push(w.to_string());
            continue;
        }
        if let Err(e) = duration::parse(w) {
            let field = format!("metadata.annotations.{PREFIX}windows");
            return cx.refuse(notes_at(file, meta), &field, e.to_string());
        }
        out.push(w.to_string());
    }
    Some(out)
}

/// `slowburn.dev/sli.source`: `loki` (its queries are LogQL), else Prometheus.
fn source(cx: &mut Ctx<'_>, file: &str, meta: &Meta) -> Option<String> {
    match note(meta, "sli.source")?.as_str() {
        "loki" => Some("loki".into()),
        "prometheus" => None,
        other => {
            let why = format!("`{other}`: slowburn's sources are prometheus and loki");
            let field = format!("metadata.annotations.{PREFIX}sli.source");
            cx.refuse(notes_at(file, meta), &field, why)
        }
    }
}

/// `slowburn.dev/group_by` (labels, comma-separated) and `slowburn.dev/max_groups`: one SLO per
/// value of those labels, as slowburn's export writes a grouped SLO (OpenSLO has no field for
/// it). Refused, at the annotations, when the labels or the SLI could not be grouped: the written
/// file would not validate. `None` also when there is no `group_by`.
fn group_by(
    cx: &mut Ctx<'_>,
    file: &str,
    meta: &Meta,
    labels: &BTreeMap<String, String>,
    sli: Option<&Sli>,
    source: Option<&str>,
) -> Option<GroupBy> {
    let at = notes_at(file, meta);
    let max_field = format!("metadata.annotations.{PREFIX}max_groups");
    let max = note(meta, "max_groups");
    let Some(list) = note(meta, "group_by") else {
        if max.is_some() {
            let why =
                "caps the members of a grouped SLO: give `slowburn.dev/group_by` too, or remove it";
            return cx.refuse(at, &max_field, why);
        }
        return None;
    };
    let field = format!("metadata.annotations.{PREFIX}group_by");
    let names = super::group_labels(list.split(',').filter(|l| !l.trim().is_empty()));
    if names.is_empty() {
        let why = "no label: give one or more, comma-separated (`route,code`)";
        return cx.refuse(at, &field, why);
    }
    let before = cx.refused.len();
    for why in super::group_label_problems(&names, labels) {
        cx.refuse::<()>(at.clone(), &field, why);
    }
    if let Some(why) = sli.and_then(|s| super::ungroupable(s, source)) {
        cx.refuse::<()>(at.clone(), &field, why);
    }
    let limit = crate::config::group::LIMIT;
    let max = match max {
        None => None,
        Some(m) => match m.parse::<u64>() {
            Ok(n) if (1..=limit).contains(&n) => Some(n),
            _ => {
                let why = format!("`{m}`: a number of members from 1 to {limit}");
                cx.refuse(at, &max_field, why)
            }
        },
    };
    (cx.refused.len() == before).then_some(GroupBy { labels: names, max })
}

/// `slowburn.dev/sla.objective` (percent) and `slowburn.dev/sla.threshold`: the SLA.
fn sla(cx: &mut Ctx<'_>, file: &str, meta: &Meta) -> Option<Sla> {
    let objective = note(meta, "sla.objective")?;
    let threshold = note(meta, "sla.threshold");
    match objective.parse::<f64>() {
        Ok(objective) if objective > 0.0 && objective < 100.0 => Some(Sla {
            objective,
            threshold,
        }),
        _ => {
            let field = format!("metadata.annotations.{PREFIX}sla.objective");
            let why = format!("`{objective}`: a percentage above 0 and below 100");
            cx.refuse(notes_at(file, meta), &field, why)
        }
    }
}

/// `slowburn.dev/alerting.*`: the policy's settings OpenSLO has no field for.
fn overrides(cx: &mut Ctx<'_>, file: &str, meta: &Meta, a: &mut Alerting) {
    let at = notes_at(file, meta);
    let mut bad = |key: &str, value: &str, want: &str| {
        let field = format!("metadata.annotations.{PREFIX}alerting.{key}");
        cx.refuse::<()>(at.clone(), &field, format!("`{value}`: {want}"));
    };
    if let Some(m) = note(meta, "alerting.min_events") {
        match m.parse::<f64>() {
            Ok(x) if x >= 0.0 && x.is_finite() => a.min_events = Some(x),
            _ => bad("min_events", &m, "a number of events, zero or more"),
        }
    }
    if let Some(b) = note(meta, "alerting.budget_ticket_below") {
        match b.parse::<f64>() {
            Ok(x) if (0.0..1.0).contains(&x) => a.budget_ticket_below = Some(x),
            _ => bad("budget_ticket_below", &b, "a share from 0 (off) to below 1"),
        }
    }
    if let Some(e) = note(meta, "alerting.budget_exhausted") {
        match e.as_str() {
            "none" => a.budget_exhausted_off = true,
            "page" => a.budget_exhausted = Some(Severity::Page),
            "ticket" => a.budget_exhausted = Some(Severity::Ticket),
            _ => bad("budget_exhausted", &e, "page, ticket or none"),
        }
    }
    if let Some(n) = note(meta, "alerting.no_data_after") {
        match n.as_str() {
            "none" => a.no_data_off = true,
            d if duration::parse(d).is_ok() => a.no_data_after = Some(d.to_string()),
            _ => bad("no_data_after", &n, "a duration or none"),
        }
    }
}

/// Refuses an SLO without service or name; warns about the names slowburn has no place for.
fn identity(cx: &mut Ctx<'_>, file: &str, node: &Node) {
    let meta = &node.metadata;
    for (s, field) in [
        (&node.spec.service, "spec.service"),
        (&meta.name, "metadata.name"),
    ] {
        if s.is_none() {
            cx.refuse::<()>(node.at(file), field, "missing: an SLO is named by it");
        }
    }
    if let Some(n) = &meta.display_name {
        cx.warn(At::of(file, n), "metadata.displayName", "dropped");
    }
    if let Some(a) = &meta.annotations {
        let ours = |k: &str| {
            k.strip_prefix(PREFIX)
                .is_some_and(|n| NOTES.split(' ').any(|x| x == n))
        };
        let keys: Vec<&str> = a
            .value
            .keys()
            .map(String::as_str)
            .filter(|k| !ours(k))
            .collect();
        if !keys.is_empty() {
            let why = format!(
                "`{}` dropped: slowburn SLOs have no annotations (maintenance windows go under `maintenance:`)",
                keys.join("`, `")
            );
            cx.warn(At::of(file, a), "metadata.annotations", why);
        }
    }
}

/// `windows` and the calendar's zone: the rolling `timeWindow` as written, or a calendar-aligned
/// week, month or quarter (`1w`, `1M`, `1Q`) beginning at a natural start in its `timeZone`.
fn windows(
    cx: &mut Ctx<'_>,
    file: &str,
    spec: &Spec,
    options: &Options,
) -> Option<(Vec<String>, Option<String>)> {
    let Some(tw) = spec.time_window.first() else {
        return Some((
            vec![options.period.clone().unwrap_or_else(|| "30d".into())],
            None,
        ));
    };
    let (w, field) = (&tw.value, "spec.timeWindow[0].duration");
    let duration = text(w.duration.as_ref()).trim();
    let off = w.is_rolling.as_ref().filter(|r| is_false(&r.value));
    let calendar = off
        .map(|r| (At::of(file, r), "isRolling"))
        .or_else(|| w.calendar.as_ref().map(|c| (At::of(file, c), "calendar")));
    if let Some((at, key)) = calendar {
        let anchor: Vec<String> = w
            .calendar
            .iter()
            .flat_map(|c| ["startTime", "timeZone"].map(|k| c.value.get(k).and_then(scalar)))
            .flatten()
            .collect();
        let mut what = duration.to_string();
        if !anchor.is_empty() {
            what = format!("{what} from {}", anchor.join(" "));
        }
        let field = format!("spec.timeWindow[0].{key}");
        let unit = match duration {
            "1w" | "1W" | "7d" => crate::calendar::Unit::Week,
            "1M" => crate::calendar::Unit::Month,
            "1Q" | "3M" => crate::calendar::Unit::Quarter,
            _ => {
                let why = format!(
                    "timeWindow is calendar-aligned ({what}): slowburn's calendar periods are a week (1w), a month (1M) and a quarter (1Q)"
                );
                return cx.refuse(at, &field, why);
            }
        };
        let calendar = w.calendar.as_ref().map(|c| &c.value);
        let get = |k: &str| calendar.and_then(|c| c.get(k)).and_then(scalar);
        let zone = get("timeZone").unwrap_or_else(|| "UTC".into());
        if let Err(e) = crate::calendar::parse_zone(&zone) {
            return cx.refuse(at, &format!("{field}.timeZone"), e);
        }
        if let Some(start) = get("startTime")
            && !natural_start(unit, &start)
        {
            let why = format!(
                "timeWindow is calendar-aligned ({what}): slowburn's {unit} begins at midnight of {}, not at {start}",
                match unit {
                    crate::calendar::Unit::Week => "a Monday",
                    crate::calendar::Unit::Month => "the 1st",
                    crate::calendar::Unit::Quarter => "January, April, July or October 1st",
                }
            );
            return cx.refuse(at, &field, why);
        }
        let zone = (zone != "UTC").then_some(zone);
        return Some((vec![unit.name().to_string()], zone));
    }
    let at = w
        .duration
        .as_ref()
        .map_or_else(|| At::of(file, tw), |d| At::of(file, d));
    if duration.ends_with(['M', 'Q', 'Y']) {
        let why = format!(
            "timeWindow duration `{duration}`: months (and `Q`, `Y`) have no fixed length; write the rolling window in days or weeks (e.g. 30d, 4w), or a calendar month with `isRolling: false`"
        );
        return cx.refuse(at, field, why);
    }
    let (min, max) = (Dur::from_secs(3600), Dur::from_secs(90 * 86400));
    match duration::parse(duration) {
        Ok(x) if (min..=max).contains(&x) && x.is_whole_buckets(Dur::from_secs(60)) => {
            Some((vec![duration.to_string()], None))
        }
        Ok(_) => cx.refuse(at, field, "not whole minutes from 1h to 90d"),
        Err(e) => cx.refuse(at, field, e.to_string()),
    }
}

/// Whether an OpenSLO calendar `startTime` (`2026-01-01 00:00:00`) is where slowburn's periods
/// of `unit` begin: local midnight of a Monday, a 1st, or a quarter's first day.
fn natural_start(unit: crate::calendar::Unit, start: &str) -> bool {
    use chrono::Datelike;
    let Ok(t) = chrono::NaiveDateTime::parse_from_str(start.trim(), "%Y-%m-%d %H:%M:%S") else {
        return false;
    };
    let d = t.date();
    t.time() == chrono::NaiveTime::MIN
        && match unit {
            crate::calendar::Unit::Week => d.weekday() == chrono::Weekday::Mon,
            crate::calendar::Unit::Month => d.day() == 1,
            crate::calendar::Unit::Quarter => d.day() == 1 && d.month0() % 3 == 0,
        }
}

/// `labels`: lists joined with `,`; keys slowburn sets itself dropped.
fn labels(cx: &mut Ctx<'_>, file: &str, meta: &Meta) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in &meta.labels {
        let (at, field) = (At::of(file, v), format!("metadata.labels.{k}"));
        let values: Option<Vec<String>> = match &v.value {
            Json::Array(items) => items.iter().map(scalar).collect(),
            other => scalar(other).map(|s| vec![s]),
        };
        let why = match values {
            _ if RESERVED.split(' ').any(|r| r == k.as_str()) => {
                "dropped: slowburn sets this label itself"
            }
            None => "neither a string nor a list of strings: dropped",
            Some(l) => {
                let value = l.join(",");
                if l.len() > 1 {
                    let why = format!("several values [{}]: joined as \"{value}\"", l.join(", "));
                    cx.warn(at, &field, why);
                }
                out.insert(k.clone(), value);
                continue;
            }
        };
        cx.warn(at, &field, why);
    }
    out
}

/// `objective` in percent from `target` or `targetPercent`.
fn objective(cx: &mut Ctx<'_>, Goal(file, obj, i): Goal<'_>) -> Option<f64> {
    let field = format!("spec.objectives[{i}]");
    let (pct, at, key) = match (&obj.value.target, &obj.value.target_percent) {
        // Rounded to 10 places, so 0.995 is 99.5 and not 99.49999999999999.
        (Some(t), _) => (
            num(&t.value).map(|x| (x * 1e12).round() / 1e10),
            At::of(file, t),
            "target",
        ),
        (None, Some(p)) => (num(&p.value), At::of(file, p), "targetPercent"),
        (None, None) => {
            let why = "neither `target` nor `targetPercent`";
            return cx.refuse(At::of(file, obj), &field, why);
        }
    };
    if let Some(p) = pct
        && p > 0.0
        && p < 100.0
    {
        return Some(p);
    }
    let why = "must be above 0 and below 1 (100 for a percentage): slowburn needs an error budget";
    cx.refuse(at, &format!("{field}.{key}"), why)
}

/// The SLO's SLI: inline, or the SLI document its `indicatorRef` names.
fn indicator<'a>(cx: &mut Ctx<'a>, d: &'a Loaded) -> Option<(Src<'a>, &'a Node)> {
    let spec = &d.node.spec;
    if let Some(ind) = &spec.indicator {
        return Some((Src(&d.file, "spec.indicator.spec"), &**ind));
    }
    let Some(r) = &spec.indicator_ref else {
        let why = "neither `indicator` nor `indicatorRef`";
        return cx.refuse(d.node.at(&d.file), "spec.indicator", why);
    };
    let (file, sli) = cx.resolve((&d.file, &d.node), Some(r), "SLI", "spec.indicatorRef")?;
    Some((Src(file, "spec"), sli))
}

/// `Some(true)` for Timeslices, `Some(false)` for Occurrences (the default); else refused.
fn timeslices(cx: &mut Ctx<'_>, file: &str, method: Option<&SStr>) -> Option<bool> {
    let Some(m) = method else { return Some(false) };
    let (at, field) = (At::of(file, m), "spec.budgetingMethod");
    let why = match m.value.as_str() {
        "Occurrences" => return Some(false),
        "Timeslices" => return Some(true),
        "RatioTimeslices" => "budgetingMethod RatioTimeslices averages each slice's ratio; slowburn budgets ratios of event counts (Occurrences) or counts of good slices (Timeslices)".to_string(),
        other => format!("`{other}` is not an OpenSLO budgeting method"),
    };
    cx.refuse(at, field, why)
}

/// The SLI of one objective.
fn sli(cx: &mut Ctx<'_>, src: Src<'_>, n: &Node, timeslices: bool, goal: Goal<'_>) -> Option<Sli> {
    match (&n.spec.ratio_metric, &n.spec.threshold_metric) {
        (Some(r), None) if timeslices => {
            let why = "budgetingMethod Timeslices over a ratioMetric judges each slice by its own ratio, which slowburn cannot express yet; use Occurrences, or write a timeslice query by hand";
            cx.refuse(At::of(src.0, r), &format!("{}.ratioMetric", src.1), why)
        }
        (Some(r), None) => ratio(cx, src, r),
        (None, Some(t)) => threshold(cx, src, t, timeslices, goal),
        _ => {
            let why = "needs one of `ratioMetric` and `thresholdMetric`";
            cx.refuse(n.at(src.0), src.1, why)
        }
    }
}

/// A ratio SLI: good or bad with total, or a precomputed `raw` ratio.
fn ratio(cx: &mut Ctx<'_>, src: Src<'_>, r: &Spanned<RatioMetric>) -> Option<Sli> {
    let (path, m, at) = (format!("{}.ratioMetric", src.1), &r.value, At::of(src.0, r));
    if cx.loki {
        return verbatim(cx, src, r, &path);
    }
    let translated = if let Some(raw) = &m.raw {
        let q = query(cx, src, raw, &format!("{path}.raw"))?;
        let failure = match text(m.raw_type.as_ref()) {
            "failure" => true,
            "success" => false,
            _ => return cx.refuse(at, &format!("{path}.rawType"), "not success or failure"),
        };
        promql::precomputed(q, failure, Window::Literal)
    } else {
        let mut sides = [None, None, None];
        let given = [(&m.good, "good"), (&m.bad, "bad"), (&m.total, "total")];
        for (side, (metric, key)) in sides.iter_mut().zip(given) {
            if let Some(metric) = metric {
                *side = Some(query(cx, src, metric, &format!("{path}.{key}"))?);
            }
        }
        // `$window` is not PromQL: only slowburn's own export writes it (a bucket's range).
        let ours = sides.iter().flatten().any(|q| q.contains("$window"));
        let window = if ours {
            Window::Template("$window")
        } else {
            Window::Literal
        };
        let [good, bad, total] = sides;
        promql::ratio(good, bad, total, window)
    };
    match translated {
        Ok(t) => {
            for w in t.warnings {
                cx.warn(at.clone(), &path, w);
            }
            Some(t.sli)
        }
        Err(e) => cx.refuse(at, &path, e),
    }
}

/// A LogQL ratio: two of good, bad and total as written.
fn verbatim(cx: &mut Ctx<'_>, src: Src<'_>, r: &Spanned<RatioMetric>, path: &str) -> Option<Sli> {
    let (m, mut sides) = (&r.value, [None, None, None]);
    let given = [(&m.good, "good"), (&m.bad, "bad"), (&m.total, "total")];
    for (side, (metric, key)) in sides.iter_mut().zip(given) {
        if let Some(metric) = metric {
            let q = query(cx, src, metric, &format!("{path}.{key}"))?;
            *side = Some(q.trim().to_string());
        }
    }
    if sides.iter().flatten().count() != 2 {
        let why = "a log ratio needs exactly two of good, bad and total";
        return cx.refuse(At::of(src.0, r), path, why);
    }
    let [good, errors, total] = sides;
    Some(Sli::Ratio {
        good,
        errors,
        total,
    })
}

/// The query of a metric whose source is Prometheus (its inline `type` or its DataSource's),
/// or Loki for a log SLI.
fn query<'m>(
    cx: &mut Ctx<'_>,
    src: Src<'_>,
    m: &'m Spanned<Metric>,
    path: &str,
) -> Option<&'m str> {
    let Some(ms) = &m.value.metric_source else {
        return cx.refuse(At::of(src.0, m), path, "no `metricSource`");
    };
    let (s, path, loki) = (&ms.value, format!("{path}.metricSource"), cx.loki);
    let known = |ty: &str| {
        ty.eq_ignore_ascii_case("prometheus") || (loki && ty.eq_ignore_ascii_case("loki"))
    };
    if let Some(t) = &s.source_type
        && !known(&t.value)
    {
        let why = format!("reads type {}; {ONLY}", t.value);
        return cx.refuse(At::of(src.0, t), &format!("{path}.type"), why);
    }
    if let Some(r) = &s.metric_source_ref {
        let (at, field) = (At::of(src.0, r), format!("{path}.metricSourceRef"));
        let Some(ds) = cx.find("DataSource", &r.value) else {
            return cx.refuse(at, &field, missing("DataSource", &r.value));
        };
        let ty = text(ds.node.spec.source_type.as_ref());
        if !known(ty) {
            let why = format!("reads DataSource `{}` of type {ty}; {ONLY}", r.value);
            return cx.refuse(at, &field, why);
        }
    } else if s.source_type.is_none() {
        let why = "neither `type` nor `metricSourceRef`: say `type: Prometheus`";
        return cx.refuse(At::of(src.0, ms), &path, why);
    }
    match s.spec.get("query").map(|q| &q.value) {
        Some(Json::String(q)) => Some(q.as_str()),
        _ => cx.refuse(At::of(src.0, ms), &format!("{path}.spec.query"), "missing"),
    }
}

/// A threshold SLI: a timeslice compared strictly (lt, gt) or by a `bool` comparison (lte, gte).
fn threshold(
    cx: &mut Ctx<'_>,
    src: Src<'_>,
    t: &Spanned<Metric>,
    timeslices: bool,
    goal: Goal<'_>,
) -> Option<Sli> {
    let path = format!("{}.thresholdMetric", src.1);
    let query = query(cx, src, t, &path)?.trim();
    if !cx.loki
        && let Err(e) = promql::check(query)
    {
        let field = format!("{path}.metricSource.spec.query");
        return cx.refuse(At::of(src.0, t), &field, e);
    }
    let Goal(file, obj, i) = goal;
    let (op, value) = (text(obj.value.op.as_ref()), obj.value.value.as_ref());
    let sym = match op {
        "lt" => "<",
        "gt" => ">",
        "lte" => "<=",
        "gte" => ">=",
        _ => "",
    };
    let Some(value) = value
        .and_then(|v| num(&v.value))
        .filter(|_| !sym.is_empty())
    else {
        let why = "a threshold SLI needs `op` (lt, gt, lte, gte) and a numeric `value`";
        return cx.refuse(At::of(file, obj), &format!("spec.objectives[{i}]"), why);
    };
    let judged = compared(query, sym, value);
    if timeslices {
        slices(cx, goal, &judged)?;
    } else {
        let why = "budgetingMethod Occurrences over a threshold metric: counted as one occurrence per bucket (1m)";
        cx.warn(At::of(src.0, t), &path, why);
    }
    let (query, below, above) = match sym {
        "<" => (query.to_string(), Some(value), None),
        ">" => (query.to_string(), None, Some(value)),
        _ => (judged, None, Some(0.5)),
    };
    Some(Sli::Timeslice {
        query,
        below,
        above,
        // Timeslices name their slice, which must be the bucket ([`slices`]).
        slice: timeslices.then(|| "1m".to_string()),
    })
}

/// `Q op bool V`: 1 in a good slice, 0 in a bad one (Q in parentheses when it is binary itself).
fn compared(query: &str, sym: &str, value: f64) -> String {
    use promql_parser::parser::{Expr, parse};
    let v = number(value);
    match parse(query) {
        Ok(Expr::Binary(_)) | Err(_) => format!("({query}) {sym} bool {v}"),
        Ok(_) => format!("{query} {sym} bool {v}"),
    }
}

/// Timeslices: a slice is judged by one value (timeSliceTarget 1) and is the 1m bucket.
fn slices(cx: &mut Ctx<'_>, Goal(file, obj, i): Goal<'_>, judged: &str) -> Option<()> {
    let (o, field) = (&obj.value, format!("spec.objectives[{i}]"));
    let given = o.time_slice_window.as_ref().and_then(|w| scalar(&w.value));
    let mut window = given.unwrap_or_else(|| "1m".into());
    if window.bytes().all(|b| b.is_ascii_digit()) {
        window.push('m');
    }
    if let Some(t) = &o.time_slice_target {
        let (at, field) = (At::of(file, t), format!("{field}.timeSliceTarget"));
        if num(&t.value).is_none_or(|x| x < 1.0) {
            let why = format!(
                "{}: slowburn judges a slice by one value of the query, not by the share of good points in it; compute that share in the query (e.g. `avg_over_time(({judged})[{window}:])`) and write the SLO by hand",
                scalar(&t.value).unwrap_or_default()
            );
            return cx.refuse(at, &field, why);
        }
        cx.warn(at, &field, "1: every point in the slice must be good; slowburn judges a slice by the query's value at its end (use max_over_time/min_over_time in the query for the worst point)");
    }
    if let Some(w) = &o.time_slice_window
        && duration::parse(&window).ok() != Some(Dur::from_secs(60))
    {
        let why = format!(
            "`{window}`: slowburn's slice is its bucket (1m by default); write this SLO by hand with `defaults.bucket: {window}`"
        );
        return cx.refuse(At::of(file, w), &format!("{field}.timeSliceWindow"), why);
    }
    Some(())
}

/// `alerting`: one rule per condition of every policy; no policy: the built-in one.
fn alerting<'a>(cx: &mut Ctx<'a>, d: &'a Loaded) -> Alerting {
    let policies = &d.node.spec.alert_policies;
    let (mut rules, mut no_data) = (Vec::new(), policies.is_empty());
    for (i, p) in policies.iter().enumerate() {
        let field = format!("spec.alertPolicies[{i}]");
        let (r, at) = (
            p.alert_policy_ref.as_ref(),
            format!("{field}.alertPolicyRef"),
        );
        let Some((file, pol)) = cx.resolve((&d.file, p), r, "AlertPolicy", &at) else {
            continue;
        };
        let quiet = pol.spec.alert_when_no_data.as_ref();
        no_data |= quiet.is_none_or(|v| !is_false(&v.value));
        let prefix = r.map_or_else(|| format!("{field}.spec"), |_| "spec".to_string());
        rules.extend(policy(cx, file, pol, &prefix));
    }
    let silent = !policies.is_empty() && rules.is_empty();
    if silent {
        let why = "no policy gives a burn-rate rule: the built-in rules stay (slowburn cannot drop them yet), budget tickets are turned off";
        cx.warn(d.node.at(&d.file), "spec.alertPolicies", why);
    }
    Alerting {
        rules: (!rules.is_empty()).then_some(rules),
        budget_ticket_below: silent.then_some(0.0),
        budget_exhausted_off: silent,
        no_data_off: !no_data,
        ..Alerting::default()
    }
}

/// One policy's rules (none when it does not alert on breaches); its targets are dropped.
fn policy<'a>(cx: &mut Ctx<'a>, file: &'a str, pol: &'a Node, prefix: &str) -> Vec<Rule> {
    let s = &pol.spec;
    for (k, t) in s.notification_targets.iter().enumerate() {
        let field = format!("{prefix}.notificationTargets[{k}]");
        let (r, at) = (t.target_ref.as_ref(), format!("{field}.targetRef"));
        let Some((_, target)) = cx.resolve((file, t), r, "AlertNotificationTarget", &at) else {
            continue;
        };
        let (name, what) = (target.name(), text(target.spec.target.as_ref()));
        let why = format!(
            "notification target `{name}` ({what}) dropped: it names no endpoint; add a `receivers:` entry"
        );
        let at = r.map_or_else(|| t.at(file), |r| At::of(file, r));
        cx.warn(at, &field, why);
    }
    if let Some(v) = &s.alert_when_breaching
        && is_false(&v.value)
    {
        let field = format!("{prefix}.alertWhenBreaching");
        cx.warn(At::of(file, v), &field, "false: this policy gives no rule");
        return Vec::new();
    }
    let mut rules = Vec::new();
    for (j, c) in s.conditions.iter().enumerate() {
        let field = format!("{prefix}.conditions[{j}]");
        let (r, at) = (c.condition_ref.as_ref(), format!("{field}.conditionRef"));
        let Some((file, cond)) = cx.resolve((file, c), r, "AlertCondition", &at) else {
            continue;
        };
        let prefix = r.map_or_else(|| format!("{field}.spec"), |_| "spec".to_string());
        rules.extend(rule(cx, file, cond, &prefix));
    }
    rules
}

/// A burn-rate condition as a rule: long = lookbackWindow, short = long / 12, factor = threshold.
fn rule(cx: &mut Ctx<'_>, file: &str, c: &Node, prefix: &str) -> Option<Rule> {
    let (name, field) = (c.name(), format!("{prefix}.condition"));
    let Some(cond) = &c.spec.condition else {
        return cx.refuse(c.at(file), &field, "missing: the burn-rate condition");
    };
    let (k, at) = (&cond.value, At::of(file, cond));
    let (kind, op) = (text(k.kind.as_ref()), text(k.op.as_ref()));
    if !kind.eq_ignore_ascii_case("burnrate") || !matches!(op, "gte" | "gt" | "") {
        let why = format!(
            "`kind: {kind}`, `op: {op}`: only a burn rate at or above a threshold (`kind: burnrate`, `op: gte`) is a slowburn rule"
        );
        return cx.refuse(at, &field, why);
    }
    let factor = k.threshold.as_ref().and_then(|t| num(&t.value));
    let long = text(k.lookback_window.as_ref()).trim();
    let (Some(factor), Ok(dur)) = (factor.filter(|f| *f > 0.0), duration::parse(long)) else {
        let why = "needs a positive `threshold` and a `lookbackWindow` duration";
        return cx.refuse(at, &field, why);
    };
    // slowburn's export writes the short window; others get a twelfth of the long one.
    let noted = note(&c.metadata, "short").filter(|s| duration::parse(s).is_ok());
    let (short, noted) = match noted {
        Some(s) => (s, true),
        None => (short_of(dur), false),
    };
    if !noted {
        let why = format!("condition `{name}`: short window {short} added (long / 12)");
        cx.warn(at.clone(), &format!("{field}.lookbackWindow"), why);
    }
    // slowburn judges a rule once a bucket: `for:` is whole minutes (the bucket), rounded up.
    let pending = k.alert_after.as_ref().and_then(|a| {
        let d = duration::parse(&a.value).ok()?;
        let minutes = d.as_millis().div_ceil(60_000);
        let whole = Dur::from_millis(minutes * 60_000);
        if whole != d {
            let why = format!(
                "condition `{name}`: alertAfter {} rounded up to {whole}",
                a.value
            );
            cx.warn(at.clone(), &format!("{field}.alertAfter"), why);
        }
        (minutes > 0).then(|| whole.to_string())
    });
    let severity = severity(cx, file, c, prefix);
    Some(Rule {
        severity,
        long: long.to_string(),
        short,
        factor,
        pending,
    })
}

/// The condition's severity word as page or ticket (unknown or missing: ticket, warned).
fn severity(cx: &mut Ctx<'_>, file: &str, c: &Node, prefix: &str) -> Severity {
    let word = c.spec.severity.as_ref();
    if let Some(s) = Severity::from_word(text(word)) {
        return s;
    }
    let at = word.map_or_else(|| c.at(file), |w| At::of(file, w));
    let why = format!(
        "`{}` is not a known severity word: imported as ticket",
        text(word)
    );
    cx.warn(at, &format!("{prefix}.severity"), why);
    Severity::Ticket
}

/// The short window of a rule: a twelfth of the long one in whole minutes, at least 1m.
fn short_of(long: Dur) -> String {
    let minutes = ((long.as_secs() + 360) / 720).max(1);
    Dur::from_secs(minutes * 60).to_string()
}

#[cfg(test)]
mod tests;
