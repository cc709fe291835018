//! The entry points of the fuzz targets, one function per target: the cargo-fuzz targets in
//! `fuzz_targets/` call them, and the crate's tests replay `regressions/TARGET/` through them
//! (`tests/fuzz_regressions.rs`), so the fuzzers and the replay cannot drift apart.

/// Arbitrary bytes to the FAT reader: listing and reading must return, never panic.
pub fn list(data: &[u8]) {
    use std::io::Cursor;
    let _ = eflow_fat::info(Cursor::new(data));
    let _ = eflow_fat::probe(Cursor::new(data));
    if let Ok(entries) = eflow_fat::list(Cursor::new(data)) {
        for e in entries.iter().filter(|e| !e.is_dir).take(4) {
            let _ = eflow_fat::read_file(Cursor::new(data), &e.path);
        }
    }
}
