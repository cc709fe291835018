//! The resize inode (inode 7): an indirect-mapped file whose double-indirect block lists the
//! reserved GDT blocks of group 0, each of which lists its copies in the backup groups. This
//! is what lets `resize2fs` (and the kernel's online resize) grow the filesystem later.

use crate::bytes::put32;
use crate::geometry::{has_super, Geometry, BLOCKS_PER_GROUP, BLOCK_SIZE};

/// Pointers per indirect block.
const APB: u64 = BLOCK_SIZE / 4;

/// i_size of the resize inode as mke2fs sets it (covers the whole double-indirect range).
pub fn inode_size() -> u64 {
    (APB * APB + APB + 12) * BLOCK_SIZE
}

/// Blocks with their contents.
pub type Blocks = Vec<(u64, Vec<u8>)>;

/// The contents of the double-indirect block and of each primary reserved GDT block
/// (block number, bytes), and the inode's i_blocks in 512-byte units.
pub fn build(geo: &Geometry) -> (Vec<u8>, Blocks, u64) {
    let mut dind_buf = vec![0u8; BLOCK_SIZE as usize];
    let mut blocks = 1u64; // the dind block itself
    let backups: Vec<u32> = (1..geo.groups).filter(|g| has_super(*g)).collect();
    let mut gdt = Vec::new();
    for r in 0..geo.reserved_gdt as u64 {
        let primary = 1 + geo.desc_blocks as u64 + r;
        let slot = ((geo.desc_blocks as u64 + r) % APB) as usize;
        put32(&mut dind_buf, slot * 4, primary as u32);
        blocks += 1;
        let mut b = vec![0u8; BLOCK_SIZE as usize];
        for (i, g) in backups.iter().enumerate() {
            put32(
                &mut b,
                i * 4,
                (primary + *g as u64 * BLOCKS_PER_GROUP as u64) as u32,
            );
            blocks += 1;
        }
        gdt.push((primary, b));
    }
    (dind_buf, gdt, blocks * (BLOCK_SIZE / 512))
}
