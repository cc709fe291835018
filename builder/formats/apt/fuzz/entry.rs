//! The entry points of the fuzz targets, one function per target: the cargo-fuzz targets in
//! `fuzz_targets/` call them, and the crate's tests replay `regressions/TARGET/` through them
//! (`tests/it/fuzz_regressions.rs`), so the fuzzers and the replay cannot drift apart.
#![allow(dead_code)] // each fuzz target uses one of them

/// The deb822 parser and the Packages indexer on arbitrary text: no panic, and every error
/// names a line inside the input.
pub fn deb822(data: &[u8]) {
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
}

/// Relation and version parsing: no panic, errors point inside the input, and version
/// ordering stays antisymmetric.
pub fn relation(data: &[u8]) {
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
}

/// The Release parser, the RFC 2822 date parser and the cleartext armor checker.
pub fn release(data: &[u8]) {
    let _ = eflow_apt::signature::check_structure(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = eflow_apt::release::Release::parse(text);
    let _ = eflow_apt::release::parse_date(text);
}
