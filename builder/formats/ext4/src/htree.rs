//! Hashed (htree) directories: a dx_root block (after fake `.` and `..` entries), an optional
//! level of dx_node blocks, and leaf blocks holding the entries sorted by name hash. Used
//! for directories that need more than one block, as the kernel would index them.

use crate::bytes::{put16, put32};
use crate::checksum::crc32c_raw;
use crate::dir::{self, rec_len, DirEntry, USABLE};
use crate::dirhash::half_md4;
use crate::error::Error;
use crate::geometry::BLOCK_SIZE;

const BS: usize = BLOCK_SIZE as usize;
/// Offset of limit/count in the root (after `.`, `..` and dx_root_info).
const ROOT_COUNT_AT: usize = 32;
/// Offset of limit/count in an interior node (after a fake empty entry).
const NODE_COUNT_AT: usize = 8;
/// Entries a root holds (one slot goes to the checksum tail).
pub const ROOT_LIMIT: usize = (BS - ROOT_COUNT_AT) / 8 - 1;
/// Entries an interior node holds.
pub const NODE_LIMIT: usize = (BS - NODE_COUNT_AT) / 8 - 1;
/// dx_root_info.hash_version for half-MD4.
const HASH_HALF_MD4: u8 = 1;

/// An entry with its (major, minor) name hash.
type Hashed<'a, 'b> = (u32, u32, &'a DirEntry<'b>);

/// Encodes an indexed directory; returns its blocks (root first).
pub fn encode(
    self_ino: u32,
    parent_ino: u32,
    entries: &[DirEntry<'_>],
    hash_seed: &[u8; 16],
    seed: u32,
) -> Result<Vec<u8>, Error> {
    let mut hashed: Vec<Hashed> = entries
        .iter()
        .map(|e| {
            let (h, m) = half_md4(e.name, hash_seed);
            (h, m, e)
        })
        .collect();
    hashed.sort_by(|a, b| (a.0, a.1, a.2.name).cmp(&(b.0, b.1, b.2.name)));

    // Leaves: (dx hash, entries). A run of equal hashes is never split if avoidable.
    let mut leaves: Vec<(u32, Vec<&Hashed>)> = Vec::new();
    let mut cur: Vec<&Hashed> = Vec::new();
    let mut used = 0usize;
    for item in &hashed {
        let r = rec_len(item.2.name.len());
        if used + r > USABLE {
            let mut carry = Vec::new();
            while cur.len() > 1 && cur.last().map(|l| l.0) == Some(item.0) {
                carry.push(cur.pop().expect("non-empty"));
            }
            carry.reverse();
            let first = cur[0].0;
            let continued = leaves
                .last()
                .is_some_and(|l| l.1.last().map(|x| x.0) == Some(first));
            let hash = if leaves.is_empty() {
                0
            } else {
                first | u32::from(continued)
            };
            leaves.push((hash, std::mem::take(&mut cur)));
            used = carry.iter().map(|c| rec_len(c.2.name.len())).sum();
            cur = carry;
        }
        cur.push(item);
        used += r;
    }
    if !cur.is_empty() || leaves.is_empty() {
        let continued = match (cur.first(), leaves.last()) {
            (Some(f), Some(l)) => l.1.last().map(|x| x.0) == Some(f.0),
            _ => false,
        };
        let hash = match cur.first() {
            Some(f) if !leaves.is_empty() => f.0 | u32::from(continued),
            _ => 0,
        };
        leaves.push((hash, cur));
    }

    let levels = if leaves.len() <= ROOT_LIMIT { 0 } else { 1 };
    let nodes = if levels == 0 {
        0
    } else {
        leaves.len().div_ceil(NODE_LIMIT)
    };
    if nodes > ROOT_LIMIT {
        return Err(Error::Unsupported {
            path: String::new(),
            reason: format!(
                "directory of {} entries is too large for a two-level index",
                entries.len()
            ),
        });
    }
    let first_leaf = 1 + nodes;
    let total = first_leaf + leaves.len();
    let mut out = vec![0u8; total * BS];

    // Leaves.
    for (i, (_, items)) in leaves.iter().enumerate() {
        let b = &mut out[(first_leaf + i) * BS..(first_leaf + i + 1) * BS];
        let mut off = 0usize;
        let mut last = None;
        for (_, _, e) in items {
            let r = rec_len(e.name.len());
            put32(b, off, e.ino);
            put16(b, off + 4, r as u16);
            b[off + 6] = e.name.len() as u8;
            b[off + 7] = e.ftype;
            b[off + 8..off + 8 + e.name.len()].copy_from_slice(e.name);
            last = Some(off);
            off += r;
        }
        match last {
            Some(l) => put16(b, l + 4, (USABLE - l) as u16),
            None => put16(b, 4, USABLE as u16),
        }
        dir::seal(b, seed);
    }

    // Interior nodes (one level when the root cannot point at every leaf).
    let root_targets: Vec<(u32, u32)> = if levels == 0 {
        leaves
            .iter()
            .enumerate()
            .map(|(i, l)| (l.0, (first_leaf + i) as u32))
            .collect()
    } else {
        let mut t = Vec::new();
        for (n, chunk) in leaves.chunks(NODE_LIMIT).enumerate() {
            let b = &mut out[(1 + n) * BS..(2 + n) * BS];
            put32(b, 0, 0);
            put16(b, 4, BS as u16);
            let targets: Vec<(u32, u32)> = chunk
                .iter()
                .enumerate()
                .map(|(i, l)| (l.0, (first_leaf + n * NODE_LIMIT + i) as u32))
                .collect();
            write_dx(b, NODE_COUNT_AT, NODE_LIMIT, &targets, seed);
            t.push((chunk[0].0, (1 + n) as u32));
        }
        t
    };

    // Root: `.`, `..` spanning the block, dx_root_info, then the entries.
    let b = &mut out[..BS];
    put32(b, 0, self_ino);
    put16(b, 4, 12);
    b[6] = 1;
    b[7] = dir::ftype::DIR;
    b[8] = b'.';
    put32(b, 12, parent_ino);
    put16(b, 16, (BS - 12) as u16);
    b[18] = 2;
    b[19] = dir::ftype::DIR;
    b[20] = b'.';
    b[21] = b'.';
    put32(b, 24, 0); // reserved_zero
    b[28] = HASH_HALF_MD4;
    b[29] = 8; // info_length
    b[30] = levels;
    b[31] = 0;
    write_dx(b, ROOT_COUNT_AT, ROOT_LIMIT, &root_targets, seed);
    Ok(out)
}

/// Writes limit, count and (hash, block) entries at `at`, then the checksum tail.
fn write_dx(b: &mut [u8], at: usize, limit: usize, targets: &[(u32, u32)], seed: u32) {
    put16(b, at, limit as u16);
    put16(b, at + 2, targets.len() as u16);
    for (i, (hash, block)) in targets.iter().enumerate() {
        if i > 0 {
            put32(b, at + 8 * i, *hash);
        }
        put32(b, at + 8 * i + 4, *block);
    }
    let tail = at + 8 * limit;
    let c = crc32c_raw(seed, &b[..at + 8 * targets.len()]);
    let c = crc32c_raw(c, &b[tail..tail + 4]);
    let c = crc32c_raw(c, &[0, 0, 0, 0]);
    put32(b, tail + 4, c);
}
