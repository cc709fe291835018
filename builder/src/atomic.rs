//! Nothing half-written: outputs go to a temporary name next to the target and are renamed
//! into place only when complete.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A file being written under a temporary name in the target's directory.
/// Dropped without [`Pending::commit`], it is removed.
pub struct Pending {
    file: Option<tempfile::NamedTempFile>,
    target: PathBuf,
}

impl Pending {
    /// Starts writing `target`.
    pub fn new(target: &Path) -> io::Result<Pending> {
        let dir = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let file = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".partial")
            .tempfile_in(dir)?;
        Ok(Pending {
            file: Some(file),
            target: target.to_path_buf(),
        })
    }

    /// The open file.
    pub fn file(&mut self) -> &mut File {
        self.file
            .as_mut()
            .expect("a pending file is present until committed")
            .as_file_mut()
    }

    /// Flushes to disk and renames to the target. Permissions become 0644 (not the
    /// temporary file's 0600), independent of the umask.
    pub fn commit(mut self) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let file = self.file.take().expect("commit is called once");
        file.as_file().sync_all()?;
        std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(0o644))?;
        file.persist(&self.target).map_err(|e| e.error)?;
        Ok(())
    }
}

/// Writes bytes to `path` atomically.
pub fn write(path: &Path, data: &[u8]) -> io::Result<()> {
    let mut p = Pending::new(path)?;
    p.file().write_all(data)?;
    p.commit()
}
