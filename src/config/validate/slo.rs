//! One SLO: its names, objective, periods, SLI (ratio, latency, time slices) and SLA.

use super::*;

/// Why a query cannot be read as `mixed`: each query is in one source's language. Validation
/// never gets here (`source_kind` refuses the name), but the match on the kind says so.
const MIXED_QUERY: &str =
    "`mixed` is not a source a query can be written for; name `prometheus` or `loki`";

pub(super) fn valid_name(s: &str) -> bool {
    // `.` and `..` would be path segments in `/api/v1/slos/{service}/{name}` and dashboard links.
    !s.is_empty()
        && s.len() <= 128
        && s != "."
        && s != ".."
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

pub(super) fn slo(
    cx: &mut Ctx,
    raw: &RawSlo,
    path: &str,
    bucket: Dur,
    defaults: &super::defaults::Defaults,
) -> Option<Slo> {
    let before = cx.errors.len();
    for (field, v) in [("service", &raw.service), ("name", &raw.name)] {
        if !valid_name(&v.value) {
            cx.err(
                &v.referenced,
                format!("{path}.{field}"),
                format!(
                    "`{}` is not a valid {field}: use 1-128 letters, digits, `-`, `_` or `.`, not `.` or `..` alone (it becomes part of URLs and metric labels)",
                    v.value
                ),
            );
        }
    }
    let objective = cx.percent(&raw.objective, &format!("{path}.objective"));
    let periods = match &raw.windows {
        Some(w) => periods(cx, w, &format!("{path}.windows"), bucket),
        None => Some(defaults.windows.clone()),
    };
    let tz = match &raw.timezone {
        Some(t) => super::defaults::timezone(cx, t, &format!("{path}.timezone")),
        None => Some(defaults.tz),
    };
    let sli = sli(cx, &raw.sli, &format!("{path}.sli"), bucket);
    let labels = slo_labels(cx, &raw.labels, &format!("{path}.labels"));
    let sla = raw
        .sla
        .as_ref()
        .and_then(|s| sla(cx, s, &format!("{path}.sla"), objective, sli.as_ref()));
    if cx.errors.len() > before {
        return None;
    }
    let (kind, counts, source) = sli?;
    let windows = periods?;
    let tz = tz?;
    let periods = windows.rolling_or_nominal();
    let calendars = windows
        .calendar
        .iter()
        .map(|&unit| crate::calendar::Calendar { unit, tz })
        .collect();
    let periods_first = periods[0];
    let slo = Slo {
        id: format!("{}/{}", raw.service.value, raw.name.value),
        service: raw.service.value.clone(),
        name: raw.name.value.clone(),
        objective: objective?,
        periods,
        calendars,
        timezone: tz,
        description: raw.description.clone(),
        labels,
        sli: kind,
        source,
        counts,
        sla,
        policy: Policy::builtin(periods_first, bucket),
        group_by: None,
        group: BTreeMap::new(),
    };
    grouped(cx, raw, path, slo)
}

/// The SLO with its `group_by:` and `max_groups:` checked and set.
fn grouped(cx: &mut Ctx, raw: &RawSlo, path: &str, mut slo: Slo) -> Option<Slo> {
    let Some(g) = &raw.group_by else {
        if let Some(m) = &raw.max_groups {
            cx.err(
                &m.referenced,
                format!("{path}.max_groups"),
                "max_groups caps the members of a grouped SLO; add `group_by: [label]` or remove it",
            );
            return None;
        }
        return Some(slo);
    };
    let before = cx.errors.len();
    let gpath = format!("{path}.group_by");
    if g.value.is_empty() {
        cx.err(
            &g.referenced,
            gpath.clone(),
            "give at least one label, like `group_by: [route]`, or remove group_by",
        );
    }
    let mut labels: Vec<String> = Vec::new();
    for l in &g.value {
        let name = &l.value;
        let why = if let Some(why) = crate::config::group::label_problem(name) {
            Some(why)
        } else if labels.contains(name) {
            Some(format!("`{name}` is listed twice"))
        } else if slo
            .labels
            .keys()
            .any(|k| crate::names::label_name(k) == *name)
        {
            Some(format!(
                "`{name}` is also a key of this SLO's `labels:`; slo_info would carry it twice: rename the label key"
            ))
        } else {
            None
        };
        match why {
            Some(why) => cx.err(&l.referenced, gpath.clone(), why),
            None => labels.push(name.clone()),
        }
    }
    if let Some(why) = crate::config::group::ungroupable(&slo) {
        cx.err(&g.referenced, gpath.clone(), why);
    }
    let max = match &raw.max_groups {
        Some(m) if m.value == 0 || m.value > crate::config::group::LIMIT => {
            cx.err(
                &m.referenced,
                format!("{path}.max_groups"),
                format!(
                    "{} members is out of range: give 1 to {} (default {})",
                    m.value,
                    crate::config::group::LIMIT,
                    crate::config::group::DEFAULT_MAX
                ),
            );
            0
        }
        Some(m) => m.value as usize,
        None => crate::config::group::DEFAULT_MAX,
    };
    if cx.errors.len() > before {
        return None;
    }
    slo.group_by = Some(crate::config::GroupBy { labels, max });
    Some(slo)
}

pub(super) fn sli(
    cx: &mut Ctx,
    raw: &Spanned<RawSli>,
    path: &str,
    bucket: Dur,
) -> Option<(SliKind, CountSpec, SourceKind)> {
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
        return ratio_sli(cx, ratio, &format!("{path}.ratio"))
            .map(|(c, source)| (SliKind::Ratio, c, source));
    }
    if let Some(lat) = &r.latency {
        return latency_sli(cx, lat, &format!("{path}.latency"));
    }
    let ts = r.timeslice.as_ref()?;
    timeslice_sli(cx, ts, &format!("{path}.timeslice"), bucket)
        .map(|(c, source)| (SliKind::Timeslice, c, source))
}

