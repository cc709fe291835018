//! cpio "newc" archives, the format of the Linux initramfs, written from the Tree: entries
//! in path order, deterministic inode numbers, hard links as GNU cpio writes them, and an
//! optional gzip or zstd wrapper with reproducible bytes. A reader lists archives back.

mod compress;
mod header;
mod read;
mod write;

pub use compress::{write_compressed, Compression};
pub use header::Header;
pub use read::{read_newc, Member};
pub use write::{archive_name, write_newc};

/// What is wrong with an archive being read.
#[derive(Debug, thiserror::Error)]
pub enum CpioError {
    /// The archive ends in the middle of a member.
    #[error("cpio archive truncated at byte {offset} ({what})")]
    Truncated { offset: u64, what: String },
    /// A header or name is malformed.
    #[error("cpio archive corrupt at byte {offset}: {detail}")]
    Corrupt { offset: u64, detail: String },
}
