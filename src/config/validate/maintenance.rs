//! `maintenance:`: one-off and weekly windows that mute alerts and exclude buckets.

use super::*;

/// Every maintenance window; SLO ids must name SLOs of the file (`ids`).
pub(super) fn maintenance(
    cx: &mut Ctx,
    raw: &[Spanned<RawMaintenance>],
    ids: &HashMap<String, u32>,
) -> Vec<crate::maintenance::Maintenance> {
    use crate::maintenance::Maintenance;
    let mut out = Vec::new();
    for (i, m) in raw.iter().enumerate() {
        let path = format!("maintenance[{i}]");
        let v = &m.value;
        let when = recurrence(cx, m, &path);
        for (j, s) in v.slos.iter().enumerate() {
            if !ids.contains_key(&s.value) {
                let known: Vec<&str> = ids.keys().map(String::as_str).collect();
                let hint = crate::config::error::nearest(&s.value, &known)
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

/// When a window applies: one-off (`start` + `end`) or weekly; `None` after reporting why not.
fn recurrence(
    cx: &mut Ctx,
    m: &Spanned<RawMaintenance>,
    path: &str,
) -> Option<crate::maintenance::Recurrence> {
    let v = &m.value;
    use crate::maintenance::Recurrence;
    let time = |cx: &mut Ctx, s: &SStr, field: &str| -> Option<i64> {
        let text = cx.string(s, &format!("{path}.{field}"))?;
        match chrono::DateTime::parse_from_rfc3339(&text) {
            Ok(t) => Some(t.timestamp()),
            Err(e) => {
                cx.err(
                    &s.referenced,
                    format!("{path}.{field}"),
                    format!(
                        "`{text}` is not an RFC 3339 time ({e}); write e.g. `2026-12-01T02:00:00Z`"
                    ),
                );
                None
            }
        }
    };
    match (&v.start, &v.end, &v.weekly) {
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
        (None, None, Some(w)) => weekly(cx, w, &format!("{path}.weekly")),
        _ => {
            cx.err(
                &m.referenced,
                path,
                "needs either `start` and `end` (one-off) or `weekly: {day, at, duration}`",
            );
            None
        }
    }
}

/// `weekly: {day, at, duration}` in UTC, shorter than a week.
fn weekly(
    cx: &mut Ctx,
    w: &Spanned<RawWeekly>,
    w_path: &str,
) -> Option<crate::maintenance::Recurrence> {
    use crate::maintenance::{Recurrence, WEEK};
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

#[cfg(test)]
mod tests {
    use super::super::errors_of;

    #[test]
    fn windows_need_valid_times_days_and_order() {
        let ok = "maintenance:\n  - {name: patch, weekly: {day: sun, at: \"03:00\", duration: 2h}}";
        assert!(errors_of(ok).is_empty(), "{:?}", errors_of(ok));
        let bad = "maintenance:\n  - {name: a, start: \"2026-12-01T02:00:00Z\", end: \"2026-12-01T01:00:00Z\"}\n  - {name: b, weekly: {day: someday, at: \"3am\", duration: 2h}}\n  - {name: c, start: yesterday, end: \"2026-12-01T01:00:00Z\"}";
        let e = errors_of(bad);
        assert!(
            e.iter().any(|m| m.contains("must be after `start`")),
            "{e:?}"
        );
        assert!(e.iter().any(|m| m.contains("use one of mon")), "{e:?}");
        assert!(e.iter().any(|m| m.contains("HH:MM")), "{e:?}");
        assert!(
            e.iter().any(|m| m.contains("not an RFC 3339 time")),
            "{e:?}"
        );
    }
}
