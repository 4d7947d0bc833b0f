//! `slowburn report`: one evaluation of every SLO, straight from its source, with a warning
//! wherever a period has gaps (and the source's retention when it says).

use super::{Format, connect, parse_time};
use crate::config::Config;
use crate::report;
use crate::time::align;
use std::io::IsTerminal;
use std::sync::atomic::Ordering;

/// Prints the calendar report of `label` in `format`.
pub(super) async fn calendar(
    cfg: &Config,
    label: &str,
    timezone: Option<&str>,
    format: super::ReportFormat,
) -> anyhow::Result<()> {
    use super::ReportFormat as F;
    use crate::report::calendar as cal;
    let tz = timezone
        .map(crate::calendar::parse_zone)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--timezone: {e}"))?;
    // As the daemon evaluates: the newest bucket is the one the source has had `delay` to hold.
    let now = chrono::Utc::now().timestamp() - cfg.engine.delay.as_secs() as i64;
    let sources = connect(cfg).await?;
    let cfg = &super::with_members(cfg, &sources, align(now, cfg.bucket)).await?;
    let rep = cal::build(cfg, &sources, label, tz, now).await?;
    for e in &rep.entries {
        if e.sum.coverage() < 1.0 {
            eprintln!(
                "warning: {}: only {:.1}% of {label} has data; missing buckets are not counted as good or bad (is the source's retention shorter than the period?)",
                e.slo.id,
                e.sum.coverage() * 100.0
            );
        }
    }
    match format {
        F::Json => println!("{}", serde_json::to_string_pretty(&cal::to_json(&rep))?),
        F::Table => print!("{}", cal::to_table(&rep)),
        F::Csv => print!("{}", cal::to_csv(&rep)),
        F::Md => print!("{}", cal::to_markdown(&rep)),
        F::Html => print!("{}", cal::to_html(&rep)),
    }
    Ok(())
}

/// Prints the report; `stats` adds what was asked of each source on stderr.
pub(super) async fn run(
    cfg: &Config,
    at: Option<String>,
    format: Format,
    stats: bool,
) -> anyhow::Result<()> {
    let now = chrono::Utc::now().timestamp();
    let at = align(
        at.as_deref().map(parse_time).transpose()?.unwrap_or(now),
        cfg.bucket,
    );
    let sources = connect(cfg).await?;
    let cfg = &super::with_members(cfg, &sources, at).await?;
    let t0 = std::time::Instant::now();
    let bar = super::progress_bar("buckets");
    let rep = report::build_with(cfg, &sources, at, &|done, total| {
        super::advance(&bar, done, total)
    })
    .await;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let elapsed = t0.elapsed();
    if stats {
        for source in sources.iter() {
            let s = source.stats();
            let busy = s.busy_micros.load(Ordering::Relaxed) as f64 / 1e6;
            eprintln!(
                "stats: slos={} requests={} failures={} samples_read={} wall_s={:.3} {}_busy_s={:.3}",
                cfg.slos.len(),
                s.requests.load(Ordering::Relaxed),
                s.failures.load(Ordering::Relaxed),
                s.samples.load(Ordering::Relaxed),
                elapsed.as_secs_f64(),
                source.name(),
                busy,
            );
        }
    }
    let mut retention: std::collections::HashMap<crate::source::SourceKind, Option<String>> =
        Default::default();
    for r in &rep.slos {
        let gaps: Vec<_> = r
            .eval
            .periods
            .iter()
            .filter(|p| p.sum.coverage() < 1.0)
            .collect();
        if gaps.is_empty() {
            continue;
        }
        if let std::collections::hash_map::Entry::Vacant(slot) = retention.entry(r.slo.source) {
            slot.insert(match sources.for_slo(&r.slo) {
                Ok(source) => source.retention().await,
                Err(_) => None,
            });
        }
        let cause = match retention.get(&r.slo.source).cloned().flatten() {
            Some(keep) => format!(
                "the `{}` source keeps {keep} of data; or it was down",
                r.slo.source
            ),
            None => format!(
                "is the `{}` source's retention shorter than the period, or was it down?",
                r.slo.source
            ),
        };
        for p in gaps {
            eprintln!(
                "warning: {}: only {:.1}% of the {} period has data; missing buckets are not counted as good or bad ({cause})",
                r.slo.id,
                p.sum.coverage() * 100.0,
                p.period,
            );
        }
    }
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report::to_json(&rep))?),
        Format::Table => print!(
            "{}",
            report::to_table(&rep, std::io::stdout().is_terminal())
        ),
    }
    Ok(())
}
