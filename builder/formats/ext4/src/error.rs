//! Errors of the ext4 writer and reader.

use std::io;

/// Why an ext4 image could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The requested filesystem size is unusable.
    #[error("invalid ext4 size {size} bytes: {reason}")]
    InvalidSize {
        /// The requested size.
        size: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// The tree's contents and metadata do not fit in the requested size.
    #[error("the tree needs {needed} blocks of 4 KiB but the {size}-byte filesystem has {free} free: choose a size of at least {min_size} bytes (ext4::min_size)")]
    NoSpace {
        /// The requested size.
        size: u64,
        /// Blocks the tree needs (estimate).
        needed: u64,
        /// Blocks that were still free when allocation failed.
        free: u64,
        /// The size [`crate::min_size`] recommends.
        min_size: u64,
    },
    /// The tree has more entries than the inode tables can hold.
    #[error("the tree needs {needed} inodes but a {size}-byte filesystem can have at most {max}: use a larger size")]
    TooManyInodes {
        /// The requested size.
        size: u64,
        /// Inodes the tree needs.
        needed: u64,
        /// Inodes this size can hold (0 when the layout itself does not fit).
        max: u64,
    },
    /// An entry cannot be represented in ext4.
    #[error("{path}: {reason}")]
    Unsupported {
        /// The tree path.
        path: String,
        /// Why ext4 cannot store it.
        reason: String,
    },
    /// The image being read is not a valid ext4 filesystem (or uses features the reader lacks).
    #[error("corrupt or unsupported ext4 image: {0}")]
    Corrupt(String),
    /// A path looked up by the reader does not exist.
    #[error("{0}: no such file or directory in the ext4 image")]
    NotFound(String),
    /// I/O error while reading an image.
    #[error("I/O error reading the ext4 image: {0}")]
    Io(#[from] io::Error),
}