/// The source a `source:` field names (the default when absent), checked against what exists.
fn source_kind(cx: &mut Ctx, s: Option<&SStr>, path: &str) -> Option<SourceKind> {
    let Some(s) = s else {
        return Some(SourceKind::DEFAULT);
    };
    match SourceKind::parse(&s.value) {
        Some(SourceKind::Prometheus) => Some(SourceKind::Prometheus),
        Some(SourceKind::Loki) if cx.loki => Some(SourceKind::Loki),
        Some(SourceKind::Loki) => {
            cx.err(
                &s.referenced,
                path,
                "`source: loki` needs a top-level `loki:` section, e.g. `loki: {url: http://127.0.0.1:3100}`",
            );
            None
        }
        // `mixed` is what an SLO becomes when its sides differ, not a source one can name.
        Some(SourceKind::Mixed) | None => {
            let valid: Vec<&str> = SourceKind::CONFIGURABLE.iter().map(|k| k.name()).collect();
            cx.err(
                &s.referenced,
                path,
                format!("unknown source `{}`; valid: {}", s.value, valid.join(", ")),
            );
            None
        }
    }
}

/// One side of a ratio as written, with the source it reads from.
fn side(
    cx: &mut Ctx,
    raw: &Spanned<RawQuery>,
    path: &str,
    sli_source: Option<SourceKind>,
) -> Option<(SourceKind, EventQuery)> {
    let (text, source) = match &raw.value {
        RawQuery::Text(t) => (
            Spanned::new(t.clone(), raw.referenced, raw.defined),
            sli_source,
        ),
        RawQuery::Sourced(q) => {
            let source = match &q.source {
                Some(_) => source_kind(cx, q.source.as_ref(), &format!("{path}.source")),
                None => sli_source,
            };
            (q.query.clone(), source)
        }
    };
    let source = source?;
    let q = event_query(cx, &text, path, source)?;
    Some((source, q))
}

