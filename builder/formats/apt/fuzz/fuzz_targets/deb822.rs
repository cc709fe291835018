//! Fuzzes the deb822 parser and the Packages indexer on arbitrary text: no panic, and every
//! error names a line inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = text.split('\n').count();
    for st in eflow_apt::deb822::parse(text) {
        match st {
            Ok(st) => {
                for f in &st.fields {
                    assert!(f.line >= 1 && f.line <= lines);
                }
            }
            Err(e) => assert!(e.line >= 1 && e.line <= lines),
        }
    }
    let mut idx = eflow_apt::Index::new("amd64");
    let _ = idx.add_packages("fuzz", "main", "fuzz", text);
    if !idx.is_empty() {
        let _ = eflow_apt::resolve(
            &idx,
            &[eflow_apt::Request {
                package: idx.package(0).name.clone(),
                recipe: "fuzz".into(),
            }],
        );
    }
});
