//! The ar, tar and control parsers on arbitrary bytes: errors are fine, panics are not.
#![no_main]

#[path = "../entry.rs"]
mod entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry::parsers(data));
