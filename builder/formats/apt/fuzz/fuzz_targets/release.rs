//! Fuzzes the Release parser, the RFC 2822 date parser and the cleartext armor checker.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = eflow_apt::signature::check_structure(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = eflow_apt::release::Release::parse(text);
    let _ = eflow_apt::release::parse_date(text);
});
