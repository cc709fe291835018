//! Arbitrary Debian copyright files: must never panic, and every LicenseRef produced must be
//! a valid SPDX LicenseRef id.
#![no_main]

use eflow_signing::{license_refs, licenses_from_copyright};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
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
});
