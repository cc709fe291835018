//! The entry points of the fuzz targets, one function per target: the cargo-fuzz targets in
//! `fuzz_targets/` call them, and the crate's tests replay `regressions/TARGET/` through them
//! (`tests/fuzz_regressions.rs`), so the fuzzers and the replay cannot drift apart.

/// Arbitrary bytes to the ext4 reader: opening, listing, stat, reading files, links and
/// xattrs must never panic, loop forever or allocate without bound.
pub fn reader(data: &[u8]) {
    let Ok(mut r) = eflow_ext4::Ext4Reader::open(std::io::Cursor::new(data)) else {
        return;
    };
    let _ = r.summary();
    let mut paths = vec!["/".to_string()];
    // Walk a bounded part of the tree.
    let mut i = 0;
    while i < paths.len() && paths.len() < 64 {
        let p = paths[i].clone();
        if let Ok(entries) = r.list_dir(&p) {
            for e in entries.into_iter().take(16) {
                let child = if p == "/" {
                    format!("/{}", e.name)
                } else {
                    format!("{p}/{}", e.name)
                };
                paths.push(child);
            }
        }
        i += 1;
    }
    for p in &paths {
        let _ = r.stat(p);
        let _ = r.read_file(p);
        let _ = r.read_link(p);
        let _ = r.xattrs(p);
    }
}
