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

/// The copies in `dir` that hold a store: the time each name gives, and its directory. Only
/// names exactly as [`name`] writes them count, so nothing else in `dir` is ever pruned.
pub fn existing(dir: &Path) -> Vec<(i64, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.path().join(crate::store::FILE_NAME).is_file())
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            taken_at(&n)
                .filter(|t| name(*t) == n)
                .map(|t| (t, e.path()))
        })
        .collect()
}

/// The newest copy in `dir`, as its directory and the time it was taken.
pub fn newest(dir: &Path) -> Option<(PathBuf, i64)> {
    existing(dir)
        .into_iter()
        .max_by_key(|(t, _)| *t)
        .map(|(t, p)| (p, t))
}

/// Where a copy is made before it is verified: a hidden directory renamed into place only once
/// the copy verified, so a copy cut short by a kill never looks like a backup.
fn work_dir(to: &Path, at: i64) -> PathBuf {
    to.join(format!(".{}.partial", name(at)))
}

/// Removes copies a kill cut short (hidden `.slowburn-….partial` directories); one daemon per
/// `backup.to`, so none of them is another's work in progress.
pub fn remove_partials(dir: &Path) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with(&format!(".{PREFIX}")) && n.ends_with(".partial") {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
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

/// Takes and verifies a copy at `at` in a hidden directory, renames it into place, then prunes
/// the oldest beyond `keep`. A copy that fails is removed and prunes nothing, so the last good
/// ones stay; an existing copy is never touched.
pub fn take(store: &Store, s: &BackupSettings, at: i64) -> Result<Taken, StoreError> {
    let dir = s.to.join(name(at));
    let work = work_dir(&s.to, at);
    let fs_err = |what: &str, e: std::io::Error| StoreError::Db {
        path: dir.display().to_string(),
        message: format!("{what}: {e}"),
    };
    std::fs::create_dir_all(&s.to).map_err(|e| fs_err("cannot create the backup directory", e))?;
    if dir.exists() {
        return Err(fs_err(
            "a copy of that time is already there",
            std::io::ErrorKind::AlreadyExists.into(),
        ));
    }
    // Ours alone from here: an existing directory is another copy's, and left as it is.
    std::fs::create_dir(&work).map_err(|e| fs_err("cannot start the copy", e))?;
    let stats = match store.backup_verified(&work) {
        Ok((stats, _)) => stats,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&work);
            return Err(e);
        }
    };
    if let Err(e) = std::fs::rename(&work, &dir) {
        let _ = std::fs::remove_dir_all(&work);
        return Err(fs_err("cannot put the verified copy in place", e));
    }
    let copies = existing(&s.to);
    let doomed = to_prune(copies.iter().map(|(t, _)| *t).collect(), s.keep);
    let mut pruned = Vec::new();
    for (t, old) in copies {
        if !doomed.contains(&t) {
            continue;
        }
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
        match &current {
            Some(s) => {
                let to = s.to.clone();
                let _ = tokio::task::spawn_blocking(move || remove_partials(&to)).await;
            }
            None => health.last_backup.store(0, Ordering::Relaxed),
        }
        let mut wait: Option<i64> = None;
        if let Some(s) = current {
            let every = s.every.as_secs() as i64;
            let to = s.to.clone();
            let newest = tokio::task::spawn_blocking(move || newest(&to))
                .await
                .ok()
                .flatten();
            // What the configured directory holds: a changed `backup.to` reports its own copies.
            health
                .last_backup
                .store(newest.as_ref().map_or(0, |(_, t)| *t), Ordering::Relaxed);
            let now = crate::time::now_secs();
            match due(newest.map(|(_, t)| t), every) {
                Some(t) if t > now => wait = Some(t - now),
                _ => {
                    let store = std::sync::Arc::clone(&shared.store);
                    let s2 = s.clone();
                    let taken = tokio::task::spawn_blocking(move || take(&store, &s2, now)).await;
                    match taken {
                        Ok(Ok(t)) => {
                            health.last_backup.store(now, Ordering::Relaxed);
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
