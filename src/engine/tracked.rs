//! One stored series being tracked in memory: its rolling window sums, the newest buckets, a
//! small cache of old chunks at the trailing edges of long windows, and the ranges still to heal.

use crate::budget::{Bucket, Rolling};
use crate::config::Slo;
use crate::duration::Dur;
use crate::maintenance::Maintenance;
use crate::source::Ask;
use crate::store::keys::SeriesKey;
use crate::store::{CHUNK, Reader, codec};
use std::collections::{BTreeMap, VecDeque};
use tracing::warn;

/// Buckets kept in memory per series: enough for the lag window and the 5m–1h windows at 1m.
pub(super) const RECENT: usize = CHUNK;
/// Packed chunks cached per series (one per long-window edge, plus slack).
const COLD_CHUNKS: usize = 12;

/// The SLO's counts or an SLA's own counts, as the engine follows them.
pub(super) struct Tracked {
    pub key: SeriesKey,
    pub series: u64,
    pub ask: Ask,
    pub windows: Vec<Dur>,
    pub span: i64,
    pub rolling: Rolling,
    pub heal: Vec<(i64, i64)>,
    /// The newest buckets as the rolling sums count them: the old values of re-queried buckets and
    /// the buckets leaving short windows come from here, not from the store.
    pub recent: Recent,
    /// Packed store chunks at the trailing edges of long windows, reused for 64 ticks each.
    pub cold: Vec<ColdChunk>,
    /// End of the newest range its source said it cannot know (older than the data it holds,
    /// [`crate::source::Counts::unknown`]): while inside the window, the SLO's row says so.
    pub unknown_until: Option<i64>,
    /// Buckets older than [`Recent`] that the sums count with a new value the store does not
    /// hold yet (a healed range before its commit): a bucket leaving a window is read from here
    /// first, so the sums can move before the commit that writes them with their buckets.
    pub pending: BTreeMap<i64, Bucket>,
    /// The corrections' windows that concern this series: its buckets there count as excluded
    /// (new ones, stored ones and ones leaving a window alike), while the store keeps the counts.
    pub mask: Vec<Maintenance>,
}

impl Tracked {
    /// Adds the running totals to store with this series' buckets to one commit's rows.
    pub fn checkpoint(&self, rows: &mut super::checkpoint::Rows) {
        rows.push(self.series, |out| {
            super::checkpoint::encode(
                &self.rolling,
                &self.heal,
                self.unknown_until,
                super::checkpoint::fingerprint(&self.mask),
                out,
            )
        });
    }

    /// The tick's buckets are in the store: cached chunks holding pending buckets are stale.
    pub fn committed(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let span = self.recent.width * CHUNK as i64;
        let pending = std::mem::take(&mut self.pending);
        let stale: Vec<i64> = pending.keys().map(|t| t.div_euclid(span) * span).collect();
        self.cold.retain(|c| stale.binary_search(&c.start).is_err());
    }
}

/// The last [`RECENT`] buckets before `end`, oldest first.
pub(super) struct Recent {
    pub end: i64,
    pub width: i64,
    pub buckets: VecDeque<Bucket>,
}

impl Recent {
    fn start(&self) -> i64 {
        self.end - self.buckets.len() as i64 * self.width
    }
    /// The bucket at `t` if held; `None` outside.
    pub fn get(&self, t: i64) -> Option<Bucket> {
        if t < self.start() || t >= self.end {
            return None;
        }
        self.buckets
            .get(((t - self.start()) / self.width) as usize)
            .copied()
    }
    pub fn set(&mut self, t: i64, b: Bucket) {
        if t >= self.start() && t < self.end {
            let i = ((t - self.start()) / self.width) as usize;
            if let Some(slot) = self.buckets.get_mut(i) {
                *slot = b;
            }
        }
    }
    pub fn push(&mut self, b: Bucket) {
        self.buckets.push_back(b);
        self.end += self.width;
        while self.buckets.len() > RECENT {
            self.buckets.pop_front();
        }
    }
}

/// Windows tracked for an SLO: the burn windows, its periods and its alert policy's windows.
pub(super) fn slo_windows(slo: &Slo) -> Vec<Dur> {
    let mut w: Vec<Dur> = crate::budget::BURN_WINDOWS.to_vec();
    w.extend(slo.periods.iter().copied());
    w.extend(slo.policy.windows());
    w.sort();
    w.dedup();
    w
}

/// A stored bucket far back (the trailing edge of a long window), through the per-series cache of
/// packed chunks; unreadable data counts as missing, with a warning.
pub(super) fn cold_bucket(
    cold: &mut Vec<ColdChunk>,
    reader: &Reader,
    series: u64,
    width: i64,
    start: i64,
    unreadable: &mut bool,
) -> Bucket {
    let span = width * CHUNK as i64;
    let chunk_start = start.div_euclid(span) * span;
    let slot = ((start - chunk_start) / width) as usize;
    if !cold.iter().any(|c| c.start == chunk_start) {
        let bytes = match reader.chunk(series, chunk_start) {
            Ok(b) => b.unwrap_or_default(),
            Err(e) => {
                warn!(series, error = %e, "store read failed; the window sums will be rebuilt");
                *unreadable = true;
                return Bucket::Missing;
            }
        };
        remember_cold(cold, chunk_start, bytes);
    }
    let Some(chunk) = cold.iter_mut().find(|c| c.start == chunk_start) else {
        return Bucket::Missing;
    };
    if chunk.bytes.is_empty() {
        return Bucket::Missing;
    }
    match codec::decode_one_from(&chunk.bytes, slot, &mut chunk.cursor) {
        Ok(b) => b,
        Err(e) => {
            warn!(series, error = %e, "unreadable chunk; the window sums will be rebuilt");
            *unreadable = true;
            Bucket::Missing
        }
    }
}

