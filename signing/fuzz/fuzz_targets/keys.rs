//! Arbitrary public and (unencrypted) secret key text: must never panic.
#![no_main]

use eflow_signing::{PublicKey, SecretKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = text.parse::<PublicKey>();
    if let Ok(sk) = SecretKey::from_str(text, None) {
        // A key that parses writes back to a key that parses to the same public key.
        let again = SecretKey::from_str(&sk.to_file_string(), None).expect("re-read");
        assert_eq!(again.public_key(), sk.public_key());
    }
});
