//! The daemon's own health, shared lock-free between the engine and the HTTP server.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64};

/// Counters and gauges exported as `slowburn_*`.
#[derive(Debug, Default)]
pub struct Health {
    /// Backfill finished; `/readyz` answers 200.
    pub ready: AtomicBool,
    /// 1 when the last reload succeeded (or none happened), 0 after a bad file.
    pub reload_failed: AtomicBool,
    /// Why the last reload was refused (every error, one per line), for the UI's page on the
    /// daemon; cleared by a good reload.
    pub last_reload_error: Mutex<Option<String>>,
    /// Unix seconds of the last completed evaluation.
    pub last_eval: AtomicI64,
    /// Wall-clock unix seconds of the engine's last sign of progress: an evaluation published
    /// or an SLO's history loaded. `/healthz` fails when it is older than [`STALL_BUCKETS`]
    /// buckets, so a supervisor restarts a daemon whose store or loop is wedged.
    pub heartbeat: AtomicI64,
    /// Query failures per (SLO id, source name).
    pub source_errors: Mutex<BTreeMap<(String, String), u64>>,
    /// Ticks completed.
    pub ticks: AtomicU64,
    /// Unix seconds of the newest verified store backup (a scheduled one, or the newest copy
    /// found in `backup.to` at start); 0 when there is none.
    pub last_backup: AtomicI64,
    /// Where scheduled backups go (`backup.to`), `None` without `backup:`.
    pub backup_to: Mutex<Option<String>>,
    /// Scheduled backup outcomes by result (`ok`, `failed`).
    pub backups: Mutex<BTreeMap<&'static str, u64>>,
    /// Dashboard provisioning outcomes by result (`created`, `updated`, `unchanged`, `failed`).
    pub provisions: Mutex<BTreeMap<&'static str, u64>>,
    /// Stored values whose checksum held but which this version cannot read, by kind
    /// (`silence`): logged and removed, and counted so that a quiet loss shows on a dashboard.
    pub unreadable: Mutex<BTreeMap<&'static str, u64>>,
    /// Which share of the file's SLOs this daemon owns (`run --shard`), set once at start; unset:
    /// all of them. `/metrics`, the API and the UI say it, so a reader knows the numbers are one
    /// shard's.
    pub shard: std::sync::OnceLock<crate::shard::Shard>,
    /// How far the current load of SLO histories is (start, reload, rebuild).
    pub progress: super::progress::Progress,
}

/// Buckets without progress after which `/healthz` fails: a few ticks, so one slow tick or a
/// source past its deadline never restarts the daemon, a wedged one does.
pub const STALL_BUCKETS: i64 = 5;
/// Least stall that fails `/healthz`, for small buckets.
pub const STALL_MIN_SECS: i64 = 60;

impl Health {
    /// Records progress now (wall clock).
    pub fn beat(&self) {
        self.heartbeat.store(
            crate::time::now_secs(),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// Seconds since the last progress when that is longer than a daemon with `width`-second
    /// buckets may go without any; `None` while healthy or before the first progress.
    pub fn stalled_for(&self, width: i64, now: i64) -> Option<i64> {
        let last = self.heartbeat.load(std::sync::atomic::Ordering::Relaxed);
        let limit = (STALL_BUCKETS * width.max(1)).max(STALL_MIN_SECS);
        (last > 0 && now - last > limit).then_some(now - last)
    }

    /// Records a refused reload (or `None` after a good one) beside the 0/1 flag.
    pub fn reload_outcome(&self, error: Option<String>) {
        self.reload_failed
            .store(error.is_some(), std::sync::atomic::Ordering::Relaxed);
        if let Ok(mut e) = self.last_reload_error.lock() {
            *e = error;
        }
    }

    /// Counts one scheduled backup's outcome.
    pub fn backup_outcome(&self, result: &'static str) {
        if let Ok(mut m) = self.backups.lock() {
            *m.entry(result).or_default() += 1;
        }
    }

    /// Counts one dashboard provisioning outcome.
    pub fn provisioned(&self, result: &'static str) {
        if let Ok(mut m) = self.provisions.lock() {
            *m.entry(result).or_default() += 1;
        }
    }

    /// Counts one stored value of `kind` that could not be read.
    pub fn unreadable(&self, kind: &'static str) {
        if let Ok(mut m) = self.unreadable.lock() {
            *m.entry(kind).or_default() += 1;
        }
    }

    /// Counts a failed query of one SLO against one source.
    pub fn source_error(&self, slo: &str, source: &str) {
        if let Ok(mut m) = self.source_errors.lock() {
            *m.entry((slo.to_string(), source.to_string())).or_default() += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stall_is_a_few_buckets_without_progress() {
        let h = Health::default();
        assert_eq!(
            h.stalled_for(60, 1_000_000),
            None,
            "no progress yet: starting"
        );
        h.heartbeat
            .store(1_000_000, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(
            h.stalled_for(60, 1_000_300),
            None,
            "five minute buckets is the limit"
        );
        assert_eq!(h.stalled_for(60, 1_000_301), Some(301));
        assert_eq!(h.stalled_for(10, 1_000_059), None, "at least a minute");
        assert_eq!(h.stalled_for(10, 1_000_061), Some(61));
    }
}
