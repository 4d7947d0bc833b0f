//! `defaults:` and `engine:`: the bucket, the budget periods and the daemon's schedule.

use super::*;

pub(super) fn engine_settings(
    cx: &mut Ctx,
    raw: Option<&RawEngine>,
    bucket: Dur,
) -> EngineSettings {
    let mut e = EngineSettings::default();
    e.tick_deadline = until_next_tick(bucket, e.delay);
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
    let due = until_next_tick(bucket, e.delay);
    e.tick_deadline = due;
    if let Some(d) = &raw.tick_deadline
        && let Some(v) = cx.dur(d, "engine.tick_deadline")
    {
        if v < Dur::from_secs(1) || v > due {
            cx.err(
                &d.referenced,
                "engine.tick_deadline",
                format!(
                    "must be between 1s and the bucket minus the delay ({due}), so a tick ends before the next is due"
                ),
            );
        } else {
            e.tick_deadline = v;
        }
    }
    e
}

/// The bucket minus the delay (at least 1 s): how long a tick may take before the next is due.
fn until_next_tick(bucket: Dur, delay: Dur) -> Dur {
    Dur::from_millis(bucket.as_millis() - delay.as_millis().min(bucket.as_millis() - 1000))
}

pub(super) fn defaults(cx: &mut Ctx, raw: Option<&RawDefaults>) -> (Dur, Vec<Dur>) {
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

pub(super) fn periods(
    cx: &mut Ctx,
    raw: &Spanned<Vec<SStr>>,
    path: &str,
    bucket: Dur,
) -> Option<Vec<Dur>> {
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
            Some(d) if !d.is_whole_buckets(bucket) => {
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

#[cfg(test)]
mod tests {
    use super::super::errors_of;

    #[test]
    fn buckets_periods_and_schedule() {
        assert!(errors_of("defaults: {bucket: 30s, windows: [30d, 7d]}").is_empty());
        let e = errors_of("defaults:\n  bucket: 7s\n  windows: [30d, 30d]");
        assert!(
            e.iter()
                .any(|m| m.starts_with("t.yaml:2:11: defaults.bucket")),
            "{e:?}"
        );
        let e = errors_of("defaults:\n  windows: [30d, 30d]\nengine: {delay: 5m}");
        assert!(e.iter().any(|m| m.contains("listed twice")), "{e:?}");
        assert!(e.iter().any(|m| m.contains("engine.delay")), "{e:?}");
    }
}
