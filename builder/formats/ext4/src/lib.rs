//! A native ext4 filesystem writer and reader.
//!
//! [`write`] lays out an ext4 filesystem for a [`eflow_tree::Tree`] without touching the host
//! filesystem and returns an [`Ext4Image`]: a [`eflow_extents::SparseRead`] stream whose
//! metadata is built in memory and whose file contents are read from the Tree while the
//! stream is consumed. [`Ext4Reader`] reads ext4 filesystems back (tests, `inspect`);
//! [`is_ext4`] and [`probe`] tell and summarize one for `inspect` (the `serde` feature
//! makes the [`Summary`] serializable).
//!
//! What the image looks like, and why:
//! - The features of `mke2fs -t ext4` (e2fsprogs 1.47): 4 KiB blocks, extents, 64bit,
//!   flex_bg (16), sparse_super, large_file, huge_file, dir_nlink, extra_isize (32),
//!   metadata_csum (crc32c), filetype, ext_attr, dir_index, a jbd2 journal (inode 8, sized and
//!   placed mid-disk as mke2fs does) and resize_inode with mke2fs's reserved GDT blocks, so
//!   the guest can grow the filesystem (resize2fs, systemd-growfs). Group layout, inode
//!   counts (one per 16 KiB; 4 KiB under 512 MiB, 32 KiB from 4 TiB), reserved blocks (5%)
//!   and lost+found (inode 11, 16 KiB) match
//!   mke2fs; the block groups' UNINIT flags are not used (every bitmap is written).
//! - Allocation is deterministic and front to back: directories, slow symlinks and xattr
//!   blocks first, then file data in [`eflow_tree::Tree::files_in_content_order`] order, so
//!   reading the image opens each content once, in order; extent tree blocks last.
//! - Every block of a file is allocated (holes are not detected): a sparse source file costs
//!   its full size on the filesystem, but zero data still becomes holes in a raw image
//!   because [`eflow_extents::write_raw`] skips zero blocks.
//! - Directories over one block get a half-MD4 htree index seeded with the hash seed (one or
//!   two levels); smaller ones are linear. Xattrs live in the inode when they fit, otherwise
//!   in one xattr block shared by every inode with the same set.
//! - Inode numbers follow path order (root 2, lost+found 11, then 12, 13, ...); hard links
//!   share their target's inode. Times: atime = ctime = crtime = mtime of the entry;
//!   filesystem times are [`Options::timestamp`].

#![deny(missing_docs)]

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
mod numbering;
mod reader;
mod resize;
mod sizing;
mod superblock;
mod writer;
mod xattr;

pub use error::Error;
pub use image::Ext4Image;
pub use reader::{probe, DirEntry, Ext4Reader, FileType, Stat, Summary};
pub use sizing::min_size;
pub use superblock::is_ext4;
pub use writer::{write, Options};

/// Serializes a field as its display text (the UUID as lowercase 8-4-4-4-12).
#[cfg(feature = "serde")]
fn as_text<T: std::fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}
