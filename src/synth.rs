//! Synthetic HTTP traffic history with an exact ground truth, for tests, the demo and benchmarks.
//!
//! Each [`ServiceSpec`] is scraped every `interval` seconds with a deterministic jitter and produces
//! `http_requests_total{service,code="200"|"500"}`, the histogram
//! `http_request_duration_seconds{service,le}` (`_bucket` and `_count`) and a gauge
//! `http_inflight_requests{service}`. Every increment is integral and remembered, so the true number
//! of events with a scrape time in any window `(a, b]` is known exactly ([`History::truth`]).
//! [`History::write_openmetrics`] writes the text `promtool tsdb create-blocks-from openmetrics` reads.

use std::io::{self, Write};

/// Histogram bucket boundaries in seconds (the `+Inf` bucket is implied).
pub const LE: [f64; 5] = [0.05, 0.1, 0.2, 0.5, 1.0];
/// Share of requests at or under each boundary in normal operation.
const FAST: [f64; 5] = [0.50, 0.85, 0.97, 0.995, 0.999];
/// Share under each boundary while a latency incident runs.
const SLOW: [f64; 5] = [0.10, 0.30, 0.55, 0.90, 0.99];

/// One synthetic service.
#[derive(Debug, Clone)]
pub struct ServiceSpec {
    /// Value of the `service` label.
    pub name: String,
    /// Scrape interval in seconds.
    pub interval: i64,
    /// Mean requests per second (diurnal ±50%).
    pub rps: f64,
    /// Error ratio outside incidents.
    pub base_error_ratio: f64,
}

/// A period of elevated errors and/or latency on one service.
#[derive(Debug, Clone)]
pub struct Incident {
    /// Service name.
    pub service: String,
    /// Start (unix seconds).
    pub start: i64,
    /// End (unix seconds, exclusive).
    pub end: i64,
    /// Error ratio while it runs.
    pub error_ratio: f64,
    /// Whether latency degrades too.
    pub slow: bool,
}

/// One scrape of one service: the increments since the previous scrape.
#[derive(Debug, Clone, Copy)]
pub struct Scrape {
    /// Scrape time in milliseconds.
    pub ts_ms: i64,
    /// Successful requests.
    pub ok: u64,
    /// 5xx requests.
    pub errors: u64,
    /// Requests at or under each [`LE`] boundary.
    pub under: [u64; 5],
    /// The in-flight gauge's value at this scrape.
    pub inflight: f64,
}

/// The generated history of every service.
#[derive(Debug, Clone)]
pub struct History {
    /// Services, in order.
    pub services: Vec<ServiceSpec>,
    /// Scrapes per service, in time order; the first scrape has zero increments.
    pub scrapes: Vec<Vec<Scrape>>,
}

/// Sums of events with scrape time in a window, the ground truth tests compare against.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Truth {
    /// All requests.
    pub total: u64,
    /// 5xx requests.
    pub errors: u64,
    /// Requests at or under each [`LE`] boundary.
    pub under: [u64; 5],
}

