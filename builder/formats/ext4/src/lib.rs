//! A native ext4 filesystem writer and reader.
//!
//! [`write`] lays out an ext4 filesystem (4 KiB blocks, extents, 64bit, flex_bg, huge_file,
//! dir_nlink, extra_isize, metadata_csum, a jbd2 journal, resize_inode) for a
//! [`eflow_tree::Tree`] without touching the host filesystem, and returns an [`Ext4Image`]:
//! a sparse stream whose metadata is built in memory and whose file contents are read from
//! the Tree, once each and in content order, while the stream is consumed.
//! [`Ext4Reader`] reads such filesystems back (for tests and `inspect`).

mod alloc;
mod bytes;
mod checksum;
mod dir;
mod dirhash;
mod error;
mod extent;
mod geometry;
mod group_desc;
mod htree;
mod image;
mod inode;
mod journal;
mod reader;
mod resize;
mod superblock;
mod writer;
mod xattr;

pub use error::Error;
pub use image::Ext4Image;
pub use reader::{DirEntry, Ext4Reader, FileType, Stat, Summary};
pub use writer::{min_size, write, Options};
