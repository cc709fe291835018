//! Fuzzes relation and version parsing: no panic, errors point inside the input, and version
//! ordering stays antisymmetric.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = eflow_apt::relation::parse_relations(text) {
        assert!(e.offset <= text.len());
    }
    let _ = eflow_apt::relation::parse_provides(text);
    if let Some((a, b)) = text.split_once('\n') {
        let ab = eflow_apt::version::compare(a, b);
        assert_eq!(ab, eflow_apt::version::compare(b, a).reverse());
    }
});
