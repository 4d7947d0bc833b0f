//! Any bytes as a stored chunk: decoding fails cleanly or yields buckets that re-encode to a
//! chunk that decodes to the same buckets (as numbers: a stored -0.0 reads back as 0, and NaN,
//! which arbitrary bytes can hold, equals itself here).
#![no_main]
use libfuzzer_sys::fuzz_target;
use slowburn::budget::Bucket;
use slowburn::store::codec;

fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

fuzz_target!(|data: &[u8]| {
    if let Ok(buckets) = codec::decode(data) {
        let again = codec::decode(&codec::encode(&buckets)).expect("a re-encoded chunk decodes");
        for (x, y) in buckets.iter().zip(&again) {
            let ok = match (x, y) {
                (Bucket::Known { good: g1, total: t1 }, Bucket::Known { good: g2, total: t2 }) => {
                    same(*g1, *g2) && same(*t1, *t2)
                }
                (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
            };
            assert!(ok, "{x:?} became {y:?}");
        }
    }
    for slot in [0usize, 1, 59, 10_000] {
        let _ = codec::decode_one(data, slot);
    }
});
