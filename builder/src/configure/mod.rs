//! The configure stage: what Debian maintainer scripts would do, declared instead of executed.
//!
//! Each submodule does one thing on the assembled [`Tree`] and takes its own input types; the
//! pipeline maps recipe fields onto them. Nothing here runs guest code or touches the host
//! filesystem: files are read from and written to the Tree only, every output is sorted, and
//! every time stamp is the `mtime` (SOURCE_DATE_EPOCH) the caller passes in.
//!
//! - [`users`]: /etc/passwd, group, shadow, gshadow (base-passwd + sysusers.d + recipes).
//! - [`units`]: `systemctl enable` / `mask` / `set-default` as symlinks ([`unit_file`] parses
//!   unit names and [Install]); [`presets`]: systemd.preset(5).
//! - [`files`]: first-boot files (machine-id, hostname, hosts, fstab, SSH host keys).
//! - [`alternatives`]: update-alternatives' symlinks and its admin files.

pub mod accounts;
pub mod alternatives;
pub mod files;
pub mod presets;
pub mod sysusers;
pub mod unit_file;
pub mod units;
pub mod users;

use eflow_tree::{normalize, parent, Entry, Kind, Tree, TreeError};
use std::io::Read;

/// Why a file of the Tree could not be read as bytes.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The path exists but is not a regular file after following symlinks.
    #[error("{path} in the image tree is not a regular file")]
    NotAFile { path: String },
    /// The content could not be opened or read (a package stream failed).
    #[error("reading {path} from the image tree: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// A symlink loop or too many links on the way.
    #[error("{path} in the image tree: too many levels of symbolic links")]
    Loop { path: String },
}

/// Reads a regular file of the Tree (following symlinks and hard links); `None` when absent.
pub fn read_file(tree: &Tree, path: &str) -> Result<Option<Vec<u8>>, ReadError> {
    let resolved = tree.resolve(path, true).ok_or_else(|| ReadError::Loop {
        path: path.to_string(),
    })?;
    let Some(mut entry) = tree.get(&resolved) else {
        return Ok(None);
    };
    if let Kind::HardLink { target } = &entry.kind {
        entry = tree.get(target).ok_or_else(|| ReadError::NotAFile {
            path: path.to_string(),
        })?;
    }
    let Kind::File { content, size } = &entry.kind else {
        return Err(ReadError::NotAFile {
            path: path.to_string(),
        });
    };
    let io = |source| ReadError::Io {
        path: path.to_string(),
        source,
    };
    // Size is a hint only; cap the pre-allocation so a lying size cannot exhaust memory.
    let mut buf = Vec::with_capacity((*size).min(1 << 20) as usize);
    content
        .open()
        .map_err(io)?
        .read_to_end(&mut buf)
        .map_err(io)?;
    Ok(Some(buf))
}

/// Reads a text file of the Tree; `None` when absent. Invalid UTF-8 is replaced, not fatal:
/// the parsers that use this only care about ASCII syntax.
pub fn read_text(tree: &Tree, path: &str) -> Result<Option<String>, ReadError> {
    Ok(read_file(tree, path)?.map(|b| String::from_utf8_lossy(&b).into_owned()))
}

/// The path where an entry named `path` really lives: its parent directory resolved through
/// symlinks (so `/lib/systemd/system/x` lands in `/usr/lib/...` on a usrmerged tree), the last
/// component kept as is.
pub(crate) fn physical_path(tree: &Tree, path: &str) -> Result<String, TreeError> {
    let path = normalize(path)?;
    if path == "/" {
        return Ok(path);
    }
    let dir = tree
        .resolve(parent(&path), true)
        .ok_or_else(|| TreeError::InvalidPath {
            path: path.clone(),
            reason: "too many levels of symbolic links in its parent",
        })?;
    let name = eflow_tree::file_name(&path);
    Ok(if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    })
}

/// Creates a directory and its missing ancestors (root-owned, 0755, at `mtime`), following
/// symlinks on the way like `mkdir -p` does. Returns the physical path of the directory.
pub(crate) fn mkdir_p(tree: &mut Tree, path: &str, mtime: i64) -> Result<String, TreeError> {
    let path = normalize(path)?;
    let mut cur = String::from("/");
    for comp in path.split('/').filter(|c| !c.is_empty()) {
        let next = if cur == "/" {
            format!("/{comp}")
        } else {
            format!("{cur}/{comp}")
        };
        let resolved = tree
            .resolve(&next, true)
            .ok_or_else(|| TreeError::InvalidPath {
                path: path.clone(),
                reason: "too many levels of symbolic links",
            })?;
        match tree.get(&resolved) {
            Some(e) if e.is_dir() => {}
            Some(_) => {
                return Err(TreeError::ParentNotDir {
                    path: path.clone(),
                    parent: next,
                })
            }
            None => {
                // A dangling symlink's target is created where it points.
                let p = physical_path(tree, &resolved)?;
                tree.insert(&p, Entry::dir().at(mtime))?;
            }
        }
        cur = resolved;
    }
    Ok(cur)
}

/// Writes a regular file (replacing what was there), creating missing parent directories.
pub(crate) fn write_file(
    tree: &mut Tree,
    path: &str,
    data: impl Into<Vec<u8>>,
    mode: u32,
    owner: (u32, u32),
    mtime: i64,
) -> Result<(), TreeError> {
    let path = normalize(path)?;
    mkdir_p(tree, parent(&path), mtime)?;
    let phys = physical_path(tree, &path)?;
    let entry = Entry::file(data, mode).owned(owner.0, owner.1).at(mtime);
    tree.insert(&phys, entry)?;
    Ok(())
}

/// Writes a symlink (replacing what was there), creating missing parent directories.
pub(crate) fn write_symlink(
    tree: &mut Tree,
    path: &str,
    target: &str,
    mtime: i64,
) -> Result<(), TreeError> {
    let path = normalize(path)?;
    mkdir_p(tree, parent(&path), mtime)?;
    let phys = physical_path(tree, &path)?;
    tree.insert(&phys, Entry::symlink(target).at(mtime))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_through_usrmerge_symlinks() {
        let mut t = Tree::new();
        t.mkdir_p("/usr/lib").unwrap();
        t.insert("/lib", Entry::symlink("usr/lib")).unwrap();
        write_file(
            &mut t,
            "/lib/systemd/system/a.service",
            "x",
            0o644,
            (0, 0),
            7,
        )
        .unwrap();
        assert!(t.get("/usr/lib/systemd/system/a.service").is_some());
        assert_eq!(t.get("/usr/lib/systemd").unwrap().mtime, 7);
        assert_eq!(
            read_file(&t, "/lib/systemd/system/a.service").unwrap(),
            Some(b"x".to_vec())
        );
        assert_eq!(read_file(&t, "/nope").unwrap(), None);
        assert!(matches!(
            read_file(&t, "/usr").unwrap_err(),
            ReadError::NotAFile { .. }
        ));
    }
}
