//! Pyrra's `ServiceLevelObjective` resources (`pyrra.dev/v1alpha1`, Kubernetes and filesystem
//! mode alike) read into [`Slo`]s. Pyrra's four burn-rate alerts become explicit rules, because
//! its windows scale with the SLO window and slowburn's built-in policy does not. An indicator's
//! `grouping` (one SLO per value of some labels) becomes `group_by` when the SLI is made of
//! counter selectors, which is what slowburn narrows per value.

use super::promql::{self, Window};
use super::{
    Alerting, At, Finding, GroupBy, Imported, Input, Options, Rule, Severity, Sli, Slo, not_ours,
    number, unreadable,
};
use crate::config::raw::Keyed;
use crate::duration::{self, Dur};
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

/// A string field and where it is; findings point at these.
type SStr = Spanned<String>;

/// Pyrra's `Windows()`: the divisors of the SLO window giving each tier's short window, long
/// window and `for`, then its factor, default severity and key in `alerting.severities`.
const TIERS: [(u64, u64, u64, f64, Severity, &str); 4] = [
    (8064, 672, 20160, 14.0, Severity::Page, "fastBurn"),
    (1344, 112, 2688, 7.0, Severity::Page, "mediumBurn"),
    (336, 28, 672, 2.0, Severity::Ticket, "slowBurn"),
    (112, 7, 224, 1.0, Severity::Ticket, "longTermBurn"),
];

/// A `ServiceLevelObjective`, or any other document of the file (told apart by `kind`).
/// Strings also take numbers as written (`target: 99.5`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Doc {
    api_version: Option<SStr>,
    kind: Option<SStr>,
    metadata: Option<Metadata>,
    spec: Option<Spec>,
}

/// `metadata`; label and annotation keys keep their positions for warnings.
#[derive(Default, Deserialize)]
struct Metadata {
    name: Option<SStr>,
    namespace: Option<SStr>,
    labels: Option<Keyed<Option<String>>>,
    annotations: Option<Keyed<Option<String>>>,
}

/// `spec`.
#[derive(Deserialize)]
struct Spec {
    description: Option<String>,
    target: Option<SStr>,
    window: Option<SStr>,
    indicator: Option<Spanned<Indicator>>,
    alerting: Option<PyrraAlerting>,
}

/// `spec.indicator`: Pyrra requires exactly one kind.
#[derive(Deserialize)]
struct Indicator {
    ratio: Option<Spanned<Kind>>,
    latency: Option<Spanned<Kind>>,
    #[serde(rename = "latencyNative")]
    latency_native: Option<Spanned<Kind>>,
    bool_gauge: Option<Spanned<Kind>>,
}

/// One indicator's body: the four kinds share field names, each uses some of them.
#[derive(Deserialize)]
struct Kind {
    errors: Option<Metric>,
    success: Option<Metric>,
    total: Option<Metric>,
    metric: Option<SStr>,
    latency: Option<SStr>,
    grouping: Option<Spanned<Vec<String>>>,
}

/// `{metric: SELECTOR}`.
#[derive(Deserialize)]
struct Metric {
    metric: Option<SStr>,
}

/// `spec.alerting`; `severities` maps a tier (`fastBurn`...) or `absent` to a word.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PyrraAlerting {
    disabled: Option<Spanned<bool>>,
    burnrates: Option<Spanned<bool>>,
    absent: Option<Spanned<bool>>,
    name: Option<SStr>,
    absent_name: Option<SStr>,
    severities: Option<BTreeMap<String, SStr>>,
}

/// One SLO's findings, held to the end: a refused SLO reports every reason and none of its
/// warnings (they concern an SLO that is not written). `here` is the document, for fields that
/// are missing.
struct Ctx {
    file: String,
    here: At,
    id: String,
    refused: Vec<Finding>,
    warnings: Vec<Finding>,
}

