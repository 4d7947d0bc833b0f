//! Any JSON body as a silence request or a stored silence: errors, never panics; what is
//! accepted round-trips through its stored form.
#![no_main]
use libfuzzer_sys::fuzz_target;
use slowburn::alert::silence::{NewSilence, Silence};

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = serde_json::from_slice::<NewSilence>(data)
        && let Ok(s) = req.into_silence("id".into(), 1_767_225_600)
    {
        let stored = s.to_json(1_767_225_600);
        let back = Silence::from_json(&stored).expect("a stored silence reads back");
        assert_eq!(back.ends_at, s.ends_at);
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = Silence::from_json(&v);
    }
});
