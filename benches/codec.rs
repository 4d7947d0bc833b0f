//! The store's chunk codec: a tick decodes each series' newest chunk to merge its new buckets
//! (10,000 a tick at 10,000 SLOs), and reads one leaving bucket per long window from older ones.
//! `cargo bench --bench codec`.

use criterion::{Criterion, criterion_group, criterion_main};
use slowburn::budget::Bucket;
use slowburn::store::CHUNK;
use slowburn::store::codec::{decode, decode_one, encode};
use std::hint::black_box;

/// A full chunk of minute buckets as a busy service has them: hundreds of requests, a few
/// errors, one bucket missing and one excluded.
fn chunk() -> [Bucket; CHUNK] {
    let mut b = [Bucket::Missing; CHUNK];
    for (i, slot) in b.iter_mut().enumerate() {
        let total = (600 + (i * 37) % 400) as f64;
        *slot = Bucket::known(total - (i % 3) as f64, total);
    }
    b[17] = Bucket::Missing;
    b[40] = Bucket::Excluded;
    b
}

fn bench_codec(c: &mut Criterion) {
    let bytes = encode(&chunk());
    let mut g = c.benchmark_group("codec");
    g.bench_function("decode_chunk", |b| b.iter(|| decode(black_box(&bytes))));
    g.bench_function("decode_one_last", |b| {
        b.iter(|| decode_one(black_box(&bytes), black_box(CHUNK - 1)))
    });
    g.bench_function("encode_chunk", |b| {
        let c = chunk();
        b.iter(|| encode(black_box(&c)))
    });
    g.finish();
}

criterion_group!(benches, bench_codec);
criterion_main!(benches);