impl Ctx {
    /// Records a finding at `at` (on the document when `None`).
    fn push(&mut self, refuse: bool, at: Option<At>, field: &str, why: impl Into<String>) {
        let at = at.unwrap_or_else(|| self.here.clone());
        let f = Finding {
            at,
            slo: Some(self.id.clone()),
            field: field.into(),
            why: why.into(),
        };
        if refuse {
            self.refused.push(f)
        } else {
            self.warnings.push(f)
        }
    }

    /// Refuses the SLO for a field that is not there (pointing at the document).
    fn missing(&mut self, field: &str, why: &str) {
        self.push(true, None, field, format!("missing: {why}"));
    }

    /// Refuses the SLO for a field that is there.
    fn refuse<T>(&mut self, s: &Spanned<T>, field: &str, why: impl Into<String>) {
        let at = At::of(&self.file, s);
        self.push(true, Some(at), field, why);
    }

    /// Warns about a field that is there.
    fn warn<T>(&mut self, s: &Spanned<T>, field: &str, why: impl Into<String>) {
        let at = At::of(&self.file, s);
        self.push(false, Some(at), field, why);
    }

    /// Files the findings, and the SLO unless something was refused.
    fn finish(self, out: &mut Imported, slo: Option<Slo>) {
        if self.refused.is_empty()
            && let Some(slo) = slo
        {
            out.slos.push(slo);
            out.warnings.extend(self.warnings);
        } else {
            out.refused.extend(self.refused);
        }
    }
}

/// Reads every `ServiceLevelObjective` of one file; other documents are skipped with a warning.
pub(super) fn read(input: &Input, options: &Options) -> Imported {
    let (mut out, file) = (Imported::default(), input.path.as_str());
    let docs = match serde_saphyr::from_multiple::<Option<Doc>>(&input.text) {
        Ok(docs) => docs,
        Err(e) => {
            out.refused.push(unreadable(file, &e));
            return out;
        }
    };
    for doc in docs.into_iter().flatten() {
        let first = doc.api_version.as_ref().or(doc.kind.as_ref());
        let at = first.map_or_else(|| At::file(file), |s| At::of(file, s));
        let api = text(doc.api_version.as_ref()).unwrap_or_default();
        let kind = text(doc.kind.as_ref()).unwrap_or_default();
        if api == "pyrra.dev/v1alpha1" && kind == "ServiceLevelObjective" {
            convert(file, at, doc, options, &mut out);
        } else {
            let what = format!("apiVersion `{api}`, kind `{kind}`");
            out.warnings.push(not_ours(file, at, &what));
        }
    }
    out
}

