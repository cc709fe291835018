//! Feeds arbitrary bytes to the ext4 reader: opening, listing, stat, reading files, links and
//! xattrs must never panic, loop forever or allocate without bound.
//! Run: `cd builder/formats/ext4/fuzz && cargo fuzz run reader`.

#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut r) = eflow_ext4::Ext4Reader::open(Cursor::new(data)) else {
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
                let child = if p == "/" { format!("/{}", e.name) } else { format!("{p}/{}", e.name) };
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
});
