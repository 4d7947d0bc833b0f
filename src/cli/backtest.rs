//! `slowburn backtest`: replays history from the config's sources, or from a stopped daemon's
//! store, through the daemon's own alert decision.

use super::{Format, connect, parse_time};
use crate::config::Config;
use crate::source::Sources;
use crate::source::store::StoreSource;
use crate::time::align;
use anyhow::{Context, anyhow};
use std::path::PathBuf;
use std::sync::Arc;

/// Prints the episodes; query errors are warnings on stderr.
pub(super) async fn run(
    cfg: &Config,
    from: Option<String>,
    to: Option<String>,
    data_dir: Option<PathBuf>,
    format: Format,
) -> anyhow::Result<()> {
    let to = align(
        to.as_deref()
            .map(parse_time)
            .transpose()?
            .unwrap_or_else(|| chrono::Utc::now().timestamp()),
        cfg.bucket,
    );
    let from = align(
        from.as_deref()
            .map(parse_time)
            .transpose()?
            .unwrap_or(to - 7 * 86400),
        cfg.bucket,
    );
    if from > to {
        return Err(anyhow!("--from is after --to"));
    }
    let (sources, cfg) = match data_dir {
        Some(dir) => {
            let store = crate::store::Store::open(&dir).with_context(|| {
                format!(
                    "cannot open the store in {} (is the daemon still running?)",
                    dir.display()
                )
            })?;
            // The members the daemon followed, as it stored them.
            let cfg = stored_members(cfg, &store)?;
            (
                Sources::only(Arc::new(StoreSource::new(Arc::new(store)))),
                cfg,
            )
        }
        None => {
            let sources = connect(cfg).await?;
            let cfg = super::with_members(cfg, &sources, to).await?;
            (sources, cfg)
        }
    };
    let cfg = &cfg;
    let bar = super::progress_bar("SLOs");
    let (episodes, errors) = crate::backtest::run_with(cfg, &sources, from, to, &|done, total| {
        super::advance(&bar, done, total)
    })
    .await;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    for e in &errors {
        eprintln!("warning: {e}");
    }
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&crate::backtest::to_json(&episodes))?
        ),
        Format::Table => print!("{}", crate::backtest::to_table(&episodes)),
    }
    Ok(())
}

/// `cfg` with each `group_by` definition replaced by the members a daemon stored for it.
fn stored_members(cfg: &Config, store: &crate::store::Store) -> anyhow::Result<Config> {
    if !crate::config::group::has_groups(cfg) {
        return Ok(cfg.clone());
    }
    let mut members = crate::engine::Members::default();
    for (id, bytes) in store.groups()? {
        members
            .load(&id, &bytes)
            .map_err(|e| anyhow!("the store's members of {id} do not read: {e}"))?;
    }
    Ok(crate::config::group::expand(cfg, |d| members.of(&d.id)))
}