/// A string field trimmed, `None` when absent or empty.
fn text(s: Option<&SStr>) -> Option<String> {
    s.map(|s| s.value.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// One `ServiceLevelObjective`: every field is looked at, so a refusal lists all the reasons.
fn convert(file: &str, here: At, doc: Doc, options: &Options, out: &mut Imported) {
    let meta = doc.metadata.unwrap_or_default();
    let name = text(meta.name.as_ref());
    let (service, guessed) = match (text(meta.namespace.as_ref()), &options.service) {
        (Some(namespace), _) => (namespace, false),
        (None, Some(service)) => (service.clone(), false),
        (None, None) => ("default".to_string(), true),
    };
    let origin = format!("{file}:{}", here.line);
    let id = format!("{service}/{}", name.as_deref().unwrap_or("?"));
    let mut cx = Ctx {
        file: file.to_string(),
        here,
        id,
        refused: vec![],
        warnings: vec![],
    };
    if name.is_none() {
        cx.missing("metadata.name", "an SLO needs a name");
    }
    if guessed {
        let why = "missing: service `default` (pass `--service NAME` to choose another)";
        cx.push(false, None, "metadata.namespace", why);
    }
    let labels = labels(&mut cx, &meta);
    let Some(spec) = doc.spec else {
        cx.missing("spec", "nothing to import");
        return cx.finish(out, None);
    };
    let objective = objective(&mut cx, spec.target.as_ref());
    let window = window(&mut cx, spec.window.as_ref());
    let sli = indicator(&mut cx, spec.indicator.as_ref(), &labels);
    let spanned_window = spec.window.as_ref().zip(window.as_ref().map(|w| w.1));
    let alerting = alerting(&mut cx, spec.alerting.as_ref(), spanned_window);
    let description = spec.description.filter(|d| !d.trim().is_empty());
    let slo = match (name, objective, window, sli) {
        (Some(name), Some(objective), Some((window, _)), Some((sli, group_by))) => {
            let windows = vec![window];
            Some(Slo {
                service,
                name,
                objective,
                windows,
                timezone: None,
                description,
                labels,
                sli,
                alerting,
                source: None,
                sla: None,
                group_by,
                origin,
            })
        }
        _ => None,
    };
    cx.finish(out, slo);
}

/// `pyrra.dev/<k>` labels (the ones Pyrra copies onto its rules) as slowburn labels; the others
/// only select the PrometheusRule and are dropped without a word. `pyrra.dev/` annotations are
/// alert annotations, which slowburn does not have yet.
fn labels(cx: &mut Ctx, meta: &Metadata) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (key, value) in meta.labels.iter().flat_map(|k| &k.0) {
        let Some(k) = key.value.strip_prefix("pyrra.dev/") else {
            continue;
        };
        if !k.is_empty() {
            out.insert(k.to_string(), value.clone().unwrap_or_default());
        }
    }
    for (key, _) in meta.annotations.iter().flat_map(|k| &k.0) {
        if key.value.starts_with("pyrra.dev/") {
            let field = format!("metadata.annotations.{}", key.value);
            let why = "dropped: slowburn SLOs have no annotations yet";
            cx.warn(key, &field, why);
        }
    }
    out
}

/// `spec.target`, a percentage Pyrra keeps as a string (`"99.5"`).
fn objective(cx: &mut Ctx, target: Option<&SStr>) -> Option<f64> {
    let Some(t) = target else {
        cx.missing("spec.target", "Pyrra requires it (`\"99.5\"`)");
        return None;
    };
    let written = t.value.trim();
    let why = match written.parse::<f64>() {
        Ok(x) if x > 0.0 && x < 100.0 => {
            if x < 1.0 {
                let why = format!("{written} is below 1 percent: imported as written (99% is 99)");
                cx.warn(t, "spec.target", why);
            }
            return Some(x);
        }
        Ok(x) if x >= 100.0 => format!("{written} leaves no error budget: write less than 100"),
        Ok(_) => format!("{written} must be above 0 (a percentage such as \"99.5\")"),
        Err(_) => format!("`{written}` is not a number (a percentage such as \"99.5\")"),
    };
    cx.refuse(t, "spec.target", why);
    None
}

/// `spec.window` as slowburn's one window and its milliseconds: as written when slowburn reads
/// it the same, else in slowburn's units (`y` has none).
fn window(cx: &mut Ctx, w: Option<&SStr>) -> Option<(String, u64)> {
    let Some(w) = w else {
        cx.missing("spec.window", "Pyrra requires it (`4w`, `30d`)");
        return None;
    };
    let text = w.value.trim();
    let why = match prom_duration(text) {
        None => format!("`{text}` is not a Prometheus duration (`4w`, `30d`)"),
        Some(ms) if !(3_600_000..=90 * 86_400_000).contains(&ms) => {
            format!("`{text}` is outside slowburn's windows (1h to 90d)")
        }
        Some(ms) if !ms.is_multiple_of(60_000) => {
            format!("`{text}` is not a whole number of minutes (slowburn's buckets)")
        }
        Some(ms) => {
            let written = match duration::parse(text) {
                Ok(d) if d.as_millis() == ms => text.to_string(),
                _ => Dur::from_millis(ms).to_string(),
            };
            return Some((written, ms));
        }
    };
    cx.refuse(w, "spec.window", why);
    None
}

/// A Prometheus duration (`4w`, `1w2d`, `1y`, `90s`, `300ms`) in milliseconds.
fn prom_duration(text: &str) -> Option<u64> {
    let mut rest = text.trim();
    let mut total = (!rest.is_empty()).then_some(0u64)?;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let n: u64 = rest.get(..digits)?.parse().ok()?;
        rest = rest.get(digits..)?;
        let letters = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit: u64 = match rest.get(..letters)? {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "y" => 31_536_000_000,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
        rest = rest.get(letters..)?;
    }
    Some(total)
}

/// `spec.indicator`: exactly one kind, its queries through the translator, and its `grouping`
/// as `group_by` (`None` without one). `labels` are the SLO's, which a group label must not repeat.
fn indicator(
    cx: &mut Ctx,
    ind: Option<&Spanned<Indicator>>,
    labels: &BTreeMap<String, String>,
) -> Option<(Sli, Option<GroupBy>)> {
    const KINDS: &str = "one of ratio, latency, latencyNative, bool_gauge";
    let Some(ind) = ind else {
        cx.missing("spec.indicator", &format!("needs {KINDS}"));
        return None;
    };
    let i = &ind.value;
    let kinds = [
        ("ratio", &i.ratio),
        ("latency", &i.latency),
        ("latencyNative", &i.latency_native),
        ("bool_gauge", &i.bool_gauge),
    ];
    let set: Vec<(&str, &Spanned<Kind>)> = kinds
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
        .collect();
    let &[(kind, body)] = set.as_slice() else {
        cx.refuse(ind, "spec.indicator", format!("needs exactly {KINDS}"));
        return None;
    };
    let field = format!("spec.indicator.{kind}");
    let sli = match kind {
        "ratio" | "latency" => pair(cx, body, &field, kind == "latency"),
        "latencyNative" => native(cx, body, &field),
        _ => bool_gauge(cx, body, &field),
    };
    let group_by = match &body.value.grouping {
        // `None` from `grouping` is a refusal: the SLO is dropped, its reasons recorded.
        Some(g) if !g.value.is_empty() => {
            Some(grouping(cx, g, kind, &field, sli.as_ref(), labels)?)
        }
        _ => None,
    };
    Some((sli?, group_by))
}

/// `grouping` as `group_by`: Pyrra sums every side `by` these labels and makes one SLO per
/// value, which is what slowburn's members are when the SLI is made of counter selectors (each
/// member adds `label="value"` to them). `sli` is `None` when the indicator was refused already;
/// the labels are still judged, so the refusal lists every reason. Pyrra has no cap on the
/// values; slowburn's default `max_groups` applies.
fn grouping(
    cx: &mut Ctx,
    g: &Spanned<Vec<String>>,
    kind: &str,
    field: &str,
    sli: Option<&Sli>,
    labels: &BTreeMap<String, String>,
) -> Option<GroupBy> {
    let gfield = format!("{field}.grouping");
    let names = super::group_labels(g.value.iter().map(String::as_str));
    let before = cx.refused.len();
    for why in super::group_label_problems(&names, labels) {
        cx.refuse(g, &gfield, why);
    }
    let listed = names.join(", ");
    let why = match (kind, sli) {
        ("bool_gauge", _) => Some(format!(
            "[{listed}]: grouping needs counter selectors, and a bool_gauge is imported as \
             `$window` expressions of the gauge's samples (sum_over_time, count_over_time), which \
             slowburn cannot split by label: write one SLO per value with a matcher in `metric`"
        )),
        ("latencyNative", _) => Some(format!(
            "[{listed}]: grouping needs counter selectors, and a native histogram is imported as \
             `$window` expressions (histogram_fraction), which slowburn cannot split by label: \
             write one SLO per value with a matcher in `total.metric`, or group a classic \
             histogram (`latency`)"
        )),
        (_, Some(sli)) => super::ungroupable(sli, None).map(|why| format!("[{listed}]: {why}")),
        (_, None) => None,
    };
    if let Some(why) = why {
        cx.refuse(g, &gfield, why);
    }
    (cx.refused.len() == before).then_some(GroupBy {
        labels: names,
        max: None,
    })
}

/// The `metric` of side `which` (`errors`, `success`, `total`), refused (at the indicator) when
/// missing: Pyrra requires it.
fn side<'a>(cx: &mut Ctx, body: &'a Spanned<Kind>, field: &str, which: &str) -> Option<&'a SStr> {
    let k = &body.value;
    let m = match which {
        "errors" => &k.errors,
        "success" => &k.success,
        _ => &k.total,
    };
    let found = m.as_ref().and_then(|m| m.metric.as_ref());
    if found.is_none() {
        cx.refuse(
            body,
            &format!("{field}.{which}.metric"),
            "missing: Pyrra requires it",
        );
    }
    found
}

