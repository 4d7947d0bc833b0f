//! One SLO: its names, objective, periods, SLI (ratio, latency, time slices) and SLA.

use super::*;

pub(super) fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

pub(super) fn slo(
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

pub(super) fn sli(
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

pub(super) fn ratio_sli(cx: &mut Ctx, raw: &Spanned<RawRatio>, path: &str) -> Option<CountSpec> {
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
pub(super) fn event_query(cx: &mut Ctx, s: &SStr, path: &str) -> Option<EventQuery> {
    let text = cx.string(s, path)?;
    match promql::event_query(&text) {
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

pub(super) fn timeslice_sli(
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

pub(super) fn sla(
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
        assert!(e[0].contains("Loki SLIs are not supported"), "{e:?}");
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
