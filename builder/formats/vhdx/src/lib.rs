//! VHDX: a writer (dynamic or fixed) that streams a sparse disk into a reproducible VHDX
//! file, and a reader that validates a VHDX file and streams its virtual disk back; plus a
//! fixed VHD (v1) writer for platforms that take only that, and the disk container view
//! ([`DiskReader`]) that reads a raw disk, a VHDX or a fixed VHD alike.
//!
//! One module per on-disk structure (identifier, header, region table, metadata, BAT, log,
//! VHD footer), with the writers, the reader and the container view on top.
//!
//! The `serde` feature makes the types `inspect` shows serializable (GUIDs and the VHD disk
//! type as their text), so that a report can hold them as they are.

#![warn(missing_docs)]

mod bat;
mod bytes;
mod container;
mod error;
mod guid;
mod header;
mod ident;
mod log;
mod metadata;
mod overlay;
mod reader;
mod region;
mod vhd;
mod vhd_footer;
mod writer;

pub use container::{detect, Container, DiskFormat, DiskReader, DiskSlice};
pub use error::Error;
pub use guid::Guid;
pub use header::{Header, HeaderSlot};
pub use reader::{BlockCounts, Info, Reader};
pub use vhd::{write_vhd_fixed, write_vhd_fixed_with_progress, VhdOptions, VhdSummary};
pub use vhd_footer::{VhdDiskType, VhdFooter};
pub use writer::{write, write_with_progress, Kind, Options, Summary};

/// Serializes a field as its display text: GUIDs as lowercase 8-4-4-4-12 (as systemd and
/// blkid print them, whatever the byte order on disk), the VHD disk type as a word.
#[cfg(feature = "serde")]
fn as_text<T: std::fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}
