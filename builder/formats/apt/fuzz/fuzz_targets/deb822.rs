//! Fuzzes the deb822 parser and the Packages indexer on arbitrary text: no panic, and every
//! error names a line inside the input.
#![no_main]

#[path = "../entry.rs"]
mod entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry::deb822(data));
