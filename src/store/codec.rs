//! The packed on-disk form of one chunk of [`CHUNK`] buckets.
//!
//! Layout: `version u8`, `known bitmap u64 LE`, in version 2 also an `excluded bitmap u64 LE`
//! (buckets inside a maintenance window), then for each known bucket in order a tag byte
//! (bit 0: good is a varint, bit 1: total is a varint) followed by good and total, each either an
//! unsigned LEB128 integer (event counts are almost always whole) or an `f64` LE. A typical minute
//! costs 4–6 bytes instead of the ~50 bytes of one row per bucket.

use crate::budget::Bucket;

/// Buckets per stored row: 64, so the known-bitmap is one `u64`.
pub const CHUNK: usize = 64;
const VERSION: u8 = 1;
/// Chunks holding excluded buckets carry a second bitmap; others keep the smaller version 1.
const VERSION_EXCLUDED: u8 = 2;

/// Why a stored chunk could not be read (a corrupt or foreign file).
#[derive(Debug, Clone, thiserror::Error)]
#[error("corrupt chunk: {0}")]
pub struct CodecError(pub &'static str);

fn put_num(out: &mut Vec<u8>, v: f64) -> bool {
    if v >= 0.0 && v.fract() == 0.0 && v < 9.0e15 {
        let mut n = v as u64;
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
        true
    } else {
        out.extend_from_slice(&v.to_le_bytes());
        false
    }
}

/// Encodes exactly [`CHUNK`] buckets.
pub fn encode(buckets: &[Bucket; CHUNK]) -> Vec<u8> {
    let mut out = Vec::with_capacity(17 + CHUNK * 5);
    encode_into(buckets, &mut out);
    out
}

/// [`encode`], appended to `out`: a tick's commit encodes 10,000 chunks into one reused buffer
/// instead of allocating one per chunk.
pub fn encode_into(buckets: &[Bucket; CHUNK], out: &mut Vec<u8>) {
    let (mut bitmap, mut excluded) = (0u64, 0u64);
    for (i, b) in buckets.iter().enumerate() {
        match b {
            Bucket::Known { .. } => bitmap |= 1 << i,
            Bucket::Excluded => excluded |= 1 << i,
            Bucket::Missing => {}
        }
    }
    out.push(if excluded == 0 {
        VERSION
    } else {
        VERSION_EXCLUDED
    });
    out.extend_from_slice(&bitmap.to_le_bytes());
    if excluded != 0 {
        out.extend_from_slice(&excluded.to_le_bytes());
    }
    for b in buckets {
        if let Bucket::Known { good, total } = b {
            let tag_at = out.len();
            out.push(0);
            let mut tag = 0u8;
            if put_num(out, *good) {
                tag |= 1;
            }
            if put_num(out, *total) {
                tag |= 2;
            }
            out[tag_at] = tag;
        }
    }
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    /// The version byte, the known-bitmap and the excluded-bitmap.
    fn header(&mut self) -> Result<(u64, u64), CodecError> {
        let version = self.byte()?;
        if version != VERSION && version != VERSION_EXCLUDED {
            return Err(CodecError("unknown chunk version"));
        }
        let known = self.u64()?;
        let excluded = if version == VERSION_EXCLUDED {
            self.u64()?
        } else {
            0
        };
        if known & excluded != 0 {
            return Err(CodecError("a bucket both known and excluded"));
        }
        Ok((known, excluded))
    }

    fn u64(&mut self) -> Result<u64, CodecError> {
        self.eight("truncated").map(u64::from_le_bytes)
    }

    /// The next eight bytes (a bitmap or a float), or `short` when fewer are left.
    fn eight(&mut self, short: &'static str) -> Result<[u8; 8], CodecError> {
        let bytes = self
            .data
            .get(self.pos..self.pos + 8)
            .ok_or(CodecError(short))?;
        self.pos += 8;
        let mut out = [0u8; 8];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// One known bucket's entry: its tag, then good and total.
    fn entry(&mut self) -> Result<Bucket, CodecError> {
        let tag = self.byte()?;
        let good = self.num(tag & 1 != 0)?;
        let total = self.num(tag & 2 != 0)?;
        Ok(Bucket::Known { good, total })
    }

    fn byte(&mut self) -> Result<u8, CodecError> {
        let b = *self.data.get(self.pos).ok_or(CodecError("truncated"))?;
        self.pos += 1;
        Ok(b)
    }
    fn num(&mut self, varint: bool) -> Result<f64, CodecError> {
        if varint {
            // Most counts of a minute fit one byte.
            if let Some(&b) = self.data.get(self.pos)
                && b & 0x80 == 0
            {
                self.pos += 1;
                return Ok(f64::from(b));
            }
            let mut n = 0u64;
            for shift in (0..64).step_by(7) {
                let b = self.byte()?;
                n |= u64::from(b & 0x7f) << shift;
                if b & 0x80 == 0 {
                    return Ok(n as f64);
                }
            }
            Err(CodecError("varint too long"))
        } else {
            self.eight("truncated float").map(f64::from_le_bytes)
        }
    }
}

/// Decodes a chunk written by [`encode`].
pub fn decode(data: &[u8]) -> Result<[Bucket; CHUNK], CodecError> {
    let mut r = Reader { data, pos: 0 };
    let (bitmap, excluded) = r.header()?;
    let mut out = [Bucket::Missing; CHUNK];
    // Only the set bits are visited, in slot order (the order their entries are written in).
    let mut known = bitmap;
    while known != 0 {
        let i = known.trailing_zeros() as usize;
        known &= known - 1;
        out[i] = r.entry()?;
    }
    let mut gone = excluded;
    while gone != 0 {
        out[gone.trailing_zeros() as usize] = Bucket::Excluded;
        gone &= gone - 1;
    }
    if r.pos != data.len() {
        return Err(CodecError("trailing bytes"));
    }
    Ok(out)
}

/// Decodes only bucket `slot` of a chunk: the daemon reads one leaving bucket per window per tick.
pub fn decode_one(data: &[u8], slot: usize) -> Result<Bucket, CodecError> {
    decode_one_from(data, slot, &mut Cursor::default())
}

/// Where a read of one chunk's entries stopped: how many entries lay before it and the byte it
/// stopped at. Only meaningful for the bytes it was taken from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    entries: u32,
    pos: usize,
}

/// [`decode_one`], going on from `cursor` when `slot` lies at or after it and leaving the cursor
/// after the bucket read. A long window's trailing edge moves one bucket a tick, so a cached
/// chunk read through a cursor costs one entry a tick instead of every entry before the slot.
pub fn decode_one_from(
    data: &[u8],
    slot: usize,
    cursor: &mut Cursor,
) -> Result<Bucket, CodecError> {
    let mut r = Reader { data, pos: 0 };
    let (bitmap, excluded) = r.header()?;
    if slot < CHUNK && excluded & (1 << slot) != 0 {
        return Ok(Bucket::Excluded);
    }
    if slot >= CHUNK || bitmap & (1 << slot) == 0 {
        return Ok(Bucket::Missing);
    }
    let before = (bitmap & ((1u64 << slot) - 1)).count_ones();
    let mut skip = before;
    if cursor.pos >= r.pos && cursor.entries <= before {
        r.pos = cursor.pos;
        skip = before - cursor.entries;
    }
    for _ in 0..skip {
        r.entry()?;
    }
    let b = r.entry()?;
    *cursor = Cursor {
        entries: before + 1,
        pos: r.pos,
    };
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bucket() -> impl Strategy<Value = Bucket> {
        prop_oneof![
            Just(Bucket::Missing),
            Just(Bucket::Excluded),
            (0u64..1_000_000, 0u64..1_000_000).prop_map(|(g, t)| Bucket::known(g as f64, t as f64)),
            (0.0f64..1e9, 0.0f64..1e9).prop_map(|(g, t)| Bucket::known(g, t)),
        ]
    }

    proptest! {
        #[test]
        fn round_trips(v in proptest::collection::vec(bucket(), CHUNK)) {
            let arr: [Bucket; CHUNK] = v.try_into().unwrap();
            let bytes = encode(&arr);
            prop_assert_eq!(decode(&bytes).unwrap(), arr);
            for (i, b) in arr.iter().enumerate() {
                prop_assert_eq!(decode_one(&bytes, i).unwrap(), *b);
            }
        }

        #[test]
        fn a_cursor_reads_what_a_fresh_read_does_in_any_order(
            v in proptest::collection::vec(bucket(), CHUNK),
            slots in proptest::collection::vec(0usize..CHUNK + 2, 1..40),
        ) {
            let arr: [Bucket; CHUNK] = v.try_into().unwrap();
            let bytes = encode(&arr);
            let mut cursor = Cursor::default();
            // Mostly forward by one, as a window's edge moves, but also back and past the end.
            for slot in slots {
                let want = arr.get(slot).copied().unwrap_or(Bucket::Missing);
                prop_assert_eq!(decode_one_from(&bytes, slot, &mut cursor).unwrap(), want);
                if slot + 1 < CHUNK {
                    let next = arr[slot + 1];
                    prop_assert_eq!(decode_one_from(&bytes, slot + 1, &mut cursor).unwrap(), next);
                }
            }
        }
    }

    #[test]
    fn whole_counts_are_small() {
        let arr = [Bucket::known(995.0, 1000.0); CHUNK];
        let bytes = encode(&arr);
        assert!(bytes.len() <= 9 + CHUNK * 5, "{} bytes", bytes.len());
    }

    #[test]
    fn corrupt_input_is_an_error_not_a_panic() {
        assert!(decode(&[]).is_err());
        assert!(decode(&[9, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(decode(&[1, 1, 0, 0, 0, 0, 0, 0, 0]).is_err());
        // Version 2 with bucket 0 both known and excluded.
        let mut both = vec![2, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 1, 1];
        assert!(decode(&both).is_err());
        both[9] = 2;
        assert_eq!(decode(&both).unwrap()[1], Bucket::Excluded);
    }
}
