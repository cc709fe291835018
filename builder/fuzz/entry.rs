//! The entry points of the fuzz targets, one function per target: the cargo-fuzz targets in
//! `fuzz_targets/` call them, and the crate's tests replay `regressions/TARGET/` through them
//! (`tests/it/fuzz_regressions.rs`), so the fuzzers and the replay cannot drift apart.

/// Every parser of the builder's own inputs (image definitions, recipes, lockfiles, and the
/// guest files the configure stage reads: passwd/group/shadow/gshadow, sysusers.d, unit names
/// and [Install] sections) on arbitrary text: no panic, errors point inside the input.
pub fn definitions(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        eflow_builder::fuzzing::parse_everything(text);
    }
}
