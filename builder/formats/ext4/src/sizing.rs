//! How much room a Tree needs, independent of the geometry, and the smallest filesystem
//! size that holds it ([`min_size`]).

use eflow_tree::{Kind, Tree};

use crate::dir;
use crate::extent;
use crate::geometry::{Geometry, BLOCK_SIZE, FIRST_INO};
use crate::numbering::LOST_FOUND_BLOCKS;

/// Blocks of file data (whole 4 KiB blocks; no hole detection).
pub fn file_blocks(size: u64) -> u64 {
    size.div_ceil(BLOCK_SIZE)
}

/// Everything [`min_size`] and [`crate::write`] count about a tree, independent of the geometry.
pub struct Needs {
    /// Blocks for directories, file data, slow symlinks, xattr blocks and extent blocks.
    pub blocks: u64,
    /// Inodes, the reserved ones included.
    pub inodes: u64,
}

/// Counts what `tree` needs (an upper bound for extent and index blocks).
pub fn needs(tree: &Tree) -> Needs {
    let mut blocks = 0u64;
    let mut inodes = FIRST_INO as u64;
    let mut has_lf = false;
    for (path, e) in tree.iter() {
        if path == "/lost+found" {
            has_lf = true;
        } else if path != "/" && !matches!(e.kind, Kind::HardLink { .. }) {
            inodes += 1;
        }
        match &e.kind {
            Kind::Dir => {
                let names = tree.children(path).map(|(n, _)| n.as_bytes());
                let mut n =
                    dir::blocks_needed(names.chain((path == "/").then_some(&b"lost+found"[..])));
                if path == "/lost+found" {
                    n = n.max(LOST_FOUND_BLOCKS);
                } else if n > 1 {
                    // Indexed: root, interior nodes, leaves split at hash boundaries.
                    n += 2 + n / 256;
                }
                blocks += n;
            }
            Kind::File { size, .. } => {
                let b = file_blocks(*size);
                // Extents may be cut at every group (metadata, journal): bound the leaf blocks.
                let ext = b.div_ceil(extent::MAX_LEN as u64) * 2 + 2;
                blocks += b + if ext > 4 {
                    ext.div_ceil(extent::BLOCK_MAX as u64)
                } else {
                    0
                };
            }
            Kind::Symlink { target } if target.len() >= 60 => blocks += 1,
            _ => {}
        }
        if !e.xattrs.is_empty() {
            blocks += 1;
        }
    }
    if !has_lf {
        blocks += LOST_FOUND_BLOCKS;
    }
    Needs { blocks, inodes }
}

/// Free blocks a filesystem of this geometry has for the tree (after fixed metadata,
/// journal and the resize inode's block).
fn free_for_tree(geo: &Geometry) -> u64 {
    let fixed: u64 = geo.fixed_ranges().iter().map(|(_, l)| l).sum();
    geo.blocks
        .saturating_sub(fixed + geo.journal_blocks as u64 + 1)
}

/// The smallest size (bytes, a multiple of 1 MiB) in which [`crate::write`] can write `tree`
/// while leaving the 5% reserved for root free, so callers can report "does not fit" early.
pub fn min_size(tree: &Tree) -> u64 {
    let n = needs(tree);
    let fits = |mib: u64| -> bool {
        match Geometry::new(mib << 20, n.inodes) {
            Ok(g) => free_for_tree(&g) >= n.blocks + g.reserved_blocks(),
            Err(_) => false,
        }
    };
    let (mut lo, mut hi) = (8u64, 8u64);
    while !fits(hi) {
        lo = hi;
        hi *= 2;
        if hi > 1 << 24 {
            return hi << 20;
        }
    }
    while lo < hi {
        let mid = (lo + hi) / 2;
        if fits(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    // The predicate is monotone except at group boundaries; step up until it holds.
    while !fits(hi) {
        hi += 1;
    }
    hi << 20
}
