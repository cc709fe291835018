//! A whole .deb on arbitrary bytes: read_control, then scan and unpack into a Tree.
#![no_main]

#[path = "../entry.rs"]
mod entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry::deb_file(data));
