//! Identity of an image: the [`Seed`] every id in its outputs derives from, and the one
//! [`Guid`] type that GPT, VHDX, ext4 and the manifest share.
//!
//! Reproducibility rests on this crate: an id is never random, it is a SHA-256 of the seed
//! and a purpose ("partition:root", "vhdx file write guid", ...), so the same inputs give
//! the same bytes and different purposes never collide.

#![warn(missing_docs)]

mod guid;
mod seed;

pub use guid::{Guid, ParseGuidError};
pub use seed::Seed;
