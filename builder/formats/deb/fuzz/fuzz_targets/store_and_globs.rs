//! The content store's index parser and the path-filter globs on arbitrary bytes: `None` and
//! `false` are fine, panics and runaway time are not.
#![no_main]

#[path = "../entry.rs"]
mod entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry::store_and_globs(data));
