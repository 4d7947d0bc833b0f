//! Scheduled backups (`backup: {every: 24h, to: DIR, keep: 7}`): the daemon copies its store
//! into `DIR/slowburn-<UTC time>/` with the same code as `slowburn store backup` (one read
//! transaction, then the copy opened and every checksum verified), removes the oldest copies
//! beyond `keep` once a new one verified, and publishes when the last good one was taken. Such a
//! directory is a store: `slowburn run --data-dir` or `backtest --data-dir` opens it as it is.
//!
//! The schedule follows the newest copy on disk, so a restart neither takes an extra copy nor
//! skips one; the decisions (names, what is due, what to prune) are pure functions.

use crate::config::BackupSettings;
use crate::store::{BackupStats, Store, StoreError};
use std::path::{Path, PathBuf};

/// Every copy's directory name starts with this, then the UTC time `YYYYMMDDTHHMMSSZ`.
pub const PREFIX: &str = "slowburn-";

/// The directory name of a copy taken at `at` (unix seconds).
pub fn name(at: i64) -> String {
    let t = chrono::DateTime::from_timestamp(at, 0).unwrap_or_default();
    format!("{PREFIX}{}", t.format("%Y%m%dT%H%M%SZ"))
}

/// The time a copy's directory name says it was taken, if it is one of ours.
pub fn taken_at(name: &str) -> Option<i64> {
    let stamp = name.strip_prefix(PREFIX)?;
    chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ")
        .ok()
        .map(|t| t.and_utc().timestamp())
}

/// When the next copy is due: now when there is none, else one period after the newest.
pub fn due(newest: Option<i64>, every: i64) -> Option<i64> {
    newest.map(|t| t + every)
}

/// The copies to remove so that the newest `keep` remain (oldest first).
pub fn to_prune(mut taken: Vec<i64>, keep: u32) -> Vec<i64> {
    taken.sort_unstable();
    let excess = taken.len().saturating_sub(keep as usize);
    taken.truncate(excess);
    taken
}

/// The copies in `dir` that hold a store, by the time their names give.
pub fn existing(dir: &Path) -> Vec<i64> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.path().join(crate::store::FILE_NAME).is_file())
        .filter_map(|e| taken_at(&e.file_name().to_string_lossy()))
        .collect()
}

/// The newest copy in `dir`, as its directory and the time it was taken.
pub fn newest(dir: &Path) -> Option<(PathBuf, i64)> {
    existing(dir)
        .into_iter()
        .max()
        .map(|t| (dir.join(name(t)), t))
}

/// What one scheduled backup did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    /// The copy's directory.
    pub dir: PathBuf,
    /// Rows and bytes.
    pub stats: BackupStats,
    /// Older copies removed.
    pub pruned: Vec<PathBuf>,
}

/// Takes and verifies a copy at `at`, then prunes the oldest beyond `keep`. A copy that fails
/// is removed and prunes nothing, so the last good ones stay.
pub fn take(store: &Store, s: &BackupSettings, at: i64) -> Result<Taken, StoreError> {
    let dir = s.to.join(name(at));
    if let Err(e) = store.backup_verified(&dir) {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(e);
    }
    let stats = BackupStats {
        rows: 0,
        bytes: std::fs::metadata(dir.join(crate::store::FILE_NAME)).map_or(0, |m| m.len()),
    };
    let mut pruned = Vec::new();
    for t in to_prune(existing(&s.to), s.keep) {
        let old = s.to.join(name(t));
        match std::fs::remove_dir_all(&old) {
            Ok(()) => pruned.push(old),
            Err(e) => {
                tracing::warn!(dir = %old.display(), error = %e, "old backup not removed")
            }
        }
    }
    Ok(Taken { dir, stats, pruned })
}

/// Least wait before a failed backup is tried again.
const RETRY_MIN_SECS: i64 = 10;
/// Most wait before a failed backup is tried again.
const RETRY_MAX_SECS: i64 = 900;

