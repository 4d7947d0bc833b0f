//! `--shard I/N`: which SLOs one ruler (or one daemon) owns, decided exactly as Prometheus's
//! relabelling `action: hashmod` decides it (`model/relabel/relabel.go`): the MD5 of the value,
//! its last 8 bytes read as a big-endian integer, modulo N. The value is the SLO id
//! `service/name`, so a scrape or remote-write pipeline can reproduce the split with
//! `source_labels: [service, slo]`, `separator: /`, `modulus: N`. No coordination is needed: each
//! shard reads the same `slo.yaml` and keeps its own share.

use md5::{Digest, Md5};
use std::fmt;
use std::str::FromStr;

/// One shard of N: owns the SLOs whose id hashes to `index` modulo `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    index: u32,
    count: u32,
}

impl Shard {
    /// Shard `index` of `count` (0-based); `None` unless `index < count`, so a shard always owns
    /// a share that exists.
    pub fn new(index: u32, count: u32) -> Option<Shard> {
        (index < count).then_some(Shard { index, count })
    }

    /// This shard's index (0-based).
    pub fn index(&self) -> u32 {
        self.index
    }

    /// How many shards there are.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Whether this shard owns the SLO `slo_id` (`service/name`): Prometheus's `hashmod` of the
    /// id equals the index.
    pub fn owns(&self, slo_id: &str) -> bool {
        hashmod(slo_id, u64::from(self.count)) == u64::from(self.index)
    }
}

/// Prometheus's `hashmod`: the last 8 of MD5's 16 bytes, big-endian, modulo `modulus` (which
/// [`Shard::new`] keeps above 0; 0 gives 0 rather than a panic).
pub fn hashmod(value: &str, modulus: u64) -> u64 {
    let mut hasher = Md5::new();
    hasher.update(value.as_bytes());
    let digest = hasher.finalize();
    let tail = digest
        .iter()
        .skip(8)
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    tail.checked_rem(modulus).unwrap_or(0)
}

impl FromStr for Shard {
    type Err = String;

    /// Reads `I/N`, as `--shard 0/3` writes it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("shard `{s}` is not I/N with 0 <= I < N (e.g. `0/3`)");
        let (i, n) = s.trim().split_once('/').ok_or_else(bad)?;
        let i: u32 = i.trim().parse().map_err(|_| bad())?;
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        Shard::new(i, n).ok_or_else(bad)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pinned with Python: `int.from_bytes(hashlib.md5(b"svc15/availability").digest()[8:],
    /// "big")` is 8775794967156537016.
    #[test]
    fn hashmod_matches_prometheus() {
        assert_eq!(hashmod("svc15/availability", u64::MAX), 8775794967156537016);
        assert_eq!(hashmod("svc15/availability", 3), 1);
        assert_eq!(hashmod("svc15/availability", 7), 4);
        assert_eq!(hashmod("api/availability", 3), 1);
        assert_eq!(hashmod("api/availability", 7), 5);
        assert_eq!(hashmod("checkout/errors", 2), 1);
        assert_eq!(hashmod("checkout/errors", 10), 7);
        assert_eq!(hashmod("", 4), 2);
        assert_eq!(hashmod("x", 0), 0, "no panic on a zero modulus");
    }

    #[test]
    fn each_slo_has_exactly_one_owner() {
        let shards: Vec<Shard> = (0..3).filter_map(|i| Shard::new(i, 3)).collect();
        for id in ["svc15/availability", "api/latency", "checkout/errors"] {
            assert_eq!(shards.iter().filter(|s| s.owns(id)).count(), 1, "{id}");
        }
        assert!(Shard::new(1, 3).is_some_and(|s| s.owns("svc15/availability")));
    }

    #[test]
    fn parses_i_of_n() {
        assert_eq!("0/3".parse::<Shard>(), Ok(Shard { index: 0, count: 3 }));
        assert_eq!(
            " 2 / 3 ".parse::<Shard>().map(|s| s.to_string()),
            Ok("2/3".into())
        );
        for bad in ["3/3", "1", "a/3", "0/0", "-1/3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
