//! Where the journal goes (the middle of the disk, as mke2fs puts it) and its blocks,
//! with the resize inode's double-indirect block allocated just before.

use super::{mem, no_space, runs_to_extents, take, Build, JOURNAL_INO};
use crate::alloc::Alloc;
use crate::checksum::inode_seed;
use crate::error::Error;
use crate::extent;
use crate::geometry::{Geometry, BLOCKS_PER_GROUP, FLEX_GROUPS};
use crate::journal;

/// Where the resize inode's block and the journal went.
pub(super) struct Journal {
    pub(super) dind: u64,
    pub(super) len: u64,
    pub(super) leaves: Vec<u64>,
    pub(super) root: [u8; 60],
}

/// The group whose start the journal goes to, chosen as mke2fs does: the middle group (or
/// its neighbour with the most free blocks), rounded down to a flex group start on large
/// filesystems.
fn journal_group(geo: &Geometry, alloc: &Alloc) -> u32 {
    let free = |g: u32| alloc.free_in(geo.group_start(g), geo.group_len(g));
    let mut group = ((geo.blocks / 2) / BLOCKS_PER_GROUP as u64) as u32;
    let start;
    if group > FLEX_GROUPS {
        group &= !(FLEX_GROUPS - 1);
        while group < geo.groups && free(group) == 0 {
            group += 1;
        }
        if group == geo.groups {
            group = 0;
        }
        start = group;
    } else {
        start = group.saturating_sub(1);
    }
    let end = if group + 1 < geo.groups {
        group + 1
    } else {
        group
    };
    let mut best = start;
    for g in start + 1..=end {
        if free(g) > free(best) {
            best = g;
        }
    }
    best
}

impl Build<'_> {
    /// The resize inode's double-indirect block, then the journal in the middle of the disk.
    pub(super) fn journal(&mut self) -> Result<Journal, Error> {
        let (tree, opts) = (self.tree, self.opts);
        let dind = take(&mut self.alloc, tree, opts, 1)?[0].0;
        let jgroup = journal_group(&self.geo, &self.alloc);
        let len = self.geo.journal_blocks as u64;
        let start = self
            .alloc
            .alloc_contiguous(self.geo.group_start(jgroup), len)
            .or_else(|| self.alloc.alloc_contiguous(0, len))
            .ok_or_else(|| no_space(tree, opts, &self.alloc))?;
        self.pieces.push(mem(
            start,
            journal::superblock(self.geo.journal_blocks, &opts.uuid),
        ));
        let mut ext = Vec::new();
        runs_to_extents(&[(start, len)], 0, &mut ext);
        // A 1 GiB journal (filesystems of 128 GiB and more) has 8 extents: one leaf block.
        let mut leaves = Vec::new();
        for _ in 0..extent::leaf_blocks_needed(ext.len())? {
            leaves.push(take(&mut self.alloc, tree, opts, 1)?[0].0);
        }
        let (root, blocks) = extent::encode(&ext, &leaves, inode_seed(self.seed, JOURNAL_INO, 0));
        for (b, data) in leaves.iter().zip(blocks) {
            self.pieces.push(mem(*b, data));
        }
        Ok(Journal {
            dind,
            len,
            leaves,
            root,
        })
    }
}
