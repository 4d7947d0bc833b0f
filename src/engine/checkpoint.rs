//! A tracked series' running totals as the store keeps them beside its buckets: the window sums
//! at the end of the last committed tick, the ranges still to heal, and where the source's data
//! begins. Written in the same transaction as the buckets they sum, so a restart resumes from one
//! row per series instead of re-reading 30 days of buckets; any bucket write without them drops the
//! row ([`crate::store::Store::commit`]), so a stale row is never believed.

use crate::budget::{CalendarSum, Rolling, WindowSum};
use crate::calendar::{Calendar, Period, Unit};
use crate::duration::Dur;

/// Layout version of the encoded row; another version reads as absent (the series is rebuilt
/// from its buckets). Version 2 added the calendar periods' sums.
const VERSION: u8 = 2;

/// What a stored row gives back.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Checkpoint {
    pub rolling: Rolling,
    pub heal: Vec<(i64, i64)>,
    pub unknown_until: Option<i64>,
    /// [`fingerprint`] of the corrections the sums excluded: sums of another set are not
    /// believed (a correction changed while a tick was committing).
    pub corrections: u64,
}

/// A fingerprint of correction windows (their ranges, in order): stored with the sums that
/// exclude them, compared at load.
pub(super) fn fingerprint(mask: &[crate::maintenance::Maintenance]) -> u64 {
    // FNV-1a over each one-off window's start and end: stable across builds, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for m in mask {
        if let crate::maintenance::Recurrence::Once { start, end } = m.when {
            for b in start.to_le_bytes().into_iter().chain(end.to_le_bytes()) {
                h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    h
}

/// Many series' rows end to end in one buffer, for one commit: a tick writes 10,000 of them,
/// and a buffer each was a tenth of the tick's allocations.
#[derive(Default)]
pub(super) struct Rows {
    bytes: Vec<u8>,
    /// Each row's series and the end of its bytes.
    ends: Vec<(u64, usize)>,
}

impl Rows {
    /// Appends the row of `series`, written by `encode` (an [`encode`] of its own state).
    pub fn push(&mut self, series: u64, encode: impl FnOnce(&mut Vec<u8>)) {
        encode(&mut self.bytes);
        self.ends.push((series, self.bytes.len()));
    }

    /// Every row as the store's commit takes them.
    pub fn rows(&self) -> Vec<(u64, &[u8])> {
        let mut from = 0;
        self.ends
            .iter()
            .map(|&(series, end)| {
                let row = (series, &self.bytes[from..end]);
                from = end;
                row
            })
            .collect()
    }
}

/// Encodes a series' sums, heal ranges and data start, appended to `out`.
pub(super) fn encode(
    rolling: &Rolling,
    heal: &[(i64, i64)],
    unknown_until: Option<i64>,
    corrections: u64,
    out: &mut Vec<u8>,
) {
    let windows = rolling.sums();
    out.reserve(32 + windows.len() * 40 + heal.len() * 16);
    out.push(VERSION);
    out.extend_from_slice(&rolling.width().to_le_bytes());
    out.extend_from_slice(&rolling.at().to_le_bytes());
    out.extend_from_slice(&(windows.len() as u32).to_le_bytes());
    for (w, s) in windows {
        out.extend_from_slice(&w.as_secs().to_le_bytes());
        out.extend_from_slice(&s.good.to_le_bytes());
        out.extend_from_slice(&s.total.to_le_bytes());
        out.extend_from_slice(&s.known.to_le_bytes());
        out.extend_from_slice(&s.excluded.to_le_bytes());
    }
    out.extend_from_slice(&(heal.len() as u32).to_le_bytes());
    for (s, e) in heal {
        out.extend_from_slice(&s.to_le_bytes());
        out.extend_from_slice(&e.to_le_bytes());
    }
    out.extend_from_slice(&unknown_until.unwrap_or(i64::MIN).to_le_bytes());
    out.extend_from_slice(&corrections.to_le_bytes());
    let calendars = rolling.calendars();
    out.extend_from_slice(&(calendars.len() as u32).to_le_bytes());
    for c in calendars {
        out.push(c.period.calendar.unit as u8);
        let zone = c.period.calendar.tz.name().as_bytes();
        out.push(zone.len().min(255) as u8);
        out.extend_from_slice(&zone[..zone.len().min(255)]);
        out.extend_from_slice(&c.period.from.to_le_bytes());
        out.extend_from_slice(&c.period.to.to_le_bytes());
        let s = &c.sum;
        out.extend_from_slice(&s.good.to_le_bytes());
        out.extend_from_slice(&s.total.to_le_bytes());
        out.extend_from_slice(&s.known.to_le_bytes());
        out.extend_from_slice(&s.buckets.to_le_bytes());
        out.extend_from_slice(&s.excluded.to_le_bytes());
    }
}

/// Reads a row back; `None` for anything that is not exactly what [`encode`] writes.
pub(super) fn decode(bytes: &[u8]) -> Option<Checkpoint> {
    let mut r = Cursor(bytes);
    if r.take(1)?[0] != VERSION {
        return None;
    }
    let width = r.i64()?;
    let at = r.i64()?;
    let n = r.u32()? as usize;
    if width <= 0 || n > 1024 {
        return None;
    }
    let mut windows = Vec::with_capacity(n);
    for _ in 0..n {
        let w = r.u64()?;
        let sum = WindowSum {
            good: r.f64()?,
            total: r.f64()?,
            known: r.u64()?,
            buckets: w / width as u64,
            excluded: r.u64()?,
        };
        windows.push((Dur::from_secs(w), sum));
    }
    let h = r.u32()? as usize;
    if h > bytes.len() / 16 {
        return None;
    }
    let mut heal = Vec::with_capacity(h);
    for _ in 0..h {
        heal.push((r.i64()?, r.i64()?));
    }
    let unknown = r.i64()?;
    let corrections = r.u64()?;
    let n = r.u32()? as usize;
    if n > 3 {
        return None;
    }
    let mut calendars = Vec::with_capacity(n);
    for _ in 0..n {
        let unit = match r.take(1)?[0] {
            0 => Unit::Week,
            1 => Unit::Month,
            2 => Unit::Quarter,
            _ => return None,
        };
        let len = r.take(1)?[0] as usize;
        let tz = std::str::from_utf8(r.take(len)?).ok()?.parse().ok()?;
        let period = Period {
            calendar: Calendar { unit, tz },
            from: r.i64()?,
            to: r.i64()?,
        };
        let sum = WindowSum {
            good: r.f64()?,
            total: r.f64()?,
            known: r.u64()?,
            buckets: r.u64()?,
            excluded: r.u64()?,
        };
        calendars.push(CalendarSum { period, sum });
    }
    if !r.0.is_empty() {
        return None;
    }
    let mut rolling = Rolling::restore(width, at, windows)?;
    if !rolling.restore_calendars(calendars) {
        return None;
    }
    Some(Checkpoint {
        rolling,
        heal,
        unknown_until: (unknown != i64::MIN).then_some(unknown),
        corrections,
    })
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn f64(&mut self) -> Option<f64> {
        Some(f64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::{Bucket, Series};

    #[test]
    fn a_checkpoint_reads_back_exactly_and_refuses_anything_else() {
        let m = Dur::from_secs(60);
        let buckets: Vec<Bucket> = (0..200)
            .map(|i| match i % 7 {
                0 => Bucket::Missing,
                1 => Bucket::Excluded,
                _ => Bucket::known(i as f64, i as f64 + 0.5),
            })
            .collect();
        let s = Series::from_buckets(0, m, &buckets);
        let tz = crate::calendar::parse_zone("Asia/Kolkata").unwrap_or(chrono_tz::Tz::UTC);
        let month = Calendar {
            unit: Unit::Month,
            tz,
        };
        let rolling =
            Rolling::from_series(&s, 200 * 60, &[Dur::from_secs(300), Dur::from_secs(3600)])
                .with_calendars(&[month], |from| {
                    s.window(200 * 60, Dur::from_secs((200 * 60 - from).max(0) as u64))
                });
        assert_eq!(rolling.calendars().len(), 1);
        let mut rows = Rows::default();
        rows.push(1, |out| encode(&rolling, &[], None, 0, out));
        rows.push(2, |out| {
            encode(&rolling, &[(60, 180), (600, 660)], Some(120), 77, out)
        });
        let [(1, first), (2, second)] = rows.rows()[..] else {
            panic!("two rows in order")
        };
        let bytes = second.to_vec();
        let back = decode(&bytes).expect("reads back");
        assert_eq!(back.rolling, rolling);
        assert_eq!(back.heal, vec![(60, 180), (600, 660)]);
        assert_eq!(back.unknown_until, Some(120));
        assert_eq!(back.corrections, 77);
        assert_eq!(decode(first).map(|c| c.unknown_until), Some(None));
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut]), None, "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode(&longer), None);
        let mut other = bytes;
        other[0] = 9;
        assert_eq!(decode(&other), None);
    }
}