/// `ratio` (errors/total) and `latency` (success/total): Pyrra's bare selectors through the
/// translator, which takes them as counter selectors (a latency SLI when bucket and count agree).
fn pair(cx: &mut Ctx, body: &Spanned<Kind>, field: &str, latency: bool) -> Option<Sli> {
    let first = side(cx, body, field, if latency { "success" } else { "errors" });
    let total = side(cx, body, field, "total");
    let (first, total) = (first?, total?);
    let (f, t) = (first.value.as_str(), total.value.as_str());
    let translated = match latency {
        true => promql::latency(f, t),
        false => promql::ratio(None, Some(f), Some(t), Window::Literal),
    };
    match translated {
        Ok(t) => {
            for why in t.warnings {
                cx.warn(first, field, why);
            }
            Some(t.sli)
        }
        Err(why) => {
            cx.refuse(first, field, why);
            None
        }
    }
}

/// `bool_gauge`: good = the gauge's samples summed, total = counted, per bucket
/// (sample-weighted, as Pyrra's `sum_over_time` / `count_over_time`).
fn bool_gauge(cx: &mut Ctx, body: &Spanned<Kind>, field: &str) -> Option<Sli> {
    let field = format!("{field}.metric");
    let Some(g) = body.value.metric.as_ref() else {
        cx.refuse(body, &field, "missing: Pyrra requires it");
        return None;
    };
    let sel = g.value.trim();
    let good = format!("sum(sum_over_time({sel}[$window]))");
    let total = format!("sum(count_over_time({sel}[$window]))");
    expressions(cx, g, &field, good, total)
}

