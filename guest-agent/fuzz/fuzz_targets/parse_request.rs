//! The request parser never panics, and what it accepts serializes back to an equal request.
#![no_main]

#[path = "../entry.rs"]
mod entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry::parse_request(data));
