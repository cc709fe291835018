//! Fuzzes every parser of the builder's own inputs (image definitions, recipes, lockfiles,
//! and the guest files the configure stage reads: passwd/group/shadow/gshadow, sysusers.d,
//! unit names and [Install] sections): no panic, errors point inside the input.
#![no_main]

#[path = "../entry.rs"]
mod entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry::definitions(data));
