//! The 64-byte block group descriptor (64bit feature) and its crc16-in-crc32c checksum.

use crate::bytes::{get16, get32, put16, put32};
use crate::checksum::crc32c_raw;
use crate::geometry::DESC_SIZE;

/// bg_flags: the inode table is known to be zeroed (no lazy init needed).
pub const BG_INODE_ZEROED: u16 = 0x4;

/// One group descriptor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupDesc {
    pub block_bitmap: u64,
    pub inode_bitmap: u64,
    pub inode_table: u64,
    pub free_blocks: u32,
    pub free_inodes: u32,
    pub used_dirs: u32,
    pub flags: u16,
    pub block_bitmap_csum: u32,
    pub inode_bitmap_csum: u32,
    pub itable_unused: u32,
}

impl GroupDesc {
    /// Encodes descriptor `group` with its checksum into `out` (64 bytes).
    pub fn encode(&self, group: u32, fs_seed: u32, out: &mut [u8]) {
        let b = &mut out[..DESC_SIZE];
        b.fill(0);
        put32(b, 0x00, self.block_bitmap as u32);
        put32(b, 0x04, self.inode_bitmap as u32);
        put32(b, 0x08, self.inode_table as u32);
        put16(b, 0x0C, self.free_blocks as u16);
        put16(b, 0x0E, self.free_inodes as u16);
        put16(b, 0x10, self.used_dirs as u16);
        put16(b, 0x12, self.flags);
        put16(b, 0x18, self.block_bitmap_csum as u16);
        put16(b, 0x1A, self.inode_bitmap_csum as u16);
        put16(b, 0x1C, self.itable_unused as u16);
        put32(b, 0x20, (self.block_bitmap >> 32) as u32);
        put32(b, 0x24, (self.inode_bitmap >> 32) as u32);
        put32(b, 0x28, (self.inode_table >> 32) as u32);
        put16(b, 0x2C, (self.free_blocks >> 16) as u16);
        put16(b, 0x2E, (self.free_inodes >> 16) as u16);
        put16(b, 0x30, (self.used_dirs >> 16) as u16);
        put16(b, 0x32, (self.itable_unused >> 16) as u16);
        put16(b, 0x38, (self.block_bitmap_csum >> 16) as u16);
        put16(b, 0x3A, (self.inode_bitmap_csum >> 16) as u16);
        let c = checksum(group, fs_seed, b);
        put16(b, 0x1E, c);
    }

    /// Decodes a descriptor; returns it and whether its checksum matched.
    pub fn decode(group: u32, fs_seed: u32, b: &[u8]) -> (GroupDesc, bool) {
        let lohi = |lo: u32, hi: u32| lo as u64 | (hi as u64) << 32;
        let d = GroupDesc {
            block_bitmap: lohi(get32(b, 0x00), get32(b, 0x20)),
            inode_bitmap: lohi(get32(b, 0x04), get32(b, 0x24)),
            inode_table: lohi(get32(b, 0x08), get32(b, 0x28)),
            free_blocks: get16(b, 0x0C) as u32 | (get16(b, 0x2C) as u32) << 16,
            free_inodes: get16(b, 0x0E) as u32 | (get16(b, 0x2E) as u32) << 16,
            used_dirs: get16(b, 0x10) as u32 | (get16(b, 0x30) as u32) << 16,
            flags: get16(b, 0x12),
            block_bitmap_csum: get16(b, 0x18) as u32 | (get16(b, 0x38) as u32) << 16,
            inode_bitmap_csum: get16(b, 0x1A) as u32 | (get16(b, 0x3A) as u32) << 16,
            itable_unused: get16(b, 0x1C) as u32 | (get16(b, 0x32) as u32) << 16,
        };
        let ok =
            b.len() >= DESC_SIZE && checksum(group, fs_seed, &b[..DESC_SIZE]) == get16(b, 0x1E);
        (d, ok)
    }
}

/// crc32c(seed, group number, descriptor with bg_checksum zeroed), low 16 bits.
fn checksum(group: u32, fs_seed: u32, b: &[u8]) -> u16 {
    let c = crc32c_raw(fs_seed, &group.to_le_bytes());
    let c = crc32c_raw(c, &b[..0x1E]);
    let c = crc32c_raw(c, &[0, 0]);
    let c = crc32c_raw(c, &b[0x20..DESC_SIZE]);
    c as u16
}
