//! The embedded store: per-bucket good/total counts in one redb file.
//!
//! Tables:
//! - `meta` (`&str → u64`): `schema_version`, `next_series_id`.
//! - `series` (`&str → u64`): definition key ([`keys::SeriesKey`]: SLO id, count fingerprint,
//!   bucket width, `|sla` for an SLA's own counts) → series id. A changed query gets a new id, so
//!   old and new counts never mix.
//! - `chunks_by_time` (`(i64 chunk start, u64 series) → bytes`): [`CHUNK`] buckets packed by
//!   [`codec`]. Time first: the chunks a tick rewrites (every series' newest) sit side by side in
//!   a few pages instead of one page per series across the whole file, and retention deletes from
//!   the front. (Schema 2 kept `chunks` keyed by series first; it is moved over at open.)
//! - `alerts` (`&str → bytes`): [`keys::AlertKey`] (`service/name|page`) → the alert's state
//!   record (JSON), so a restart keeps an episode and who was told about it.
//! - `outbox` (`u64 → bytes`): notifications (JSON) in creation order, written before they are
//!   sent and removed when the receiver accepted them.
//! - `silences` (`&str → bytes`): silence id → the silence (JSON).
//! - `groups` (`&str → bytes`): a `group_by` SLO's id → its members and when each was last seen
//!   (JSON), so a restart neither forgets a paused member nor backfills a retired one.
//! - `corrections` (`&str → bytes`): correction id → the correction (JSON): a past range whose
//!   buckets the budgets do not count.
//! - `sums` (`u64 series → bytes`): the engine's running totals of a series, written with its
//!   buckets so a restart need not re-read them all ([`sums`]).
//!
//! Every value carries a checksum ([`seal`]): a damaged one reads as missing (chunks, then
//! queried again from the source) or is skipped (alerts, outbox, silences), logged and counted in
//! [`Store::damaged`], never read as other data. The file's own structure is checked by redb's
//! integrity check at every open, so a damaged file is refused with a message, not a panic.
//!
//! Every write is one durable transaction (redb's default `Durability::Immediate`): a bucket that
//! `put` returned for survives `kill -9`. Missing buckets are simply absent, so writing a failed
//! re-query never erases a known count.

mod backup;
mod clean;
pub mod codec;
mod integrity;
pub mod keys;
pub mod salvage;
pub mod seal;
mod sums;

pub use backup::{BackupStats, verify_copy};
pub use integrity::{TABLE_NAMES, Verification};

pub use codec::CHUNK;

use crate::budget::Bucket;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, TableHandle};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const SERIES: TableDefinition<&str, u64> = TableDefinition::new("series");
const CHUNKS: TableDefinition<(i64, u64), &[u8]> = TableDefinition::new("chunks_by_time");
/// Schema 1 and 2's chunks, series first: read only to move them to [`CHUNKS`].
const OLD_CHUNKS: TableDefinition<(u64, i64), &[u8]> = TableDefinition::new("chunks");
const ALERTS: TableDefinition<&str, &[u8]> = TableDefinition::new("alerts");
const OUTBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("outbox");
const SILENCES: TableDefinition<&str, &[u8]> = TableDefinition::new("silences");
const GROUPS: TableDefinition<&str, &[u8]> = TableDefinition::new("groups");
const CORRECTIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("corrections");
const SUMS: TableDefinition<u64, &[u8]> = TableDefinition::new("sums");

/// The layout version this build writes. Versions 1 (no checksums) and 2 (chunks keyed by series
/// first) are upgraded in place at open; any other refuses to open.
pub const SCHEMA_VERSION: u64 = 3;
/// Chunks moved per transaction when a schema-2 store is upgraded.
const MOVE_BATCH: usize = 100_000;
/// redb's page cache. Its default (1 GiB) would hold the whole file after a backfill; the daemon
/// reads old chunks once per window edge, so a small cache costs little and keeps RSS flat.
pub const CACHE_BYTES: usize = 32 << 20;
/// File name inside `--data-dir`.
pub const FILE_NAME: &str = "slowburn.redb";

/// Store failures, with the file they concern.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// redb failed (I/O, corruption, lock held by another process).
    #[error("store {path}: {message}")]
    Db {
        /// The database file.
        path: String,
        /// redb's message.
        message: String,
    },
    /// The file was written by an incompatible version.
    #[error(
        "store {path} has schema version {found}, this slowburn uses {expected}; move the data directory aside or use a matching slowburn"
    )]
    Schema {
        /// The database file.
        path: String,
        /// Version on disk.
        found: u64,
        /// Version of this build.
        expected: u64,
    },
    /// redb's integrity check failed and could not repair the file.
    #[error(
        "store {path} is damaged and redb cannot open it ({message}). To recover, with the daemon stopped: `slowburn store verify --data-dir DIR --repair` keeps every row that still reads (silences, alert states, outbox; lost counts are backfilled from the source), or restore the newest copy from `backup.to` (`slowburn-<time>/slowburn.redb`), or move the data directory aside and start again: the daemon backfills every SLO's periods from the source"
    )]
    Damaged {
        /// The database file.
        path: String,
        /// redb's message.
        message: String,
    },
    /// A chunk failed to decode.
    #[error("store {path}: {source}")]
    Corrupt {
        /// The database file.
        path: String,
        /// Decoder error.
        source: codec::CodecError,
    },
}

