//! The log region: journal entries (`loge`) that a writer replays after a crash. This crate
//! writes an empty log (LogGuid zero) and, as a reader, only detects entries that would need
//! replaying so it can refuse such files instead of reading stale metadata.

use crate::bytes::{checksum, u32_at, u64_at};
use crate::guid::Guid;

/// `loge` signature of an entry header.
const SIGNATURE: &[u8; 4] = b"loge";
/// Log entries are made of 4 KiB sectors.
const SECTOR: usize = 4096;

/// A log entry found intact in the log region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryInfo {
    /// Offset of the entry inside the log region.
    pub log_offset: u64,
    /// The entry's sequence number.
    pub sequence_number: u64,
    /// Its length in bytes.
    pub length: u32,
}

/// Lists the entries in `log` (the whole log region) whose header, LogGuid and checksum are
/// valid for `log_guid`: those are the entries a replay would consider.
pub fn valid_entries(log: &[u8], log_guid: Guid) -> Vec<EntryInfo> {
    let mut found = Vec::new();
    let mut at = 0usize;
    while at + SECTOR <= log.len() {
        let h = &log[at..];
        if &h[..4] == SIGNATURE && Guid::read(h, 32) == log_guid {
            let len = u32_at(h, 8) as usize;
            if len >= SECTOR && len.is_multiple_of(SECTOR) && at + len <= log.len() {
                let e = &log[at..at + len];
                if checksum(e, 4) == u32_at(e, 4) {
                    found.push(EntryInfo {
                        log_offset: at as u64,
                        sequence_number: u64_at(e, 16),
                        length: len as u32,
                    });
                }
            }
        }
        at += SECTOR;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes::{put_u32, put_u64};

    #[test]
    fn finds_a_valid_entry_only() {
        let g = Guid([5; 16]);
        let mut log = vec![0u8; 64 * 1024];
        log[8192..8196].copy_from_slice(SIGNATURE);
        put_u32(&mut log, 8192 + 8, 4096);
        put_u64(&mut log, 8192 + 16, 42);
        log[8192 + 32..8192 + 48].copy_from_slice(&g.0);
        let c = checksum(&log[8192..8192 + 4096], 4);
        put_u32(&mut log, 8192 + 4, c);
        let e = valid_entries(&log, g);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].sequence_number, 42);
        assert!(valid_entries(&log, Guid([6; 16])).is_empty());
        log[8192 + 100] = 1;
        assert!(valid_entries(&log, g).is_empty());
    }
}
