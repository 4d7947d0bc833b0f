//! Any bytes as a stored outbox entry: a clear error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = slowburn::notify::Notification::decode(1, data);
});
