//! Writing a Tree as a newc archive, the way the kernel's initramfs unpacker reads it.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};

use eflow_tree::{Entry, Kind, Tree};

use crate::header::{pad4, Header, TRAILER};

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// The archive name of a Tree path: no leading `/`, and `.` for the root, as `find . | cpio`
/// and the kernel's own gen_init_cpio produce (the unpacker resolves names from `/`).
pub fn archive_name(path: &str) -> &str {
    match path.trim_start_matches('/') {
        "" => ".",
        p => p,
    }
}

/// The st_mode of an entry; a hard link takes its target's.
fn st_mode(e: &Entry) -> u32 {
    e.type_bits() | (e.mode & 0o7777)
}

/// Writes every entry of `tree` in path order (parents before children) as a newc archive
/// ending with `TRAILER!!!`.
///
/// Inode numbers are 1, 2, ... in path order (a hard link shares its target's); directories
/// have nlink 2 + subdirectories, files 1 + their hard links. As GNU cpio does for newc, every
/// name of a multiply-linked file but the last is written with size 0 and the data follows the
/// last name. Symlink targets are the data of symlinks. mtimes are clamped to 0..=u32::MAX;
/// xattrs are not representable in newc and are left out.
pub fn write_newc(tree: &Tree, out: &mut impl Write) -> io::Result<()> {
    // Inode numbers and link counts, in path order.
    let mut ino: BTreeMap<&str, u32> = BTreeMap::new();
    let mut nlink: BTreeMap<&str, u32> = BTreeMap::new();
    // Target path -> the last name (in path order) of its hard-link group.
    let mut last_name: BTreeMap<&str, &str> = BTreeMap::new();
    let mut next = 1u32;
    for (path, e) in tree.iter() {
        match &e.kind {
            Kind::HardLink { .. } => {}
            _ => {
                ino.insert(path, next);
                next = next
                    .checked_add(1)
                    .ok_or_else(|| invalid("more than 2^32 entries".into()))?;
                let n = if e.is_dir() { 2 } else { 1 };
                nlink.insert(path, n);
                last_name.insert(path, path);
            }
        }
        if e.is_dir() && path != "/" {
            if let Some(n) = nlink.get_mut(eflow_tree::parent(path)) {
                *n += 1;
            }
        }
    }
    for (path, e) in tree.iter() {
        if let Kind::HardLink { target } = &e.kind {
            let t = resolve_target(&ino, path, target)?;
            *nlink
                .get_mut(t)
                .ok_or_else(|| invalid(format!("hard link {path}: no target {t}")))? += 1;
            // Paths iterate in order, so the last one seen is the last written.
            let last = last_name
                .get_mut(t)
                .ok_or_else(|| invalid(format!("hard link {path}: no target {t}")))?;
            if path > *last {
                *last = path;
            }
        }
    }

    let mut pos = 0u64;
    for (path, e) in tree.iter() {
        let name = archive_name(path);
        // A hard link is written with its target's inode and metadata.
        let (key, meta) = match &e.kind {
            Kind::HardLink { target } => {
                let t = resolve_target(&ino, path, target)?;
                let te = tree
                    .get(t)
                    .ok_or_else(|| invalid(format!("hard link {path}: no target {t}")))?;
                (t, te)
            }
            _ => (path, e),
        };
        let mut h = Header {
            ino: ino[key],
            mode: st_mode(meta),
            uid: meta.uid,
            gid: meta.gid,
            nlink: nlink[key],
            mtime: meta.mtime.clamp(0, u32::MAX as i64) as u32,
            ..Header::default()
        };
        let carries_data = last_name[key] == path;
        match &meta.kind {
            Kind::File { content, size } => {
                let size32 = u32::try_from(*size).map_err(|_| {
                    invalid(format!("{path}: {size} bytes is over newc's 4 GiB limit"))
                })?;
                if carries_data {
                    h.filesize = size32;
                }
                pos += h.write(name, out)?;
                if carries_data {
                    let mut r = content.open()?.take(*size);
                    let n = io::copy(&mut r, out)?;
                    if n != *size {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!("{path}: content gave {n} bytes, the tree says {size}"),
                        ));
                    }
                    pos += n;
                    out.write_all(&[0u8; 3][..pad4(pos)])?;
                    pos += pad4(pos) as u64;
                }
            }
            Kind::Symlink { target } => {
                h.filesize = u32::try_from(target.len())
                    .map_err(|_| invalid(format!("{path}: symlink target too long")))?;
                pos += h.write(name, out)?;
                out.write_all(target.as_bytes())?;
                pos += target.len() as u64;
                out.write_all(&[0u8; 3][..pad4(pos)])?;
                pos += pad4(pos) as u64;
            }
            Kind::CharDevice { major, minor } | Kind::BlockDevice { major, minor } => {
                h.rdevmajor = *major;
                h.rdevminor = *minor;
                pos += h.write(name, out)?;
            }
            Kind::Dir | Kind::Fifo | Kind::Socket => {
                pos += h.write(name, out)?;
            }
            Kind::HardLink { .. } => {
                return Err(invalid(format!(
                    "hard link {path} points at another hard link"
                )));
            }
        }
    }
    let trailer = Header {
        nlink: 1,
        ..Header::default()
    };
    trailer.write(TRAILER, out)?;
    Ok(())
}

/// The normalized target of a hard link, borrowed from the Tree (through the inode map,
/// which has every non-link path).
fn resolve_target<'t>(
    ino: &BTreeMap<&'t str, u32>,
    path: &str,
    target: &str,
) -> io::Result<&'t str> {
    let t = eflow_tree::normalize(target).map_err(|e| invalid(format!("hard link {path}: {e}")))?;
    ino.get_key_value(t.as_str())
        .map(|(p, _)| *p)
        .ok_or_else(|| {
            invalid(format!(
                "hard link {path}: target {target} is not in the tree"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_have_no_leading_slash() {
        assert_eq!(archive_name("/"), ".");
        assert_eq!(archive_name("/init"), "init");
        assert_eq!(archive_name("/bin/busybox"), "bin/busybox");
    }

    #[test]
    fn oversized_files_are_refused() {
        struct Huge;
        impl eflow_tree::ContentSource for Huge {
            fn describe(&self, _: u32) -> String {
                "huge".into()
            }
            fn open(&self, _: u32, _: u64) -> io::Result<Box<dyn Read + '_>> {
                Ok(Box::new(io::repeat(0)))
            }
        }
        let mut t = Tree::new();
        let content = eflow_tree::Content::Source {
            source: std::sync::Arc::new(Huge),
            stream: 0,
            index: 0,
            digest: None,
        };
        t.insert(
            "/big",
            Entry::new(
                Kind::File {
                    content,
                    size: 5 << 30,
                },
                0o644,
            ),
        )
        .unwrap();
        let e = write_newc(&t, &mut io::sink()).unwrap_err();
        assert!(e.to_string().contains("4 GiB"), "{e}");
    }

    #[test]
    fn short_content_is_an_error() {
        let mut t = Tree::new();
        let mut e = Entry::file(vec![1, 2, 3], 0o644);
        if let Kind::File { size, .. } = &mut e.kind {
            *size = 10;
        }
        t.insert("/f", e).unwrap();
        assert!(write_newc(&t, &mut Vec::new()).is_err());
    }
}
