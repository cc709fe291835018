//! Fuzzes relation and version parsing: no panic, errors point inside the input, and version
//! ordering stays antisymmetric.
#![no_main]

#[path = "../entry.rs"]
mod entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry::relation(data));
