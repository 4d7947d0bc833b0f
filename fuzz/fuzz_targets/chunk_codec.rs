//! Any bytes as a stored chunk: decoding fails cleanly or yields buckets that re-encode to a
//! chunk that decodes to the same buckets.
#![no_main]
use libfuzzer_sys::fuzz_target;
use slowburn::store::codec;

fuzz_target!(|data: &[u8]| {
    if let Ok(buckets) = codec::decode(data) {
        let again = codec::decode(&codec::encode(&buckets)).expect("a re-encoded chunk decodes");
        // Compared as text: NaN (which arbitrary bytes can hold) equals itself there.
        assert_eq!(format!("{again:?}"), format!("{buckets:?}"));
    }
    for slot in [0usize, 1, 59, 10_000] {
        let _ = codec::decode_one(data, slot);
    }
});
