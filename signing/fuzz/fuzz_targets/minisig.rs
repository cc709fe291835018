//! Arbitrary `.minisig` text against a fixed key and message: must never panic, and must
//! never verify unless it is the genuine signature (up to the untrusted comment).
#![no_main]

#[path = "../entry.rs"]
mod entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry::minisig(data));