/// Adds a packed chunk to a series' cache, the oldest out first when it is full.
fn remember_cold(cold: &mut Vec<ColdChunk>, chunk_start: i64, bytes: Vec<u8>) {
    if cold.len() >= COLD_CHUNKS {
        cold.remove(0);
    }
    cold.push(ColdChunk {
        start: chunk_start,
        bytes,
        cursor: codec::Cursor::default(),
    });
}

/// A packed chunk at a long window's trailing edge, with where its last read stopped: the edge
/// moves on one bucket a tick, so each read goes on from the last one: one entry decoded a tick,
/// not every entry before the slot.
pub(super) struct ColdChunk {
    /// The chunk's first bucket.
    pub start: i64,
    bytes: Vec<u8>,
    cursor: codec::Cursor,
}

/// The chunks a series' long windows will read at their trailing edges while its sums move on
/// to `upto`, that its cache lacks (at most [`COLD_CHUNKS`], oldest first). Windows of at most
/// [`RECENT`] buckets leave from memory and need none. Empty, without allocating, on the 63
/// ticks of 64 where every edge stays in a cached chunk.
pub(super) fn cold_needs(t: &Tracked, upto: i64) -> Vec<i64> {
    let width = t.recent.width;
    let span = width * CHUNK as i64;
    let from = t.rolling.at();
    let mut need = Vec::new();
    if upto <= from || width <= 0 {
        return need;
    }
    for d in &t.windows {
        let d = d.as_secs() as i64;
        if d <= RECENT as i64 * width {
            continue;
        }
        let mut c = (from - d).div_euclid(span) * span;
        let last = (upto - width - d).div_euclid(span) * span;
        while c <= last && need.len() < 2 * COLD_CHUNKS {
            if !t.cold.iter().any(|k| k.start == c) {
                need.push(c);
            }
            c += span;
        }
    }
    need.sort_unstable();
    need.dedup();
    need.truncate(COLD_CHUNKS);
    need
}

/// Series ids by the chunk start they need.
type ColdWanted = BTreeMap<i64, Vec<u64>>;
/// The packed chunk of each (series, chunk start) read ahead, empty where none is stored;
/// damaged chunks are left out, to be read (and reported) one by one.
pub(super) type ColdFound = std::collections::HashMap<(u64, i64), Vec<u8>>;

/// The chunks that moving some series' sums on will read at their long windows' trailing edges:
/// which each series needs ([`cold_needs`]; `series` gives a caller's index, the series and the
/// end its sums move to), to read with [`ColdPlan::read`] and hand out with [`cache_cold`].
pub(super) struct ColdPlan {
    wanted: ColdWanted,
    needs: Vec<(usize, Vec<i64>)>,
}

impl ColdPlan {
    pub fn new<'a>(series: impl Iterator<Item = (usize, &'a Tracked, i64)>) -> Self {
        let mut wanted = ColdWanted::new();
        let mut needs = Vec::new();
        for (i, t, upto) in series {
            let n = cold_needs(t, upto);
            if !n.is_empty() {
                for c in &n {
                    wanted.entry(*c).or_default().push(t.series);
                }
                needs.push((i, n));
            }
        }
        ColdPlan { wanted, needs }
    }

    /// Whether nothing is to be read.
    pub fn is_empty(&self) -> bool {
        self.wanted.is_empty()
    }

    /// Reads the wanted chunks with one ordered scan per chunk start ([`Reader::chunks_at`]),
    /// instead of one B-tree look-up per series and window when the sums first reach them.
    pub fn read(&mut self, reader: &Reader) -> Result<ColdFound, crate::store::StoreError> {
        let mut found = ColdFound::new();
        for (chunk_start, series) in &mut self.wanted {
            series.sort_unstable();
            series.dedup();
            let mut damaged = Vec::new();
            for (id, bytes) in reader.chunks_at(*chunk_start, series)? {
                match bytes {
                    Some(b) => {
                        found.insert((id, *chunk_start), b);
                    }
                    None => damaged.push(id),
                }
            }
            for id in series.iter() {
                if damaged.binary_search(id).is_err() {
                    found.entry((*id, *chunk_start)).or_default();
                }
            }
        }
        Ok(found)
    }

    /// Each caller's index given to [`ColdPlan::new`] with the chunks its series needs, for
    /// [`cache_cold`].
    pub fn into_needs(self) -> Vec<(usize, Vec<i64>)> {
        self.needs
    }
}

/// Puts the chunks of `needs` that [`ColdPlan::read`] found into a series' cache.
pub(super) fn cache_cold(t: &mut Tracked, found: &mut ColdFound, needs: &[i64]) {
    for c in needs {
        let Some(bytes) = found.remove(&(t.series, *c)) else {
            continue;
        };
        if !t.cold.iter().any(|k| k.start == *c) {
            remember_cold(&mut t.cold, *c, bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_holds_the_newest_buckets_only() {
        let mut r = Recent {
            end: 600,
            width: 60,
            buckets: VecDeque::from(vec![Bucket::known(1.0, 1.0); 2]),
        };
        assert_eq!(r.get(480), Some(Bucket::known(1.0, 1.0)));
        assert_eq!(r.get(420), None);
        assert_eq!(r.get(600), None);
        r.push(Bucket::known(0.0, 1.0));
        assert_eq!(r.get(600), Some(Bucket::known(0.0, 1.0)));
        r.set(600, Bucket::Missing);
        assert_eq!(r.get(600), Some(Bucket::Missing));
        for _ in 0..RECENT {
            r.push(Bucket::Missing);
        }
        assert_eq!(r.buckets.len(), RECENT);
    }
}
