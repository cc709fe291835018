//! Extent trees: the 60-byte root in i_block (up to 4 entries) and, for more extents, one
//! level of leaf blocks of up to 340 extents each, each block checksummed.

use crate::bytes::{get16, get32, put16, put32};
use crate::checksum::crc32c_raw;
use crate::error::Error;
use crate::geometry::BLOCK_SIZE;

/// Extent header magic.
pub const MAGIC: u16 = 0xF30A;
/// Longest initialized extent, in blocks.
pub const MAX_LEN: u32 = 32768;
/// Entries in the inode root.
pub const ROOT_MAX: usize = 4;
/// Entries in a 4 KiB tree block (after the 12-byte header, before the 4-byte tail).
pub const BLOCK_MAX: usize = (BLOCK_SIZE as usize - 12) / 12;

/// A run of `len` blocks of a file starting at file block `logical`, stored at `start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extent {
    pub logical: u32,
    pub start: u64,
    pub len: u32,
}

/// How many tree blocks a file with `n` extents needs (0 when they fit in the inode).
pub fn leaf_blocks_needed(n: usize) -> Result<usize, Error> {
    if n <= ROOT_MAX {
        return Ok(0);
    }
    let leaves = n.div_ceil(BLOCK_MAX);
    if leaves > ROOT_MAX {
        return Err(Error::Unsupported {
            path: String::new(),
            reason: format!("{n} extents need more than one extent tree level"),
        });
    }
    Ok(leaves)
}

fn header(b: &mut [u8], entries: usize, max: usize, depth: u16) {
    put16(b, 0, MAGIC);
    put16(b, 2, entries as u16);
    put16(b, 4, max as u16);
    put16(b, 6, depth);
}

fn put_extent(b: &mut [u8], e: &Extent) {
    put32(b, 0, e.logical);
    put16(b, 4, e.len as u16);
    put16(b, 6, (e.start >> 32) as u16);
    put32(b, 8, e.start as u32);
}

/// Encodes the tree: the 60-byte i_block root and the leaf blocks (to be stored at `leaves`).
/// `seed` is the inode's checksum seed.
pub fn encode(extents: &[Extent], leaves: &[u64], seed: u32) -> ([u8; 60], Vec<Vec<u8>>) {
    let mut root = [0u8; 60];
    if extents.len() <= ROOT_MAX {
        header(&mut root, extents.len(), ROOT_MAX, 0);
        for (i, e) in extents.iter().enumerate() {
            put_extent(&mut root[12 + 12 * i..], e);
        }
        return (root, Vec::new());
    }
    let chunks: Vec<&[Extent]> = extents.chunks(BLOCK_MAX).collect();
    header(&mut root, chunks.len(), ROOT_MAX, 1);
    let mut blocks = Vec::with_capacity(chunks.len());
    for (i, (chunk, leaf)) in chunks.iter().zip(leaves).enumerate() {
        let ix = &mut root[12 + 12 * i..24 + 12 * i];
        put32(ix, 0, chunk[0].logical);
        put32(ix, 4, *leaf as u32);
        put16(ix, 8, (*leaf >> 32) as u16);
        let mut b = vec![0u8; BLOCK_SIZE as usize];
        header(&mut b, chunk.len(), BLOCK_MAX, 0);
        for (j, e) in chunk.iter().enumerate() {
            put_extent(&mut b[12 + 12 * j..], e);
        }
        let tail = 12 + 12 * BLOCK_MAX;
        let c = crc32c_raw(seed, &b[..tail]);
        put32(&mut b, tail, c);
        blocks.push(b);
    }
    (root, blocks)
}

/// Reads an extent tree rooted in `root`, fetching tree blocks with `read_block`.
/// Depth and entry counts are bounded so corrupt input cannot loop or exhaust memory.
pub fn decode(
    root: &[u8],
    read_block: &mut dyn FnMut(u64) -> Result<Vec<u8>, Error>,
) -> Result<Vec<Extent>, Error> {
    let mut out = Vec::new();
    walk(root, 0, read_block, &mut out)?;
    Ok(out)
}

fn walk(
    node: &[u8],
    level: u32,
    read_block: &mut dyn FnMut(u64) -> Result<Vec<u8>, Error>,
    out: &mut Vec<Extent>,
) -> Result<(), Error> {
    if get16(node, 0) != MAGIC {
        return Err(Error::Corrupt("bad extent header magic".into()));
    }
    let entries = get16(node, 2) as usize;
    let max = get16(node, 4) as usize;
    let depth = get16(node, 6);
    if entries > max || 12 + 12 * max > node.len() || depth > 5 || level > 5 {
        return Err(Error::Corrupt("bad extent header".into()));
    }
    for i in 0..entries {
        let e = &node[12 + 12 * i..24 + 12 * i];
        if depth == 0 {
            let raw_len = get16(e, 4) as u32;
            // Lengths above 32768 mark unwritten (preallocated) extents: they read as zeros.
            let len = if raw_len > MAX_LEN {
                raw_len - MAX_LEN
            } else {
                raw_len
            };
            let start = get32(e, 8) as u64 | (get16(e, 6) as u64) << 32;
            if raw_len <= MAX_LEN {
                out.push(Extent {
                    logical: get32(e, 0),
                    start,
                    len,
                });
            }
            if out.len() > 1 << 24 {
                return Err(Error::Corrupt("too many extents".into()));
            }
        } else {
            let leaf = get32(e, 4) as u64 | (get16(e, 8) as u64) << 32;
            let b = read_block(leaf)?;
            walk(&b, level + 1, read_block, out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_level_round_trip() {
        let ext: Vec<Extent> = (0..1000)
            .map(|i| Extent {
                logical: i * 2,
                start: 100_000 + i as u64 * 3,
                len: 1,
            })
            .collect();
        let n = leaf_blocks_needed(ext.len()).unwrap();
        assert_eq!(n, 3);
        let leaves = [10u64, 11, 12];
        let (root, blocks) = encode(&ext, &leaves, 7);
        let mut read = |b: u64| Ok(blocks[(b - 10) as usize].clone());
        assert_eq!(decode(&root, &mut read).unwrap(), ext);
        assert!(leaf_blocks_needed(5000).is_err());
    }
}
