//! The entry points of the fuzz targets, one function per target: the cargo-fuzz targets in
//! `fuzz_targets/` call them, and the crate's tests replay `regressions/TARGET/` through them
//! (`tests/it/fuzz_regressions.rs`), so the fuzzers and the replay cannot drift apart.
#![allow(dead_code)] // each fuzz target uses one of them

use eflow_signing::{
    license_refs, licenses_from_copyright, verify_prehashed, Manifest, PublicKey, SecretKey,
};

/// Arbitrary Debian copyright files: must never panic, and every LicenseRef produced must be
/// a valid SPDX LicenseRef id.
pub fn copyright(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(expr) = licenses_from_copyright(text) {
        for r in license_refs(&expr) {
            let rest = r.strip_prefix("LicenseRef-").expect("prefix");
            assert!(!rest.is_empty());
            assert!(
                rest.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
                "{r}"
            );
        }
    }
}

/// Arbitrary public and (unencrypted) secret key text: must never panic.
pub fn keys(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = text.parse::<PublicKey>();
    if let Ok(sk) = SecretKey::from_str(text, None) {
        // A key that parses writes back to a key that parses to the same public key.
        let again = SecretKey::from_str(&sk.to_file_string(), None).expect("re-read");
        assert_eq!(again.public_key(), sk.public_key());
    }
}

/// Arbitrary manifest JSON: must never panic; an accepted manifest re-serializes to JSON
/// that reads back equal.
pub fn manifest(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(m) = Manifest::from_json(text) {
        let json = m.to_json().expect("valid manifest serializes");
        let mut sorted = m.clone();
        sorted.normalize();
        assert_eq!(Manifest::from_json(&json).expect("re-read"), sorted);
    }
}

/// The public key the `minisig` target verifies against.
const PUBLIC: &str = "RWQkZBEU2X9E05Fxf14pIuag6XYuUpyY+bhaVcXpnNWzmjq6a+IR2RCl";

/// Arbitrary `.minisig` text against a fixed key and message: must never panic, and must
/// never verify unless it is the genuine signature (up to the untrusted comment).
pub fn minisig(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let pk: PublicKey = PUBLIC.parse().expect("fixture key");
    let digest = [0u8; 64];
    if let Ok(tc) = verify_prehashed(&pk, &digest, text) {
        panic!("forged signature accepted, trusted comment {tc:?}");
    }
}
