//! The GPT header (92 bytes at the start of LBA 1 and of the last LBA).

use crate::{GptError, Guid};

/// "EFI PART".
pub const SIGNATURE: &[u8; 8] = b"EFI PART";
/// Revision 1.0.
pub const REVISION: u32 = 0x0001_0000;
/// The size of the header this crate writes.
pub const HEADER_SIZE: u32 = 92;

/// The fields of a GPT header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// LBA of this header.
    pub my_lba: u64,
    /// LBA of the other header.
    pub alternate_lba: u64,
    pub first_usable_lba: u64,
    pub last_usable_lba: u64,
    pub disk_guid: Guid,
    /// LBA where this header's copy of the partition entry array starts.
    pub entries_lba: u64,
    pub num_entries: u32,
    pub entry_size: u32,
    /// CRC32 of the partition entry array.
    pub entries_crc: u32,
}

impl Header {
    /// The header serialized into one sector, its CRC32 computed.
    pub fn to_sector(&self) -> [u8; 512] {
        let mut s = [0u8; 512];
        s[0..8].copy_from_slice(SIGNATURE);
        s[8..12].copy_from_slice(&REVISION.to_le_bytes());
        s[12..16].copy_from_slice(&HEADER_SIZE.to_le_bytes());
        // 16..20: header CRC, computed below with the field zeroed; 20..24 reserved.
        s[24..32].copy_from_slice(&self.my_lba.to_le_bytes());
        s[32..40].copy_from_slice(&self.alternate_lba.to_le_bytes());
        s[40..48].copy_from_slice(&self.first_usable_lba.to_le_bytes());
        s[48..56].copy_from_slice(&self.last_usable_lba.to_le_bytes());
        s[56..72].copy_from_slice(&self.disk_guid.to_mixed_endian());
        s[72..80].copy_from_slice(&self.entries_lba.to_le_bytes());
        s[80..84].copy_from_slice(&self.num_entries.to_le_bytes());
        s[84..88].copy_from_slice(&self.entry_size.to_le_bytes());
        s[88..92].copy_from_slice(&self.entries_crc.to_le_bytes());
        let crc = crc32fast::hash(&s[..HEADER_SIZE as usize]);
        s[16..20].copy_from_slice(&crc.to_le_bytes());
        s
    }

    /// Parses and checks a header sector: signature, revision, size and CRC.
    /// `which` names the copy ("primary" or "backup") in errors.
    pub fn parse(s: &[u8], which: &'static str) -> Result<Header, GptError> {
        let bad = |detail: String| GptError::Corrupt {
            what: which,
            detail,
        };
        if s.len() < 512 {
            return Err(bad(format!("header sector is {} bytes", s.len())));
        }
        if &s[0..8] != SIGNATURE {
            return Err(bad("no \"EFI PART\" signature".into()));
        }
        let u32_at = |o: usize| u32::from_le_bytes([s[o], s[o + 1], s[o + 2], s[o + 3]]);
        let u64_at = |o: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&s[o..o + 8]);
            u64::from_le_bytes(b)
        };
        let revision = u32_at(8);
        if revision >> 16 != 1 {
            return Err(bad(format!("unsupported revision {revision:#010x}")));
        }
        let size = u32_at(12);
        if !(HEADER_SIZE..=512).contains(&size) {
            return Err(bad(format!("header size {size} is outside 92..=512")));
        }
        let stored_crc = u32_at(16);
        let mut copy = s[..size as usize].to_vec();
        copy[16..20].fill(0);
        let crc = crc32fast::hash(&copy);
        if crc != stored_crc {
            return Err(bad(format!(
                "header CRC32 is {stored_crc:#010x}, computed {crc:#010x}"
            )));
        }
        let mut g = [0u8; 16];
        g.copy_from_slice(&s[56..72]);
        Ok(Header {
            my_lba: u64_at(24),
            alternate_lba: u64_at(32),
            first_usable_lba: u64_at(40),
            last_usable_lba: u64_at(48),
            disk_guid: Guid::from_mixed_endian(&g),
            entries_lba: u64_at(72),
            num_entries: u32_at(80),
            entry_size: u32_at(84),
            entries_crc: u32_at(88),
        })
    }
}
