//! The crate's error type: what went wrong, where in the file, and what to do.

use std::io;

/// Everything that can go wrong while writing or reading a VHDX or VHD file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The host file could not be read or written.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// A structure of the input file breaks the format; `offset` is its byte offset in the file.
    #[error("corrupt VHDX: {structure} at byte offset {offset}: {problem}")]
    Corrupt {
        /// Which on-disk structure (e.g. "header 1", "BAT entry 12").
        structure: String,
        /// Where it starts in the file.
        offset: u64,
        /// What is wrong with it.
        problem: String,
    },
    /// A valid file that uses a feature this crate deliberately does not handle.
    #[error("unsupported VHDX: {0}")]
    Unsupported(String),
    /// The caller asked for something the format cannot represent.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// The sparse input stream broke its contract (wrong length, oversized segment).
    #[error("bad input stream: {0}")]
    Input(String),
    /// A file ends in a VHD footer (its `conectix` cookie) that is damaged or disagrees
    /// with the file around it.
    #[error("corrupt VHD footer: {0}")]
    CorruptVhd(String),
    /// A valid VHD of a kind only other tools read (dynamic, differencing): the text names it.
    #[error(
        "{0} VHD files are not supported (only fixed VHDs): convert it with another tool first"
    )]
    UnsupportedVhd(String),
}

/// Shorthand for building an [`Error::Corrupt`].
pub(crate) fn corrupt(
    structure: impl Into<String>,
    offset: u64,
    problem: impl Into<String>,
) -> Error {
    Error::Corrupt {
        structure: structure.into(),
        offset,
        problem: problem.into(),
    }
}
