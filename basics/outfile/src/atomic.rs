//! Nothing half-written: a file is written under a temporary name in its target's directory
//! and appears under its final name only when complete.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::{DigestingFile, Digests};

/// A file being written under a temporary name next to its target. Dropped without
/// [`AtomicFile::commit`] (an error, a panic), the temporary file is removed.
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    target: PathBuf,
    mode: u32,
}

/// Refuses a target that exists and is not a regular file (or a link, which the rename
/// replaces without following): renaming over a device node, FIFO or socket would destroy
/// it (`convert x.raw /dev/null` as root), and a directory cannot be replaced.
pub fn check_target(target: &Path) -> io::Result<()> {
    match fs::symlink_metadata(target) {
        Ok(m) if m.file_type().is_file() || m.file_type().is_symlink() => Ok(()),
        Ok(m) => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} exists and is not a regular file ({}): refusing to replace it",
                target.display(),
                kind_name(&m.file_type())
            ),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn kind_name(t: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a directory"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

impl AtomicFile {
    /// Starts writing `target`: a new temporary file `.NAME.XXXXXX.partial` in the same
    /// directory, created exclusively with mode 0600. The target becomes 0644 on commit
    /// unless [`AtomicFile::mode`] says otherwise.
    pub fn create(target: &Path) -> io::Result<AtomicFile> {
        check_target(target)?;
        let dir = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{} names no file", target.display()),
                )
            })?;
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".partial")
            .tempfile_in(dir)?;
        Ok(AtomicFile {
            tmp,
            target: target.to_path_buf(),
            mode: 0o644,
        })
    }

    /// The mode the file gets when committed (exactly, whatever the umask).
    pub fn mode(mut self, mode: u32) -> AtomicFile {
        self.mode = mode;
        self
    }

    /// The open temporary file.
    pub fn file(&mut self) -> &mut File {
        self.tmp.as_file_mut()
    }

    /// A writer over the temporary file that digests what is written.
    pub fn digesting(&mut self) -> DigestingFile<'_> {
        DigestingFile::new(self.tmp.as_file_mut())
    }

    /// Where the file is going.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Flushes to disk, sets the mode and renames onto the target (replacing a regular file
    /// there), then flushes the directory so the rename survives a crash.
    pub fn commit(self) -> io::Result<()> {
        self.finish(false)
    }

    /// As [`AtomicFile::commit`], but fails with `AlreadyExists` if the target exists (keys
    /// are never overwritten).
    pub fn commit_new(self) -> io::Result<()> {
        self.finish(true)
    }

    fn finish(mut self, no_clobber: bool) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        self.tmp.as_file_mut().flush()?;
        self.tmp.as_file().sync_all()?;
        fs::set_permissions(self.tmp.path(), fs::Permissions::from_mode(self.mode))?;
        // The target may have become something else since `create`.
        check_target(&self.target)?;
        let target = self.target.clone();
        if no_clobber {
            self.tmp.persist_noclobber(&target).map_err(|e| e.error)?;
        } else {
            self.tmp.persist(&target).map_err(|e| e.error)?;
        }
        if let Some(dir) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
            // Best effort: not every filesystem lets a directory be opened for sync.
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

/// Writes `bytes` to `path` atomically with `mode`, returning their digests.
pub fn write(path: &Path, bytes: &[u8], mode: u32) -> io::Result<Digests> {
    let mut f = AtomicFile::create(path)?.mode(mode);
    let mut w = f.digesting();
    w.write_all(bytes)?;
    let digests = w.finish()?;
    f.commit()?;
    Ok(digests)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn appears_only_on_commit_with_its_mode() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("out.bin");
        let mut f = AtomicFile::create(&target).unwrap().mode(0o640);
        f.file().write_all(b"hello").unwrap();
        assert!(!target.exists());
        f.commit().unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"hello");
        assert_eq!(
            fs::metadata(&target).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn dropped_leaves_nothing() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("out.bin");
        {
            let mut f = AtomicFile::create(&target).unwrap();
            f.file().write_all(b"partial").unwrap();
        }
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 0);
    }

    #[test]
    fn refuses_special_files_and_clobbering_when_asked() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo on a NUL-terminated path we own.
        assert_eq!(unsafe { libc_mkfifo(c.as_ptr(), 0o644) }, 0);
        let e = AtomicFile::create(&fifo).err().unwrap();
        assert!(e.to_string().contains("FIFO"), "{e}");
        assert!(AtomicFile::create(d.path()).is_err());

        let key = d.path().join("key");
        write(&key, b"one", 0o600).unwrap();
        let mut f = AtomicFile::create(&key).unwrap();
        f.file().write_all(b"two").unwrap();
        assert_eq!(
            f.commit_new().unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        assert_eq!(fs::read(&key).unwrap(), b"one");
    }

    extern "C" {
        #[link_name = "mkfifo"]
        fn libc_mkfifo(path: *const std::ffi::c_char, mode: u32) -> i32;
    }
}