/// splitmix64: a tiny deterministic PRNG so histories are reproducible from a seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl History {
    /// Generates scrapes from `start` to `end` (unix seconds). Jitter moves each scrape up to
    /// `jitter` × interval later than its nominal time (never past the next one).
    pub fn generate(
        services: &[ServiceSpec],
        incidents: &[Incident],
        start: i64,
        end: i64,
        jitter: f64,
        seed: u64,
    ) -> History {
        let mut rng = Rng(seed);
        let scrapes = services
            .iter()
            .map(|svc| {
                let mut out = Vec::new();
                let (mut err_carry, mut under_carry) = (0.0f64, [0.0f64; 5]);
                let mut t = start;
                let mut prev_ms = start * 1000;
                while t <= end {
                    let jit = (rng.unit() * jitter * svc.interval as f64 * 1000.0) as i64;
                    let ts_ms = (t * 1000 + jit).min(end * 1000);
                    let first = out.is_empty();
                    let dt = (ts_ms - prev_ms) as f64 / 1000.0;
                    let phase = (ts_ms as f64 / 1000.0) / 86400.0 * std::f64::consts::TAU;
                    let rate = svc.rps * (1.0 + 0.5 * phase.sin());
                    let incident = incidents.iter().find(|i| {
                        i.service == svc.name && ts_ms >= i.start * 1000 && ts_ms < i.end * 1000
                    });
                    let requests = if first {
                        0
                    } else {
                        (rate * dt + rng.unit()).floor() as u64
                    };
                    let err_ratio = incident.map_or(svc.base_error_ratio, |i| i.error_ratio);
                    err_carry += requests as f64 * err_ratio;
                    let errors = (err_carry.floor() as u64).min(requests);
                    err_carry -= errors as f64;
                    let shares = if incident.is_some_and(|i| i.slow) {
                        SLOW
                    } else {
                        FAST
                    };
                    let mut under = [0u64; 5];
                    for k in 0..5 {
                        under_carry[k] += requests as f64 * shares[k];
                        under[k] = (under_carry[k].floor() as u64).min(requests);
                        under_carry[k] -= under[k] as f64;
                    }
                    for k in 1..5 {
                        under[k] = under[k].max(under[k - 1]);
                    }
                    let inflight = (rate * 0.8 + rng.unit() * 4.0).round()
                        + if incident.is_some() { 60.0 } else { 0.0 };
                    out.push(Scrape {
                        ts_ms,
                        ok: requests - errors,
                        errors,
                        under,
                        inflight,
                    });
                    prev_ms = ts_ms;
                    t += svc.interval;
                }
                out
            })
            .collect();
        History {
            services: services.to_vec(),
            scrapes,
        }
    }

    fn index(&self, service: &str) -> usize {
        self.services
            .iter()
            .position(|s| s.name == service)
            .unwrap_or(usize::MAX)
    }

    /// Exact counts of the events scraped in `(from, to]` (unix seconds) for one service.
    pub fn truth(&self, service: &str, from: i64, to: i64) -> Truth {
        let mut t = Truth::default();
        let Some(scrapes) = self.scrapes.get(self.index(service)) else {
            return t;
        };
        for s in scrapes
            .iter()
            .filter(|s| s.ts_ms > from * 1000 && s.ts_ms <= to * 1000)
        {
            t.total += s.ok + s.errors;
            t.errors += s.errors;
            for k in 0..5 {
                t.under[k] += s.under[k];
            }
        }
        t
    }

    /// The gauge's value seen by an instant query at `at` (newest scrape at or before it, within
    /// Prometheus's 5-minute lookback).
    pub fn inflight_at(&self, service: &str, at: i64) -> Option<f64> {
        let scrapes = self.scrapes.get(self.index(service))?;
        scrapes
            .iter()
            .rev()
            .find(|s| s.ts_ms <= at * 1000)
            .filter(|s| s.ts_ms > (at - 300) * 1000)
            .map(|s| s.inflight)
    }

    /// Writes OpenMetrics text with each family contiguous and each series in time order.
    pub fn write_openmetrics(&self, w: &mut dyn Write) -> io::Result<()> {
        let mut w = io::BufWriter::with_capacity(1 << 20, w);
        let ts = |ms: i64| format!("{}.{:03}", ms / 1000, ms % 1000);
        writeln!(w, "# HELP http_requests Total HTTP requests.")?;
        writeln!(w, "# TYPE http_requests counter")?;
        for (svc, scrapes) in self.services.iter().zip(&self.scrapes) {
            for (code, pick) in [("200", true), ("500", false)] {
                let mut v = 0u64;
                for s in scrapes {
                    v += if pick { s.ok } else { s.errors };
                    writeln!(
                        w,
                        "http_requests_total{{service=\"{}\",code=\"{code}\"}} {v} {}",
                        svc.name,
                        ts(s.ts_ms)
                    )?;
                }
            }
        }
        writeln!(w, "# HELP http_request_duration_seconds Request latency.")?;
        writeln!(w, "# TYPE http_request_duration_seconds histogram")?;
        for (svc, scrapes) in self.services.iter().zip(&self.scrapes) {
            let bounds = LE.iter().map(|b| Some(*b)).chain([None]);
            for (k, bound) in bounds.enumerate() {
                let le = bound.map_or("+Inf".to_string(), |b| format!("{b}"));
                let mut v = 0u64;
                for s in scrapes {
                    v += if bound.is_none() {
                        s.ok + s.errors
                    } else {
                        s.under[k]
                    };
                    writeln!(
                        w,
                        "http_request_duration_seconds_bucket{{service=\"{}\",le=\"{le}\"}} {v} {}",
                        svc.name,
                        ts(s.ts_ms)
                    )?;
                }
            }
            let mut v = 0u64;
            for s in scrapes {
                v += s.ok + s.errors;
                writeln!(
                    w,
                    "http_request_duration_seconds_count{{service=\"{}\"}} {v} {}",
                    svc.name,
                    ts(s.ts_ms)
                )?;
            }
        }
        writeln!(w, "# HELP http_inflight_requests Requests in flight.")?;
        writeln!(w, "# TYPE http_inflight_requests gauge")?;
        for (svc, scrapes) in self.services.iter().zip(&self.scrapes) {
            for s in scrapes {
                writeln!(
                    w,
                    "http_inflight_requests{{service=\"{}\"}} {} {}",
                    svc.name,
                    s.inflight,
                    ts(s.ts_ms)
                )?;
            }
        }
        writeln!(w, "# EOF")?;
        w.flush()
    }
}

