//! Any bytes as slo.yaml: the loader and validator return errors, never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = slowburn::config::parse_str(text, "fuzz.yaml", &|_| Some("v".into()));
    }
});
