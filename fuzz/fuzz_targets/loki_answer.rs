//! Any bytes as a Loki query answer: an error or a matrix, never a panic; what is accepted has
//! one series per label set and strictly increasing whole-second points with finite values.
#![no_main]
use libfuzzer_sys::fuzz_target;
use slowburn::source::loki::wire::{body, lines_processed, matrix};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(d) = body(text) else { return };
    let _ = lines_processed(&d);
    if let Ok(m) = matrix(d.result) {
        for (_, pts) in &m {
            for w in pts.windows(2) {
                assert!(w[0].0 < w[1].0, "strictly increasing");
            }
            assert!(pts.iter().all(|(_, v)| v.is_finite()));
        }
    }
});
