//! Criterion benchmark of decoding Prometheus's `query_range` answers (issue 25): a 10,000-SLO
//! tick decodes 125,000 points and 25,000 label sets a minute, and `report` decodes a month of
//! minutes per selector, so the decoder's cost is a large part of both.
//! Run: `cargo bench --bench wire`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use slowburn::source::prometheus::wire::{Answer, Grid, Values, decode_range};
use std::hint::black_box;
use std::io::Write;

/// A `matrix` answer of `series` series of `points` points each, a minute apart, shaped as
/// Prometheus writes it (labels, `[ts, "value"]` pairs).
fn answer(series: usize, points: i64, start: i64) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(br#"{"status":"success","data":{"resultType":"matrix","result":["#);
    for s in 0..series {
        if s > 0 {
            b.push(b',');
        }
        write!(
            b,
            r#"{{"metric":{{"__name__":"http_requests_total","job":"api","instance":"10.0.{}.{}:9090","code":"{}","service":"svc{s:05}"}},"values":["#,
            s / 250,
            s % 250,
            [200, 500, 503][s % 3]
        )
        .expect("writing to a Vec");
        for p in 0..points {
            if p > 0 {
                b.push(b',');
            }
            write!(b, r#"[{},"{}"]"#, start + 60 * p, 1000 * s as i64 + 17 * p)
                .expect("writing to a Vec");
        }
        b.extend_from_slice(b"]}");
    }
    b.extend_from_slice(b"]}}");
    b
}

fn bench_decode(c: &mut Criterion) {
    let start = 1_796_000_000 / 60 * 60;
    // A tick's batched request: 64 selectors' series over one baseline edge and 5 minutes; a
    // month's piece: one selector's 3 series over 9,600 minutes.
    for (name, series, points) in [("tick_batch", 128, 7), ("month_piece", 3, 9_600)] {
        let body = answer(series, points, start);
        let grid = Grid {
            start,
            end: start + 60 * (points - 1),
            step: 60,
        };
        let mut g = c.benchmark_group("decode_range");
        g.throughput(Throughput::Elements((series as i64 * points) as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                let a = Answer {
                    status: 200,
                    content_type: Some("application/json"),
                    body: black_box(&body),
                };
                decode_range(a, grid, Values::Counter).expect("a valid answer")
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench_decode);
criterion_main!(benches);
