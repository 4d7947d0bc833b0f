//! Criterion benchmarks of the pure core. Target (issue 2): one evaluation of all windows for
//! 10,000 SLOs in ≤ 100 ms on one core. Run: `cargo bench --bench budget`.

use criterion::{Criterion, criterion_group, criterion_main};
use slowburn::budget::{BURN_WINDOWS, Bucket, Rolling, Series, evaluate};
use slowburn::duration::Dur;
use slowburn::store::codec;
use std::hint::black_box;

const MINUTE: Dur = Dur::from_secs(60);
const PERIODS: [Dur; 2] = [Dur::from_secs(30 * 86400), Dur::from_secs(7 * 86400)];
const N_SLOS: usize = 10_000;
const BUCKETS_30D: usize = 30 * 1440;

fn bucket(i: usize, salt: usize) -> Bucket {
    let total = (600 + (i * 7 + salt * 13) % 400) as f64;
    let bad = ((i * 31 + salt) % 5) as f64;
    Bucket::known(total - bad, total)
}

fn history(salt: usize) -> Series {
    let buckets: Vec<Bucket> = (0..BUCKETS_30D).map(|i| bucket(i, salt)).collect();
    Series::from_buckets(0, MINUTE, &buckets)
}

fn windows() -> Vec<Dur> {
    BURN_WINDOWS.iter().copied().chain(PERIODS).collect()
}

fn bench_core(c: &mut Criterion) {
    // 10,000 SLOs, each with rolling sums over 30 days of minute buckets (built from 8 distinct
    // histories to keep setup short; every SLO has its own state).
    let at = (BUCKETS_30D * 60) as i64;
    let histories: Vec<Series> = (0..8).map(history).collect();
    let ws = windows();
    let mut states: Vec<Rolling> = (0..N_SLOS)
        .map(|i| Rolling::from_series(&histories[i % 8], at, &ws))
        .collect();

    c.bench_function("evaluate all windows, 10k SLOs (rolling sums)", |b| {
        b.iter(|| {
            let mut sink = 0.0;
            for s in &states {
                let e = s.evaluate(0.999, &PERIODS);
                sink += e.periods[0].remaining.unwrap_or(0.0);
            }
            black_box(sink)
        })
    });

    let mut tick = 0usize;
    c.bench_function("advance one bucket + evaluate, 10k SLOs", |b| {
        b.iter(|| {
            tick += 1;
            let mut sink = 0.0;
            for (i, s) in states.iter_mut().enumerate() {
                s.advance(bucket(BUCKETS_30D + tick, i), |t| {
                    bucket((t / 60) as usize, i)
                });
                sink += s.evaluate(0.999, &PERIODS).burn[2].2.unwrap_or(0.0);
            }
            black_box(sink)
        })
    });

    let one = &histories[0];
    c.bench_function("evaluate all windows, 1 SLO from prefix sums (30d)", |b| {
        b.iter(|| black_box(evaluate(one, 0.999, &PERIODS, at)))
    });

    let chunk: [Bucket; codec::CHUNK] = std::array::from_fn(|i| bucket(i, 3));
    let bytes = codec::encode(&chunk);
    c.bench_function("encode one 64-bucket chunk", |b| {
        b.iter(|| black_box(codec::encode(black_box(&chunk))))
    });
    c.bench_function("decode one 64-bucket chunk", |b| {
        b.iter(|| black_box(codec::decode(black_box(&bytes))))
    });
}

criterion_group!(benches, bench_core);
criterion_main!(benches);
