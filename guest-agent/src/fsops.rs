//! The agent's file operations: guest paths checked and placed under the agent's root, files
//! written atomically (temporary name, fsync, rename, directory fsync) and read with a cap.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::protocol::{ErrorBody, ErrorCode};

/// Checks a guest path from a request (absolute, no NUL, no `..`, not empty of components)
/// and returns it under `root` (`/` in production; a temporary directory in tests).
pub fn resolve(root: &Path, guest: &str) -> Result<PathBuf, ErrorBody> {
    let bad = |m: &str| ErrorBody::new(ErrorCode::BadRequest, format!("path {guest:?}: {m}"));
    if guest.contains('\0') {
        return Err(bad("contains NUL"));
    }
    if !guest.starts_with('/') {
        return Err(bad("must be absolute"));
    }
    let mut out = root.to_path_buf();
    let mut parts = 0;
    for c in Path::new(guest).components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(p) => {
                out.push(p);
                parts += 1;
            }
            // `..` would let a test root be escaped, and nothing legitimate needs it.
            Component::ParentDir => return Err(bad("must not contain `..`")),
            Component::Prefix(_) => return Err(bad("has a prefix")),
        }
    }
    if parts == 0 {
        return Err(bad("names no file"));
    }
    Ok(out)
}

/// Maps an I/O error on `what` to a protocol error (not_found keeps its own code).
pub fn io_error(what: &str, e: &io::Error) -> ErrorBody {
    let code = if e.kind() == io::ErrorKind::NotFound {
        ErrorCode::NotFound
    } else {
        ErrorCode::Io
    };
    ErrorBody::new(code, format!("{what}: {e}"))
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Ownership to give a written file; applied only when the agent runs as root.
#[derive(Debug, Clone, Copy)]
pub struct Owner {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

/// Writes `data` to `path` atomically with permission bits `mode` (umask ignored): a
/// temporary file in the same directory, fsync, rename over `path`, fsync of the directory.
/// On failure the temporary file is removed and `path` is untouched.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32, owner: Option<Owner>) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no directory"))?;
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    if !dir.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("directory {} does not exist", dir.display()),
        ));
    }
    let tmp = dir.join(format!(
        ".{}.eflow-agent-{}-{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)?;
        if let Some(o) = owner {
            // SAFETY: geteuid has no preconditions.
            if unsafe { libc::geteuid() } == 0 {
                std::os::unix::fs::fchown(&f, Some(o.uid), Some(o.gid))?;
            }
        }
        f.write_all(data)?;
        // After fchown (which clears set-id bits) and explicit, so the umask does not apply.
        f.set_permissions(fs::Permissions::from_mode(mode & 0o7777))?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Reads a regular file of at most `max` bytes; returns its content and permission bits.
pub fn read_capped(path: &Path, max: usize) -> Result<(Vec<u8>, u32), ErrorBody> {
    let shown = path.display().to_string();
    let f = File::open(path).map_err(|e| io_error(&shown, &e))?;
    let meta = f.metadata().map_err(|e| io_error(&shown, &e))?;
    if !meta.is_file() {
        return Err(ErrorBody::new(
            ErrorCode::BadRequest,
            format!("{shown}: not a regular file"),
        ));
    }
    if meta.len() > max as u64 {
        return Err(ErrorBody::new(
            ErrorCode::TooLarge,
            format!(
                "{shown}: {} bytes, over the {max}-byte copy-out limit",
                meta.len()
            ),
        ));
    }
    let mut data = Vec::with_capacity(meta.len() as usize);
    // One more byte than allowed tells a file that grew since the metadata read.
    f.take(max as u64 + 1)
        .read_to_end(&mut data)
        .map_err(|e| io_error(&shown, &e))?;
    if data.len() > max {
        return Err(ErrorBody::new(
            ErrorCode::TooLarge,
            format!("{shown}: over the {max}-byte copy-out limit"),
        ));
    }
    Ok((data, meta.permissions().mode() & 0o7777))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_checks_paths() {
        let root = Path::new("/tmp/r");
        assert_eq!(resolve(root, "/etc/x").unwrap(), Path::new("/tmp/r/etc/x"));
        assert_eq!(
            resolve(root, "/etc/./x").unwrap(),
            Path::new("/tmp/r/etc/x")
        );
        for bad in ["etc/x", "/etc/../x", "/a\0b", "/", ""] {
            assert_eq!(
                resolve(root, bad).unwrap_err().code,
                ErrorCode::BadRequest,
                "{bad}"
            );
        }
    }

    #[test]
    fn atomic_write_sets_mode_and_replaces() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        write_atomic(&p, b"one", 0o640, None).unwrap();
        write_atomic(&p, b"two", 0o600, None).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o7777,
            0o600
        );
        assert_eq!(
            fs::read_dir(d.path()).unwrap().count(),
            1,
            "no temporary left"
        );
        let err = write_atomic(&d.path().join("missing/f"), b"x", 0o600, None).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn read_capped_limits() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        fs::write(&p, b"12345").unwrap();
        assert_eq!(read_capped(&p, 5).unwrap().0, b"12345");
        assert_eq!(read_capped(&p, 4).unwrap_err().code, ErrorCode::TooLarge);
        assert_eq!(
            read_capped(d.path(), 4).unwrap_err().code,
            ErrorCode::BadRequest
        );
        assert_eq!(
            read_capped(&d.path().join("nope"), 4).unwrap_err().code,
            ErrorCode::NotFound
        );
    }
}