/// Good/errors/total, each from the SLI's source unless it names its own; returns the spec and
/// the SLO's source ([`SourceKind::Mixed`] when the sides differ).
pub(super) fn ratio_sli(
    cx: &mut Ctx,
    raw: &Spanned<RawRatio>,
    path: &str,
) -> Option<(CountSpec, SourceKind)> {
    let r = &raw.value;
    let sli_source = source_kind(cx, r.source.as_ref(), &format!("{path}.source"));
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
    let mut q = |v: &Option<Spanned<RawQuery>>, name: &str| {
        v.as_ref()
            .map(|s| side(cx, s, &format!("{path}.{name}"), sli_source))
    };
    let sides = [
        q(&r.good, "good"),
        q(&r.errors, "errors"),
        q(&r.total, "total"),
    ];
    if sides.iter().any(|s| matches!(s, Some(None))) {
        return None;
    }
    let [good, bad, total] = sides.map(Option::flatten);
    let mut sources: Vec<SourceKind> = [&good, &bad, &total]
        .into_iter()
        .flatten()
        .map(|(s, _)| *s)
        .collect();
    sources.dedup();
    if let [only] = sources[..] {
        let q = |x: Option<(SourceKind, EventQuery)>| x.map(|(_, q)| q);
        return Some((
            CountSpec::Events {
                good: q(good),
                bad: q(bad),
                total: q(total),
            },
            only,
        ));
    }
    let sided =
        |x: Option<(SourceKind, EventQuery)>| x.map(|(source, query)| Sided { source, query });
    Some((
        CountSpec::Mixed {
            good: sided(good),
            bad: sided(bad),
            total: sided(total),
        },
        SourceKind::Mixed,
    ))
}

/// A counter selector or log query, or an expression containing `$window`, in the language of
/// `source`.
pub(super) fn event_query(
    cx: &mut Ctx,
    s: &SStr,
    path: &str,
    source: SourceKind,
) -> Option<EventQuery> {
    let text = cx.string(s, path)?;
    let parsed = match source {
        SourceKind::Prometheus => promql::event_query(&text),
        SourceKind::Loki => logql::event_query(&text),
        SourceKind::Mixed => Err(MIXED_QUERY.to_string()),
    };
    match parsed {
        Ok(q) => Some(q),
        Err(e) => {
            cx.err(&s.referenced, path, e);
            None
        }
    }
}

pub(super) fn threshold(cx: &mut Ctx, s: &SStr, path: &str) -> Option<Dur> {
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

pub(super) fn latency_sli(
    cx: &mut Ctx,
    raw: &Spanned<RawLatency>,
    path: &str,
) -> Option<(SliKind, CountSpec, SourceKind)> {
    let r = &raw.value;
    let source = source_kind(cx, r.source.as_ref(), &format!("{path}.source"))?;
    let threshold = threshold(cx, &r.threshold, &format!("{path}.threshold"));
    match source {
        SourceKind::Loki => return log_latency(cx, raw, path, threshold?),
        SourceKind::Prometheus => {}
        SourceKind::Mixed => {
            cx.err(&raw.referenced, format!("{path}.source"), MIXED_QUERY);
            return None;
        }
    }
    let hpath = format!("{path}.histogram");
    let Some(hist) = &r.histogram else {
        cx.err(
            &raw.referenced,
            &hpath,
            "a Prometheus latency SLI needs `histogram`, e.g. `histogram: http_request_duration_seconds{service=\"api\"}` (for logs, set `source: loki` with `logs` and `field`)",
        );
        return None;
    };
    let text = cx.string(hist, &hpath)?;
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
                source,
            ))
        }
        Err(e) => {
            cx.err(&hist.referenced, &hpath, e);
            None
        }
    }
}

