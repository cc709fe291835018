//! Filesystem geometry: block groups, flex groups, superblock backups, reserved GDT blocks,
//! inode table sizes and the journal size, chosen the way `mke2fs -t ext4` chooses them for
//! a given size with 4 KiB blocks, so the guest sees an ordinary, growable ext4.

use crate::error::Error;

/// Block size in bytes (always 4 KiB).
pub const BLOCK_SIZE: u64 = 4096;
/// Blocks per block group (one 4 KiB bitmap block covers 32768 blocks).
pub const BLOCKS_PER_GROUP: u32 = 32768;
/// On-disk inode size (mke2fs default).
pub const INODE_SIZE: u32 = 256;
/// Inodes in one inode-table block.
pub const INODES_PER_BLOCK: u32 = (BLOCK_SIZE as u32) / INODE_SIZE;
/// Groups per flex group (log2 = 4, mke2fs default).
pub const FLEX_GROUPS: u32 = 16;
/// Group descriptor size with the 64bit feature.
pub const DESC_SIZE: usize = 64;
/// Bytes of filesystem per inode, by mke2fs.conf's size types: "small" (under 512 MiB)
/// 4096, the default 16384, "big" (4 TiB and more) 32768.
pub fn inode_ratio(bytes: u64) -> u64 {
    if bytes < 512 << 20 {
        4096
    } else if bytes < 4 << 40 {
        16384
    } else {
        32768
    }
}
/// First non-reserved inode number.
pub const FIRST_INO: u32 = 11;
/// Smallest filesystem this writer makes (mke2fs needs 2048 blocks for a journal).
pub const MIN_BLOCKS: u64 = 2048;

/// Where one group's bitmaps and inode table live.
#[derive(Clone, Copy, Debug)]
pub struct GroupMeta {
    pub block_bitmap: u64,
    pub inode_bitmap: u64,
    pub inode_table: u64,
}

/// The computed layout of a filesystem of a given size.
#[derive(Clone, Debug)]
pub struct Geometry {
    /// Blocks in the filesystem (may be less than the image size / 4096, see [`Geometry::new`]).
    pub blocks: u64,
    pub groups: u32,
    pub inodes_per_group: u32,
    pub itable_blocks: u32,
    pub desc_blocks: u32,
    pub reserved_gdt: u32,
    pub journal_blocks: u32,
    pub meta: Vec<GroupMeta>,
}

/// True when group `g` holds a superblock and GDT copy (sparse_super: 0, 1, powers of 3, 5, 7).
pub fn has_super(g: u32) -> bool {
    if g <= 1 {
        return true;
    }
    for base in [3u32, 5, 7] {
        let mut p = base;
        while p < g {
            match p.checked_mul(base) {
                Some(n) => p = n,
                None => break,
            }
        }
        if p == g {
            return true;
        }
    }
    false
}

/// The journal size in blocks mke2fs picks for a filesystem of `blocks` 4 KiB blocks.
pub fn journal_blocks(blocks: u64) -> u32 {
    match blocks {
        b if b < 32768 => 1024,
        b if b < 256 * 1024 => 4096,
        b if b < 512 * 1024 => 8192,
        b if b < 4096 * 1024 => 16384,
        b if b < 8192 * 1024 => 32768,
        b if b < 16384 * 1024 => 65536,
        b if b < 32768 * 1024 => 131072,
        _ => 262144,
    }
}

fn div_ceil(a: u64, b: u64) -> u64 {
    a.div_ceil(b)
}

