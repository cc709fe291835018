//! Feeds arbitrary bytes to the superblock parser: it must return, never panic, and what it
//! accepts must be exactly what the writer writes for the parameters it returns.
#![no_main]

#[path = "../entry.rs"]
mod entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry::superblock(data));
