//! Arbitrary public and (unencrypted) secret key text: must never panic.
#![no_main]

#[path = "../entry.rs"]
mod entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry::keys(data));
