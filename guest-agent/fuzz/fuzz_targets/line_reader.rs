//! The bounded line reader never panics and never returns a line over its limit.
#![no_main]

#[path = "../entry.rs"]
mod entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry::line_reader(data));
