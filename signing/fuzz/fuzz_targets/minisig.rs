//! Arbitrary `.minisig` text against a fixed key and message: must never panic, and must
//! never verify unless it is the genuine signature (up to the untrusted comment).
#![no_main]

use eflow_signing::{verify_prehashed, PublicKey};
use libfuzzer_sys::fuzz_target;

const PUBLIC: &str = "RWQkZBEU2X9E05Fxf14pIuag6XYuUpyY+bhaVcXpnNWzmjq6a+IR2RCl";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let pk: PublicKey = PUBLIC.parse().expect("fixture key");
    let digest = [0u8; 64];
    if let Ok(tc) = verify_prehashed(&pk, &digest, text) {
        panic!("forged signature accepted, trusted comment {tc:?}");
    }
});
