//! The Block Allocation Table: one u64 per payload block (state and file offset), with a
//! sector-bitmap entry after every `chunk ratio` payload entries.

use crate::bytes::MIB;

/// Payload block state: never written, reads as zeros.
pub const PAYLOAD_NOT_PRESENT: u8 = 0;
/// Payload block state: content undefined (reads as zeros here).
pub const PAYLOAD_UNDEFINED: u8 = 1;
/// Payload block state: reads as zeros.
pub const PAYLOAD_ZERO: u8 = 2;
/// Payload block state: unmapped (trimmed), reads as zeros here.
pub const PAYLOAD_UNMAPPED: u8 = 3;
/// Payload block state: the whole block is stored in the file.
pub const PAYLOAD_FULLY_PRESENT: u8 = 6;
/// Payload block state: partly stored, rest from the parent (differencing disks only).
pub const PAYLOAD_PARTIALLY_PRESENT: u8 = 7;
/// Sector bitmap state: no bitmap.
pub const SB_NOT_PRESENT: u8 = 0;
/// Sector bitmap state: bitmap stored (differencing disks only).
pub const SB_PRESENT: u8 = 6;

/// Bits 20-63 of an entry hold the file offset in MiB; masking keeps it in bytes.
const OFFSET_MASK: u64 = !(MIB - 1);

/// Builds an entry from a state and a byte offset (a multiple of 1 MiB).
pub fn entry(state: u8, file_offset: u64) -> u64 {
    (file_offset & OFFSET_MASK) | state as u64
}

/// The state bits of an entry.
pub fn state(e: u64) -> u8 {
    (e & 7) as u8
}

/// The file offset of an entry in bytes.
pub fn offset(e: u64) -> u64 {
    e & OFFSET_MASK
}

/// The shape of a BAT: how many blocks, where each one's entry sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Payload blocks covering the virtual size.
    pub payload_blocks: u64,
    /// Payload blocks per sector bitmap block.
    pub chunk_ratio: u64,
    /// Entries in the table (payload plus interleaved sector bitmap entries).
    pub entries: u64,
}

impl Geometry {
    /// The geometry of a disk without parent (sizes already validated, `virtual_size` > 0).
    pub fn new(virtual_size: u64, block_size: u32, logical_sector: u32) -> Geometry {
        let chunk_ratio = ((1u64 << 23) * logical_sector as u64) / block_size as u64;
        let payload_blocks = virtual_size.div_ceil(block_size as u64);
        let entries = payload_blocks + (payload_blocks - 1) / chunk_ratio;
        Geometry {
            payload_blocks,
            chunk_ratio,
            entries,
        }
    }

    /// Index in the table of payload block `k`.
    pub fn payload_index(&self, k: u64) -> u64 {
        k + k / self.chunk_ratio
    }

    /// True when table index `i` holds a sector bitmap entry.
    pub fn is_bitmap_index(&self, i: u64) -> bool {
        (i + 1).is_multiple_of(self.chunk_ratio + 1)
    }

    /// Bytes the table takes in the file (whole MiB).
    pub fn region_len(&self) -> u64 {
        (self.entries * 8).div_ceil(MIB) * MIB
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_ratio_and_interleave() {
        let g = Geometry::new(32 << 30, 32 << 20, 512);
        assert_eq!(g.chunk_ratio, 128);
        let g = Geometry::new(10 << 30, 1 << 20, 512);
        assert_eq!(g.chunk_ratio, 4096);
        assert_eq!(g.payload_blocks, 10240);
        assert_eq!(g.entries, 10240 + 2);
        assert_eq!(g.payload_index(4095), 4095);
        assert_eq!(g.payload_index(4096), 4097);
        assert!(g.is_bitmap_index(4096));
        assert!(!g.is_bitmap_index(4097));
        // Exactly one chunk: no trailing bitmap entry.
        let g = Geometry::new(4 << 30, 1 << 20, 512);
        assert_eq!(g.entries, 4096);
        assert_eq!(entry(6, 5 << 20), (5 << 20) | 6);
        assert_eq!(offset(entry(6, 5 << 20)), 5 << 20);
    }
}
