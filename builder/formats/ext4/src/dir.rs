//! Linear directory blocks: packed `ext4_dir_entry_2` records, each block ending with the
//! 12-byte checksum tail that metadata_csum requires.

use crate::bytes::{get16, get32, put16, put32};
use crate::checksum::crc32c_raw;
use crate::geometry::BLOCK_SIZE;

/// Size of the checksum tail at the end of each leaf block.
pub const TAIL: usize = 12;
/// Bytes of a block available to entries.
pub const USABLE: usize = BLOCK_SIZE as usize - TAIL;

/// Directory entry file types.
pub mod ftype {
    pub const REG: u8 = 1;
    pub const DIR: u8 = 2;
    pub const CHR: u8 = 3;
    pub const BLK: u8 = 4;
    pub const FIFO: u8 = 5;
    pub const SOCK: u8 = 6;
    pub const LNK: u8 = 7;
}

/// One entry to write: name, inode number, file type.
pub struct DirEntry<'a> {
    pub name: &'a [u8],
    pub ino: u32,
    pub ftype: u8,
}

/// The record length an entry with a name of `len` bytes needs.
pub fn rec_len(len: usize) -> usize {
    (8 + len + 3) & !3
}

/// Number of blocks the entries (with `.` and `..`) need.
pub fn blocks_needed<'a>(names: impl Iterator<Item = &'a [u8]>) -> u64 {
    let mut blocks = 1u64;
    let mut used = rec_len(1) + rec_len(2);
    for n in names {
        let r = rec_len(n.len());
        if used + r > USABLE {
            blocks += 1;
            used = 0;
        }
        used += r;
    }
    blocks
}

/// Encodes a directory of at least `min_blocks` blocks: `.`, `..`, then `entries` in order.
/// `seed` is the directory inode's checksum seed.
pub fn encode(
    self_ino: u32,
    parent_ino: u32,
    entries: &[DirEntry<'_>],
    min_blocks: u64,
    seed: u32,
) -> Vec<u8> {
    let dot = [
        DirEntry {
            name: b".",
            ino: self_ino,
            ftype: ftype::DIR,
        },
        DirEntry {
            name: b"..",
            ino: parent_ino,
            ftype: ftype::DIR,
        },
    ];
    let mut out: Vec<u8> = Vec::new();
    let mut block = vec![0u8; BLOCK_SIZE as usize];
    let mut used = 0usize;
    let mut last: Option<usize> = None;
    let finish = |block: &mut Vec<u8>, last: Option<usize>, out: &mut Vec<u8>| {
        match last {
            // Stretch the last record to the tail.
            Some(off) => {
                let r = USABLE - off;
                put16(block, off + 4, r as u16);
            }
            None => {
                put32(block, 0, 0);
                put16(block, 4, USABLE as u16);
            }
        }
        seal(block, seed);
        out.extend_from_slice(block);
        block.fill(0);
    };
    for e in dot.iter().chain(entries.iter()) {
        let r = rec_len(e.name.len());
        if used + r > USABLE {
            finish(&mut block, last, &mut out);
            used = 0;
        }
        put32(&mut block, used, e.ino);
        put16(&mut block, used + 4, r as u16);
        block[used + 6] = e.name.len() as u8;
        block[used + 7] = e.ftype;
        block[used + 8..used + 8 + e.name.len()].copy_from_slice(e.name);
        last = Some(used);
        used += r;
    }
    finish(&mut block, last, &mut out);
    while (out.len() as u64) < min_blocks * BLOCK_SIZE {
        finish(&mut block, None, &mut out);
    }
    out
}

/// Writes the checksum tail of a leaf block.
pub fn seal(block: &mut [u8], seed: u32) {
    let t = USABLE;
    put32(block, t, 0);
    put16(block, t + 4, TAIL as u16);
    block[t + 6] = 0;
    block[t + 7] = 0xDE;
    let c = crc32c_raw(seed, &block[..t]);
    put32(block, t + 8, c);
}

/// A directory entry read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedEntry {
    pub ino: u32,
    pub ftype: u8,
    pub name: Vec<u8>,
}

/// Parses the entries of one directory block, skipping empty records, the checksum tail and
/// htree node padding. Stops at the first malformed record.
pub fn parse_block(block: &[u8], out: &mut Vec<ParsedEntry>) {
    let mut off = 0usize;
    while off + 8 <= block.len() {
        let ino = get32(block, off);
        let rl = get16(block, off + 4) as usize;
        let nl = block[off + 6] as usize;
        if rl < 8 || !rl.is_multiple_of(4) || off + rl > block.len() || 8 + nl > rl {
            return;
        }
        if ino != 0 {
            out.push(ParsedEntry {
                ino,
                ftype: block[off + 7],
                name: block[off + 8..off + 8 + nl].to_vec(),
            });
        }
        off += rl;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_and_parses() {
        let names: Vec<String> = (0..500).map(|i| format!("file-{i:05}")).collect();
        let entries: Vec<DirEntry> = names
            .iter()
            .map(|n| DirEntry {
                name: n.as_bytes(),
                ino: 100,
                ftype: ftype::REG,
            })
            .collect();
        let want = blocks_needed(names.iter().map(|n| n.as_bytes()));
        let bytes = encode(12, 2, &entries, 1, 0);
        assert_eq!(bytes.len() as u64, want * BLOCK_SIZE);
        let mut got = Vec::new();
        for b in bytes.chunks(BLOCK_SIZE as usize) {
            parse_block(b, &mut got);
        }
        assert_eq!(got.len(), 502);
        assert_eq!(got[1].name, b"..");
        assert_eq!(got[501].name, b"file-00499");
    }
}
