//! Salvage of a store redb refuses (`slowburn store verify --repair` on a file whose integrity
//! check fails). One flipped bit in a page makes redb refuse the whole file, and with it the
//! silences, alert states and outbox, which no source can give back. What still reads is kept:
//! the file is opened without the integrity check, every table is read forwards until the damage
//! and backwards from its end, and only rows whose own checksum ([`seal`]) holds are copied into
//! a new file. A row that reads but fails its checksum is never kept, nor a chunk whose
//! definition was lost, so damage can lose rows but never turn into other data. A copy of the
//! damaged file, as it was, is kept beside it as `slowburn.redb.damaged-<unix time>`; chunks lost
//! are backfilled from the source at the next start.

use super::*;
use redb::{AccessGuard, Key, ReadTransaction, Value};
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// What a salvage kept, and where the damaged file went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Salvaged {
    /// Rows kept per table, in [`TABLE_NAMES`] order.
    pub rows: [u64; 5],
    /// Tables that could not be read whole (rows between the damage may be lost).
    pub incomplete: Vec<&'static str>,
    /// Rows read whose checksum failed, dropped.
    pub dropped: u64,
    /// The damaged file, moved aside.
    pub aside: PathBuf,
}

/// Reads a table forwards and, when that stops at damage, backwards from its end. A panic inside
/// redb on a garbled page counts as damage. Returns the rows and whether the read was whole.
fn rows<K, V, KO, VO>(
    tx: &ReadTransaction,
    def: TableDefinition<K, V>,
    own: impl Fn(&AccessGuard<'_, K>, &AccessGuard<'_, V>) -> (KO, VO),
) -> (BTreeMap<KO, VO>, bool)
where
    K: Key + 'static,
    V: Value + 'static,
    KO: Ord,
{
    let mut out = BTreeMap::new();
    let mut read = |backwards: bool| {
        catch_unwind(AssertUnwindSafe(|| -> Result<(), ()> {
            let t = match tx.open_table(def) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
                Err(_) => return Err(()),
            };
            let iter = t.iter().map_err(|_| ())?;
            let iter: Box<dyn Iterator<Item = _>> = if backwards {
                Box::new(iter.rev())
            } else {
                Box::new(iter)
            };
            for row in iter {
                let (k, v) = row.map_err(|_| ())?;
                let (k, v) = own(&k, &v);
                out.insert(k, v);
            }
            Ok(())
        }))
        .unwrap_or(Err(()))
    };
    let whole = read(false).is_ok() || read(true).is_ok();
    (out, whole)
}

