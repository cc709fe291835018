//! Arbitrary manifest JSON: must never panic; an accepted manifest re-serializes to JSON that
//! reads back equal.
#![no_main]

use eflow_signing::Manifest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(m) = Manifest::from_json(text) {
        let json = m.to_json().expect("valid manifest serializes");
        let mut sorted = m.clone();
        sorted.normalize();
        assert_eq!(Manifest::from_json(&json).expect("re-read"), sorted);
    }
});
