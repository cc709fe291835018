//! Per block group: the block and inode bitmaps and the group descriptor table.

use super::{mem, Build};
use crate::checksum::crc32c_raw;
use crate::geometry::{BLOCKS_PER_GROUP, BLOCK_SIZE, DESC_SIZE};
use crate::group_desc::{GroupDesc, BG_INODE_ZEROED};

impl Build<'_> {
    /// Block and inode bitmaps and the group descriptor table; returns the table and the
    /// free block and inode totals.
    pub(super) fn groups(
        &mut self,
        mut itables: Vec<Vec<u8>>,
        used_dirs: &[u32],
    ) -> (Vec<u8>, u64, u64) {
        let (geo, seed, max_ino) = (&self.geo, self.seed, self.max_ino);
        let ipg = geo.inodes_per_group;
        let mut descs = vec![0u8; geo.desc_blocks as usize * BLOCK_SIZE as usize];
        let mut total_free_blocks = 0u64;
        let mut total_free_inodes = 0u64;
        for g in 0..geo.groups {
            let m = geo.meta[g as usize];
            let (bb, free_blocks) = self.alloc.bitmap(geo.group_start(g), geo.group_len(g));
            let first = g * ipg + 1;
            let used_inodes = max_ino.saturating_sub(first - 1).min(ipg);
            let mut ib = vec![0xFFu8; BLOCK_SIZE as usize];
            ib[..(ipg / 8) as usize].fill(0);
            for i in 0..used_inodes {
                ib[(i / 8) as usize] |= 1 << (i % 8);
            }
            let d = GroupDesc {
                block_bitmap: m.block_bitmap,
                inode_bitmap: m.inode_bitmap,
                inode_table: m.inode_table,
                free_blocks: free_blocks as u32,
                free_inodes: ipg - used_inodes,
                used_dirs: used_dirs[g as usize],
                flags: BG_INODE_ZEROED,
                block_bitmap_csum: crc32c_raw(seed, &bb[..(BLOCKS_PER_GROUP / 8) as usize]),
                inode_bitmap_csum: crc32c_raw(seed, &ib[..(ipg / 8) as usize]),
                itable_unused: ipg - used_inodes,
            };
            d.encode(g, seed, &mut descs[g as usize * DESC_SIZE..]);
            total_free_blocks += free_blocks;
            total_free_inodes += (ipg - used_inodes) as u64;
            self.pieces.push(mem(m.block_bitmap, bb));
            self.pieces.push(mem(m.inode_bitmap, ib));
            let t = std::mem::take(&mut itables[g as usize]);
            if !t.is_empty() {
                self.pieces.push(mem(m.inode_table, t));
            }
        }
        (descs, total_free_blocks, total_free_inodes)
    }
}
