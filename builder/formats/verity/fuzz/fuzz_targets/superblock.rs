//! Feeds arbitrary bytes to the superblock parser: it must return, never panic, and what it
//! accepts must be exactly what the writer writes for the parameters it returns.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(params) = eflow_verity::Params::from_superblock(data) {
        assert_eq!(
            &params.superblock()[..],
            &data[..eflow_verity::SUPERBLOCK_SIZE]
        );
        let _ = params.geometry().map(|g| g.hash_device_size());
    }
});
