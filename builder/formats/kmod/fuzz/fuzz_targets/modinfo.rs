//! Feeds arbitrary bytes to the module parser (ELF, .modinfo, decompression): it must
//! return, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = eflow_kmod::modinfo(data);
});
