//! Fuzzes every parser of the builder's own inputs (image definitions, recipes, lockfiles,
//! and the guest files the configure stage reads: passwd/group/shadow/gshadow, sysusers.d,
//! unit names and [Install] sections): no panic, errors point inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        eflow_builder::fuzzing::parse_everything(text);
    }
});
