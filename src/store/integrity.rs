//! The store's integrity beyond redb's own: the schema-1 upgrade that seals every value with its
//! checksum, and `slowburn store verify`, which reads every row against it.

use super::*;

/// What [`Store::verify`] found, table by table.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Rows read per table, in [`TABLE_NAMES`] order.
    pub rows: [u64; 5],
    /// `(table, key)` of every row whose checksum or chunk encoding is wrong.
    pub damaged: Vec<(&'static str, String)>,
    /// Damaged rows deleted (with `repair`).
    pub removed: u64,
}

/// The byte-valued tables, as [`Verification::rows`] lists them.
pub const TABLE_NAMES: [&str; 5] = ["series", "chunks", "alerts", "outbox", "silences"];

impl Store {
    /// Adds checksums to every value of a schema-1 store, inside the opening transaction.
    pub(super) fn seal_all(&self, tx: &redb::WriteTransaction) -> Result<(), StoreError> {
        let e = |e: &dyn std::fmt::Display| self.err(e);
        {
            let mut t = tx.open_table(OLD_CHUNKS).map_err(|x| e(&x))?;
            let rows: Vec<((u64, i64), Vec<u8>)> = t
                .iter()
                .map_err(|x| e(&x))?
                .filter_map(Result::ok)
                .map(|(k, v)| (k.value(), v.value().to_vec()))
                .collect();
            for ((series, start), v) in rows {
                let sealed = seal::seal(&seal::chunk_key(series, start), &v);
                t.insert((series, start), sealed.as_slice())
                    .map_err(|x| e(&x))?;
            }
        }
        for table in [ALERTS, SILENCES] {
            let mut t = tx.open_table(table).map_err(|x| e(&x))?;
            let rows: Vec<(String, Vec<u8>)> = t
                .iter()
                .map_err(|x| e(&x))?
                .filter_map(Result::ok)
                .map(|(k, v)| (k.value().to_string(), v.value().to_vec()))
                .collect();
            for (k, v) in rows {
                let sealed = seal::seal(k.as_bytes(), &v);
                t.insert(k.as_str(), sealed.as_slice()).map_err(|x| e(&x))?;
            }
        }
        let mut t = tx.open_table(OUTBOX).map_err(|x| e(&x))?;
        let rows: Vec<(u64, Vec<u8>)> = t
            .iter()
            .map_err(|x| e(&x))?
            .filter_map(Result::ok)
            .map(|(k, v)| (k.value(), v.value().to_vec()))
            .collect();
        for (k, v) in rows {
            let sealed = seal::seal(&k.to_le_bytes(), &v);
            t.insert(k, sealed.as_slice()).map_err(|x| e(&x))?;
        }
        Ok(())
    }

