//! The entry points of the fuzz targets, one function per target: the cargo-fuzz targets in
//! `fuzz_targets/` call them, and the crate's tests replay `regressions/TARGET/` through them
//! (`tests/it/fuzz_regressions.rs`), so the fuzzers and the replay cannot drift apart.

/// Arbitrary bytes to the GPT reader as a whole disk: it must return, never panic.
pub fn read(data: &[u8]) {
    let _ = eflow_gpt::Gpt::read(&mut std::io::Cursor::new(data));
}
