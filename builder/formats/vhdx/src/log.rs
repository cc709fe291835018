//! The log region: journal entries (`loge`) of metadata and BAT updates that a writer makes
//! before applying them in place. This crate writes an empty log (LogGuid zero). As a reader
//! it replays a log that needs it (MS-VHDX 2.3.3) in memory: the file is opened read only,
//! so the replayed sectors are kept as an overlay over the file's bytes instead of being
//! written back; every structure is then read through that overlay.

use crate::bytes::{checksum, u32_at, u64_at};
use crate::error::{corrupt, Error};
use crate::guid::Guid;

/// `loge` signature of an entry header.
const SIGNATURE: &[u8; 4] = b"loge";
/// `desc` signature of a data descriptor.
const DATA_DESC: &[u8; 4] = b"desc";
/// `zero` signature of a zero descriptor.
const ZERO_DESC: &[u8; 4] = b"zero";
/// `data` signature of a data sector.
const DATA_SECTOR: &[u8; 4] = b"data";
/// Log entries are made of 4 KiB sectors.
const SECTOR: usize = 4096;

/// One update a log entry makes to the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Update {
    /// Write these 4096 bytes at the offset.
    Sector(u64, Box<[u8]>),
    /// Zero this many bytes at the offset.
    Zero(u64, u64),
}

impl Update {
    /// The file range the update covers.
    pub fn range(&self) -> (u64, u64) {
        match self {
            Update::Sector(o, d) => (*o, o + d.len() as u64),
            Update::Zero(o, n) => (*o, o + n),
        }
    }
}

/// What replaying the active log sequence does to the file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Replay {
    /// Updates in replay order (later ones win).
    pub updates: Vec<Update>,
    /// Entries in the active sequence.
    pub entries: usize,
    /// The file must be at least this long after replay (zero extended).
    pub last_file_offset: u64,
}

/// A log entry that passed every check.
struct Entry {
    pos: usize,
    len: usize,
    tail: usize,
    seq: u64,
    flushed_file_offset: u64,
    last_file_offset: u64,
    updates: Vec<Update>,
}

/// Copies `len` bytes of the circular log starting at `pos`.
fn circular(log: &[u8], pos: usize, len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    let mut p = pos;
    while v.len() < len {
        let n = (len - v.len()).min(log.len() - p);
        v.extend_from_slice(&log[p..p + n]);
        p = (p + n) % log.len();
    }
    v
}

/// Parses and checks the entry at `pos`, or None if there is no valid entry there.
fn entry_at(log: &[u8], pos: usize, guid: Guid) -> Option<Entry> {
    let h = &log[pos..pos + SECTOR];
    if &h[..4] != SIGNATURE || Guid::read_mixed_endian(h, 32) != guid {
        return None;
    }
    let len = u32_at(h, 8) as usize;
    let tail = u32_at(h, 12) as usize;
    let seq = u64_at(h, 16);
    let count = u32_at(h, 24) as usize;
    if len < SECTOR
        || !len.is_multiple_of(SECTOR)
        || len > log.len()
        || !tail.is_multiple_of(SECTOR)
        || tail >= log.len()
    {
        return None;
    }
    let desc_area = (64 + 32 * count).div_ceil(SECTOR) * SECTOR;
    if count > log.len() / 32 || desc_area > len {
        return None;
    }
    let e = circular(log, pos, len);
    if checksum(&e, 4) != u32_at(&e, 4) {
        return None;
    }
    let mut updates = Vec::with_capacity(count);
    let mut data = desc_area;
    for i in 0..count {
        let d = &e[64 + 32 * i..96 + 32 * i];
        let file_offset = u64_at(d, 16);
        if u64_at(d, 24) != seq || !file_offset.is_multiple_of(SECTOR as u64) {
            return None;
        }
        if &d[..4] == ZERO_DESC {
            let n = u64_at(d, 8);
            if !n.is_multiple_of(SECTOR as u64) || file_offset.checked_add(n).is_none() {
                return None;
            }
            updates.push(Update::Zero(file_offset, n));
        } else if &d[..4] == DATA_DESC {
            if data + SECTOR > len || file_offset.checked_add(SECTOR as u64).is_none() {
                return None;
            }
            let s = &e[data..data + SECTOR];
            let sseq = ((u32_at(s, 4) as u64) << 32) | u32_at(s, 4092) as u64;
            if &s[..4] != DATA_SECTOR || sseq != seq {
                return None;
            }
            // The sector's first 8 and last 4 bytes live in the descriptor.
            let mut sector = vec![0u8; SECTOR].into_boxed_slice();
            sector[..8].copy_from_slice(&d[8..16]);
            sector[8..4092].copy_from_slice(&s[8..4092]);
            sector[4092..].copy_from_slice(&d[4..8]);
            updates.push(Update::Sector(file_offset, sector));
            data += SECTOR;
        } else {
            return None;
        }
    }
    Some(Entry {
        pos,
        len,
        tail,
        seq,
        flushed_file_offset: u64_at(&e, 48),
        last_file_offset: u64_at(&e, 56),
        updates,
    })
}

