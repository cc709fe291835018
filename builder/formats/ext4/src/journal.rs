//! The jbd2 journal superblock (big-endian, v2), written in the journal's first block; the
//! rest of an empty journal is zeros.

use crate::geometry::BLOCK_SIZE;

/// jbd2 magic.
pub const MAGIC: u32 = 0xC03B_3998;
/// Block type of a v2 superblock.
const SUPERBLOCK_V2: u32 = 4;

/// The first block of an empty, clean internal journal of `blocks` blocks.
pub fn superblock(blocks: u32, fs_uuid: &[u8; 16]) -> Vec<u8> {
    let mut b = vec![0u8; BLOCK_SIZE as usize];
    let mut put = |off: usize, v: u32| b[off..off + 4].copy_from_slice(&v.to_be_bytes());
    put(0x00, MAGIC);
    put(0x04, SUPERBLOCK_V2);
    put(0x08, 0); // h_sequence
    put(0x0C, BLOCK_SIZE as u32);
    put(0x10, blocks); // s_maxlen
    put(0x14, 1); // s_first
    put(0x18, 1); // s_sequence
    put(0x1C, 0); // s_start: 0 = clean, nothing to replay
    put(0x40, 1); // s_nr_users
    b[0x30..0x40].copy_from_slice(fs_uuid);
    b
}
