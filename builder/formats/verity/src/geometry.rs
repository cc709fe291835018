//! Where the tree's levels lie on the hash device.
//!
//! Level 0 holds one digest per data block, level 1 one digest per hash block of level 0,
//! and so on up to a level that fits in one hash block; that block's digest is the root hash.
//! A device of a single data block has no levels: its root hash is the data block's digest.
//! Each digest takes a slot of `hash_block_size / hashes_per_block` bytes, where
//! `hashes_per_block` is the largest power of two of digests that fits a hash block (128
//! SHA-256 digests in 4 KiB); the rest of a level's last block is zeros. On the device the
//! superblock comes first, then the levels from the top one down to level 0, as veritysetup
//! and the kernel lay them out.

use crate::error::VerityError;
use crate::params::Params;

/// The kernel's limit on the depth of a tree.
const MAX_LEVELS: usize = 63;

/// One level of the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Level {
    /// First hash block of the level, counted from the start of the hash device.
    pub first_block: u64,
    /// Hash blocks the level takes.
    pub blocks: u64,
    /// Digests the level holds: the number of data blocks (level 0) or of hash blocks of
    /// the level below.
    pub digests: u64,
}

/// The layout of a hash device: the levels' positions and sizes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Geometry {
    hash_block_size: u64,
    hashes_per_block: u64,
    hash_start: u64,
    levels: Vec<Level>,
}

impl Geometry {
    /// The layout for `params`. Fails when a hash block holds no digest or the tree would
    /// be deeper than the kernel allows (neither happens for parameters that validate).
    pub fn new(params: &Params) -> Result<Geometry, VerityError> {
        let hash_block_size = u64::from(params.hash_block_size);
        let digest = params.algorithm.digest_size() as u64;
        let fit = hash_block_size / digest;
        if fit == 0 || hash_block_size == 0 {
            return Err(VerityError::params(format!(
                "a {hash_block_size}-byte hash block holds no {digest}-byte digest"
            )));
        }
        // The largest power of two not above `fit`.
        let hashes_per_block = 1u64 << fit.ilog2();
        if params.data_blocks == 0 {
            return Err(VerityError::params("the data device has no blocks"));
        }
        // Bottom up: each level has one digest per block of the level below.
        let mut sizes = Vec::new();
        let mut digests = params.data_blocks;
        while digests > 1 {
            let blocks = digests.div_ceil(hashes_per_block);
            sizes.push((blocks, digests));
            if sizes.len() > MAX_LEVELS {
                return Err(VerityError::params(format!(
                    "the tree of {} blocks would have more than {MAX_LEVELS} levels",
                    params.data_blocks
                )));
            }
            digests = blocks;
        }
        // On the device, top level first.
        let hash_start = params.hash_start_block();
        let mut levels = vec![
            Level {
                first_block: 0,
                blocks: 0,
                digests: 0
            };
            sizes.len()
        ];
        let mut next = hash_start;
        for (i, (blocks, digests)) in sizes.iter().enumerate().rev() {
            levels[i] = Level {
                first_block: next,
                blocks: *blocks,
                digests: *digests,
            };
            next = next.checked_add(*blocks).ok_or_else(|| {
                VerityError::params("the hash device's size overflows".to_string())
            })?;
        }
        next.checked_mul(hash_block_size)
            .ok_or_else(|| VerityError::params("the hash device's size overflows"))?;
        Ok(Geometry {
            hash_block_size,
            hashes_per_block,
            hash_start,
            levels,
        })
    }

    /// The levels, index 0 being the bottom (the data blocks' digests).
    pub fn levels(&self) -> &[Level] {
        &self.levels
    }

    /// Digests per hash block (a power of two).
    pub fn hashes_per_block(&self) -> u64 {
        self.hashes_per_block
    }

    /// Bytes between the starts of two consecutive digests in a hash block.
    pub fn digest_slot(&self) -> usize {
        (self.hash_block_size / self.hashes_per_block) as usize
    }

