//! The entry points of the fuzz targets, one function per target: the cargo-fuzz targets in
//! `fuzz_targets/` call them, and the crate's tests replay `regressions/TARGET/` through them
//! (`tests/it/fuzz_regressions.rs`), so the fuzzers and the replay cannot drift apart.
#![allow(dead_code)] // each fuzz target uses one of them

/// The ar, tar and control parsers on arbitrary bytes: errors are fine, panics are not.
pub fn parsers(data: &[u8]) {
    let _ = eflow_deb::ar::members(&mut std::io::Cursor::new(data), data.len() as u64);
    let mut tar = eflow_deb::tar::TarReader::new(data);
    let mut buf = [0u8; 700];
    while let Ok(Some(_)) = tar.next_header() {
        while let Ok(n) = tar.read_data(&mut buf) {
            if n == 0 {
                break;
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = eflow_deb::Control::parse(text);
    }
}

/// A whole .deb on arbitrary bytes: read_control, then scan and unpack into a Tree.
pub fn deb_file(data: &[u8]) {
    use eflow_deb::{read_control, unpack_into, DebSource, Owners};
    let path = std::env::temp_dir().join(format!("eflow-deb-fuzz-{}.deb", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    if let Ok(pkg) = read_control(&path) {
        let source = DebSource::new();
        let stream = source.add(path.clone());
        let mut tree = eflow_tree::Tree::new();
        let mut owners = Owners::new();
        let _ = unpack_into(&mut tree, &pkg, &source, stream, &mut owners, &|_, _| false);
    }
    let _ = std::fs::remove_file(&path);
}

/// The content store's index parser and the path-filter globs on arbitrary bytes. The index
/// digest makes random input fail early, so the body is also tried with a correct digest in
/// front of it; a glob is the bytes before the first NUL, matched against the rest.
pub fn store_and_globs(data: &[u8]) {
    use sha2::Digest;
    let _ = eflow_deb::store::index_entries(data);
    let digest: String = sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut framed = format!("eflow-contents 1 {digest}\n").into_bytes();
    framed.extend_from_slice(data);
    let _ = eflow_deb::store::index_entries(&framed);
    let (pattern, text) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b"/usr/share/doc/x/copyright"[..]),
    };
    let _ = eflow_deb::filter::glob_match(pattern, text);
    let _ = eflow_deb::filter::glob_match_prefix(pattern, text);
}
