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

/// What `defaults:` gives every SLO that does not say otherwise.
pub(super) struct Defaults {
    /// Bucket width.
    pub bucket: Dur,
    /// Rolling and calendar periods.
    pub windows: Windows,
    /// Where calendar periods begin.
    pub tz: chrono_tz::Tz,
}

/// The periods of `windows:`: rolling ones (`30d`) and calendar ones (`month`), as written.
#[derive(Clone)]
pub(super) struct Windows {
    pub rolling: Vec<Dur>,
    pub calendar: Vec<crate::calendar::Unit>,
}

impl Windows {
    /// The rolling periods, or the first calendar period's nominal length when there are none:
    /// alerting and the burn-rate rules are tuned to a rolling period.
    pub fn rolling_or_nominal(&self) -> Vec<Dur> {
        if self.rolling.is_empty() {
            let nominal = self
                .calendar
                .first()
                .map_or(30 * 86400, |u| u.nominal_secs());
            vec![Dur::from_secs(nominal as u64)]
        } else {
            self.rolling.clone()
        }
    }
}

/// A `timezone:` value, checked at its line.
pub(super) fn timezone(cx: &mut Ctx, raw: &SStr, path: &str) -> Option<chrono_tz::Tz> {
    match crate::calendar::parse_zone(&raw.value) {
        Ok(tz) => Some(tz),
        Err(e) => {
            cx.err(&raw.referenced, path, e);
            None
        }
    }
}

pub(super) fn defaults(cx: &mut Ctx, raw: Option<&RawDefaults>) -> Defaults {
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
    let default_periods = Windows {
        rolling: vec![Dur::from_secs(30 * 86400), Dur::from_secs(7 * 86400)],
        calendar: Vec::new(),
    };
    let windows = match raw.and_then(|d| d.windows.as_ref()) {
        Some(w) => periods(cx, w, "defaults.windows", bucket).unwrap_or(default_periods),
        None => default_periods,
    };
    let tz = raw
        .and_then(|d| d.timezone.as_ref())
        .and_then(|t| timezone(cx, t, "defaults.timezone"))
        .unwrap_or(chrono_tz::Tz::UTC);
    Defaults {
        bucket,
        windows,
        tz,
    }
}

pub(super) fn periods(
    cx: &mut Ctx,
    raw: &Spanned<Vec<SStr>>,
    path: &str,
    bucket: Dur,
) -> Option<Windows> {
    if raw.value.is_empty() {
        cx.err(
            &raw.referenced,
            path,
            "needs at least one period, e.g. [30d, 7d] or [30d, month]",
        );
        return None;
    }
    let mut out = Vec::new();
    let mut calendar = Vec::new();
    let mut ok = true;
    for (i, w) in raw.value.iter().enumerate() {
        let p = format!("{path}[{i}]");
        if let Some(unit) = crate::calendar::Unit::parse(w.value.trim()) {
            if calendar.contains(&unit) {
                cx.err(&w.referenced, &p, format!("period {unit} is listed twice"));
                ok = false;
            } else {
                calendar.push(unit);
            }
            continue;
        }
        if w.value.trim().chars().all(|c| c.is_ascii_alphabetic()) {
            cx.err(
                &w.referenced,
                &p,
                format!(
                    "`{}` is not a period: write a rolling window like 30d or a calendar period: week, month or quarter",
                    w.value
                ),
            );
            ok = false;
            continue;
        }
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
    ok.then_some(Windows {
        rolling: out,
        calendar,
    })
}

#[cfg(test)]
mod tests {
    use super::super::errors_of;

    #[test]
    fn calendar_periods_and_time_zones() {
        let cfg = crate::config::parse_str(
            "defaults: {windows: [30d, month], timezone: Europe/Berlin}\nslos:\n  - {service: a, name: b, objective: 99, sli: {ratio: {errors: e, total: t}}}\n  - {service: a, name: c, objective: 99, windows: [quarter, week], timezone: Asia/Tokyo, sli: {ratio: {errors: e, total: t}}}\n",
            "t.yaml",
            &|_| None,
        )
        .expect("valid");
        let (b, c) = (&cfg.slos[0], &cfg.slos[1]);
        assert_eq!(b.periods, vec![crate::duration::Dur::from_secs(30 * 86400)]);
        assert_eq!(b.calendars.len(), 1);
        assert_eq!(b.calendars[0].name(), "month");
        assert_eq!(b.timezone.name(), "Europe/Berlin");
        // Only calendar periods: alerting runs on the first one's nominal length.
        assert_eq!(c.periods, vec![crate::duration::Dur::from_secs(90 * 86400)]);
        let names: Vec<&str> = c.calendars.iter().map(|k| k.name()).collect();
        assert_eq!(names, ["quarter", "week"]);
        assert_eq!(c.timezone.name(), "Asia/Tokyo");
        // The store keeps a quarter of history for it.
        assert!(c.longest_period().as_secs() >= 92 * 86400);

        let e = errors_of("defaults:\n  windows: [30d, monthly]");
        assert!(
            e.iter()
                .any(|m| m.contains("t.yaml:2:18") && m.contains("week, month or quarter")),
            "{e:?}"
        );
        let e = errors_of("defaults:\n  windows: [month, month]");
        assert!(e.iter().any(|m| m.contains("listed twice")), "{e:?}");
        let e = errors_of("defaults:\n  timezone: Mars/Olympus");
        assert!(
            e.iter()
                .any(|m| m.contains("t.yaml:2:13") && m.contains("IANA time zone")),
            "{e:?}"
        );
    }

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
