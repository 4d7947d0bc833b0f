//! `slowburn export --to openslo`: the config as OpenSLO v1 documents, for catalogues and tools
//! that read OpenSLO, and for leaving slowburn without rewriting every SLO by hand.
//!
//! The documents, in a fixed order: a DataSource per source (`prometheus`, and `loki` when the
//! config has one), then per SLO in file order its SLO (the SLI inline, named
//! `<service>-<name>`) and its AlertPolicy (`<service>-<name>-alerts`, one inline AlertCondition
//! per burn-rate rule). What OpenSLO has no field for (the windows after the first, the rules'
//! short windows, `group_by` and `max_groups`, the SLA, the policy's other settings, a Loki
//! source, the maintenance windows that apply) is written as `slowburn.dev/<key>` annotations,
//! which `slowburn import --from openslo` reads back: export, import, export again gives the
//! same bytes.
//!
//! For that, Prometheus queries are written as the importer's translator reads them back (the
//! translator itself, with `$window` as its template): a selector's matchers sorted, an
//! expression as the PromQL parser prints it, a histogram pair as `_bucket{…,le}` over
//! `_count{…}`. The text is written by hand with a small YAML writer rather than serialized, so
//! the bytes are stable and every string is quoted the way the importer's emitter quotes it.

use crate::alert::policy::{Policy, Rule, Severity};
use crate::config::{Compare, Config, CountSpec, Sla, SliKind, Slo, SourceKind};
use crate::duration::Dur;
use crate::import::emit::{quoted, scalar};
use crate::import::promql::{self, Window};
use crate::import::{Sli, number};
use crate::maintenance::{Maintenance, Recurrence, WEEK};

/// The first lines of the file: what wrote it and how to read it back.
const HEADER: &str = "# OpenSLO v1, written by `slowburn export --to openslo`; `slowburn import --from openslo`\n# reads it back. The `slowburn.dev/*` annotations hold what OpenSLO has no field for.\n";
/// The prefix of slowburn's annotation keys.
const PREFIX: &str = "slowburn.dev/";
/// Weekdays as `slo.yaml` spells them, from Monday (maintenance offsets count from Monday).
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// The documents of one config, and what a reader of them should know.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// `---`-separated OpenSLO v1 documents.
    pub yaml: String,
    /// What `slowburn import` cannot read back as it was, one line each (`service/name: why`).
    pub notes: Vec<String>,
    /// How many SLOs were written.
    pub slos: usize,
}

/// Every document of `cfg`; the same config gives the same bytes.
pub fn render(cfg: &Config) -> Rendered {
    let mut notes = Vec::new();
    let mut docs = vec![data_source(SourceKind::Prometheus, &cfg.prometheus.url)];
    if let Some(loki) = &cfg.loki {
        docs.push(data_source(SourceKind::Loki, &loki.url));
    }
    for slo in &cfg.slos {
        let base = format!("{}-{}", slo.service, slo.name);
        docs.push(slo_doc(cfg, slo, &base, &mut notes));
        docs.extend(alert_policy(slo, &base));
    }
    let mut yaml = HEADER.to_string();
    for (i, d) in docs.iter().enumerate() {
        if i > 0 {
            yaml.push_str("---\n");
        }
        put(&mut yaml, d, 0);
    }
    Rendered {
        yaml,
        notes,
        slos: cfg.slos.len(),
    }
}

/// A YAML value as the writer knows it. Built first and written in one style, so indentation
/// is decided in one place.
#[derive(Debug)]
enum Y {
    /// A scalar, already spelled safely ([`scalar`], [`quoted`], [`number`] or a literal).
    S(String),
    /// A mapping, keys (already spelled) in written order.
    M(Vec<(String, Y)>),
    /// A sequence.
    L(Vec<Y>),
}

/// A scalar that needs no quoting (a keyword, a number, a duration, a bool).
fn lit(s: &str) -> Y {
    Y::S(s.to_string())
}

/// A free-text string, quoted when YAML would read it as something else.
fn text(s: &str) -> Y {
    Y::S(scalar(s))
}

