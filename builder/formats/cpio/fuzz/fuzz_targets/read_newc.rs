//! Feeds arbitrary bytes to the newc reader: it must return, never panic or allocate wildly.
#![no_main]

#[path = "../entry.rs"]
mod entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry::read_newc(data));