/// `latencyNative`: the expressions Pyrra records (`histogram_fraction` times the count), which
/// interpolate inside a bucket: an approximation, said in a warning.
fn native(cx: &mut Ctx, body: &Spanned<Kind>, field: &str) -> Option<Sli> {
    let total = side(cx, body, field, "total");
    let lfield = format!("{field}.latency");
    let Some(l) = body.value.latency.as_ref() else {
        cx.refuse(body, &lfield, "missing: Pyrra requires it (`300ms`)");
        return None;
    };
    let Some(ms) = prom_duration(&l.value).filter(|&ms| ms > 0) else {
        let why = format!("`{}` is not a duration such as `300ms`", l.value);
        cx.refuse(l, &lfield, why);
        return None;
    };
    let total = total?;
    let inner = format!("sum(increase({}[$window]))", total.value.trim());
    let seconds = number(ms as f64 / 1000.0);
    let good = format!("histogram_fraction(0, {seconds}, {inner}) * histogram_count({inner})");
    let why = format!(
        "slowburn's latency SLI reads classic buckets; imported as expressions, which \
         interpolate inside the bucket holding {} (as Pyrra does)",
        l.value.trim()
    );
    cx.warn(body, field, why);
    expressions(cx, total, field, good, format!("histogram_count({inner})"))
}

/// Good and total `$window` expressions, checked as PromQL before they are written.
fn expressions(cx: &mut Ctx, at: &SStr, field: &str, good: String, total: String) -> Option<Sli> {
    for q in [&good, &total] {
        if let Err(why) = promql::check(q) {
            cx.refuse(at, field, format!("`{q}` is not PromQL: {why}"));
            return None;
        }
    }
    Some(Sli::Ratio {
        good: Some(good),
        errors: None,
        total: Some(total),
    })
}