/// A mapping with fixed keys.
fn map(entries: Vec<(&str, Y)>) -> Y {
    Y::M(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// Writes a mapping's entries or a sequence's items, `indent` spaces in.
fn put(out: &mut String, y: &Y, indent: usize) {
    let pad = " ".repeat(indent);
    match y {
        Y::S(s) => {
            out.push_str(&pad);
            out.push_str(s);
            out.push('\n');
        }
        Y::M(entries) => {
            for (k, v) in entries {
                out.push_str(&pad);
                out.push_str(k);
                out.push(':');
                nested(out, v, indent + 2, false);
            }
        }
        Y::L(items) => {
            for v in items {
                out.push_str(&pad);
                out.push('-');
                nested(out, v, indent + 2, true);
            }
        }
    }
}

/// What follows a key's colon or (`item`) a sequence item's dash: a scalar or an empty
/// collection on the same line, else the collection below, `indent` spaces in (an item's first
/// entry shares the dash's line).
fn nested(out: &mut String, v: &Y, indent: usize, item: bool) {
    match v {
        Y::S(s) => {
            out.push(' ');
            out.push_str(s);
            out.push('\n');
        }
        Y::M(e) if e.is_empty() => out.push_str(" {}\n"),
        Y::L(e) if e.is_empty() => out.push_str(" []\n"),
        _ if item => {
            let mut inner = String::new();
            put(&mut inner, v, indent);
            out.push(' ');
            out.push_str(inner.get(indent..).unwrap_or(&inner));
        }
        _ => {
            out.push('\n');
            put(out, v, indent);
        }
    }
}

/// One document.
fn doc(kind: &str, metadata: Y, spec: Y) -> Y {
    map(vec![
        ("apiVersion", lit("openslo/v1")),
        ("kind", lit(kind)),
        ("metadata", metadata),
        ("spec", spec),
    ])
}

/// A source's DataSource name and OpenSLO type.
fn source_names(source: SourceKind) -> (&'static str, &'static str) {
    match source {
        SourceKind::Loki => ("loki", "Loki"),
        SourceKind::Prometheus | SourceKind::Mixed => ("prometheus", "Prometheus"),
    }
}

/// The DataSource of a source; its URL without credentials.
fn data_source(source: SourceKind, url: &str) -> Y {
    let (name, ty) = source_names(source);
    let url = crate::source::redact_url(url);
    let spec = map(vec![
        ("type", lit(ty)),
        ("connectionDetails", map(vec![("url", text(&url))])),
    ]);
    doc("DataSource", map(vec![("name", lit(name))]), spec)
}

/// One side of a ratio: the source that answers it and its query.
type Side = Option<(SourceKind, String)>;

/// An SLI in OpenSLO's terms.
enum Indicator {
    /// `ratioMetric`: good, bad, total.
    Ratio([Side; 3]),
    /// `thresholdMetric`, budgeted by time slices.
    Threshold {
        /// Where the query runs.
        source: SourceKind,
        /// The query.
        query: String,
        /// `op` and `value` of the objective.
        good_when: Compare,
        /// `timeSliceWindow`.
        slice: Dur,
    },
}

/// The SLI of an SLO, from what it counts.
fn indicator(slo: &Slo, notes: &mut Vec<String>) -> Indicator {
    let id = slo.id.as_str();
    match (&slo.sli, &slo.counts) {
        (
            SliKind::Latency {
                metric,
                matchers,
                threshold,
            },
            _,
        ) => {
            let sep = if matchers.is_empty() { "" } else { "," };
            let le = crate::sli::promql::le_label(*threshold);
            let good = format!("{metric}_bucket{{{matchers}{sep}le=\"{le}\"}}");
            let total = braced(&format!("{metric}_count"), matchers);
            Indicator::Ratio(prometheus_sides([Some(good), None, Some(total)], id, notes))
        }
        (kind, CountSpec::Events { good, bad, total }) => {
            let texts = [good, bad, total].map(|q| q.as_ref().map(|q| q.text().to_string()));
            if slo.source == SourceKind::Prometheus {
                return Indicator::Ratio(prometheus_sides(texts, id, notes));
            }
            if matches!(kind, SliKind::LogLatency { .. }) {
                notes.push(format!("{id}: sli.latency: written as the ratio of its log queries; `slowburn import` reads it back as a ratio SLI"));
            }
            Indicator::Ratio(texts.map(|q| q.map(|q| (slo.source, q))))
        }
        (_, CountSpec::Mixed { good, bad, total }) => {
            notes.push(format!("{id}: sli.ratio: its sides read different sources, each written with its own DataSource; `slowburn import` cannot read that back"));
            let side = |s: &Option<crate::config::Sided>| {
                s.as_ref().map(|s| (s.source, s.query.text().to_string()))
            };
            Indicator::Ratio([side(good), side(bad), side(total)])
        }
        (
            _,
            CountSpec::Timeslice {
                query,
                good_when,
                slice,
            },
        ) => {
            if *slice != Dur::from_secs(60) {
                notes.push(format!("{id}: sli.timeslice: slice {slice}: `slowburn import` reads 1m slices only (the default bucket)"));
            }
            Indicator::Threshold {
                source: slo.source,
                query: query.clone(),
                good_when: *good_when,
                slice: *slice,
            }
        }
    }
}

/// `name{matchers}`, or the bare name without matchers.
fn braced(name: &str, matchers: &str) -> String {
    if matchers.is_empty() {
        name.to_string()
    } else {
        format!("{name}{{{matchers}}}")
    }
}

/// Prometheus sides as `slowburn import` reads them back: through its own translator, so a
/// second export of the import is byte-equal. What the translator refuses (a `sum by` in an
/// expression) is written as configured, with a note.
fn prometheus_sides(texts: [Option<String>; 3], id: &str, notes: &mut Vec<String>) -> [Side; 3] {
    let [good, bad, total] = &texts;
    let read = promql::ratio(
        good.as_deref(),
        bad.as_deref(),
        total.as_deref(),
        Window::Template("$window"),
    );
    let sides = match read.map(|t| t.sli) {
        Ok(Sli::Ratio {
            good,
            errors,
            total,
        }) => Some([good, errors, total]),
        Ok(Sli::Latency {
            histogram,
            threshold,
        }) => latency_sides(&histogram, &threshold),
        Ok(Sli::Timeslice { .. }) => None,
        Err(e) => {
            notes.push(format!(
                "{id}: sli: {e}; written as configured, `slowburn import` cannot read it back"
            ));
            None
        }
    };
    sides
        .unwrap_or(texts)
        .map(|q| q.map(|q| (SourceKind::Prometheus, q)))
}

/// A latency SLI's sides: the bucket at the threshold (spelled as Prometheus clients write
/// `le`) over the count, the pair the importer reads back as a latency SLI.
fn latency_sides(histogram: &str, threshold: &str) -> Option<[Option<String>; 3]> {
    let le = crate::sli::promql::le_label(crate::duration::parse(threshold).ok()?);
    let (base, matchers) = match histogram.split_once('{') {
        Some((base, rest)) => (base, rest.strip_suffix('}').unwrap_or(rest)),
        None => (histogram, ""),
    };
    let sep = if matchers.is_empty() { "" } else { "," };
    let good = format!("{base}_bucket{{{matchers}{sep}le=\"{le}\"}}");
    let total = braced(&format!("{base}_count"), matchers);
    Some([Some(good), None, Some(total)])
}

/// `metricSource` of one query.
fn metric(source: SourceKind, query: &str) -> Y {
    let (name, ty) = source_names(source);
    let spec = map(vec![("query", Y::S(quoted(query)))]);
    let ms = map(vec![
        ("metricSourceRef", lit(name)),
        ("type", lit(ty)),
        ("spec", spec),
    ]);
    map(vec![("metricSource", ms)])
}

/// The indicator's `spec`: `ratioMetric` (counter when no side is a `$window` expression) or
/// `thresholdMetric`.
fn indicator_spec(ind: &Indicator) -> Y {
    match ind {
        Indicator::Ratio(sides) => {
            let counter = sides.iter().flatten().all(|(_, q)| !q.contains("$window"));
            let mut entries = vec![("counter", lit(if counter { "true" } else { "false" }))];
            for (key, side) in ["good", "bad", "total"].into_iter().zip(sides) {
                if let Some((source, query)) = side {
                    entries.push((key, metric(*source, query)));
                }
            }
            map(vec![("ratioMetric", map(entries))])
        }
        Indicator::Threshold { source, query, .. } => {
            map(vec![("thresholdMetric", metric(*source, query))])
        }
    }
}

/// The one objective: the target, and for time slices the comparison and the slice.
fn objective(slo: &Slo, ind: &Indicator) -> Y {
    let target = ("target", lit(&number(slo.objective)));
    let Indicator::Threshold {
        good_when, slice, ..
    } = ind
    else {
        return map(vec![target]);
    };
    let (op, value) = match good_when {
        Compare::Below(v) => ("lt", *v),
        Compare::Above(v) => ("gt", *v),
    };
    map(vec![
        ("op", lit(op)),
        ("value", lit(&number(value))),
        target,
        ("timeSliceTarget", lit("1")),
        ("timeSliceWindow", lit(&slice.to_string())),
    ])
}

/// The SLO document.
fn slo_doc(cfg: &Config, slo: &Slo, base: &str, notes: &mut Vec<String>) -> Y {
    let ind = indicator(slo, notes);
    let mut meta = vec![("name", text(&slo.name))];
    if !slo.labels.is_empty() {
        let labels = slo.labels.iter().map(|(k, v)| (scalar(k), text(v)));
        meta.push(("labels", Y::M(labels.collect())));
    }
    let notes_of = annotations(cfg, slo, notes);
    if !notes_of.is_empty() {
        let a = notes_of
            .into_iter()
            .map(|(k, v)| (scalar(&format!("{PREFIX}{k}")), text(&v)));
        meta.push(("annotations", Y::M(a.collect())));
    }
    let mut spec = Vec::new();
    if let Some(d) = &slo.description {
        spec.push(("description", text(d)));
    }
    let sli_meta = map(vec![("name", text(base))]);
    let window = match native_calendar(slo) {
        // OpenSLO's own calendar window: 2024-01-01 was a Monday, a 1st and a quarter's start.
        Some(c) => map(vec![
            ("duration", lit(calendar_duration(c.unit))),
            ("isRolling", lit("false")),
            (
                "calendar",
                map(vec![
                    ("startTime", text("2024-01-01 00:00:00")),
                    ("timeZone", text(c.tz.name())),
                ]),
            ),
        ]),
        None => {
            let first = slo.periods.first().map(Dur::to_string).unwrap_or_default();
            map(vec![("duration", lit(&first)), ("isRolling", lit("true"))])
        }
    };
    let method = match ind {
        Indicator::Ratio(_) => "Occurrences",
        Indicator::Threshold { .. } => "Timeslices",
    };
    spec.extend([
        ("service", text(&slo.service)),
        (
            "indicator",
            map(vec![("metadata", sli_meta), ("spec", indicator_spec(&ind))]),
        ),
        ("timeWindow", Y::L(vec![window])),
        ("budgetingMethod", lit(method)),
        ("objectives", Y::L(vec![objective(slo, &ind)])),
    ]);
    if !slo.policy.rules.is_empty() {
        let r = map(vec![
            ("kind", lit("AlertPolicy")),
            ("alertPolicyRef", text(&format!("{base}-alerts"))),
        ]);
        spec.push(("alertPolicies", Y::L(vec![r])));
    }
    doc("SLO", map(meta), map(spec))
}

/// The calendar period written as OpenSLO's `timeWindow` (calendar-aligned): the first one, when
/// the SLO's rolling period is only that period's nominal length (`[month]` and `[30d, month]`
/// behave alike: alerting on 30d).
fn native_calendar(slo: &Slo) -> Option<crate::calendar::Calendar> {
    let c = *slo.calendars.first()?;
    (slo.periods == [Dur::from_secs(c.unit.nominal_secs() as u64)]).then_some(c)
}

/// OpenSLO's duration of a calendar period.
fn calendar_duration(unit: crate::calendar::Unit) -> &'static str {
    match unit {
        crate::calendar::Unit::Week => "1w",
        crate::calendar::Unit::Month => "1M",
        crate::calendar::Unit::Quarter => "1Q",
    }
}

/// What OpenSLO has no field for, as `(key, value)` of `slowburn.dev/<key>` annotations.
fn annotations(cfg: &Config, slo: &Slo, notes: &mut Vec<String>) -> Vec<(&'static str, String)> {
    let mut a = Vec::new();
    // The windows after the one `timeWindow` holds: rolling ones, then calendar ones.
    let native = native_calendar(slo);
    let rest: Vec<String> = if native.is_some() {
        slo.calendars
            .iter()
            .skip(1)
            .map(|c| c.name().to_string())
            .collect()
    } else {
        slo.periods
            .iter()
            .skip(1)
            .map(Dur::to_string)
            .chain(slo.calendars.iter().map(|c| c.name().to_string()))
            .collect()
    };
    if !rest.is_empty() {
        a.push(("windows", rest.join(",")));
    }
    if native.is_none() && !slo.calendars.is_empty() && slo.timezone != chrono_tz::Tz::UTC {
        a.push(("timezone", slo.timezone.name().to_string()));
    }
    if slo.source == SourceKind::Loki {
        a.push(("sli.source", "loki".to_string()));
    }
    // A grouped SLO's SLI is written as its definition's (every value together): a reader of
    // OpenSLO sees the aggregate, slowburn's import the members again.
    if let Some(g) = &slo.group_by {
        a.push(("group_by", g.labels.join(",")));
        if g.max != crate::config::group::DEFAULT_MAX {
            a.push(("max_groups", g.max.to_string()));
        }
    }
    if let Some(sla) = &slo.sla {
        a.push(("sla.objective", number(sla.objective * 100.0)));
        if let Some(t) = sla_threshold(slo, sla, notes) {
            a.push(("sla.threshold", t));
        }
    }
    a.extend(policy_notes(cfg, slo));
    if slo.policy.budget_drop.is_some() || slo.policy.exhaustion_within.is_some() {
        notes.push(format!("{}: alerting.budget_drop / exhaustion_within: OpenSLO has no budget-consumption condition and they are not written; add them back under the SLO's `alerting:` after an import", slo.id));
    }
    if let Some(m) = maintenance(cfg, slo) {
        notes.push(format!("{}: maintenance: written as `{PREFIX}maintenance`; `slowburn import` does not read it back (add the windows under `maintenance:`)", slo.id));
        a.push(("maintenance", m));
    }
    a
}

/// A latency SLA's own threshold, read back from the `le` of its counts (the config keeps only
/// those).
fn sla_threshold(slo: &Slo, sla: &Sla, notes: &mut Vec<String>) -> Option<String> {
    let CountSpec::Events {
        good: Some(good), ..
    } = sla.counts.as_ref()?
    else {
        return None;
    };
    if !matches!(slo.sli, SliKind::Latency { .. }) {
        notes.push(format!("{}: sla.threshold: a log latency SLA's own threshold has no place in OpenSLO and is not written", slo.id));
        return None;
    }
    let q = good.text();
    let after = q.get(q.rfind("le=")? + 3..)?;
    let le = after.trim_start_matches('~').strip_prefix('"')?;
    promql::le_threshold(le.split(['"', '|']).next()?)
}

/// The policy's settings that differ from the built-in ones (its rules are the AlertPolicy).
fn policy_notes(cfg: &Config, slo: &Slo) -> Vec<(&'static str, String)> {
    let p = &slo.policy;
    let period = slo
        .periods
        .first()
        .copied()
        .unwrap_or(Dur::from_secs(30 * 86400));
    let d = Policy::builtin(period, cfg.bucket);
    let mut a = Vec::new();
    if p.min_events != d.min_events {
        a.push(("alerting.min_events", number(p.min_events)));
    }
    if p.budget_ticket_below != d.budget_ticket_below {
        let b = p
            .budget_ticket_below
            .map_or_else(|| "0".to_string(), number);
        a.push(("alerting.budget_ticket_below", b));
    }
    if p.budget_exhausted != d.budget_exhausted {
        let e = p.budget_exhausted.map_or("none", Severity::as_str);
        a.push(("alerting.budget_exhausted", e.to_string()));
    }
    // `none` is `alertWhenNoData: false`.
    if let Some(n) = p.no_data_after
        && p.no_data_after != d.no_data_after
    {
        a.push(("alerting.no_data_after", n.to_string()));
    }
    a
}

/// The maintenance windows that apply to the SLO, as compact JSON in `slo.yaml`'s terms.
fn maintenance(cfg: &Config, slo: &Slo) -> Option<String> {
    let windows = cfg.maintenance_for(slo);
    if windows.is_empty() {
        return None;
    }
    let list: Vec<serde_json::Value> = windows.iter().map(window_json).collect();
    Some(serde_json::Value::Array(list).to_string())
}

/// One maintenance window as `slo.yaml` writes it (`start`/`end`, or `weekly`).
fn window_json(w: &Maintenance) -> serde_json::Value {
    match w.when {
        Recurrence::Once { start, end } => serde_json::json!({
            "name": w.name,
            "start": crate::time::rfc3339(start),
            "end": crate::time::rfc3339(end)
        }),
        Recurrence::Weekly { offset, duration } => {
            let o = offset.rem_euclid(WEEK);
            let day = DAYS.get((o / 86400) as usize).copied().unwrap_or("mon");
            let at = format!("{:02}:{:02}", o % 86400 / 3600, o % 3600 / 60);
            let length = Dur::from_secs(duration.max(0) as u64).to_string();
            serde_json::json!({
                "name": w.name,
                "weekly": {"day": day, "at": at, "duration": length}
            })
        }
    }
}

/// The AlertPolicy of an SLO: one condition per burn-rate rule (none without rules).
fn alert_policy(slo: &Slo, base: &str) -> Option<Y> {
    let p = &slo.policy;
    if p.rules.is_empty() {
        return None;
    }
    let conditions = p.rules.iter().map(|r| condition(base, r)).collect();
    let no_data = if p.no_data_after.is_some() {
        "true"
    } else {
        "false"
    };
    let spec = map(vec![
        ("alertWhenNoData", lit(no_data)),
        ("alertWhenResolved", lit("true")),
        ("alertWhenBreaching", lit("true")),
        ("conditions", Y::L(conditions)),
    ]);
    let name = text(&format!("{base}-alerts"));
    Some(doc("AlertPolicy", map(vec![("name", name)]), spec))
}

/// One inline AlertCondition: a burn rate over the long window at or above the factor; the
/// short window as an annotation.
fn condition(base: &str, r: &Rule) -> Y {
    let severity = r.severity.as_str();
    let mut cond = vec![
        ("kind", lit("burnrate")),
        ("op", lit("gte")),
        ("threshold", lit(&number(r.factor))),
        ("lookbackWindow", lit(&r.long.to_string())),
    ];
    if r.pending > Dur::from_secs(0) {
        cond.push(("alertAfter", lit(&r.pending.to_string())));
    }
    let short = (scalar(&format!("{PREFIX}short")), lit(&r.short.to_string()));
    let meta = map(vec![
        ("name", text(&format!("{base}-{severity}-{}", r.long))),
        ("annotations", Y::M(vec![short])),
    ]);
    let spec = map(vec![("severity", lit(severity)), ("condition", map(cond))]);
    map(vec![
        ("kind", lit("AlertCondition")),
        ("metadata", meta),
        ("spec", spec),
    ])
}

#[cfg(test)]
mod tests;
