//! Fuzzes the Release parser, the RFC 2822 date parser and the cleartext armor checker.
#![no_main]

#[path = "../entry.rs"]
mod entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry::release(data));