impl Geometry {
    /// Lays out a filesystem of `size` bytes with room for at least `min_inodes` inodes
    /// (the reserved ones included). Like mke2fs, a last group too small to be useful is dropped.
    pub fn new(size: u64, min_inodes: u64) -> Result<Geometry, Error> {
        let bad = |reason: &str| Error::InvalidSize {
            size,
            reason: reason.to_string(),
        };
        if !size.is_multiple_of(BLOCK_SIZE) {
            return Err(bad("not a multiple of 4096"));
        }
        let mut blocks = size / BLOCK_SIZE;
        if blocks < MIN_BLOCKS {
            return Err(bad("smaller than 8 MiB"));
        }
        if blocks >= 1 << 32 {
            // resize_inode and the 32-bit group arithmetic below hold up to 2^32 blocks (16 TiB).
            return Err(bad("16 TiB or more is not supported"));
        }
        let (desc_blocks, reserved_gdt) = loop {
            let groups = div_ceil(blocks, BLOCKS_PER_GROUP as u64) as u32;
            let desc_blocks = div_ceil(groups as u64 * DESC_SIZE as u64, BLOCK_SIZE) as u32;
            let reserved_gdt = reserved_gdt_blocks(blocks, desc_blocks);
            let last = blocks - (groups as u64 - 1) * BLOCKS_PER_GROUP as u64;
            let last_overhead = if has_super(groups - 1) {
                1 + desc_blocks as u64 + reserved_gdt as u64
            } else {
                0
            };
            if groups > 1 && last < last_overhead + 50 {
                blocks -= last;
                continue;
            }
            break (desc_blocks, reserved_gdt);
        };
        let groups = div_ceil(blocks, BLOCKS_PER_GROUP as u64) as u32;

        // Inodes: mke2fs's ratio for the size, or more if the tree needs them; whole table blocks.
        let default_inodes = blocks * BLOCK_SIZE / inode_ratio(size);
        let want = default_inodes.max(min_inodes);
        let mut ipg = div_ceil(want, groups as u64);
        ipg = div_ceil(ipg, INODES_PER_BLOCK as u64) * INODES_PER_BLOCK as u64;
        let max_ipg = BLOCKS_PER_GROUP as u64; // one bitmap block
        if ipg > max_ipg || ipg * groups as u64 >= 1 << 32 {
            return Err(Error::TooManyInodes {
                size,
                needed: min_inodes,
                max: max_ipg * groups as u64,
            });
        }
        let ipg = ipg as u32;
        let itable_blocks = ipg / INODES_PER_BLOCK;

        // Flex groups: each flex group's block bitmaps, then inode bitmaps, then inode tables,
        // packed at the start of its first group (after that group's superblock copy).
        let mut meta = Vec::with_capacity(groups as usize);
        let mut g = 0u32;
        while g < groups {
            let n = FLEX_GROUPS.min(groups - g);
            let mut start = g as u64 * BLOCKS_PER_GROUP as u64;
            if has_super(g) {
                start += 1 + desc_blocks as u64 + reserved_gdt as u64;
            }
            // mke2fs spaces the bitmaps by the groups in the flex group, but by 16 when the
            // last flex group holds a single group.
            let slots = if n == 1 { FLEX_GROUPS } else { n } as u64;
            for i in 0..n {
                meta.push(GroupMeta {
                    block_bitmap: start + i as u64,
                    inode_bitmap: start + slots + i as u64,
                    inode_table: start + 2 * slots + i as u64 * itable_blocks as u64,
                });
            }
            let end = start + 2 * slots + n as u64 * itable_blocks as u64;
            // The packed tables must not run into a later group's superblock copy.
            let hits_backup = (g + 1..groups).filter(|h| has_super(*h)).any(|h| {
                let s = h as u64 * BLOCKS_PER_GROUP as u64;
                s < end
            });
            if end > blocks || hits_backup {
                return Err(Error::TooManyInodes {
                    size,
                    needed: min_inodes,
                    max: 0,
                });
            }
            g += n;
        }
        Ok(Geometry {
            blocks,
            groups,
            inodes_per_group: ipg,
            itable_blocks,
            desc_blocks,
            reserved_gdt,
            journal_blocks: journal_blocks(blocks),
            meta,
        })
    }

    /// Total inodes.
    pub fn inodes(&self) -> u64 {
        self.inodes_per_group as u64 * self.groups as u64
    }

