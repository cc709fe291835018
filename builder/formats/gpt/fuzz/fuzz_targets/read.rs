//! Feeds arbitrary bytes to the GPT reader as a whole disk: it must return, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = eflow_gpt::Gpt::read(&mut std::io::Cursor::new(data));
});
