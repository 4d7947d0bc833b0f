//! Store size benchmark: `bench_store N_SLOS DAYS` writes N SLOs × DAYS of 1-minute buckets (about
//! 600–1000 events a minute, a few errors, 0.5% missing) into a fresh store, one durable
//! transaction per SLO-day (the backfill pattern), then 60 single-bucket ticks for every SLO (the
//! steady-state pattern), and prints the file size per SLO before and after compaction, the
//! time per write, and the cost of reopening (redb's integrity check), of `store verify` and of
//! `store backup`.

use slowburn::budget::Bucket;
use slowburn::store::Store;
use std::time::Instant;

fn bucket(i: usize, salt: usize) -> Bucket {
    if (i * 7919 + salt * 104_729).is_multiple_of(200) {
        return Bucket::Missing;
    }
    let total = (600 + (i * 7 + salt * 13) % 400) as f64;
    let bad = ((i * 31 + salt) % 5) as f64;
    Bucket::known(total - bad, total)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(100);
    let days: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(35);
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path())?;
    let ids: Vec<u64> = (0..n)
        .map(|i| store.series_id(&format!("svc/slo{i}|fp|60")))
        .collect::<Result<_, _>>()?;
    let t0 = Instant::now();
    for (s, id) in ids.iter().enumerate() {
        for d in 0..days {
            let buckets: Vec<Bucket> = (0..1440).map(|m| bucket(d * 1440 + m, s)).collect();
            store.put(*id, (d * 86400) as i64, 60, &buckets)?;
        }
    }
    let backfill = t0.elapsed();
    let t1 = Instant::now();
    let base = days * 1440;
    for tick in 0..60 {
        for (s, id) in ids.iter().enumerate() {
            store.put(
                *id,
                ((base + tick) * 60) as i64,
                60,
                &[bucket(base + tick, s)],
            )?;
        }
    }
    let steady = t1.elapsed();
    let file = dir.path().join(slowburn::store::FILE_NAME);
    let before = std::fs::metadata(&file)?.len();
    store.compact()?;
    let after = std::fs::metadata(&file)?.len();
    drop(store);
    // Every open runs redb's integrity check (every page's checksum): its cost at start.
    let t2 = Instant::now();
    let store = Store::open(dir.path())?;
    let open = t2.elapsed();
    let t3 = Instant::now();
    let v = store.verify(false)?;
    let verify = t3.elapsed();
    // `store backup`: the whole store copied through one read transaction.
    let out = tempfile::tempdir()?;
    let t4 = Instant::now();
    let b = store.backup(out.path())?;
    let backup = t4.elapsed();
    let mib = |b: u64| b as f64 / 1024.0 / 1024.0;
    println!("slos={n} days={days} buckets_per_slo={}", days * 1440 + 60);
    println!(
        "file: {:.1} MiB before compaction ({:.3} MiB/SLO), {:.1} MiB after ({:.3} MiB/SLO)",
        mib(before),
        mib(before) / n as f64,
        mib(after),
        mib(after) / n as f64
    );
    println!(
        "backfill: {:.2} s for {} day-batches ({:.2} ms each); steady: {:.2} ms per single-bucket commit",
        backfill.as_secs_f64(),
        n * days,
        backfill.as_secs_f64() * 1000.0 / (n * days) as f64,
        steady.as_secs_f64() * 1000.0 / (60 * n) as f64
    );
    println!(
        "reopen with integrity check: {:.3} s; verify (every checksum, {} chunks, {} damaged): {:.3} s",
        open.as_secs_f64(),
        v.rows[1],
        v.damaged.len(),
        verify.as_secs_f64()
    );
    println!(
        "backup (one read transaction, {} rows): {:.3} s, {:.1} MiB",
        b.rows,
        backup.as_secs_f64(),
        mib(b.bytes)
    );
    Ok(())
}
