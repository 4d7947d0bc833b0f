//! Writes synthetic history for the demo web API (`service="api"`) as OpenMetrics for
//! `promtool tsdb create-blocks-from openmetrics`, and prints the end timestamp.
//!
//! Usage: `demo_history OUT_FILE [DAYS] [END_UNIX_SECONDS]`. Traffic: about 25 req/s with a daily
//! cycle, scraped every 15 s with jitter; incidents 3 days ago (2 h of 5% errors and slow
//! responses), 12 days ago (10 min outage) and 40 minutes before the end (20 min of 3% errors):
//! `slowburn::synth::demo`, which the browser tests use too.

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
    let history = slowburn::synth::demo(end, days);
    let mut f = std::fs::File::create(out)?;
    history.write_openmetrics(&mut f)?;
    f.flush()?;
    println!("{end}");
    Ok(())
}