/// Finds the active sequence in `log` (the whole log region, at file offset `log_offset`)
/// for `guid` and returns what replaying it does; None when no entry needs replaying.
/// `file_size` is checked against the head entry's FlushedFileOffset.
pub fn replay(
    log: &[u8],
    guid: Guid,
    log_offset: u64,
    file_size: u64,
) -> Result<Option<Replay>, Error> {
    if log.len() < SECTOR || !log.len().is_multiple_of(SECTOR) {
        return Ok(None);
    }
    let mut valid: Vec<Entry> = (0..log.len())
        .step_by(SECTOR)
        .filter_map(|p| entry_at(log, p, guid))
        .collect();
    // The active sequence ends at the entry with the highest sequence number from which
    // the chain back to its Tail is intact: consecutive numbers, each entry right after the
    // previous one in the circular log.
    valid.sort_by_key(|e| std::cmp::Reverse(e.seq));
    for head in &valid {
        let mut chain: Vec<&Entry> = Vec::new();
        let mut pos = head.tail;
        let mut ok = false;
        for _ in 0..log.len() / SECTOR {
            let Some(e) = valid.iter().find(|e| e.pos == pos) else {
                break;
            };
            if let Some(prev) = chain.last() {
                if e.seq != prev.seq.wrapping_add(1) {
                    break;
                }
            }
            chain.push(e);
            if e.pos == head.pos && e.seq == head.seq {
                ok = true;
                break;
            }
            pos = (pos + e.len) % log.len();
        }
        if !ok {
            continue;
        }
        if file_size < head.flushed_file_offset {
            return Err(corrupt(
                "log",
                log_offset + head.pos as u64,
                format!(
                    "the log's head entry says the file was flushed at {} bytes, but it is {file_size}: \
                     the file was truncated after the log was written",
                    head.flushed_file_offset
                ),
            ));
        }
        let updates: Vec<Update> = chain
            .iter()
            .flat_map(|e| e.updates.iter().cloned())
            .collect();
        // Updates stay within the file as the head entry describes it.
        let limit = file_size.max(head.last_file_offset);
        if let Some(u) = updates.iter().find(|u| u.range().1 > limit) {
            return Err(corrupt(
                "log",
                log_offset + head.pos as u64,
                format!(
                    "an update reaches byte {}, past the file's last offset {limit}",
                    u.range().1
                ),
            ));
        }
        return Ok(Some(Replay {
            updates,
            entries: chain.len(),
            last_file_offset: head.last_file_offset,
        }));
    }
    Ok(None)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::bytes::{put_u32, put_u64};

    /// Builds a log entry (for tests): data updates as (offset, 4 KiB), zero updates as
    /// (offset, length).
    pub(crate) fn make_entry(
        guid: Guid,
        seq: u64,
        tail: u32,
        data: &[(u64, Vec<u8>)],
        zeros: &[(u64, u64)],
        last_file_offset: u64,
    ) -> Vec<u8> {
        let count = data.len() + zeros.len();
        let desc_area = (64 + 32 * count).div_ceil(SECTOR) * SECTOR;
        let len = desc_area + SECTOR * data.len();
        let mut e = vec![0u8; len];
        e[..4].copy_from_slice(SIGNATURE);
        put_u32(&mut e, 8, len as u32);
        put_u32(&mut e, 12, tail);
        put_u64(&mut e, 16, seq);
        put_u32(&mut e, 24, count as u32);
        e[32..48].copy_from_slice(&guid.to_mixed_endian());
        put_u64(&mut e, 48, last_file_offset);
        put_u64(&mut e, 56, last_file_offset);
        for (i, (off, n)) in zeros.iter().enumerate() {
            let d = 64 + 32 * i;
            e[d..d + 4].copy_from_slice(ZERO_DESC);
            put_u64(&mut e, d + 8, *n);
            put_u64(&mut e, d + 16, *off);
            put_u64(&mut e, d + 24, seq);
        }
        for (j, (off, bytes)) in data.iter().enumerate() {
            let d = 64 + 32 * (zeros.len() + j);
            e[d..d + 4].copy_from_slice(DATA_DESC);
            e[d + 4..d + 8].copy_from_slice(&bytes[4092..]);
            e[d + 8..d + 16].copy_from_slice(&bytes[..8]);
            put_u64(&mut e, d + 16, *off);
            put_u64(&mut e, d + 24, seq);
            let s = desc_area + SECTOR * j;
            e[s..s + 4].copy_from_slice(DATA_SECTOR);
            put_u32(&mut e, s + 4, (seq >> 32) as u32);
            e[s + 8..s + 4092].copy_from_slice(&bytes[8..4092]);
            put_u32(&mut e, s + 4092, seq as u32);
        }
        let c = checksum(&e, 4);
        put_u32(&mut e, 4, c);
        e
    }

    #[test]
    fn active_sequence_is_replayed_in_order() {
        let g = Guid([5; 16]);
        let mut log = vec![0u8; 64 * 1024];
        // A stale entry (seq 3) from an older sequence, then the sequence 10, 11 starting
        // at 8192 whose head points back to it.
        let stale = make_entry(g, 3, 0, &[(1 << 20, vec![9; 4096])], &[], 0);
        log[..stale.len()].copy_from_slice(&stale);
        let a = make_entry(g, 10, 8192, &[(2 << 20, vec![1; 4096])], &[], 5 << 20);
        log[8192..8192 + a.len()].copy_from_slice(&a);
        let at = 8192 + a.len();
        let b = make_entry(
            g,
            11,
            8192,
            &[(2 << 20, vec![2; 4096])],
            &[(3 << 20, 8192)],
            6 << 20,
        );
        log[at..at + b.len()].copy_from_slice(&b);
        let r = replay(&log, g, 1 << 20, 8 << 20).unwrap().unwrap();
        assert_eq!(r.entries, 2);
        assert_eq!(r.last_file_offset, 6 << 20);
        assert_eq!(r.updates.len(), 3);
        assert_eq!(r.updates[0], Update::Sector(2 << 20, vec![1; 4096].into()));
        assert_eq!(r.updates[1], Update::Zero(3 << 20, 8192));
        assert_eq!(r.updates[2], Update::Sector(2 << 20, vec![2; 4096].into()));
        // Another GUID: nothing to replay.
        assert!(replay(&log, Guid([6; 16]), 1 << 20, 8 << 20)
            .unwrap()
            .is_none());
        // A truncated file is refused.
        assert!(replay(&log, g, 1 << 20, 1 << 20).is_err());
        // A broken head falls back to the longest intact sequence before it.
        log[at + 100] ^= 1;
        let r = replay(&log, g, 1 << 20, 8 << 20).unwrap().unwrap();
        assert_eq!(r.entries, 1);
    }

    #[test]
    fn entry_wrapping_around_the_log_end() {
        let g = Guid([7; 16]);
        let mut log = vec![0u8; 16 * 1024];
        let e = make_entry(g, 1, 12288, &[(1 << 20, vec![4; 4096])], &[], 0);
        assert_eq!(e.len(), 8192);
        log[12288..].copy_from_slice(&e[..4096]);
        log[..4096].copy_from_slice(&e[4096..]);
        let r = replay(&log, g, 1 << 20, 8 << 20).unwrap().unwrap();
        assert_eq!(
            r.updates,
            vec![Update::Sector(1 << 20, vec![4; 4096].into())]
        );
    }

    #[test]
    fn bit_flips_and_garbage_never_panic() {
        let g = Guid([5; 16]);
        let mut log = vec![0u8; 32 * 1024];
        let a = make_entry(
            g,
            10,
            0,
            &[(2 << 20, vec![1; 4096])],
            &[(3 << 20, 4096)],
            5 << 20,
        );
        log[..a.len()].copy_from_slice(&a);
        let b = make_entry(g, 11, 0, &[(2 << 20, vec![2; 4096])], &[], 6 << 20);
        log[a.len()..a.len() + b.len()].copy_from_slice(&b);
        assert_eq!(replay(&log, g, 0, 8 << 20).unwrap().unwrap().entries, 2);
        for at in 0..a.len() + b.len() {
            for bit in [0, 5] {
                log[at] ^= 1 << bit;
                let _ = replay(&log, g, 0, 8 << 20);
                log[at] ^= 1 << bit;
            }
        }
        for len in [0, 1, 4095, 4097, 12288] {
            let _ = replay(&log[..len.min(log.len())], g, 0, 8 << 20);
        }
        let mut x = 1u64;
        let junk: Vec<u8> = (0..65536)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                (x >> 56) as u8
            })
            .collect();
        assert!(replay(&junk, g, 0, 8 << 20).unwrap().is_none());
    }
}