/// Salvages `dir/slowburn.redb` in place (the daemon must be stopped). Fails only when not even
/// the file's header reads; then a backup is the way back.
pub fn salvage(dir: &Path) -> Result<Salvaged, StoreError> {
    let file = dir.join(FILE_NAME);
    let path = file.display().to_string();
    let err = |m: String| StoreError::Db {
        path: path.clone(),
        message: m,
    };
    // The damaged file is kept as it was: opening it may repair and rewrite its header.
    let aside = dir.join(format!("{FILE_NAME}.damaged-{}", crate::time::now_secs()));
    std::fs::copy(&file, &aside).map_err(|e| err(format!("cannot keep a copy aside: {e}")))?;
    let opened = catch_unwind(AssertUnwindSafe(|| {
        Database::builder()
            .set_cache_size(CACHE_BYTES)
            .set_check_integrity_on_open(false)
            .open(&file)
    }));
    let db = match opened {
        Ok(Ok(db)) => db,
        Ok(Err(e)) => {
            return Err(err(format!(
                "not even the file's header reads ({e}); restore a backup (`backup:` in slo.yaml keeps them) or move the data directory aside"
            )));
        }
        Err(_) => return Err(err("redb failed reading the file's header".into())),
    };
    let tx = db
        .begin_read()
        .map_err(|e| err(format!("no read transaction: {e}")))?;
    let mut incomplete = Vec::new();
    let mut dropped = 0u64;
    let mut check = |name: &'static str, whole: bool| {
        if !whole {
            incomplete.push(name);
        }
    };

    let (meta, whole) = rows(&tx, META, |k, v| (k.value().to_string(), v.value()));
    check("meta", whole);
    let (series, whole) = rows(&tx, SERIES, |k, v| (k.value().to_string(), v.value()));
    check("series", whole);
    // Every id ever seen, kept or not: a new definition must never get one of them.
    let mut highest = series.values().copied().max().unwrap_or(0);
    // A series key that does not read as one, or an id two keys claim, cannot be trusted.
    let mut ids: BTreeMap<u64, u32> = BTreeMap::new();
    for id in series.values() {
        *ids.entry(*id).or_default() += 1;
    }
    let series: BTreeMap<String, u64> = series
        .into_iter()
        .filter(|(k, id)| {
            let ok = keys::SeriesKey::from_stored(k.clone()).width().is_some() && ids[id] == 1;
            dropped += u64::from(!ok);
            ok
        })
        .collect();
    // Either layout: a damaged schema-2 file still holds its chunks series first.
    let (mut chunks, whole) = rows(&tx, OLD_CHUNKS, |k, v| (k.value(), v.value().to_vec()));
    check("chunks", whole);
    let (by_time, whole) = rows(&tx, CHUNKS, |k, v| {
        let (start, series) = k.value();
        ((series, start), v.value().to_vec())
    });
    check("chunks", whole);
    chunks.extend(by_time);
    highest = highest.max(chunks.keys().map(|(s, _)| *s).max().unwrap_or(0));
    // A chunk is kept only beside the definition it belongs to: its checksum covers its id and
    // start, not what the id meant, so an orphan could be read as another SLO's history.
    let kept_ids: std::collections::BTreeSet<u64> = series.values().copied().collect();
    let chunks: BTreeMap<(u64, i64), Vec<u8>> = chunks
        .into_iter()
        .filter(|((s, start), v)| {
            let ok = kept_ids.contains(s)
                && seal::unseal(&seal::chunk_key(*s, *start), v)
                    .ok()
                    .is_some_and(|p| codec::decode(p).is_ok());
            dropped += u64::from(!ok);
            ok
        })
        .collect();
    let mut kv = Vec::new();
    for (name, def) in [("alerts", ALERTS), ("silences", SILENCES)] {
        let (t, whole) = rows(&tx, def, |k, v| (k.value().to_string(), v.value().to_vec()));
        check(name, whole);
        let t: BTreeMap<String, Vec<u8>> = t
            .into_iter()
            .filter(|(k, v)| {
                let ok = seal::unseal(k.as_bytes(), v).is_ok();
                dropped += u64::from(!ok);
                ok
            })
            .collect();
        kv.push((def, t));
    }
    let (outbox, whole) = rows(&tx, OUTBOX, |k, v| (k.value(), v.value().to_vec()));
    check("outbox", whole);
    let outbox: BTreeMap<u64, Vec<u8>> = outbox
        .into_iter()
        .filter(|(id, v)| {
            let ok = seal::unseal(&id.to_le_bytes(), v).is_ok();
            dropped += u64::from(!ok);
            ok
        })
        .collect();
    drop(tx);
    drop(db);

    // The counters must stay ahead of every id kept, whatever the meta table said.
    let next_series = highest + 1;
    let next_outbox = outbox.keys().max().map_or(1, |m| m + 1);
    let meta_get = |k: &str| meta.get(k).copied().unwrap_or(0);
    let fresh = dir.join(format!("{FILE_NAME}.salvage"));
    let _ = std::fs::remove_file(&fresh);
    let written = (|| -> Result<(), redb::Error> {
        let out = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(&fresh)?;
        let w = out.begin_write()?;
        {
            let mut m = w.open_table(META)?;
            m.insert("schema_version", SCHEMA_VERSION)?;
            m.insert(
                "next_series_id",
                meta_get("next_series_id").max(next_series),
            )?;
            m.insert(
                "next_outbox_id",
                meta_get("next_outbox_id").max(next_outbox),
            )?;
            let mut t = w.open_table(SERIES)?;
            for (k, id) in &series {
                t.insert(k.as_str(), *id)?;
            }
            let mut t = w.open_table(CHUNKS)?;
            for ((series, start), v) in &chunks {
                t.insert((*start, *series), v.as_slice())?;
            }
            for (def, rows) in &kv {
                let mut t = w.open_table(*def)?;
                for (k, v) in rows {
                    t.insert(k.as_str(), v.as_slice())?;
                }
            }
            let mut t = w.open_table(OUTBOX)?;
            for (k, v) in &outbox {
                t.insert(*k, v.as_slice())?;
            }
        }
        w.commit()?;
        Ok(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&fresh);
        return Err(err(format!("the salvaged copy could not be written: {e}")));
    }
    std::fs::rename(&fresh, &file)
        .map_err(|e| err(format!("cannot put the copy in place: {e}")))?;
    Ok(Salvaged {
        rows: [
            series.len() as u64,
            chunks.len() as u64,
            kv[0].1.len() as u64,
            outbox.len() as u64,
            kv[1].1.len() as u64,
        ],
        incomplete,
        dropped,
        aside,
    })
}
