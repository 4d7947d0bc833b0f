//! Fills a store with synthetic history for every SLO of a config, as the daemon would have
//! stored it: `bench_populate CONFIG DATA_DIR DAYS`. Buckets end at the current bucket boundary,
//! so `slowburn run` on that data dir has (almost) nothing to backfill. Prints the store size.

use slowburn::budget::Bucket;
use slowburn::store::keys::{Role, SeriesKey};
use slowburn::store::{Store, Write};

fn bucket(i: usize, salt: usize) -> Bucket {
    let total = (600 + (i * 7 + salt * 13) % 400) as f64;
    let bad = ((i * 31 + salt) % 3) as f64;
    Bucket::known(total - bad, total)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: bench_populate CONFIG DATA_DIR DAYS";
    let cfg = slowburn::config::load(std::path::Path::new(args.get(1).ok_or(usage)?))
        .map_err(|e| e.to_string())?;
    let dir = std::path::PathBuf::from(args.get(2).ok_or(usage)?);
    let days: usize = args.get(3).ok_or(usage)?.parse()?;
    let width = cfg.bucket.as_secs() as i64;
    let now = chrono::Utc::now().timestamp() / width * width;
    let per_day = (86400 / width) as usize;
    let start = now - (days * per_day) as i64 * width;
    let store = Store::open(&dir)?;
    let t0 = std::time::Instant::now();
    let keys: Vec<SeriesKey> = cfg
        .slos
        .iter()
        .map(|slo| SeriesKey::new(&slo.id, &slo.counts, width, Role::Slo))
        .collect();
    let names: Vec<&str> = keys.iter().map(SeriesKey::as_str).collect();
    let ids = store.series_ids(&names)?;
    // Oldest first, every series at once, two chunks at a time: the order the store keeps
    // chunks in (by time), so each transaction fills pages instead of touching one per series.
    let total = days * per_day;
    let step = 2 * slowburn::store::CHUNK;
    let mut from = 0;
    while from < total {
        let n = step.min(total - from);
        let runs: Vec<Vec<Bucket>> = (0..ids.len())
            .map(|s| (from..from + n).map(|i| bucket(i, s)).collect())
            .collect();
        let writes: Vec<Write<'_>> = ids
            .iter()
            .zip(&runs)
            .map(|(id, buckets)| Write {
                series: *id,
                start: start + from as i64 * width,
                width,
                buckets,
            })
            .collect();
        store.put_many(&writes)?;
        from += n;
    }
    let size = std::fs::metadata(dir.join(slowburn::store::FILE_NAME))?.len();
    println!(
        "populated {} SLOs x {days} days in {:.1} s; store {:.1} MiB ({:.3} MiB per SLO)",
        cfg.slos.len(),
        t0.elapsed().as_secs_f64(),
        size as f64 / 1048576.0,
        size as f64 / 1048576.0 / cfg.slos.len() as f64
    );
    Ok(())
}
