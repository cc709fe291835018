//! A whole .deb on arbitrary bytes: read_control, then scan and unpack into a Tree.
#![no_main]

use eflow_deb::{read_control, unpack_into, DebSource, Owners};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
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
});
