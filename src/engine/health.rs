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
    /// Query failures per (SLO id, source name).
    pub source_errors: Mutex<BTreeMap<(String, String), u64>>,
    /// Ticks completed.
    pub ticks: AtomicU64,
    /// Dashboard provisioning outcomes by result (`created`, `updated`, `unchanged`, `failed`).
    pub provisions: Mutex<BTreeMap<&'static str, u64>>,
}

impl Health {
    /// Records a refused reload (or `None` after a good one) beside the 0/1 flag.
    pub fn reload_outcome(&self, error: Option<String>) {
        self.reload_failed
            .store(error.is_some(), std::sync::atomic::Ordering::Relaxed);
        if let Ok(mut e) = self.last_reload_error.lock() {
            *e = error;
        }
    }

    /// Counts one dashboard provisioning outcome.
    pub fn provisioned(&self, result: &'static str) {
        if let Ok(mut m) = self.provisions.lock() {
            *m.entry(result).or_default() += 1;
        }
    }

    /// Counts a failed query of one SLO against one source.
    pub fn source_error(&self, slo: &str, source: &str) {
        if let Ok(mut m) = self.source_errors.lock() {
            *m.entry((slo.to_string(), source.to_string())).or_default() += 1;
        }
    }
}
