//! Arbitrary manifest JSON: must never panic; an accepted manifest re-serializes to JSON that
//! reads back equal.
#![no_main]

#[path = "../entry.rs"]
mod entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry::manifest(data));
