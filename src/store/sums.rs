//! Running totals beside the buckets: one row per series (`sums`, `u64 series → bytes`) that the
//! engine writes in the same transaction as the buckets it summed, so a restart reads one row per
//! series instead of every bucket of its longest window. The store keeps the rule that makes them
//! safe: a transaction that writes a series' buckets without its row removes the row, so a row
//! that exists always sums exactly what is stored. What the bytes hold is the engine's business.

use super::{CHUNKS, SUMS, Store, StoreError, Write, seal};
use redb::ReadableDatabase;

impl Store {
    /// The stored running totals of each series, `None` where there is no row or it is damaged
    /// (counted like any damaged value; the series is then rebuilt from its buckets).
    pub fn sums(&self, series: &[u64]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let tx = self.db()?.begin_read().map_err(|e| self.err(e))?;
        let table = match tx.open_table(SUMS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(vec![None; series.len()]),
            Err(e) => return Err(self.err(e)),
        };
        let mut out = Vec::with_capacity(series.len());
        for id in series {
            let row = table.get(id).map_err(|e| self.err(e))?;
            out.push(
                row.and_then(|v| match seal::unseal(&id.to_le_bytes(), v.value()) {
                    Ok(b) => Some(b.to_vec()),
                    Err(e) => {
                        self.damaged_value("sums", id, e);
                        None
                    }
                }),
            );
        }
        Ok(out)
    }

    /// Writes buckets and running totals in one durable transaction. A series written here
    /// without a row in `sums` loses its stored row: its totals no longer match its buckets.
    pub fn commit(&self, writes: &[Write<'_>], sums: &[(u64, &[u8])]) -> Result<(), StoreError> {
        let tx = self.db()?.begin_write().map_err(|e| self.err(e))?;
        {
            let mut chunks = tx.open_table(CHUNKS).map_err(|e| self.err(e))?;
            // One buffer for every value sealed here: 20,000 a tick at 10,000 SLOs.
            let mut buf = Vec::with_capacity(512);
            for w in writes {
                self.merge(&mut chunks, w, &mut buf)?;
            }
            let mut table = tx.open_table(SUMS).map_err(|e| self.err(e))?;
            let mut with_sums: Vec<u64> = sums.iter().map(|(id, _)| *id).collect();
            with_sums.sort_unstable();
            for w in writes {
                if with_sums.binary_search(&w.series).is_err() {
                    table.remove(w.series).map_err(|e| self.err(e))?;
                }
            }
            for (id, bytes) in sums {
                buf.clear();
                buf.extend_from_slice(bytes);
                seal::seal_in(&id.to_le_bytes(), &mut buf);
                table.insert(id, buf.as_slice()).map_err(|e| self.err(e))?;
            }
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// Removes every series' running totals (after a repair changed buckets under them).
    pub fn drop_sums(&self) -> Result<(), StoreError> {
        let tx = self.db()?.begin_write().map_err(|e| self.err(e))?;
        match tx.delete_table(SUMS) {
            Ok(_) => {}
            Err(e) => return Err(self.err(e)),
        }
        tx.commit().map_err(|e| self.err(e))
    }
}
