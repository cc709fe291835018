//! Arbitrary Debian copyright files: must never panic, and every LicenseRef produced must be
//! a valid SPDX LicenseRef id.
#![no_main]

#[path = "../entry.rs"]
mod entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry::copyright(data));
