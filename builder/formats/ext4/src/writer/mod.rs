//! The writer: plans inode numbers and block allocation for a Tree, builds every metadata
//! block in memory, and returns an [`Ext4Image`] that streams the filesystem with file
//! contents read from the Tree on the fly, in content order.
//!
//! [`write`] runs the phases in layout order, each in its own file: [`journal`] (the resize
//! inode's block and the journal), `dirs` (directory blocks), `data` (symlink, xattr,
//! file data and extent tree blocks), then, once every block is placed, `inodes` (the inode
//! tables), `groups` (bitmaps and group descriptors) and `superblocks`.

mod data;
mod dirs;
mod groups;
mod inodes;
mod journal;
mod superblocks;

use std::collections::BTreeMap;

use eflow_tree::{Entry, Kind, Tree};

use crate::alloc::Alloc;
use crate::checksum::fs_seed;
use crate::error::Error;
use crate::extent::{self, Extent};
use crate::geometry::{Geometry, BLOCK_SIZE, FLEX_GROUPS};
use crate::image::{Ext4Image, Piece};
use crate::numbering::{number, Numbering};
use crate::reader::Summary;
use crate::sizing::{min_size, needs};

/// What to make: size and the identity of the filesystem.
#[derive(Clone, Debug)]
pub struct Options {
    /// Filesystem size in bytes, a multiple of 4096 (the partition size).
    pub size: u64,
    /// Filesystem UUID.
    pub uuid: [u8; 16],
    /// Seed of the directory hash (htree) function.
    pub hash_seed: [u8; 16],
    /// Volume label, at most 16 bytes.
    pub label: String,
    /// Filesystem-level times (creation, last write, last check): SOURCE_DATE_EPOCH.
    pub timestamp: i64,
}

const RESIZE_INO: u32 = 7;
const JOURNAL_INO: u32 = 8;

/// Turns allocated runs into extents of at most 32768 blocks, starting at file block `first`.
fn runs_to_extents(runs: &[(u64, u64)], first: u32, out: &mut Vec<Extent>) {
    let mut logical = first;
    for (start, len) in runs {
        let mut s = *start;
        let mut l = *len;
        while l > 0 {
            let n = l.min(extent::MAX_LEN as u64);
            // Merge with the previous extent when physically contiguous.
            match out.last_mut() {
                Some(p)
                    if p.start + p.len as u64 == s
                        && p.len as u64 + n <= extent::MAX_LEN as u64 =>
                {
                    p.len += n as u32;
                }
                _ => out.push(Extent {
                    logical,
                    start: s,
                    len: n as u32,
                }),
            }
            logical += n as u32;
            s += n;
            l -= n;
        }
    }
}

fn no_space(tree: &Tree, opts: &Options, alloc: &Alloc) -> Error {
    Error::NoSpace {
        size: opts.size,
        needed: needs(tree).blocks,
        free: alloc.free(),
        min_size: min_size(tree),
    }
}

/// Writes `tree` as an ext4 filesystem of `opts.size` bytes. Metadata is built now; file
/// contents are read from the tree when the returned image is read.
pub fn write(tree: &Tree, opts: &Options) -> Result<Ext4Image, Error> {
    if opts.label.len() > 16 {
        return Err(Error::InvalidSize {
            size: opts.size,
            reason: format!("label {:?} is longer than 16 bytes", opts.label),
        });
    }
    let lost_found = Entry {
        kind: Kind::Dir,
        mode: 0o700,
        uid: 0,
        gid: 0,
        mtime: opts.timestamp,
        xattrs: BTreeMap::new(),
    };
    let num = number(tree, &lost_found)?;
    let geo = Geometry::new(opts.size, num.nodes.len() as u64)?;
    let mut alloc = Alloc::new(geo.blocks);
    for (s, l) in geo.fixed_ranges() {
        alloc.mark(s, l);
    }
    // Like mke2fs, allocate after the first flex group's tables: the unused bitmap slots
    // before them stay free for the groups a later resize adds.
    let flex0_last = geo.meta[(FLEX_GROUPS.min(geo.groups) - 1) as usize];
    alloc.set_cursor(flex0_last.inode_table + geo.itable_blocks as u64);
    let mut b = Build {
        tree,
        opts,
        seed: fs_seed(&opts.uuid),
        max_ino: num.nodes.len() as u32,
        geo,
        alloc,
        num,
        pieces: Vec::new(),
    };
    // Allocation order is layout order: resize and journal blocks, directories, symlink and
    // xattr blocks, file data in content order, extent tree blocks.
    let journal = b.journal()?;
    b.directories()?;
    b.symlinks_and_xattrs()?;
    let sources = b.file_data()?;
    b.extent_blocks()?;
    let (itables, used_dirs) = b.inodes(&journal)?;
    let (descs, free_blocks, free_inodes) = b.groups(itables, &used_dirs);
    let sb = b.superblocks(&journal, &descs, free_blocks, free_inodes);
    let summary = Summary::of(&sb, BLOCK_SIZE);
    Ext4Image::new(opts.size, b.pieces, sources, summary)
}

/// The state of one write: the plan so far and the metadata blocks built.
struct Build<'a> {
    tree: &'a Tree,
    opts: &'a Options,
    seed: u32,
    max_ino: u32,
    geo: Geometry,
    alloc: Alloc,
    num: Numbering<'a>,
    pieces: Vec<Piece>,
}

/// `n` blocks from the allocator, or the error that says how large the filesystem must be.
fn take(alloc: &mut Alloc, tree: &Tree, opts: &Options, n: u64) -> Result<Vec<(u64, u64)>, Error> {
    match alloc.alloc_runs(n) {
        Some(r) => Ok(r),
        None => Err(no_space(tree, opts, alloc)),
    }
}

/// Puts the path of the entry into an error raised without one.
fn at_path(path: &str) -> impl Fn(Error) -> Error + '_ {
    move |e| match e {
        Error::Unsupported { reason, .. } => Error::Unsupported {
            path: path.into(),
            reason,
        },
        e => e,
    }
}

fn mem(block: u64, data: Vec<u8>) -> Piece {
    Piece::mem(block * BLOCK_SIZE, data)
}