/// The demo web API's history (`service="api"`), shared by `scripts/demo.sh` (through the
/// `demo_history` example) and the browser tests, so the pages tested are the ones a newcomer
/// sees: about 25 req/s scraped every 15 s with jitter, and incidents 3 days before `end` (2 h of
/// 5% errors and slow responses), 12 days before (a 10-minute outage) and 40 minutes before (20
/// minutes of 3% errors).
pub fn demo(end: i64, days: i64) -> History {
    let services = [ServiceSpec {
        name: "api".into(),
        interval: 15,
        rps: 25.0,
        base_error_ratio: 0.0002,
    }];
    let inc = |ago: i64, len: i64, ratio: f64, slow: bool| Incident {
        service: "api".into(),
        start: end - ago,
        end: end - ago + len,
        error_ratio: ratio,
        slow,
    };
    let incidents = [
        inc(3 * 86400, 7200, 0.05, true),
        inc(12 * 86400, 600, 1.0, false),
        inc(40 * 60, 20 * 60, 0.03, true),
    ];
    History::generate(&services, &incidents, end - days * 86400, end, 0.3, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truth_splits_exactly_and_incidents_raise_errors() {
        let svc = ServiceSpec {
            name: "a".into(),
            interval: 15,
            rps: 10.0,
            base_error_ratio: 0.001,
        };
        let inc = Incident {
            service: "a".into(),
            start: 3600,
            end: 7200,
            error_ratio: 0.5,
            slow: true,
        };
        let h = History::generate(&[svc], &[inc], 0, 4 * 3600, 0.3, 7);
        let whole = h.truth("a", 0, 4 * 3600);
        let (l, r) = (h.truth("a", 0, 5000), h.truth("a", 5000, 4 * 3600));
        assert_eq!(whole.total, l.total + r.total);
        assert_eq!(whole.errors, l.errors + r.errors);
        let during = h.truth("a", 3600, 7200);
        assert!(during.errors * 3 > during.total, "{during:?}");
        let mut buf = Vec::new();
        h.write_openmetrics(&mut buf).unwrap();
        assert!(String::from_utf8(buf).unwrap().ends_with("# EOF\n"));
    }
}
