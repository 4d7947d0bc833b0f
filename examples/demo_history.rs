//! Writes synthetic history for the demo web API (`service="api"`) as OpenMetrics for
//! `promtool tsdb create-blocks-from openmetrics`, and prints the end timestamp.
//!
//! Usage: `demo_history OUT_FILE [DAYS] [END_UNIX_SECONDS]`. Traffic: about 25 req/s with a daily
//! cycle, scraped every 15 s with jitter; incidents 3 days ago (2 h of 5% errors and slow
//! responses), 12 days ago (10 min outage) and 40 minutes before the end (20 min of 3% errors).

use slowburn::synth::{History, Incident, ServiceSpec};
use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let out = args
        .get(1)
        .ok_or("usage: demo_history OUT_FILE [DAYS] [END]")?;
    let days: i64 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(31);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let end: i64 = args
        .get(3)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(now / 60 * 60);
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
    let history = History::generate(&services, &incidents, end - days * 86400, end, 0.3, 1);
    let mut f = std::fs::File::create(out)?;
    history.write_openmetrics(&mut f)?;
    f.flush()?;
    println!("{end}");
    Ok(())
}
