//! The entry points of the fuzz targets, one function per target: the cargo-fuzz targets in
//! `fuzz_targets/` call them, and the crate's tests replay `regressions/TARGET/` through them
//! (`tests/it/fuzz_regressions.rs`), so the fuzzers and the replay cannot drift apart.

/// Arbitrary bytes to the module parser (ELF, .modinfo, decompression): it must return,
/// never panic.
pub fn modinfo(data: &[u8]) {
    let _ = eflow_kmod::modinfo(data);
}

/// Arbitrary bytes to the reader depmod's emulation uses (ELF, .modinfo, symbol table,
/// __versions, __ksymtab_strings, decompression): it must return, never panic.
pub fn module(data: &[u8]) {
    let _ = eflow_kmod::module(data);
}
