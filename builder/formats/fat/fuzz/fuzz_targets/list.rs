//! Feeds arbitrary bytes to the FAT reader: listing and reading must return, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Cursor;

fuzz_target!(|data: &[u8]| {
    let _ = eflow_fat::info(Cursor::new(data));
    let _ = eflow_fat::probe(Cursor::new(data));
    if let Ok(entries) = eflow_fat::list(Cursor::new(data)) {
        for e in entries.iter().filter(|e| !e.is_dir).take(4) {
            let _ = eflow_fat::read_file(Cursor::new(data), &e.path);
        }
    }
});
