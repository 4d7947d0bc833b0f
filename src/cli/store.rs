//! `slowburn store verify`: is the store file sound? redb's integrity check runs at open; then
//! every row of every table is read and its checksum checked. `--repair` deletes damaged rows.

use crate::store::{Store, TABLE_NAMES};
use anyhow::{Context, anyhow};
use std::path::Path;

/// Prints what was read and what is damaged; `Err` (exit 1) when the store is damaged and not
/// repaired, or cannot be opened (the message says how to recover).
pub(super) fn verify(data_dir: &Path, repair: bool) -> anyhow::Result<()> {
    let file = data_dir.join(crate::store::FILE_NAME);
    if !file.exists() {
        return Err(anyhow!("no store at {}", file.display()));
    }
    let store = Store::open(data_dir).context("the store does not open")?;
    let v = store.verify(repair)?;
    let rows: Vec<String> = TABLE_NAMES
        .iter()
        .zip(v.rows)
        .map(|(t, n)| format!("{n} {t}"))
        .collect();
    println!("{}: read {}", file.display(), rows.join(", "));
    for (table, key) in &v.damaged {
        println!("damaged: {table} {key}");
    }
    match (v.damaged.len(), repair) {
        (0, _) => {
            println!("sound: redb's integrity check passed and every checksum holds");
            Ok(())
        }
        (n, true) => {
            println!(
                "removed {n} damaged value(s); their buckets are backfilled from the source at the next start"
            );
            Ok(())
        }
        (n, false) => Err(anyhow!(
            "{n} damaged value(s); `slowburn store verify --repair` removes them (chunks are then backfilled from the source; a damaged alert state, outbox entry or silence is lost)"
        )),
    }
}