    /// First block of group `g`.
    pub fn group_start(&self, g: u32) -> u64 {
        g as u64 * BLOCKS_PER_GROUP as u64
    }

    /// Number of blocks in group `g` (the last one may be short).
    pub fn group_len(&self, g: u32) -> u64 {
        (self.blocks - self.group_start(g)).min(BLOCKS_PER_GROUP as u64)
    }

    /// Blocks taken by a superblock copy, its GDT and reserved GDT blocks.
    pub fn super_overhead(&self) -> u64 {
        1 + self.desc_blocks as u64 + self.reserved_gdt as u64
    }

    /// Reserved blocks for root (5%, as mke2fs).
    pub fn reserved_blocks(&self) -> u64 {
        self.blocks * 5 / 100
    }

    /// Every fixed metadata range (superblock copies, GDTs, reserved GDT, bitmaps, inode
    /// tables) as (start, length) in blocks.
    pub fn fixed_ranges(&self) -> Vec<(u64, u64)> {
        let mut r = Vec::new();
        for g in 0..self.groups {
            if has_super(g) {
                r.push((self.group_start(g), self.super_overhead()));
            }
            let m = &self.meta[g as usize];
            r.push((m.block_bitmap, 1));
            r.push((m.inode_bitmap, 1));
            r.push((m.inode_table, self.itable_blocks as u64));
        }
        r
    }
}

/// Reserved GDT blocks so the filesystem can grow 1024-fold (or to 2^32 blocks), as mke2fs.
fn reserved_gdt_blocks(blocks: u64, desc_blocks: u32) -> u32 {
    let max_blocks: u64 = if blocks < 0xFFFF_FFFF / 1024 {
        blocks * 1024
    } else {
        0xFFFF_FFFF
    };
    let rsv_groups = div_ceil(max_blocks, BLOCKS_PER_GROUP as u64);
    let per_block = BLOCK_SIZE / DESC_SIZE as u64;
    let rsv = div_ceil(rsv_groups, per_block).saturating_sub(desc_blocks as u64);
    rsv.min(BLOCK_SIZE / 4) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_mke2fs_for_1g_and_6g() {
        let g = Geometry::new(1 << 30, 0).unwrap();
        assert_eq!(g.groups, 8);
        assert_eq!(g.reserved_gdt, 127);
        assert_eq!(g.inodes_per_group, 8192);
        assert_eq!(g.meta[0].block_bitmap, 129);
        assert_eq!(g.meta[0].inode_bitmap, 137);
        assert_eq!(g.meta[0].inode_table, 145);
        assert_eq!(g.meta[1].inode_table, 657);
        assert_eq!(g.journal_blocks, 8192);
        let g = Geometry::new(6 << 30, 0).unwrap();
        assert_eq!(g.reserved_gdt, 767);
        assert_eq!(g.meta[0].inode_bitmap, 785);
        assert_eq!(g.meta[0].inode_table, 801);
        // "small" filesystems: one inode per 4 KiB.
        let g = Geometry::new(300 << 20, 0).unwrap();
        assert_eq!(g.inodes_per_group, 25600);
        assert_eq!(g.meta[1].inode_table, 1645);
    }

    #[test]
    fn sparse_super_groups() {
        let v: Vec<u32> = (0..50).filter(|g| has_super(*g)).collect();
        assert_eq!(v, vec![0, 1, 3, 5, 7, 9, 25, 27, 49]);
    }

    #[test]
    fn inode_heavy_layouts_avoid_backup_superblocks() {
        // 6 GiB with 4x the default inodes: 16 tables of 2048 blocks would hit group 1's copy.
        assert!(Geometry::new(6 << 30, 1_572_864).is_err());
        let g = Geometry::new(6 << 30, 600_000).unwrap();
        assert!(g.meta[15].inode_table + g.itable_blocks as u64 <= 32768);
    }

    #[test]
    fn rejects_bad_sizes() {
        assert!(Geometry::new(4095, 0).is_err());
        assert!(Geometry::new(4096 * 100, 0).is_err());
    }
}
