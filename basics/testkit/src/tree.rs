//! A Tree written out to a host directory, for the host tools that judge what the stages
//! make of it (`systemctl --root`, `mke2fs -d`); the stages themselves never do this.

use std::fs::File;
use std::path::Path;

use eflow_tree::{Kind, Tree};

/// Writes the directories, files and symlinks of `tree` under `root`; any other kind fails
/// the test, as the tools' comparisons are not made for device nodes or hard links.
pub fn extract_tree(tree: &Tree, root: &Path) {
    for (path, e) in tree.iter() {
        let host = root.join(path.trim_start_matches('/'));
        match &e.kind {
            Kind::Dir => std::fs::create_dir_all(&host).unwrap(),
            Kind::File { content, .. } => {
                let mut r = content
                    .open()
                    .unwrap_or_else(|e| panic!("opening {path}: {e}"));
                let mut f = File::create(&host).unwrap();
                std::io::copy(&mut r, &mut f).unwrap();
            }
            Kind::Symlink { target } => std::os::unix::fs::symlink(target, &host).unwrap(),
            other => panic!("{path}: extracting a {other:?} is not supported"),
        }
    }
}
