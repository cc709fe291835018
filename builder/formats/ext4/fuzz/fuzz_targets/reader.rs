//! Feeds arbitrary bytes to the ext4 reader: opening, listing, stat, reading files, links and
//! xattrs must never panic, loop forever or allocate without bound.
//! Run: `cd builder/formats/ext4/fuzz && cargo fuzz run reader`.
#![no_main]

#[path = "../entry.rs"]
mod entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry::reader(data));
