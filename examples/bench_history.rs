//! Synthetic history for end-to-end benchmarks: `bench_history OUT N_SERVICES INTERVAL_S DAYS`.
//! Services are named `svc000`, `svc001`, …; each has a 30-minute incident at a different time.
//! Prints the end timestamp.

use slowburn::synth::{History, Incident, ServiceSpec};
use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: bench_history OUT N_SERVICES INTERVAL_S DAYS";
    let out = args.get(1).ok_or(usage)?;
    let n: usize = args.get(2).ok_or(usage)?.parse()?;
    let interval: i64 = args.get(3).ok_or(usage)?.parse()?;
    let days: i64 = args.get(4).ok_or(usage)?.parse()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let end = now / 60 * 60;
    let services: Vec<ServiceSpec> = (0..n)
        .map(|i| ServiceSpec {
            name: format!("svc{i:03}"),
            interval,
            rps: 5.0 + i as f64,
            base_error_ratio: 0.0003,
        })
        .collect();
    let incidents: Vec<Incident> = (0..n as i64)
        .map(|i| Incident {
            service: format!("svc{i:03}"),
            start: end - (i + 1) * 7 * 3600,
            end: end - (i + 1) * 7 * 3600 + 1800,
            error_ratio: 0.1,
            slow: true,
        })
        .collect();
    let history = History::generate(&services, &incidents, end - days * 86400, end, 0.3, 3);
    let mut f = std::fs::File::create(out)?;
    history.write_openmetrics(&mut f)?;
    f.flush()?;
    println!("{end}");
    Ok(())
}