/// A latency SLI over log lines: `logs` (a log query) and the `field` holding the duration.
fn log_latency(
    cx: &mut Ctx,
    raw: &Spanned<RawLatency>,
    path: &str,
    threshold: Dur,
) -> Option<(SliKind, CountSpec, SourceKind)> {
    let r = &raw.value;
    let (Some(logs), Some(field)) = (&r.logs, &r.field) else {
        cx.err(
            &raw.referenced,
            path,
            "a Loki latency SLI needs `logs` (the request lines, e.g. `{app=\"api\"} | json`) and `field` (the duration, e.g. `duration_ms`)",
        );
        return None;
    };
    let lpath = format!("{path}.logs");
    let logs_text = match event_query(cx, logs, &lpath, SourceKind::Loki)? {
        EventQuery::Selector(q) => q,
        EventQuery::Expression(_) => {
            cx.err(
                &logs.referenced,
                &lpath,
                "`logs` selects lines (no `$window`): slowburn counts them and the share at or under the threshold",
            );
            return None;
        }
    };
    let fpath = format!("{path}.field");
    let field_name = cx.string(field, &fpath)?;
    if !logql::is_field(&field_name) {
        cx.err(
            &field.referenced,
            &fpath,
            format!("`{field_name}` is not a label name; use the field a parser extracted, e.g. `duration_ms`"),
        );
        return None;
    }
    let unit = match &r.unit {
        None => DurationUnit::Millis,
        Some(u) => match DurationUnit::parse(&u.value) {
            Some(unit) => unit,
            None => {
                cx.err(
                    &u.referenced,
                    format!("{path}.unit"),
                    format!(
                        "unknown unit `{}`; valid: ms, s, duration (a string like \"182ms\")",
                        u.value
                    ),
                );
                return None;
            }
        },
    };
    if r.histogram.is_some() {
        cx.err(
            &raw.referenced,
            format!("{path}.histogram"),
            "`histogram` is for Prometheus; a Loki latency SLI uses `logs` and `field`",
        );
        return None;
    }
    let counts = logql::latency_counts(&logs_text, &field_name, unit, threshold);
    Some((
        SliKind::LogLatency {
            logs: logs_text,
            field: field_name,
            unit,
            threshold,
        },
        counts,
        SourceKind::Loki,
    ))
}

