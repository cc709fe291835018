//! The verifier on small inputs: arbitrary devices must not panic it, and a real tree with
//! bytes flipped must be refused exactly when something changed (see `entry::verify`).
#![no_main]

#[path = "../entry.rs"]
mod entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry::verify(data));
