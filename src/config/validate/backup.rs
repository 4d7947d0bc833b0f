//! `backup:`: scheduled, verified copies of the store.

use super::Ctx;
use crate::config::model::BackupSettings;
use crate::config::raw::RawBackup;
use crate::duration::Dur;
use serde_saphyr::Spanned;

/// Copies kept when `keep` is not given: a week of daily copies.
pub const DEFAULT_KEEP: u32 = 7;
/// The shortest schedule: a copy reads the whole store, so more often than this is a mistake.
pub const MIN_EVERY: Dur = Dur::from_secs(10);

pub(super) fn backup_settings(
    cx: &mut Ctx,
    raw: Option<&Spanned<RawBackup>>,
) -> Option<BackupSettings> {
    let raw = &raw?.value;
    let every = cx.dur(&raw.every, "backup.every");
    if let Some(d) = every
        && d < MIN_EVERY
    {
        cx.err(
            &raw.every.referenced,
            "backup.every",
            format!("a backup copies the whole store; take one at most every {MIN_EVERY} (`every: 24h` is usual)"),
        );
    }
    let to = cx.string(&raw.to, "backup.to");
    if to.as_deref().is_some_and(|t| t.trim().is_empty()) {
        cx.err(
            &raw.to.referenced,
            "backup.to",
            "name the directory the copies go into, like `to: /var/backups/slowburn`",
        );
    }
    let keep = match &raw.keep {
        Some(k) if k.value == 0 => {
            cx.err(
                &k.referenced,
                "backup.keep",
                "keep at least one copy (`keep: 7` keeps a week of daily copies)",
            );
            DEFAULT_KEEP
        }
        Some(k) => k.value,
        None => DEFAULT_KEEP,
    };
    Some(BackupSettings {
        every: every?,
        to: to?.into(),
        keep,
    })
}