/// `spec.alerting`: Pyrra's tiers as rules, or slowburn's nearest to "off" (it cannot drop its
/// burn-rate rules: the budget and no-data tickets go instead).
fn alerting(cx: &mut Ctx, a: Option<&PyrraAlerting>, window: Option<(&SStr, u64)>) -> Alerting {
    let mut out = Alerting::default();
    let Some(a) = a else {
        out.rules = window.and_then(|(w, ms)| rules(cx, None, w, ms));
        return out;
    };
    for (s, key) in [(&a.name, "name"), (&a.absent_name, "absentName")] {
        let Some(s) = s else { continue };
        let why = format!("`{}` dropped (slowburn's alert names are fixed)", s.value);
        cx.warn(s, &format!("spec.alerting.{key}"), why);
    }
    if let Some(w) = a.severities.as_ref().and_then(|s| s.get("absent"))
        && Severity::from_word(&w.value) != Some(Severity::Ticket)
    {
        let why = format!(
            "`{}` ignored: slowburn's no-data is always a ticket",
            w.value
        );
        cx.warn(w, "spec.alerting.severities.absent", why);
    }
    let disabled = a.disabled.as_ref().filter(|d| d.value);
    if let Some(d) = disabled {
        let why = "a slowburn policy cannot have zero burn-rate rules (`rules: []` is refused): \
                   the built-in rules stay; the budget and no-data tickets are turned off";
        cx.warn(d, "spec.alerting.disabled", why);
    } else if let Some(b) = a.burnrates.as_ref().filter(|b| !b.value) {
        let why = "false: the built-in burn-rate rules stay (slowburn cannot drop them); the \
                   budget tickets are turned off; the absent alert maps to the no-data ticket";
        cx.warn(b, "spec.alerting.burnrates", why);
    } else {
        out.rules = window.and_then(|(w, ms)| rules(cx, a.severities.as_ref(), w, ms));
        out.no_data_off = a.absent.as_ref().is_some_and(|b| !b.value);
        return out;
    }
    out.budget_ticket_below = Some(0.0);
    out.budget_exhausted_off = true;
    out.no_data_off = disabled.is_some() || a.absent.as_ref().is_some_and(|b| !b.value);
    out
}

/// Pyrra's four alerts for a window of `ms` as rules; `None`, with a warning, when its short
/// windows round to zero (a window under about 3 days): the built-in policy is kept then.
fn rules(
    cx: &mut Ctx,
    sev: Option<&BTreeMap<String, SStr>>,
    w: &SStr,
    ms: u64,
) -> Option<Vec<Rule>> {
    let mut rules = Vec::new();
    for (short, long, pending, factor, default, key) in TIERS {
        let (short, long, pending) = (round(ms, short), round(ms, long), round(ms, pending));
        if short == 0 {
            let why = "Pyrra's alert windows for it round below a minute: slowburn's built-in \
                       policy is used instead";
            cx.warn(w, "spec.window", why);
            return None;
        }
        let severity = match sev.and_then(|s| s.get(key)) {
            None => default,
            Some(word) => Severity::from_word(&word.value).unwrap_or_else(|| {
                let why = format!("`{}` is not a severity slowburn knows: ticket", word.value);
                cx.warn(word, &format!("spec.alerting.severities.{key}"), why);
                Severity::Ticket
            }),
        };
        let (long, short) = (minutes(long), minutes(short));
        let pending = (pending > 0).then(|| minutes(pending));
        rules.push(Rule {
            severity,
            long,
            short,
            factor,
            pending,
        });
    }
    Some(rules)
}

/// `window / div` rounded to the minute as Go's `Duration.Round` does (halves up), in ms;
/// Pyrra divides nanoseconds, so this does too.
fn round(window_ms: u64, div: u64) -> u64 {
    const MINUTE: u128 = 60_000_000_000;
    let ns = u128::from(window_ms) * 1_000_000 / u128::from(div.max(1));
    let r = ns % MINUTE;
    let rounded = if r * 2 < MINUTE {
        ns - r
    } else {
        ns + MINUTE - r
    };
    u64::try_from(rounded / 1_000_000).unwrap_or(u64::MAX)
}

/// Milliseconds as slowburn writes a duration (`1d1h43m`).
fn minutes(ms: u64) -> String {
    Dur::from_millis(ms).to_string()
}

#[cfg(test)]
mod tests;
