//! How far a long load is (the first start of 10,000 SLOs backfills for minutes): counted by the
//! engine, read by the log line every few seconds, `/readyz`'s body and the internals page.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

/// Progress of the current load of SLO histories; idle between loads.
#[derive(Debug, Default)]
pub struct Progress {
    active: AtomicBool,
    series_total: AtomicU64,
    series_done: AtomicU64,
    buckets_total: AtomicU64,
    buckets_done: AtomicU64,
    started: Mutex<Option<Instant>>,
}

/// One reading of [`Progress`], with the rate and the time left derived from it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// Series (an SLO, or an SLA with counts of its own) loaded so far, of all.
    pub series_done: u64,
    /// Series to load.
    pub series_total: u64,
    /// Buckets asked of sources so far, of all those to ask.
    pub buckets_done: u64,
    /// Buckets to ask of sources.
    pub buckets_total: u64,
    /// Seconds since the load began.
    pub elapsed: f64,
    /// Buckets answered per second so far.
    pub rate: f64,
    /// Seconds left at that rate; `None` before the first answer.
    pub left: Option<f64>,
}

impl Progress {
    /// A load of `series` series begins.
    pub fn begin(&self, series: u64) {
        self.series_total.store(series, Ordering::Relaxed);
        self.series_done.store(0, Ordering::Relaxed);
        self.buckets_total.store(0, Ordering::Relaxed);
        self.buckets_done.store(0, Ordering::Relaxed);
        if let Ok(mut s) = self.started.lock() {
            *s = Some(Instant::now());
        }
        self.active.store(true, Ordering::Relaxed);
    }

    /// More buckets to ask of sources.
    pub fn plan_buckets(&self, n: u64) {
        self.buckets_total.fetch_add(n, Ordering::Relaxed);
    }

    /// Buckets answered (or given up on) by sources.
    pub fn buckets(&self, n: u64) {
        self.buckets_done.fetch_add(n, Ordering::Relaxed);
    }

    /// Series whose load is complete.
    pub fn series(&self, n: u64) {
        self.series_done.fetch_add(n, Ordering::Relaxed);
    }

    /// The load is over.
    pub fn end(&self) {
        self.active.store(false, Ordering::Relaxed);
    }

    /// Where the current load is; `None` when none is running.
    pub fn read(&self) -> Option<Reading> {
        if !self.active.load(Ordering::Relaxed) {
            return None;
        }
        let elapsed = self
            .started
            .lock()
            .ok()
            .and_then(|s| s.map(|t| t.elapsed().as_secs_f64()))
            .unwrap_or(0.0);
        let (done, total) = (
            self.buckets_done.load(Ordering::Relaxed),
            self.buckets_total.load(Ordering::Relaxed),
        );
        let rate = if elapsed > 0.0 {
            done as f64 / elapsed
        } else {
            0.0
        };
        Some(Reading {
            series_done: self.series_done.load(Ordering::Relaxed),
            series_total: self.series_total.load(Ordering::Relaxed),
            buckets_done: done,
            buckets_total: total,
            elapsed,
            rate,
            left: (rate > 0.0).then(|| total.saturating_sub(done) as f64 / rate),
        })
    }
}

impl std::fmt::Display for Reading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of {} series loaded, {} of {} buckets asked of sources ({:.0} buckets/s)",
            self.series_done, self.series_total, self.buckets_done, self.buckets_total, self.rate
        )?;
        match self.left {
            Some(s) => write!(f, ", about {} left", human_secs(s)),
            None => write!(f, ", waiting for the first answer"),
        }
    }
}

/// `42 s`, `3 min 5 s`, `1 h 2 min`.
fn human_secs(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reading_says_how_far_and_how_long_is_left() {
        let p = Progress::default();
        assert_eq!(p.read(), None, "idle");
        p.begin(10);
        p.plan_buckets(1000);
        let r = p.read().map(|r| r.to_string()).unwrap_or_default();
        assert!(r.contains("0 of 10 series") && r.contains("waiting"), "{r}");
        std::thread::sleep(std::time::Duration::from_millis(20));
        p.buckets(250);
        p.series(3);
        let r = p.read().unwrap_or_else(|| panic!("active"));
        assert_eq!(
            (r.series_done, r.buckets_done, r.buckets_total),
            (3, 250, 1000)
        );
        assert!(r.left.is_some_and(|l| l > 0.0) && r.to_string().contains("left"));
        p.end();
        assert_eq!(p.read(), None);
        assert_eq!(human_secs(59.4), "59 s");
        assert_eq!(human_secs(185.0), "3 min 5 s");
        assert_eq!(human_secs(3720.0), "1 h 2 min");
    }
}
