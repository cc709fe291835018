//! GUIDs as VHDX stores them (Microsoft layout), the format's well-known GUIDs, and GUIDs
//! derived from the caller's seed so that output is reproducible.

use sha2::{Digest, Sha256};
use std::fmt;

/// A GUID in its 16 on-disk bytes: Data1 u32 LE, Data2 u16 LE, Data3 u16 LE, then 8 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// The all-zero GUID (e.g. LogGuid of a file whose log is empty).
    pub const ZERO: Guid = Guid([0; 16]);

    /// Builds a GUID from its textual fields (as in `2DC27766-F623-4200-9D64-115E9BFD4A08`).
    pub const fn from_fields(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> Guid {
        let a = d1.to_le_bytes();
        let b = d2.to_le_bytes();
        let c = d3.to_le_bytes();
        Guid([
            a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d4[0], d4[1], d4[2], d4[3], d4[4],
            d4[5], d4[6], d4[7],
        ])
    }

    /// A version-4 (random-looking) GUID derived from `seed` and a `label` naming its use,
    /// so that one seed yields distinct but reproducible GUIDs.
    pub fn from_seed(seed: &[u8; 32], label: &str) -> Guid {
        let mut h = Sha256::new();
        h.update(seed);
        h.update(label.as_bytes());
        let d = h.finalize();
        let mut t = [0u8; 16];
        t.copy_from_slice(&d[..16]);
        // RFC 4122: version 4 in the top nibble of time_hi, variant 10 in clock_seq_hi.
        t[6] = (t[6] & 0x0f) | 0x40;
        t[8] = (t[8] & 0x3f) | 0x80;
        Guid::from_fields(
            u32::from_be_bytes([t[0], t[1], t[2], t[3]]),
            u16::from_be_bytes([t[4], t[5]]),
            u16::from_be_bytes([t[6], t[7]]),
            [t[8], t[9], t[10], t[11], t[12], t[13], t[14], t[15]],
        )
    }

    /// Reads a GUID from 16 on-disk bytes at `at`.
    pub(crate) fn read(b: &[u8], at: usize) -> Guid {
        let mut g = [0u8; 16];
        g.copy_from_slice(&b[at..at + 16]);
        Guid(g)
    }

    /// True for the all-zero GUID.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 16]
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:08X}-{:04X}-{:04X}-{:02X}{:02X}-",
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            u16::from_le_bytes([b[4], b[5]]),
            u16::from_le_bytes([b[6], b[7]]),
            b[8],
            b[9]
        )?;
        for x in &b[10..] {
            write!(f, "{x:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Region table entry of the Block Allocation Table.
pub const BAT_REGION: Guid = Guid::from_fields(
    0x2DC2_7766,
    0xF623,
    0x4200,
    [0x9D, 0x64, 0x11, 0x5E, 0x9B, 0xFD, 0x4A, 0x08],
);
/// Region table entry of the metadata region.
pub const METADATA_REGION: Guid = Guid::from_fields(
    0x8B7C_A206,
    0x4790,
    0x4B9A,
    [0xB8, 0xFE, 0x57, 0x5F, 0x05, 0x0F, 0x88, 0x6E],
);
/// Metadata item: block size and flags.
pub const FILE_PARAMETERS: Guid = Guid::from_fields(
    0xCAA1_6737,
    0xFA36,
    0x4D43,
    [0xB3, 0xB6, 0x33, 0xF0, 0xAA, 0x44, 0xE7, 0x6B],
);
/// Metadata item: the virtual disk's size in bytes.
pub const VIRTUAL_DISK_SIZE: Guid = Guid::from_fields(
    0x2FA5_4224,
    0xCD1B,
    0x4876,
    [0xB2, 0x11, 0x5D, 0xBE, 0xD8, 0x3B, 0xF4, 0xB8],
);
/// Metadata item: the SCSI page 83 identifier of the virtual disk.
pub const PAGE83_DATA: Guid = Guid::from_fields(
    0xBECA_12AB,
    0xB2E6,
    0x4523,
    [0x93, 0xEF, 0xC3, 0x09, 0xE0, 0x00, 0xC7, 0x46],
);
/// Metadata item: logical sector size.
pub const LOGICAL_SECTOR_SIZE: Guid = Guid::from_fields(
    0x8141_BF1D,
    0xA96F,
    0x4709,
    [0xBA, 0x47, 0xF2, 0x33, 0xA8, 0xFA, 0xAB, 0x5F],
);
/// Metadata item: physical sector size.
pub const PHYSICAL_SECTOR_SIZE: Guid = Guid::from_fields(
    0xCDA3_48C7,
    0x445D,
    0x4471,
    [0x9C, 0xC9, 0xE9, 0x88, 0x52, 0x51, 0xC5, 0x56],
);
/// Metadata item: parent locator (differencing disks only).
pub const PARENT_LOCATOR: Guid = Guid::from_fields(
    0xA8D3_5F2D,
    0xB30B,
    0x454D,
    [0xAB, 0xF7, 0xD3, 0xD8, 0x48, 0x34, 0xAB, 0x0C],
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bat_guid_on_disk_bytes() {
        assert_eq!(
            BAT_REGION.0,
            [
                0x66, 0x77, 0xC2, 0x2D, 0x23, 0xF6, 0x00, 0x42, 0x9D, 0x64, 0x11, 0x5E, 0x9B, 0xFD,
                0x4A, 0x08
            ]
        );
        assert_eq!(
            BAT_REGION.to_string(),
            "2DC27766-F623-4200-9D64-115E9BFD4A08"
        );
    }

    #[test]
    fn seeded_guids_are_v4_and_distinct() {
        let a = Guid::from_seed(&[1; 32], "a");
        let b = Guid::from_seed(&[1; 32], "b");
        assert_ne!(a, b);
        assert_eq!(a, Guid::from_seed(&[1; 32], "a"));
        let s = a.to_string();
        assert_eq!(&s[14..15], "4");
        assert!(matches!(&s[19..20], "8" | "9" | "A" | "B"));
    }
}
