//! Any bytes as a Prometheus answer, under any status: an error or points, never a panic; what
//! is accepted keeps the contract the counts rely on (instants on the grid asked for, strictly
//! increasing, values finite, counters never negative).
#![no_main]
use libfuzzer_sys::fuzz_target;
use slowburn::source::prometheus::wire::{
    Answer, Grid, Values, decode_flags, decode_instant, decode_instant_count, decode_range,
};

const STATUSES: [u16; 8] = [200, 400, 406, 413, 422, 429, 500, 503];

fuzz_target!(|data: &[u8]| {
    let [s, g, body @ ..] = data else { return };
    let grid = Grid {
        start: 600,
        end: 600 + 300 * i64::from(*g % 16),
        step: 300,
    };
    let a = Answer {
        status: STATUSES[usize::from(*s) % STATUSES.len()],
        content_type: Some("application/json"),
        body,
    };
    for values in [Values::Counter, Values::Computed] {
        match decode_range(a, grid, values) {
            Ok(answer) => {
                for (_, pts) in &answer.matrix {
                    for w in pts.windows(2) {
                        assert!(w[0].0 < w[1].0, "strictly increasing");
                    }
                    for (t, x) in pts {
                        assert!(*t >= grid.start && *t <= grid.end);
                        assert_eq!((t - grid.start) % grid.step, 0);
                        assert!(x.is_finite());
                        if values == Values::Counter {
                            assert!(*x >= 0.0);
                        }
                    }
                }
            }
            Err(f) => assert!(!(f.contract && f.retriable), "a broken answer is not retried"),
        }
    }
    let _ = decode_instant_count(a);
    if let Ok(i) = decode_instant(a) {
        // A `PromQL warning:` is an annotation about the query, never partial data.
        assert!(i.warnings.iter().all(|w| !w.starts_with("PromQL warning:")));
    }
    let _ = decode_flags(a);
});
