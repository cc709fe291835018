//! Feeds arbitrary bytes to the newc reader: it must return, never panic or allocate wildly.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = eflow_cpio::read_newc(data, 16 << 20);
});