    /// Reads every row of every table and checks its checksum (and a chunk's encoding); with
    /// `repair`, deletes the damaged rows in one transaction (their buckets are backfilled from
    /// the source at the next start; a damaged alert state, outbox entry or silence is lost).
    pub fn verify(&self, repair: bool) -> Result<Verification, StoreError> {
        let mut v = Verification::default();
        let mut doomed_chunks = Vec::new();
        let mut doomed_kv: Vec<(TableDefinition<&str, &[u8]>, String)> = Vec::new();
        let mut doomed_outbox = Vec::new();
        {
            let tx = self.db()?.begin_read().map_err(|e| self.err(e))?;
            let series = tx.open_table(SERIES).map_err(|e| self.err(e))?;
            for row in series.iter().map_err(|e| self.err(e))? {
                row.map_err(|e| self.err(e))?;
                v.rows[0] += 1;
            }
            let chunks = tx.open_table(CHUNKS).map_err(|e| self.err(e))?;
            for row in chunks.iter().map_err(|e| self.err(e))? {
                let (k, val) = row.map_err(|e| self.err(e))?;
                let (start, s) = k.value();
                v.rows[1] += 1;
                if self
                    .decode_chunk(&seal::chunk_key(s, start), val.value())
                    .is_err()
                {
                    v.damaged
                        .push(("chunks", format!("series {s} from {start}")));
                    doomed_chunks.push((start, s));
                }
            }
            for (i, (name, table)) in [("alerts", ALERTS), ("silences", SILENCES)]
                .into_iter()
                .enumerate()
            {
                let t = tx.open_table(table).map_err(|e| self.err(e))?;
                for row in t.iter().map_err(|e| self.err(e))? {
                    let (k, val) = row.map_err(|e| self.err(e))?;
                    v.rows[if i == 0 { 2 } else { 4 }] += 1;
                    let key = k.value();
                    if seal::unseal(key.as_bytes(), val.value()).is_err() {
                        v.damaged.push((name, key.to_string()));
                        doomed_kv.push((table, key.to_string()));
                    }
                }
            }
            let t = tx.open_table(OUTBOX).map_err(|e| self.err(e))?;
            for row in t.iter().map_err(|e| self.err(e))? {
                let (k, val) = row.map_err(|e| self.err(e))?;
                v.rows[3] += 1;
                let id = k.value();
                if seal::unseal(&id.to_le_bytes(), val.value()).is_err() {
                    v.damaged.push(("outbox", id.to_string()));
                    doomed_outbox.push(id);
                }
            }
        }
        if repair && !v.damaged.is_empty() {
            let tx = self.db()?.begin_write().map_err(|e| self.err(e))?;
            {
                let mut t = tx.open_table(CHUNKS).map_err(|e| self.err(e))?;
                for k in &doomed_chunks {
                    t.remove(*k).map_err(|e| self.err(e))?;
                }
                // Running totals that counted the removed buckets no longer sum what is stored.
                let mut sums = tx.open_table(super::SUMS).map_err(|e| self.err(e))?;
                for (_, series) in &doomed_chunks {
                    sums.remove(*series).map_err(|e| self.err(e))?;
                }
                for (table, key) in &doomed_kv {
                    let mut t = tx.open_table(*table).map_err(|e| self.err(e))?;
                    t.remove(key.as_str()).map_err(|e| self.err(e))?;
                }
                let mut t = tx.open_table(OUTBOX).map_err(|e| self.err(e))?;
                for id in &doomed_outbox {
                    t.remove(*id).map_err(|e| self.err(e))?;
                }
            }
            tx.commit().map_err(|e| self.err(e))?;
            v.removed = v.damaged.len() as u64;
        }
        Ok(v)
    }

    /// Deletes every chunk that ends at or before `cutoff` (retention), in one transaction, and
    /// returns how many rows went. Call [`Store::compact`] now and then to give the space back
    /// to the file system.
    pub fn delete_before(
        &self,
        cutoff: i64,
        width_of: impl Fn(u64) -> i64,
    ) -> Result<usize, StoreError> {
        self.delete_before_at_most(cutoff, width_of, usize::MAX)
    }

    /// Retention a little at a time: deletes at most `max_rows` of the chunks that end at or
    /// before `cutoff` (`width_of` gives each series' bucket width), the oldest first, in one
    /// transaction; the daemon calls it every tick so that no tick pays for an hour's worth.
    /// Chunks are ordered by time, so this reads only the front of the table.
    pub fn delete_before_at_most(
        &self,
        cutoff: i64,
        width_of: impl Fn(u64) -> i64,
        max_rows: usize,
    ) -> Result<usize, StoreError> {
        let tx = self.db()?.begin_write().map_err(|e| self.err(e))?;
        let mut doomed: Vec<(i64, u64)> = Vec::new();
        {
            let mut chunks = tx.open_table(CHUNKS).map_err(|e| self.err(e))?;
            // Rows of wider buckets that are not due yet are passed over, within a bound.
            let mut visited = 0usize;
            for row in chunks
                .range((i64::MIN, 0u64)..(cutoff, 0u64))
                .map_err(|e| self.err(e))?
            {
                let (k, _) = row.map_err(|e| self.err(e))?;
                let (start, series) = k.value();
                visited += 1;
                if start + width_of(series) * CHUNK as i64 <= cutoff {
                    doomed.push((start, series));
                }
                if doomed.len() >= max_rows || visited >= max_rows.saturating_mul(4) {
                    break;
                }
            }
            for k in &doomed {
                chunks.remove(*k).map_err(|e| self.err(e))?;
            }
        }
        if doomed.is_empty() {
            tx.abort().map_err(|e| self.err(e))?;
        } else {
            tx.commit().map_err(|e| self.err(e))?;
        }
        Ok(doomed.len())
    }
}
