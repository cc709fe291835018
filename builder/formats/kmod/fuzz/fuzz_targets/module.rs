//! Feeds arbitrary bytes to the module reader depmod's emulation uses (ELF, .modinfo, the
//! symbol table, decompression): it must return, never panic.
#![no_main]

#[path = "../entry.rs"]
mod entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry::module(data));
