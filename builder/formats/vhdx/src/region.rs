//! The region table (two identical 64 KiB copies at 192 KiB and 256 KiB): where the BAT,
//! the metadata and any other region live.

use crate::bytes::{checked, checksum, put_u32, put_u64, u32_at, u64_at};
use crate::error::{corrupt, Error};
use crate::guid::Guid;

/// Size of a region table and of its checksummed range.
pub const SIZE: usize = 64 * 1024;
/// File offsets of the two copies.
pub const OFFSETS: [u64; 2] = [192 * 1024, 256 * 1024];
/// `regi` signature.
const SIGNATURE: &[u8; 4] = b"regi";
/// The format's limit on entries.
const MAX_ENTRIES: u32 = 2047;

/// One region: what it is, where, how long, and whether a reader must understand it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionEntry {
    /// Identifies the region's kind (BAT, metadata, or unknown).
    pub guid: Guid,
    /// Offset in the file (multiple of 1 MiB).
    pub file_offset: u64,
    /// Length (multiple of 1 MiB).
    pub length: u32,
    /// A reader that does not know the region must refuse the file.
    pub required: bool,
}

/// Serializes a region table (64 KiB, checksum filled in).
pub fn build(entries: &[RegionEntry]) -> Vec<u8> {
    let mut b = vec![0u8; SIZE];
    b[..4].copy_from_slice(SIGNATURE);
    put_u32(&mut b, 8, entries.len() as u32);
    for (i, e) in entries.iter().enumerate() {
        let at = 16 + 32 * i;
        b[at..at + 16].copy_from_slice(&e.guid.to_mixed_endian());
        put_u64(&mut b, at + 16, e.file_offset);
        put_u32(&mut b, at + 24, e.length);
        put_u32(&mut b, at + 28, e.required as u32);
    }
    let c = checksum(&b, 4);
    put_u32(&mut b, 4, c);
    b
}

/// Parses one copy, checking signature, checksum and entry count (not the entries' meaning).
pub fn parse(b: &[u8], name: &str, offset: u64) -> Result<Vec<RegionEntry>, Error> {
    let b = checked(b, SIZE, SIGNATURE, "the region table", name, offset)?;
    let count = u32_at(b, 8);
    if count > MAX_ENTRIES {
        return Err(corrupt(
            name,
            offset,
            format!("{count} entries, the format allows at most {MAX_ENTRIES}"),
        ));
    }
    Ok((0..count as usize)
        .map(|i| {
            let at = 16 + 32 * i;
            RegionEntry {
                guid: Guid::read_mixed_endian(b, at),
                file_offset: u64_at(b, at + 16),
                length: u32_at(b, at + 24),
                required: u32_at(b, at + 28) & 1 == 1,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let e = vec![RegionEntry {
            guid: crate::guid::BAT_REGION,
            file_offset: 3 << 20,
            length: 1 << 20,
            required: true,
        }];
        let mut b = build(&e);
        assert_eq!(parse(&b, "r", 0).unwrap(), e);
        b[40] ^= 0x10;
        assert!(parse(&b, "r", 0).is_err());
    }
}