    /// The first hash block of the tree (after the superblock).
    pub fn hash_start_block(&self) -> u64 {
        self.hash_start
    }

    /// Hash blocks of the tree, superblock excluded (`veritysetup dump`'s "Hash blocks").
    pub fn tree_blocks(&self) -> u64 {
        self.levels.iter().map(|l| l.blocks).sum()
    }

    /// Bytes of the whole hash device: superblock block(s) and every level.
    pub fn hash_device_size(&self) -> u64 {
        (self.hash_start + self.tree_blocks()) * self.hash_block_size
    }

    /// Byte offset of a level's block on the hash device.
    pub fn block_offset(&self, level: usize, index: u64) -> u64 {
        self.levels
            .get(level)
            .map_or(0, |l| (l.first_block + index) * self.hash_block_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Params;

    fn geometry(blocks: u64) -> Geometry {
        Params::new(blocks * 4096, &[1; 32], eflow_id::Guid::ZERO)
            .unwrap()
            .geometry()
            .unwrap()
    }

    fn shape(g: &Geometry) -> Vec<(u64, u64, u64)> {
        g.levels()
            .iter()
            .map(|l| (l.first_block, l.blocks, l.digests))
            .collect()
    }

    #[test]
    fn one_block_has_no_levels() {
        let g = geometry(1);
        assert!(g.levels().is_empty());
        assert_eq!(g.hash_device_size(), 4096);
        assert_eq!(g.tree_blocks(), 0);
    }

    #[test]
    fn level_boundaries() {
        assert_eq!(g_shape(2), vec![(1, 1, 2)]);
        assert_eq!(g_shape(127), vec![(1, 1, 127)]);
        assert_eq!(g_shape(128), vec![(1, 1, 128)]);
        // 129 blocks: level 0 needs two blocks, so a level 1 of one block goes first.
        assert_eq!(g_shape(129), vec![(2, 2, 129), (1, 1, 2)]);
        assert_eq!(g_shape(16384), vec![(2, 128, 16384), (1, 1, 128)]);
        assert_eq!(
            g_shape(16385),
            vec![(4, 129, 16385), (2, 2, 129), (1, 1, 2)]
        );
        // These sizes are what veritysetup 2.6 writes for the same block counts.
        assert_eq!(geometry(129).hash_device_size(), 16384);
        assert_eq!(geometry(16384).hash_device_size(), 532480);
        assert_eq!(geometry(16385).hash_device_size(), 544768);
    }

    fn g_shape(blocks: u64) -> Vec<(u64, u64, u64)> {
        shape(&geometry(blocks))
    }

    #[test]
    fn every_level_covers_the_one_below() {
        for blocks in [2, 3, 100, 128 * 128 - 1, 128 * 128 * 128 + 5, 1 << 40] {
            let g = geometry(blocks);
            let l = g.levels();
            assert_eq!(l[0].digests, blocks);
            for w in l.windows(2) {
                assert_eq!(w[1].digests, w[0].blocks);
                assert_eq!(w[1].first_block + w[1].blocks, w[0].first_block);
                assert_eq!(w[0].blocks, w[0].digests.div_ceil(128));
            }
            let top = l.last().unwrap();
            assert_eq!((top.first_block, top.blocks), (1, 1));
            assert!(top.digests <= 128 && top.digests >= 2);
        }
    }

    #[test]
    fn small_hash_blocks_hold_sixteen_digests() {
        let p = Params {
            hash_block_size: 512,
            ..Params::new(17 * 4096, &[], eflow_id::Guid::ZERO).unwrap()
        };
        let g = p.geometry().unwrap();
        assert_eq!(g.hashes_per_block(), 16);
        assert_eq!(g.digest_slot(), 32);
        assert_eq!(g.hash_start_block(), 1);
        assert_eq!(shape(&g), vec![(2, 2, 17), (1, 1, 2)]);
        assert_eq!(g.hash_device_size(), 4 * 512);
        assert_eq!(g.block_offset(0, 1), 3 * 512);
    }
}