pub(super) fn timeslice_sli(
    cx: &mut Ctx,
    raw: &Spanned<RawTimeslice>,
    path: &str,
    bucket: Dur,
) -> Option<(CountSpec, SourceKind)> {
    let r = &raw.value;
    let source = source_kind(cx, r.source.as_ref(), &format!("{path}.source"));
    let qpath = format!("{path}.query");
    let mut query = cx.string(&r.query, &qpath);
    if let (Some(q), Some(src)) = (&query, source) {
        let checked = match src {
            SourceKind::Prometheus => promql::expression(q).map(|_| q.clone()),
            SourceKind::Loki => logql::metric_query(q)
                .map(|q| q.replace("$window", &format!("{}s", bucket.as_secs()))),
            SourceKind::Mixed => Err(MIXED_QUERY.to_string()),
        };
        match checked {
            Ok(q) => query = Some(q),
            Err(e) => cx.err(&r.query.referenced, &qpath, e),
        }
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
    Some((
        CountSpec::Timeslice {
            query: query?,
            good_when: good_when?,
            slice: slice?,
        },
        source?,
    ))
}

pub(super) fn sla(
    cx: &mut Ctx,
    raw: &Spanned<RawSla>,
    path: &str,
    objective: Option<f64>,
    sli: Option<&(SliKind, CountSpec, SourceKind)>,
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
                _,
            )),
        ) => {
            let t_val = sla_threshold(cx, t, path, *slo_t)?;
            Some(promql::latency_counts(metric, matchers, t_val))
        }
        (
            Some(t),
            Some((
                SliKind::LogLatency {
                    logs,
                    field,
                    unit,
                    threshold: slo_t,
                },
                _,
                _,
            )),
        ) => {
            let t_val = sla_threshold(cx, t, path, *slo_t)?;
            Some(logql::latency_counts(logs, field, *unit, t_val))
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

/// An SLA's own latency threshold: at or above the SLO's.
fn sla_threshold(cx: &mut Ctx, t: &SStr, path: &str, slo_t: Dur) -> Option<Dur> {
    let tpath = format!("{path}.threshold");
    let t_val = threshold(cx, t, &tpath)?;
    if t_val < slo_t {
        cx.err(
            &t.referenced,
            &tpath,
            format!("the SLA threshold ({t_val}) must be at or above the SLO's ({slo_t})"),
        );
        return None;
    }
    Some(t_val)
}

#[cfg(test)]
mod tests {
    use super::super::errors_of;

    fn one(sli: &str, extra: &str) -> Vec<String> {
        errors_of(&format!(
            "slos:\n  - service: api\n    name: avail\n    objective: 99.9\n{extra}    sli: {sli}\n"
        ))
    }

    #[test]
    fn each_sli_kind_is_checked_with_its_position() {
        assert!(one("{ratio: {errors: e_total, total: t_total}}", "").is_empty());
        let e = one(
            "{ratio: {errors: \"e_total{a=\\\"1\\\"\", total: t_total}}",
            "",
        );
        assert!(
            e.len() == 1 && e[0].contains("PromQL does not parse"),
            "{e:?}"
        );
        assert!(e[0].starts_with("t.yaml:5:"), "{e:?}");
        let e = one("{latency: {histogram: lat_bucket, threshold: 200ms}}", "");
        assert!(e[0].contains("without `_bucket`"), "{e:?}");
        let e = one("{timeslice: {query: up, below: 1, above: 0}}", "");
        assert!(e[0].contains("exactly one of `below` or `above`"), "{e:?}");
        let e = one("{ratio: {source: loki, errors: e, total: t}}", "");
        assert!(e[0].contains("needs a top-level `loki:` section"), "{e:?}");
        assert!(
            e[0].starts_with("t.yaml:5:27: slos[0].sli.ratio.source"),
            "{e:?}"
        );
    }

    fn with_loki(sli: &str) -> Vec<String> {
        errors_of(&format!(
            "loki: {{url: \"http://l:3100\"}}\nslos:\n  - service: api\n    name: logs\n    objective: 99.9\n    sli:\n{sli}"
        ))
    }

    #[test]
    fn log_slis_are_checked_in_logql() {
        let ok = [
            "      ratio:\n        source: loki\n        errors: '{app=\"b\"} | json | status >= 500'\n        total: '{app=\"b\"}'\n",
            "      ratio:\n        errors: {source: loki, query: '{app=\"b\"} | json | level=\"error\"'}\n        total: http_requests_total\n",
            "      latency:\n        source: loki\n        logs: '{app=\"b\"} | json'\n        field: duration_ms\n        threshold: 200ms\n",
            "      timeslice:\n        source: loki\n        query: 'quantile_over_time(0.95, {app=\"b\"} | json | unwrap duration_ms [$window])'\n        below: 300\n",
        ];
        for sli in ok {
            assert!(with_loki(sli).is_empty(), "{sli}: {:?}", with_loki(sli));
        }
        let e = with_loki(
            "      ratio:\n        source: loki\n        errors: '{app=\"b\" | json'\n        total: '{}'\n",
        );
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(
            e[0].starts_with("t.yaml:9:17: slos[0].sli.ratio.errors"),
            "{e:?}"
        );
        assert!(e[0].contains("is not closed"), "{e:?}");
        assert!(e[1].contains("at least one matcher"), "{e:?}");
        // A side in the wrong language for its source points at the side.
        let e = with_loki(
            "      ratio:\n        errors: {source: loki, query: 'http_errors_total'}\n        total: http_requests_total\n",
        );
        assert!(e[0].contains("starts with a stream selector"), "{e:?}");
        let e = with_loki(
            "      latency:\n        source: loki\n        logs: '{app=\"b\"}'\n        threshold: 200ms\n",
        );
        assert!(e[0].contains("needs `logs`"), "{e:?}");
        let e = with_loki(
            "      timeslice:\n        source: loki\n        query: '{app=\"b\"}'\n        below: 1\n",
        );
        assert!(e[0].contains("must be a metric query"), "{e:?}");
    }

    #[test]
    fn names_objectives_and_slas() {
        let e = errors_of(
            "slos:\n  - service: \"a b\"\n    name: x\n    objective: 120\n    sli: {ratio: {errors: e, total: t}}\n    sla: {objective: 99.99}\n",
        );
        assert!(e.iter().any(|m| m.contains("not a valid service")), "{e:?}");
        assert!(
            e.iter()
                .any(|m| m.starts_with("t.yaml:4:16: slos[0].objective")),
            "{e:?}"
        );
    }
}
