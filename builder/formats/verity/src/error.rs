//! What can go wrong building, parsing or verifying a hash tree.

use std::io;

use crate::params::RootHash;

/// An error of this crate: bad parameters, a damaged superblock, a stream of the wrong
/// length, a device that fails verification, or I/O.
#[derive(Debug, thiserror::Error)]
pub enum VerityError {
    /// The parameters cannot describe a verity device (block sizes, salt, data size).
    #[error("invalid dm-verity parameters: {0}")]
    InvalidParams(String),
    /// A superblock field is damaged or unsupported.
    #[error("dm-verity superblock, {field}: {detail}")]
    Superblock {
        /// Which field (signature, version, hash type, algorithm, ...).
        field: &'static str,
        /// What is wrong with it and, where it helps, what was expected.
        detail: String,
    },
    /// The data fed to a builder is longer or shorter than its parameters say.
    #[error("the data device is {expected} bytes but {fed} were {how}")]
    DataSize {
        /// The data size from the parameters.
        expected: u64,
        /// How many bytes were fed (or would have been, for too many).
        fed: u64,
        /// "fed" or "fed at the end".
        how: &'static str,
    },
    /// A device given to the verifier is shorter than the tree needs.
    #[error("the {what} is {have} bytes, shorter than the {need} bytes its superblock needs")]
    Truncated {
        /// "hash device" or "data device".
        what: &'static str,
        /// Bytes the superblock's parameters need.
        need: u64,
        /// Bytes the device has.
        have: u64,
    },
    /// Verification found a block whose digest does not match.
    #[error("verification failed: {0}")]
    Corrupt(Corruption),
    /// Reading or writing failed.
    #[error("dm-verity I/O: {0}")]
    Io(#[from] io::Error),
}

impl VerityError {
    /// True when the devices were read and do not match (as opposed to unusable input):
    /// what a `verify` command reports as a failed check rather than an error.
    pub fn is_corruption(&self) -> bool {
        matches!(self, VerityError::Corrupt(_))
    }

    pub(crate) fn params(detail: impl Into<String>) -> Self {
        VerityError::InvalidParams(detail.into())
    }

    pub(crate) fn sb(field: &'static str, detail: impl Into<String>) -> Self {
        VerityError::Superblock {
            field,
            detail: detail.into(),
        }
    }
}

impl From<VerityError> for io::Error {
    fn from(e: VerityError) -> io::Error {
        match e {
            VerityError::Io(e) => e,
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        }
    }
}

/// The first block found not to match, checking from the root down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Corruption {
    /// The top hash block (the single data block, for a one-block device) does not hash to
    /// the expected root hash: that block is damaged or the root hash is the wrong one.
    RootHash {
        /// The root hash the device actually has.
        computed: RootHash,
    },
    /// A hash block does not match its digest in the (already verified) level above.
    HashBlock {
        /// Tree level, 0 being the digests of the data blocks.
        level: usize,
        /// Index of the block within its level.
        index: u64,
        /// Byte offset of the block on the hash device.
        offset: u64,
    },
    /// A data block does not match its digest in the (already verified) bottom level.
    DataBlock {
        /// Index of the data block.
        index: u64,
        /// Byte offset of the block on the data device.
        offset: u64,
    },
}

impl std::fmt::Display for Corruption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Corruption::RootHash { computed } => write!(
                f,
                "the tree's top block hashes to {computed}, not to the expected root hash \
                 (a damaged device, or the wrong root hash)"
            ),
            Corruption::HashBlock {
                level,
                index,
                offset,
            } => write!(
                f,
                "hash block {index} of level {level} (hash device offset {offset}) is damaged"
            ),
            Corruption::DataBlock { index, offset } => write!(
                f,
                "data block {index} (data device offset {offset}) does not match its hash"
            ),
        }
    }
}
