//! dm-verity hash trees, written natively in the format `veritysetup format` (cryptsetup 2.6)
//! writes by default, and checked offline.
//!
//! The image's read-only root filesystem is verified at boot by the kernel's dm-verity target.
//! This crate writes the *hash device* that target reads: a 512-byte verity superblock at the
//! start of the first hash block, then the levels of a Merkle tree of SHA-256 digests, the
//! top level first. Given the same data, salt and UUID, the hash device is byte-identical to
//! the one `veritysetup format --salt=HEX --uuid=UUID DATA HASH` writes, and the root hash is
//! the same.
//!
//! - [`Params`]: the typed parameters (block sizes, data blocks, salt, UUID, algorithm, hash
//!   type), what the superblock stores; [`Params::from_superblock`] parses one.
//! - [`Geometry`]: where each level of the tree lies on the hash device.
//! - [`TreeBuilder`]: fed the data device's bytes in order (any chunk sizes, zero runs
//!   without buffers), keeps only the digests, and returns a [`Tree`]: the root hash and the
//!   hash device as a [`eflow_extents::SparseRead`] stream ([`HashDevice`]).
//! - [`Tee`]: wraps the root filesystem's stream, passes it through unchanged and builds the
//!   tree on the way, so the tree is computed while the filesystem is written.
//! - [`DmTable`]: the device-mapper table line the initramfs (or `dm-mod.create=`) needs.
//! - [`verify`]: checks a data device against a hash device and a root hash, top down, and
//!   names the first bad block.
//!
//! The kernel's Documentation/admin-guide/device-mapper/verity.rst describes the format.

#![deny(missing_docs)]

mod builder;
mod error;
mod geometry;
mod hash;
mod params;
mod superblock;
mod table;
mod tee;
mod verifier;

pub use builder::{build, HashDevice, Tree, TreeBuilder};
pub use eflow_id::Guid;
pub use error::{Corruption, VerityError};
pub use geometry::{Geometry, Level};
pub use params::{Algorithm, HashType, Params, RootHash, MAX_SALT_SIZE};
pub use superblock::SUPERBLOCK_SIZE;
pub use table::DmTable;
pub use tee::{PendingHashDevice, Tee, TreeSlot};
pub use verifier::{verify, verify_bytes};
