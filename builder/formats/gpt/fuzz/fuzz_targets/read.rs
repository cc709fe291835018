//! Feeds arbitrary bytes to the GPT reader as a whole disk: it must return, never panic.
#![no_main]

#[path = "../entry.rs"]
mod entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry::read(data));