/// The daemon's backup schedule: runs until `stop`, following the settings a reload sends.
/// Each copy is taken on a blocking thread (one read transaction, so ticks go on committing);
/// a failure is logged and counted, and tried again after a quarter of an hour at most.
pub async fn schedule(
    shared: std::sync::Arc<crate::engine::Shared>,
    mut settings: tokio::sync::watch::Receiver<Option<BackupSettings>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    use std::sync::atomic::Ordering;
    let health = &shared.health;
    loop {
        let current = settings.borrow_and_update().clone();
        if let Ok(mut to) = health.backup_to.lock() {
            *to = current.as_ref().map(|s| s.to.display().to_string());
        }
        let mut wait: Option<i64> = None;
        if let Some(s) = current {
            let every = s.every.as_secs() as i64;
            let to = s.to.clone();
            let newest = tokio::task::spawn_blocking(move || newest(&to))
                .await
                .ok()
                .flatten();
            if let Some((_, t)) = &newest {
                health.last_backup.fetch_max(*t, Ordering::Relaxed);
            }
            let now = crate::time::now_secs();
            match due(newest.map(|(_, t)| t), every) {
                Some(t) if t > now => wait = Some(t - now),
                _ => {
                    let store = std::sync::Arc::clone(&shared.store);
                    let s2 = s.clone();
                    let taken = tokio::task::spawn_blocking(move || take(&store, &s2, now)).await;
                    match taken {
                        Ok(Ok(t)) => {
                            health.last_backup.fetch_max(now, Ordering::Relaxed);
                            health.backup_outcome("ok");
                            tracing::info!(dir = %t.dir.display(), bytes = t.stats.bytes, pruned = t.pruned.len(), "store backed up and verified");
                            wait = Some(every);
                        }
                        Ok(Err(e)) => {
                            health.backup_outcome("failed");
                            tracing::error!(to = %s.to.display(), error = %e, "scheduled store backup failed; the previous copies are kept");
                            wait = Some(every.clamp(RETRY_MIN_SECS, RETRY_MAX_SECS));
                        }
                        Err(e) => {
                            health.backup_outcome("failed");
                            tracing::error!(error = %e, "scheduled store backup task failed");
                            wait = Some(every.clamp(RETRY_MIN_SECS, RETRY_MAX_SECS));
                        }
                    }
                }
            }
        }
        let sleep = std::time::Duration::from_secs(wait.unwrap_or(0).max(1) as u64);
        tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => return,
            changed = settings.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            _ = tokio::time::sleep(sleep), if wait.is_some() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_sort_by_time() {
        let at = 1_796_400_123;
        assert_eq!(name(at), "slowburn-20261204T160203Z");
        assert_eq!(taken_at(&name(at)), Some(at));
        assert_eq!(taken_at("slowburn-latest"), None);
        assert_eq!(taken_at("other-20261204T163523Z"), None);
        assert!(name(at) < name(at + 1));
    }

    #[test]
    fn the_schedule_follows_the_newest_copy() {
        assert_eq!(due(None, 86_400), None, "none yet: take one now");
        assert_eq!(due(Some(1000), 86_400), Some(87_400));
    }

    #[test]
    fn pruning_keeps_the_newest() {
        assert_eq!(to_prune(vec![5, 1, 4, 2, 3], 3), vec![1, 2]);
        assert_eq!(to_prune(vec![1, 2], 3), Vec::<i64>::new());
        assert_eq!(to_prune(vec![3, 1, 2], 1), vec![1, 2]);
    }

    #[test]
    fn a_copy_is_verified_and_the_oldest_go() {
        let root = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&root.path().join("data")).expect("store");
        let id = store.series_id("svc/a|x|60").expect("series");
        let buckets = vec![crate::budget::Bucket::known(9.0, 10.0); 5];
        store
            .put_many(&[crate::store::Write {
                series: id,
                start: 0,
                width: 60,
                buckets: &buckets,
            }])
            .expect("put");
        let s = BackupSettings {
            every: crate::duration::Dur::from_secs(60),
            to: root.path().join("backups"),
            keep: 2,
        };
        for at in [1000, 2000, 3000] {
            take(&store, &s, at).expect("backup");
        }
        assert_eq!(existing(&s.to).len(), 2);
        let (dir, t) = newest(&s.to).expect("newest");
        assert_eq!(t, 3000);
        let copy = Store::open(&dir).expect("the copy opens");
        assert_eq!(copy.get(id, 0, 60, 5).expect("read"), buckets);
    }
}
