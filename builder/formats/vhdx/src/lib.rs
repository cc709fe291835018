//! VHDX: a writer (dynamic or fixed) that streams a sparse disk into a reproducible VHDX
//! file, and a reader that validates a VHDX file and streams its virtual disk back; plus a
//! fixed VHD (v1) writer for platforms that take only that.
//!
//! One module per on-disk structure (identifier, header, region table, metadata, BAT, log),
//! with the writer and the reader on top.

#![warn(missing_docs)]

mod bat;
mod bytes;
mod convert;
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
mod writer;

pub use convert::{detect, raw_to_vhd, raw_to_vhdx, vhdx_to_raw, ImageFormat};
pub use error::Error;
pub use guid::Guid;
pub use header::Header;
pub use reader::{BlockCounts, Info, Reader};
pub use vhd::{write_vhd_fixed, write_vhd_fixed_with_progress, VhdOptions, VhdSummary};
pub use writer::{write, write_with_progress, Kind, Options, Summary};
