//! Feeds arbitrary bytes to the module parser (ELF, .modinfo, decompression): it must
//! return, never panic.
#![no_main]

#[path = "../entry.rs"]
mod entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry::modinfo(data));
