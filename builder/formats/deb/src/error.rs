//! The errors of this crate: each names the package file and, where there is one, the entry.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong reading a .deb or unpacking it into a Tree.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The package file could not be opened or read.
    #[error("{package}: cannot read the package file: {source}")]
    Io {
        package: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The `ar` container is malformed (bad magic, header, size, member order).
    #[error("{package}: not a valid .deb (ar container): {reason}; the file is corrupt or not a Debian binary package")]
    Ar { package: PathBuf, reason: String },
    /// `debian-binary` does not announce format 2.x.
    #[error("{package}: unsupported .deb format version {version:?} (expected 2.x)")]
    Version { package: PathBuf, version: String },
    /// A member uses a compression this crate does not read.
    #[error("{package}: member {member} uses an unsupported compression; rebuild the package with gzip, xz, zstd or none")]
    Compression { package: PathBuf, member: String },
    /// A tar archive inside the package is malformed or truncated.
    #[error("{package}: {member}: malformed tar archive{}: {reason}", entry.as_ref().map(|e| format!(" at entry {e:?}")).unwrap_or_default())]
    Tar {
        package: PathBuf,
        member: String,
        entry: Option<String>,
        reason: String,
    },
    /// The control file is missing or malformed.
    #[error("{package}: control file: {reason}")]
    Control { package: PathBuf, reason: String },
    /// An entry of data.tar would be unsafe or impossible to install.
    #[error("package {package} ({file}): entry {entry:?}: {reason}")]
    Entry {
        package: String,
        file: PathBuf,
        entry: String,
        reason: String,
    },
    /// Two packages ship different objects at the same path and neither replaces the other.
    #[error("package {package} ships {path} (as {entry:?}), which is also in package {other} with different content, mode or owner; declare that {package} replaces {other}, or drop one of them")]
    Conflict {
        package: String,
        other: String,
        path: String,
        entry: String,
    },
    /// The Tree refused an entry (should not happen after the checks above).
    #[error("package {package}: entry {entry:?}: {source}")]
    Tree {
        package: String,
        entry: String,
        #[source]
        source: eflow_tree::TreeError,
    },
    /// The package file is not the one its lockfile pins.
    #[error("{package}: sha256 is {found}, but the lockfile pins {expected}: the file was replaced or damaged (in a package cache, delete it and build again)")]
    Digest {
        package: PathBuf,
        expected: String,
        found: String,
    },
    /// The unpacked contents of a package could not be written (a full disk, an unwritable
    /// store directory).
    #[error("{package}: cannot keep the unpacked contents: {source}")]
    Store {
        package: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The dpkg database could not be written into the Tree.
    #[error("dpkg database: {reason}")]
    Database { reason: String },
}

impl Error {
    pub(crate) fn io(package: &std::path::Path, source: io::Error) -> Self {
        Error::Io {
            package: package.to_path_buf(),
            source,
        }
    }

    pub(crate) fn ar(package: &std::path::Path, reason: impl Into<String>) -> Self {
        Error::Ar {
            package: package.to_path_buf(),
            reason: reason.into(),
        }
    }
}
