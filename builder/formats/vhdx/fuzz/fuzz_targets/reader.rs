//! Fuzzes the VHDX reader: any bytes must give an error or a readable disk, never a panic.
//! Run: `cargo fuzz run reader` from builder/formats/vhdx (nightly, or RUSTC_BOOTSTRAP=1).
#![no_main]

#[path = "../entry.rs"]
mod entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry::reader(data));
