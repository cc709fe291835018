//! The rootfs tarball: exactly the Tree, entries sorted, numeric owners, mtimes clamped.

use std::io::{self, Write};

use eflow_tree::{Kind, Tree};

/// Writes the Tree as a tar archive (GNU format, long names as GNU extensions, xattrs as
/// PAX `SCHILY.xattr.*` records). Names are relative (`usr/bin/ls`, the root as `./`). Entries come in path order, so parents precede children;
/// owners are numeric only; every mtime is clamped to `clamp_mtime` (SOURCE_DATE_EPOCH).
pub fn write_tar<W: Write>(tree: &Tree, clamp_mtime: i64, out: W) -> io::Result<W> {
    let mut b = tar::Builder::new(out);
    b.mode(tar::HeaderMode::Complete);
    b.follow_symlinks(false);
    for (path, e) in depth_first(tree) {
        let name = if path == "/" {
            "./".to_string()
        } else {
            path[1..].to_string()
        };
        if !e.xattrs.is_empty() {
            let recs: Vec<(String, &[u8])> = e
                .xattrs
                .iter()
                .map(|(k, v)| (format!("SCHILY.xattr.{k}"), v.as_slice()))
                .collect();
            b.append_pax_extensions(recs.iter().map(|(k, v)| (k.as_str(), *v)))?;
        }
        let mut h = tar::Header::new_gnu();
        h.set_mode(e.mode & 0o7777);
        h.set_uid(e.uid as u64);
        h.set_gid(e.gid as u64);
        h.set_mtime(e.mtime.clamp(0, clamp_mtime.max(0)) as u64);
        h.set_size(0);
        match &e.kind {
            Kind::File { content, size } => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(*size);
                let reader = content.open()?;
                b.append_data(&mut h, &name, io::Read::take(reader, *size))?;
            }
            Kind::Dir => {
                h.set_entry_type(tar::EntryType::Directory);
                let dname = if name.ends_with('/') {
                    name
                } else {
                    format!("{name}/")
                };
                b.append_data(&mut h, &dname, io::empty())?;
            }
            Kind::Symlink { target } => {
                h.set_entry_type(tar::EntryType::Symlink);
                b.append_link(&mut h, &name, target)?;
            }
            Kind::HardLink { target } => {
                h.set_entry_type(tar::EntryType::Link);
                b.append_link(&mut h, &name, target.trim_start_matches('/'))?;
            }
            Kind::CharDevice { major, minor } | Kind::BlockDevice { major, minor } => {
                h.set_entry_type(if matches!(e.kind, Kind::CharDevice { .. }) {
                    tar::EntryType::Char
                } else {
                    tar::EntryType::Block
                });
                h.set_device_major(*major)?;
                h.set_device_minor(*minor)?;
                b.append_data(&mut h, &name, io::empty())?;
            }
            Kind::Fifo => {
                h.set_entry_type(tar::EntryType::Fifo);
                b.append_data(&mut h, &name, io::empty())?;
            }
            Kind::Socket => {
                // tar has no socket type; sockets are created by their daemons at run time.
                continue;
            }
        }
    }
    b.into_inner()
}

/// Entries in depth-first order: each directory immediately followed by its whole subtree,
/// siblings in byte order of their names. (Byte order of full paths would put `/usr/lib/x-y`
/// between `/usr/lib/x` and `/usr/lib/x/z`, and extractors that restore a directory's mtime
/// when they leave it would then see it modified again.)
fn depth_first(tree: &Tree) -> Vec<(String, &eflow_tree::Entry)> {
    let mut out = Vec::with_capacity(tree.len());
    let mut stack = vec!["/".to_string()];
    while let Some(path) = stack.pop() {
        let Some(entry) = tree.get(&path) else {
            continue;
        };
        if entry.is_dir() {
            let base = if path == "/" { "" } else { path.as_str() };
            let mut children: Vec<String> = tree
                .children(&path)
                .map(|(n, _)| format!("{base}/{n}"))
                .collect();
            children.reverse();
            stack.extend(children);
        }
        out.push((path, entry));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use eflow_tree::Entry;

    #[test]
    fn tar_lists_with_gnu_tar() {
        let mut t = Tree::new();
        t.mkdir_p("/usr/bin").unwrap();
        t.insert(
            "/usr/bin/passwd",
            Entry::file("x", 0o4755).at(5_000_000_000),
        )
        .unwrap();
        t.insert(
            "/usr/bin/pw2",
            Entry::new(
                Kind::HardLink {
                    target: "/usr/bin/passwd".into(),
                },
                0o4755,
            ),
        )
        .unwrap();
        t.insert("/bin", Entry::symlink("usr/bin")).unwrap();
        t.mkdir_p("/etc").unwrap();
        t.insert("/etc/shadow", Entry::file("root:*:", 0o640).owned(0, 42))
            .unwrap();
        let long = format!("/{}", "a".repeat(200));
        t.insert(&long, Entry::file("long", 0o644)).unwrap();
        let data = write_tar(&t, 1000, Vec::new()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.tar");
        std::fs::write(&p, &data).unwrap();
        let out = std::process::Command::new("tar")
            .args(["-tvf"])
            .arg(&p)
            .arg("--numeric-owner")
            .env("TZ", "UTC")
            .output()
            .unwrap();
        assert!(out.status.success());
        let list = String::from_utf8(out.stdout).unwrap();
        assert!(list.contains("-rwsr-xr-x 0/0"), "{list}");
        assert!(list.contains("-rw-r----- 0/42"), "{list}");
        assert!(list.contains(" bin -> usr/bin"), "{list}");
        assert!(
            list.contains(" usr/bin/pw2 link to usr/bin/passwd"),
            "{list}"
        );
        assert!(list.contains(&"a".repeat(200)), "{list}");
        assert!(list.contains("1970-01-01 00:16"), "mtime clamped: {list}");
    }
}
