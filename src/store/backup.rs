//! A consistent copy of the store while the daemon runs. redb gives every read transaction a
//! snapshot of one committed state, so copying every table through one read transaction into a
//! new file is a backup that never tears and never stops the daemon's ticks (writers go on
//! committing beside it). The copy keeps every value's checksum, so `store verify` checks it.

use super::*;
use redb::{Key, ReadTransaction, Value, WriteTransaction};

/// What a backup holds.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BackupStats {
    /// Rows copied, all tables together.
    pub rows: u64,
    /// Size of the backup file.
    pub bytes: u64,
}

/// Copies one table's rows; a table that does not exist yet has none.
fn copy<K: Key + 'static, V: Value + 'static>(
    rx: &ReadTransaction,
    tx: &WriteTransaction,
    def: TableDefinition<K, V>,
) -> Result<u64, redb::Error> {
    let from = match rx.open_table(def) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let mut to = tx.open_table(def)?;
    let mut n = 0;
    for row in from.iter()? {
        let (k, v) = row?;
        to.insert(k.value(), v.value())?;
        n += 1;
    }
    Ok(n)
}

impl Store {
    /// Writes a consistent copy to `dir/slowburn.redb` (a directory `--data-dir` can point at).
    /// The file appears only when complete: it is written as `slowburn.redb.partial` and renamed.
    /// Refuses to overwrite an existing store.
    pub fn backup(&self, dir: &Path) -> Result<BackupStats, StoreError> {
        let file = dir.join(FILE_NAME);
        let partial = dir.join(format!("{FILE_NAME}.partial"));
        let err = |e: &dyn std::fmt::Display| StoreError::Db {
            path: file.display().to_string(),
            message: e.to_string(),
        };
        if file.exists() {
            return Err(err(
                &"a store is already there; back up into an empty directory",
            ));
        }
        std::fs::create_dir_all(dir).map_err(|e| err(&e))?;
        let _ = std::fs::remove_file(&partial);
        let copied = (|| {
            let out = Database::builder()
                .set_cache_size(CACHE_BYTES)
                .create(&partial)
                .map_err(|e| err(&e))?;
            let rx = self.db()?.begin_read().map_err(|e| self.err(e))?;
            let tx = out.begin_write().map_err(|e| err(&e))?;
            // A failure here may be either side's (a full destination disk, a damaged page):
            // name the copy, which is what the person is making.
            let mut rows = 0;
            rows += copy(&rx, &tx, META).map_err(|e| err(&e))?;
            rows += copy(&rx, &tx, SERIES).map_err(|e| err(&e))?;
            rows += copy(&rx, &tx, CHUNKS).map_err(|e| err(&e))?;
            rows += copy(&rx, &tx, ALERTS).map_err(|e| err(&e))?;
            rows += copy(&rx, &tx, OUTBOX).map_err(|e| err(&e))?;
            rows += copy(&rx, &tx, SILENCES).map_err(|e| err(&e))?;
            rows += copy(&rx, &tx, GROUPS).map_err(|e| err(&e))?;
            rows += copy(&rx, &tx, CORRECTIONS).map_err(|e| err(&e))?;
            tx.commit().map_err(|e| err(&e))?;
            Ok(rows)
        })();
        let rows = match copied {
            Ok(r) => r,
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                return Err(e);
            }
        };
        std::fs::rename(&partial, &file).map_err(|e| err(&e))?;
        let bytes = std::fs::metadata(&file).map_err(|e| err(&e))?.len();
        Ok(BackupStats { rows, bytes })
    }

    /// Takes a copy into `dir` ([`Store::backup`]) and verifies it ([`verify_copy`]): what
    /// `slowburn store backup` does from a stopped store and the daemon's scheduled backups do.
    pub fn backup_verified(&self, dir: &Path) -> Result<(BackupStats, Verification), StoreError> {
        let stats = self.backup(dir)?;
        let v = verify_copy(dir)?;
        Ok((stats, v))
    }

    /// A backup as an open, already unlinked file for the API to stream: written into a fresh
    /// directory next to the store (same filesystem, same permissions), which is removed before
    /// this returns, so an interrupted download leaves nothing behind.
    pub fn backup_file(&self) -> Result<(std::fs::File, BackupStats), StoreError> {
        let here = Path::new(&self.path)
            .parent()
            .unwrap_or_else(|| Path::new("."));
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let tmp = here.join(format!(
            ".backup-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&tmp);
        let done = self.backup(&tmp).and_then(|stats| {
            let f = std::fs::File::open(tmp.join(FILE_NAME)).map_err(|e| self.err(e))?;
            Ok((f, stats))
        });
        let _ = std::fs::remove_dir_all(&tmp);
        done
    }
}

/// Opens the copy in `dir` and reads every value against its checksum. A copy that does not open
/// or holds a damaged value is removed (it must not sit there looking like a store) and the
/// error says which.
pub fn verify_copy(dir: &Path) -> Result<Verification, StoreError> {
    let file = dir.join(FILE_NAME);
    let checked = Store::open(dir).and_then(|copy| copy.verify(false));
    let v = match checked {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_file(&file);
            return Err(e);
        }
    };
    if !v.damaged.is_empty() {
        let _ = std::fs::remove_file(&file);
        return Err(StoreError::Db {
            path: file.display().to_string(),
            message: format!(
                "the copy has {} damaged value(s); the source store needs `slowburn store verify`",
                v.damaged.len()
            ),
        });
    }
    Ok(v)
}