/// One series' buckets to write, for [`Store::put_many`].
#[derive(Debug, Clone, Copy)]
pub struct Write<'a> {
    /// Series id from [`Store::series_id`].
    pub series: u64,
    /// Start of the first bucket (unix seconds).
    pub start: i64,
    /// Bucket width in seconds.
    pub width: i64,
    /// The buckets; missing ones are skipped.
    pub buckets: &'a [Bucket],
}

/// A read snapshot of the chunks table, for many lookups in one tick.
pub struct Reader {
    chunks: redb::ReadOnlyTable<(i64, u64), &'static [u8]>,
    path: String,
    damaged: Arc<AtomicU64>,
}

impl Reader {
    /// A failed read of this store's file, named with its path.
    fn db_err(&self, e: redb::StorageError) -> StoreError {
        StoreError::Db {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    /// The packed chunk of `series` starting at `chunk_start`, if stored; a damaged one is an
    /// error (logged and counted), so the caller rebuilds from the source.
    pub fn chunk(&self, series: u64, chunk_start: i64) -> Result<Option<Vec<u8>>, StoreError> {
        let row = self
            .chunks
            .get((chunk_start, series))
            .map_err(|e| self.db_err(e))?;
        let Some(row) = row else { return Ok(None) };
        match seal::unseal(&seal::chunk_key(series, chunk_start), row.value()) {
            Ok(v) => Ok(Some(v.to_vec())),
            Err(e) => {
                self.damaged.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(store = %self.path, series, chunk_start, error = %e, "damaged chunk read as missing");
                Err(StoreError::Corrupt {
                    path: self.path.clone(),
                    source: codec::CodecError("checksum mismatch"),
                })
            }
        }
    }
}

/// Copies the buckets of one decoded chunk that fall inside `out` (which starts at `start`).
fn place(decoded: &[Bucket; CHUNK], chunk_start: i64, width: i64, start: i64, out: &mut [Bucket]) {
    for (slot, b) in decoded.iter().enumerate() {
        let t = chunk_start + slot as i64 * width;
        if t >= start
            && let Some(o) = out.get_mut(((t - start) / width) as usize)
        {
            *o = *b;
        }
    }
}

impl Reader {
    /// The packed chunks starting at `chunk_start` of the `series` given (sorted, deduplicated),
    /// in one ordered scan instead of a B-tree descent each: chunks are keyed time first, so
    /// those of every series at one time lie side by side (what a restart reads for 10,000
    /// series' long windows). A series without a chunk there is left out; a damaged chunk comes
    /// back as `None`, for [`Reader::chunk`] to report when it is read on its own.
    #[allow(clippy::type_complexity)]
    pub fn chunks_at(
        &self,
        chunk_start: i64,
        series: &[u64],
    ) -> Result<Vec<(u64, Option<Vec<u8>>)>, StoreError> {
        let (Some(first), Some(last)) = (series.first(), series.last()) else {
            return Ok(Vec::new());
        };
        let err = |e| self.db_err(e);
        let mut out = Vec::with_capacity(series.len());
        for row in self
            .chunks
            .range((chunk_start, *first)..=(chunk_start, *last))
            .map_err(err)?
        {
            let (k, v) = row.map_err(err)?;
            let id = k.value().1;
            if series.binary_search(&id).is_ok() {
                let bytes = seal::unseal(&seal::chunk_key(id, chunk_start), v.value()).ok();
                out.push((id, bytes.map(<[u8]>::to_vec)));
            }
        }
        Ok(out)
    }

    /// `count` buckets from `start` like [`Store::get`], except that a damaged chunk is an error
    /// rather than missing buckets: running totals that counted them must not be trusted.
    pub fn buckets(
        &self,
        series: u64,
        start: i64,
        width: i64,
        count: usize,
    ) -> Result<Vec<Bucket>, StoreError> {
        let span = width * CHUNK as i64;
        let mut out = vec![Bucket::Missing; count];
        let end = start + count as i64 * width;
        let mut chunk_start = start.div_euclid(span) * span;
        while chunk_start < end {
            if let Some(bytes) = self.chunk(series, chunk_start)? {
                let decoded = codec::decode(&bytes).map_err(|e| StoreError::Corrupt {
                    path: self.path.clone(),
                    source: e,
                })?;
                place(&decoded, chunk_start, width, start, &mut out);
            }
            chunk_start += span;
        }
        Ok(out)
    }
}

/// An open store.
pub struct Store {
    /// The open database; `None` while it is being reopened after an I/O error.
    db: RwLock<Option<Arc<Database>>>,
    file: PathBuf,
    path: String,
    damaged: Arc<AtomicU64>,
    /// Set by an I/O error. After one failed write (a full disk) redb answers every later
    /// transaction with "Previous I/O error occurred", even once space is back: the next use
    /// closes and reopens the file, so the daemon heals by itself instead of failing every tick.
    poisoned: AtomicBool,
    /// When the last reopen was tried, so a disk that stays full is not reopened on every call;
    /// held while one runs, so only one caller reopens.
    last_reopen: Mutex<Option<Instant>>,
    /// Reopens that succeeded, exported as `slowburn_store_reopens_total`.
    reopens: AtomicU64,
}

impl Drop for Store {
    /// Closes the file, then records that it was closed cleanly (see [`clean`]), unless an I/O
    /// error left it in doubt.
    fn drop(&mut self) {
        let slot = self.db.get_mut().unwrap_or_else(|p| p.into_inner()).take();
        let Some(db) = slot else { return };
        if Arc::try_unwrap(db).is_ok() && !*self.poisoned.get_mut() {
            clean::remember(&self.file);
        }
    }
}

/// The least time between two attempts to reopen a poisoned store.
const REOPEN_EVERY: Duration = Duration::from_secs(1);

/// Whether redb's message means the handle is unusable until it is reopened (an I/O error, or
/// the one redb gives for every call after it). Matched on redb's text because the error
/// arrives through five different error types.
fn needs_reopen(message: &str) -> bool {
    message.contains("I/O error") || message.contains("Poisoned internal lock")
}

/// Opens (or creates) the database file with the page cache and, unless `trusted`, redb's
/// integrity check at open: a file damaged outside redb is refused with an error instead of a
/// panic later.
fn open_database(file: &Path, path: &str, trusted: bool) -> Result<Database, StoreError> {
    Database::builder()
        .set_cache_size(CACHE_BYTES)
        .set_check_integrity_on_open(!trusted)
        .create(file)
        .map_err(|e| match e {
            redb::DatabaseError::Storage(redb::StorageError::Corrupted(m)) => StoreError::Damaged {
                path: path.to_string(),
                message: m,
            },
            e => StoreError::Db {
                path: path.to_string(),
                message: e.to_string(),
            },
        })
}

impl Store {
    /// Opens (or creates) `dir/slowburn.redb` and checks its schema version.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let file = dir.join(FILE_NAME);
        let path = file.display().to_string();
        let db_err = |e: &dyn std::fmt::Display| StoreError::Db {
            path: path.clone(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(|e| db_err(&e))?;
        // The whole-file check reads every page (seconds for a month of 10,000 SLOs): skipped
        // only when this store closed the file cleanly and nothing touched it since.
        let trusted = clean::unchanged_since_close(&file);
        clean::forget(&file);
        let db = open_database(&file, &path, trusted)?;
        // A backup the API was streaming when the process died leaves its directory behind; redb's lock
        // is held now, so no other process is making one.
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if e.file_name().to_string_lossy().starts_with(".backup-") {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
        let store = Store {
            db: RwLock::new(Some(Arc::new(db))),
            file,
            path,
            damaged: Arc::new(AtomicU64::new(0)),
            poisoned: AtomicBool::new(false),
            last_reopen: Mutex::new(None),
            reopens: AtomicU64::new(0),
        };
        store.init()?;
        Ok(store)
    }

    /// Stored values found damaged since the store was opened (read as missing or skipped):
    /// exported as `slowburn_store_damaged_values_total`.
    pub fn damaged(&self) -> u64 {
        self.damaged.load(Ordering::Relaxed)
    }

    /// A damaged value: logged and counted.
    fn damaged_value(&self, table: &str, key: &dyn std::fmt::Display, e: impl std::fmt::Display) {
        self.damaged.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(store = %self.path, table, key = %key, error = %e, "damaged stored value skipped");
    }

    fn err(&self, e: impl std::fmt::Display) -> StoreError {
        let message = e.to_string();
        if needs_reopen(&message) && !self.poisoned.swap(true, Ordering::SeqCst) {
            tracing::error!(store = %self.path, error = %message, "store I/O failed; it is reopened before its next use");
        }
        StoreError::Db {
            path: self.path.clone(),
            message,
        }
    }

    /// The database handle, reopened first when an I/O error poisoned it.
    fn db(&self) -> Result<Arc<Database>, StoreError> {
        if self.poisoned.load(Ordering::SeqCst) {
            self.reopen();
        }
        let slot = self.db.read().unwrap_or_else(|p| p.into_inner());
        slot.clone().ok_or_else(|| StoreError::Db {
            path: self.path.clone(),
            message: "closed after an I/O error and not reopened yet (is the disk full?)".into(),
        })
    }

    /// Closes the poisoned handle and opens the file again, at most once per [`REOPEN_EVERY`].
    /// Nothing committed is lost: a transaction that failed was never committed, and redb
    /// recovers the file at open.
    fn reopen(&self) {
        // One caller reopens; the others go on at once (and find the store closed meanwhile).
        let Ok(mut last) = self.last_reopen.try_lock() else {
            return;
        };
        if last.is_some_and(|t| t.elapsed() < REOPEN_EVERY) || !self.poisoned.load(Ordering::SeqCst)
        {
            return;
        }
        *last = Some(Instant::now());
        // Only the swap happens under the lock: opening checks the whole file and may take long,
        // and no reader may wait on the lock meanwhile. The old handle closes when its last
        // user lets go; until then the open answers "already open" and a later call tries again.
        let old = self.db.write().unwrap_or_else(|p| p.into_inner()).take();
        drop(old);
        match open_database(&self.file, &self.path, false) {
            Ok(db) => {
                *self.db.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(db));
                self.poisoned.store(false, Ordering::SeqCst);
                self.reopens.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(store = %self.path, "store reopened after an I/O error");
            }
            Err(e) => {
                tracing::warn!(store = %self.path, error = %e, "store still cannot be reopened; trying again");
            }
        }
    }

    /// Times the store was reopened after an I/O error since the daemon started.
    pub fn reopens(&self) -> u64 {
        self.reopens.load(Ordering::Relaxed)
    }

    /// Whether the last I/O failed and the store has not been reopened since.
    pub fn poisoned(&self) -> bool {
        self.poisoned.load(Ordering::SeqCst)
    }

    fn init(&self) -> Result<(), StoreError> {
        let tx = self.db()?.begin_write().map_err(|e| self.err(e))?;
        {
            let mut meta = tx.open_table(META).map_err(|e| self.err(e))?;
            let found = meta
                .get("schema_version")
                .map_err(|e| self.err(e))?
                .map(|v| v.value());
            match found {
                Some(1) => {
                    drop(meta);
                    self.seal_all(&tx)?;
                    tx.open_table(META)
                        .map_err(|e| self.err(e))?
                        .insert("schema_version", 2)
                        .map_err(|e| self.err(e))?;
                    tracing::info!(store = %self.path, "store upgraded from schema 1 to 2 (checksums on every value)");
                }
                Some(2) => {}
                Some(v) if v != SCHEMA_VERSION => {
                    return Err(StoreError::Schema {
                        path: self.path.clone(),
                        found: v,
                        expected: SCHEMA_VERSION,
                    });
                }
                Some(_) => {}
                None => {
                    meta.insert("schema_version", SCHEMA_VERSION)
                        .map_err(|e| self.err(e))?;
                    meta.insert("next_series_id", 1).map_err(|e| self.err(e))?;
                }
            }
            tx.open_table(SERIES).map_err(|e| self.err(e))?;
            tx.open_table(CHUNKS).map_err(|e| self.err(e))?;
            tx.open_table(ALERTS).map_err(|e| self.err(e))?;
            tx.open_table(OUTBOX).map_err(|e| self.err(e))?;
            tx.open_table(SILENCES).map_err(|e| self.err(e))?;
            tx.open_table(GROUPS).map_err(|e| self.err(e))?;
            tx.open_table(CORRECTIONS).map_err(|e| self.err(e))?;
            tx.open_table(SUMS).map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        self.move_chunks_by_time()
    }

    /// Schema 2 → 3: moves every chunk to the time-first table, a batch per transaction (a
    /// start cut short goes on where it stopped), then records the new version.
    fn move_chunks_by_time(&self) -> Result<(), StoreError> {
        let version = {
            let tx = self.db()?.begin_read().map_err(|e| self.err(e))?;
            let meta = tx.open_table(META).map_err(|e| self.err(e))?;
            meta.get("schema_version")
                .map_err(|e| self.err(e))?
                .map(|v| v.value())
        };
        if version != Some(2) {
            return Ok(());
        }
        let mut moved = 0usize;
        loop {
            let tx = self.db()?.begin_write().map_err(|e| self.err(e))?;
            let done = {
                let mut old = tx.open_table(OLD_CHUNKS).map_err(|e| self.err(e))?;
                let mut new = tx.open_table(CHUNKS).map_err(|e| self.err(e))?;
                let mut batch: Vec<((u64, i64), Vec<u8>)> = Vec::with_capacity(MOVE_BATCH);
                for row in old.iter().map_err(|e| self.err(e))?.take(MOVE_BATCH) {
                    let (k, v) = row.map_err(|e| self.err(e))?;
                    batch.push((k.value(), v.value().to_vec()));
                }
                for ((series, start), v) in &batch {
                    new.insert((*start, *series), v.as_slice())
                        .map_err(|e| self.err(e))?;
                    old.remove((*series, *start)).map_err(|e| self.err(e))?;
                }
                moved += batch.len();
                batch.len() < MOVE_BATCH
            };
            if done {
                tx.delete_table(OLD_CHUNKS).map_err(|e| self.err(e))?;
                tx.open_table(META)
                    .map_err(|e| self.err(e))?
                    .insert("schema_version", SCHEMA_VERSION)
                    .map_err(|e| self.err(e))?;
            }
            tx.commit().map_err(|e| self.err(e))?;
            if done {
                tracing::info!(store = %self.path, chunks = moved, "store upgraded from schema 2 to 3 (chunks ordered by time)");
                return Ok(());
            }
        }
    }

    /// Stores the state of one alert (key `slo id|severity`) durably, so a restart neither
    /// re-sends a firing alert nor forgets to resolve one.
    pub fn put_alert(&self, key: &str, state: &[u8]) -> Result<(), StoreError> {
        self.kv_set(ALERTS, key, Some(state))
    }

    /// Stores many alert states in one durable transaction (a tick's changes).
    pub fn put_alerts(&self, records: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let tx = self.db()?.begin_write().map_err(|e| self.err(e))?;
        {
            let mut t = tx.open_table(ALERTS).map_err(|e| self.err(e))?;
            for (key, state) in records {
                let sealed = seal::seal(key.as_bytes(), state);
                t.insert(key.as_str(), sealed.as_slice())
                    .map_err(|e| self.err(e))?;
            }
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// Forgets the state of one alert (its SLO left the config).
    pub fn delete_alert(&self, key: &str) -> Result<(), StoreError> {
        self.kv_set(ALERTS, key, None)
    }

    /// Stores (`Some`) or deletes (`None`) a silence, durably.
    pub fn put_silence(&self, id: &str, silence: Option<&[u8]>) -> Result<(), StoreError> {
        self.kv_set(SILENCES, id, silence)
    }

    /// Every stored silence, by id.
    pub fn silences(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.kv_all(SILENCES)
    }

    /// Stores (`Some`) or deletes (`None`) a grouped SLO's members, durably.
    pub fn put_group(&self, id: &str, members: Option<&[u8]>) -> Result<(), StoreError> {
        self.kv_set(GROUPS, id, members)
    }

    /// Every grouped SLO's stored members, by definition id.
    pub fn groups(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.kv_all(GROUPS)
    }

    /// Stores (`Some`) or deletes (`None`) a correction, durably. The running totals stay: each
    /// row names the corrections it excluded (a fingerprint the engine compares at load), so
    /// rows of the SLOs a change concerns are not believed and the others' still are.
    pub fn put_correction(&self, id: &str, correction: Option<&[u8]>) -> Result<(), StoreError> {
        let tx = self.db()?.begin_write().map_err(|e| self.err(e))?;
        {
            let mut t = tx.open_table(CORRECTIONS).map_err(|e| self.err(e))?;
            match correction {
                Some(v) => {
                    let sealed = seal::seal(id.as_bytes(), v);
                    t.insert(id, sealed.as_slice()).map_err(|e| self.err(e))?;
                }
                None => {
                    t.remove(id).map_err(|e| self.err(e))?;
                }
            }
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// Every stored correction, by id.
    pub fn corrections(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.kv_all(CORRECTIONS)
    }

    /// Inserts (`Some`) or removes (`None`) one row of a byte-valued table, durably.
    fn kv_set<'k, K: redb::Key + 'static>(
        &self,
        table: TableDefinition<K, &[u8]>,
        key: K::SelfType<'k>,
        value: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        let tx = self.db()?.begin_write().map_err(|e| self.err(e))?;
        {
            let mut t = tx.open_table(table).map_err(|e| self.err(e))?;
            match value {
                Some(v) => {
                    let sealed = seal::seal(K::as_bytes(&key).as_ref(), v);
                    t.insert(key, sealed.as_slice()).map_err(|e| self.err(e))?;
                }
                None => {
                    t.remove(key).map_err(|e| self.err(e))?;
                }
            }
        }
        tx.commit().map_err(|e| self.err(e))
    }

    fn kv_all(
        &self,
        table: TableDefinition<&str, &[u8]>,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let tx = self.db()?.begin_read().map_err(|e| self.err(e))?;
        let t = match tx.open_table(table) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(self.err(e)),
        };
        let mut out = Vec::new();
        for row in t.iter().map_err(|e| self.err(e))? {
            let (k, v) = row.map_err(|e| self.err(e))?;
            let key = k.value();
            match seal::unseal(key.as_bytes(), v.value()) {
                Ok(v) => out.push((key.to_string(), v.to_vec())),
                Err(e) => self.damaged_value(table.name(), &key, e),
            }
        }
        Ok(out)
    }

    /// Appends notifications to the outbox in one durable transaction (before anything is sent)
    /// and returns their ids, which also order them.
    pub fn outbox_push(&self, items: &[Vec<u8>]) -> Result<Vec<u64>, StoreError> {
        let tx = self.db()?.begin_write().map_err(|e| self.err(e))?;
        let mut ids = Vec::new();
        {
            let mut meta = tx.open_table(META).map_err(|e| self.err(e))?;
            let mut next = meta
                .get("next_outbox_id")
                .map_err(|e| self.err(e))?
                .map(|v| v.value())
                .unwrap_or(1);
            let mut t = tx.open_table(OUTBOX).map_err(|e| self.err(e))?;
            for item in items {
                let sealed = seal::seal(&next.to_le_bytes(), item);
                t.insert(next, sealed.as_slice()).map_err(|e| self.err(e))?;
                ids.push(next);
                next += 1;
            }
            meta.insert("next_outbox_id", next)
                .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(ids)
    }

    /// Every notification not yet accepted by its receiver, oldest first.
    pub fn outbox(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let tx = self.db()?.begin_read().map_err(|e| self.err(e))?;
        let t = tx.open_table(OUTBOX).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in t.iter().map_err(|e| self.err(e))? {
            let (k, v) = row.map_err(|e| self.err(e))?;
            let id = k.value();
            match seal::unseal(&id.to_le_bytes(), v.value()) {
                Ok(v) => out.push((id, v.to_vec())),
                Err(e) => self.damaged_value("outbox", &id, e),
            }
        }
        Ok(out)
    }

    /// Replaces an outbox entry (its retry schedule changed), or removes it (`None`: accepted or
    /// given up).
    pub fn outbox_set(&self, id: u64, item: Option<&[u8]>) -> Result<(), StoreError> {
        self.kv_set(OUTBOX, id, item)
    }

    /// Every stored alert state.
    pub fn alerts(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.kv_all(ALERTS)
    }

    /// The series id of a definition, created on first use. `key` should contain the SLO id, the
    /// count fingerprint and the bucket width.
    pub fn series_id(&self, key: &str) -> Result<u64, StoreError> {
        Ok(self
            .series_ids(&[key])?
            .into_iter()
            .next()
            .unwrap_or_default())
    }

    /// The series ids of many definitions at once: one read, and one durable transaction only
    /// when some are new (a start of 10,000 SLOs must not commit 10,000 times).
    pub fn series_ids(&self, keys: &[&str]) -> Result<Vec<u64>, StoreError> {
        let mut ids: Vec<Option<u64>> = {
            let tx = self.db()?.begin_read().map_err(|e| self.err(e))?;
            let series = tx.open_table(SERIES).map_err(|e| self.err(e))?;
            keys.iter()
                .map(|k| Ok(series.get(*k).map_err(|e| self.err(e))?.map(|v| v.value())))
                .collect::<Result<_, StoreError>>()?
        };
        if ids.iter().any(Option::is_none) {
            let tx = self.db()?.begin_write().map_err(|e| self.err(e))?;
            {
                let mut series = tx.open_table(SERIES).map_err(|e| self.err(e))?;
                let mut meta = tx.open_table(META).map_err(|e| self.err(e))?;
                let mut next = meta
                    .get("next_series_id")
                    .map_err(|e| self.err(e))?
                    .map(|v| v.value())
                    .unwrap_or(1);
                for (slot, key) in ids.iter_mut().zip(keys) {
                    if slot.is_some() {
                        continue;
                    }
                    // Another writer (or a duplicate key in `keys`) may have made it meanwhile.
                    if let Some(v) = series.get(*key).map_err(|e| self.err(e))? {
                        *slot = Some(v.value());
                        continue;
                    }
                    series.insert(*key, next).map_err(|e| self.err(e))?;
                    *slot = Some(next);
                    next += 1;
                }
                meta.insert("next_series_id", next)
                    .map_err(|e| self.err(e))?;
            }
            tx.commit().map_err(|e| self.err(e))?;
        }
        Ok(ids.into_iter().map(Option::unwrap_or_default).collect())
    }

    /// Every definition key with its series id, for tools and tests that compare stores.
    pub fn series_keys(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let tx = self.db()?.begin_read().map_err(|e| self.err(e))?;
        let series = tx.open_table(SERIES).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in series.iter().map_err(|e| self.err(e))? {
            let (k, v) = row.map_err(|e| self.err(e))?;
            out.push((k.value().to_string(), v.value()));
        }
        Ok(out)
    }

    /// Writes the known buckets of `buckets` (the first starting at `start`, `width` seconds each)
    /// in one durable transaction. Missing buckets leave what is stored untouched.
    pub fn put(
        &self,
        series: u64,
        start: i64,
        width: i64,
        buckets: &[Bucket],
    ) -> Result<(), StoreError> {
        self.put_many(&[Write {
            series,
            start,
            width,
            buckets,
        }])
    }

    /// Several [`Store::put`]s in one durable transaction: the daemon commits a whole tick at once,
    /// so a crash leaves either all of a tick or none of it.
    pub fn put_many(&self, writes: &[Write<'_>]) -> Result<(), StoreError> {
        let tx = self.db()?.begin_write().map_err(|e| self.err(e))?;
        {
            let mut chunks = tx.open_table(CHUNKS).map_err(|e| self.err(e))?;
            let mut buf = Vec::new();
            for w in writes {
                self.merge(&mut chunks, w, &mut buf)?;
            }
        }
        tx.commit().map_err(|e| self.err(e))
    }

    fn merge(
        &self,
        chunks: &mut redb::Table<(i64, u64), &[u8]>,
        w: &Write<'_>,
        buf: &mut Vec<u8>,
    ) -> Result<(), StoreError> {
        let (series, start, width, buckets) = (w.series, w.start, w.width, w.buckets);
        let span = width * CHUNK as i64;
        let mut i = 0;
        while i < buckets.len() {
            let t = start + i as i64 * width;
            let chunk_start = t.div_euclid(span) * span;
            let key = seal::chunk_key(series, chunk_start);
            let mut cur = match chunks.get((chunk_start, series)).map_err(|e| self.err(e))? {
                Some(v) => self.decode_chunk(&key, v.value()).unwrap_or_else(|e| {
                    // A damaged chunk is rewritten from what the source says now.
                    self.damaged_value("chunks", &format!("{series}/{chunk_start}"), e);
                    [Bucket::Missing; CHUNK]
                }),
                None => [Bucket::Missing; CHUNK],
            };
            let mut changed = false;
            while i < buckets.len() {
                let t = start + i as i64 * width;
                if t >= chunk_start + span {
                    break;
                }
                let slot = ((t - chunk_start) / width) as usize;
                if !matches!(buckets[i], Bucket::Missing) && cur[slot] != buckets[i] {
                    cur[slot] = buckets[i];
                    changed = true;
                }
                i += 1;
            }
            if changed {
                buf.clear();
                codec::encode_into(&cur, buf);
                seal::seal_in(&key, buf);
                chunks
                    .insert((chunk_start, series), buf.as_slice())
                    .map_err(|e| self.err(e))?;
            }
        }
        Ok(())
    }

    /// A consistent read view for many lookups (one per daemon tick).
    pub fn reader(&self) -> Result<Reader, StoreError> {
        let tx = self.db()?.begin_read().map_err(|e| self.err(e))?;
        let chunks = tx.open_table(CHUNKS).map_err(|e| self.err(e))?;
        Ok(Reader {
            chunks,
            path: self.path.clone(),
            damaged: Arc::clone(&self.damaged),
        })
    }

    /// Reads `count` buckets from `start`; absent ones are [`Bucket::Missing`].
    pub fn get(
        &self,
        series: u64,
        start: i64,
        width: i64,
        count: usize,
    ) -> Result<Vec<Bucket>, StoreError> {
        let span = width * CHUNK as i64;
        let mut out = vec![Bucket::Missing; count];
        let end = start + count as i64 * width;
        let tx = self.db()?.begin_read().map_err(|e| self.err(e))?;
        let chunks = tx.open_table(CHUNKS).map_err(|e| self.err(e))?;
        let mut chunk_start = start.div_euclid(span) * span;
        while chunk_start < end {
            let row = chunks.get((chunk_start, series)).map_err(|e| self.err(e))?;
            if let Some(v) = row {
                // A damaged chunk reads as missing buckets (queried again), not as a dead daemon.
                match self.decode_chunk(&seal::chunk_key(series, chunk_start), v.value()) {
                    Ok(decoded) => place(&decoded, chunk_start, width, start, &mut out),
                    Err(e) => self.damaged_value("chunks", &format!("{series}/{chunk_start}"), e),
                }
            }
            chunk_start += span;
        }
        Ok(out)
    }

    /// The start of the newest known bucket of a series (a scan of the whole table from its
    /// newest end: for tools and tests, not for the daemon's path).
    pub fn last_known(&self, series: u64, width: i64) -> Result<Option<i64>, StoreError> {
        let tx = self.db()?.begin_read().map_err(|e| self.err(e))?;
        let chunks = tx.open_table(CHUNKS).map_err(|e| self.err(e))?;
        // Newest first; a damaged chunk is passed over (its buckets are missing).
        for row in chunks.iter().map_err(|e| self.err(e))?.rev() {
            let (k, v) = row.map_err(|e| self.err(e))?;
            let (chunk_start, s) = k.value();
            if s != series {
                continue;
            }
            let Ok(decoded) = self.decode_chunk(&seal::chunk_key(series, chunk_start), v.value())
            else {
                continue;
            };
            if let Some(slot) = decoded
                .iter()
                .rposition(|b| matches!(b, Bucket::Known { .. }))
            {
                return Ok(Some(chunk_start + slot as i64 * width));
            }
        }
        Ok(None)
    }

    /// A stored chunk's buckets, when its checksum and encoding hold.
    fn decode_chunk(&self, key: &[u8], stored: &[u8]) -> Result<[Bucket; CHUNK], String> {
        let packed = seal::unseal(key, stored).map_err(|e| e.to_string())?;
        codec::decode(packed).map_err(|e| e.to_string())
    }

    /// Returns freed pages to the file system.
    pub fn compact(&mut self) -> Result<(), StoreError> {
        let slot = self.db.get_mut().unwrap_or_else(|p| p.into_inner());
        let Some(db) = slot.as_mut().and_then(Arc::get_mut) else {
            return Err(StoreError::Db {
                path: self.path.clone(),
                message: "cannot compact while the store is in use".into(),
            });
        };
        db.compact().map_err(|e| StoreError::Db {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_round_trip_across_chunks_and_missing_keeps_known() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let id = store.series_id("api/availability|x|60").unwrap();
        let bs: Vec<Bucket> = (0..150)
            .map(|i| {
                if i % 7 == 0 {
                    Bucket::Missing
                } else {
                    Bucket::known(i as f64, i as f64 + 1.0)
                }
            })
            .collect();
        store.put(id, 6000, 60, &bs).unwrap();
        assert_eq!(store.get(id, 6000, 60, 150).unwrap(), bs);
        // A failed re-query (all missing) must not erase anything.
        store
            .put(id, 6000, 60, &vec![Bucket::Missing; 150])
            .unwrap();
        assert_eq!(store.get(id, 6000, 60, 150).unwrap(), bs);
        assert_eq!(store.last_known(id, 60).unwrap(), Some(6000 + 149 * 60));
    }

    #[test]
    fn one_scan_reads_the_chunks_of_many_series_at_one_time_as_single_reads_do() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let ids: Vec<u64> = (0..5)
            .map(|i| store.series_id(&format!("s{i}")).unwrap())
            .collect();
        let span = 60 * CHUNK as i64;
        for (k, id) in ids.iter().enumerate() {
            // Series 3 has nothing in the second chunk.
            let n = if k == 3 { CHUNK } else { 2 * CHUNK };
            let bs = vec![Bucket::known(k as f64, 10.0); n];
            store.put(*id, 0, 60, &bs).unwrap();
        }
        let reader = store.reader().unwrap();
        // Asked for four of the five (not ids[1]), at the second chunk.
        let mut wanted = [ids[0], ids[2], ids[3], ids[4]];
        wanted.sort_unstable();
        let got = reader.chunks_at(span, &wanted).unwrap();
        let found: Vec<u64> = got.iter().map(|(id, _)| *id).collect();
        let mut expected = vec![ids[0], ids[2], ids[4]];
        expected.sort_unstable();
        assert_eq!(found, expected);
        for (id, bytes) in &got {
            assert_eq!(
                bytes.as_deref(),
                reader.chunk(*id, span).unwrap().as_deref(),
                "series {id}"
            );
        }
        assert!(reader.chunks_at(span, &[]).unwrap().is_empty());
    }

    #[test]
    fn series_ids_are_stable_and_distinct_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = {
            let store = Store::open(dir.path()).unwrap();
            (store.series_id("a").unwrap(), store.series_id("b").unwrap())
        };
        assert_ne!(a, b);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.series_id("a").unwrap(), a);
    }

    #[test]
    fn retention_deletes_only_old_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let id = store.series_id("s").unwrap();
        let bs = vec![Bucket::known(1.0, 1.0); 64 * 4];
        store.put(id, 0, 60, &bs).unwrap();
        let deleted = store.delete_before(64 * 60 * 2, |_| 60).unwrap();
        assert_eq!(deleted, 2);
        let got = store.get(id, 0, 60, 64 * 4).unwrap();
        assert!(got[..128].iter().all(|b| *b == Bucket::Missing));
        assert!(got[128..].iter().all(|b| *b == Bucket::known(1.0, 1.0)));
    }

    #[test]
    fn refuses_a_different_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            let tx = store.db().unwrap().begin_write().unwrap();
            tx.open_table(META)
                .unwrap()
                .insert("schema_version", 99)
                .unwrap();
            tx.commit().unwrap();
        }
        assert!(matches!(
            Store::open(dir.path()),
            Err(StoreError::Schema { found: 99, .. })
        ));
    }
}
