//! The VHD (v1) footer: 512 big-endian bytes after the disk of a fixed VHD (and copied at the
//! start of a dynamic one). Built by the fixed VHD writer, parsed when a file is opened.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::guid::Guid;
use crate::vhd::VhdOptions;

/// Size of the footer.
pub const SIZE: usize = 512;
/// A footer starts with this cookie.
pub const SIGNATURE: &[u8; 8] = b"conectix";
/// The file format version this crate writes and reads: 1.0.
const VERSION: u32 = 0x0001_0000;
/// Disk type of a fixed disk (the other values name kinds this crate does not read).
const FIXED: u32 = 2;

/// CHS geometry per the VHD specification's algorithm: (cylinders, heads, sectors per track).
pub fn chs(size: u64) -> (u16, u8, u8) {
    let mut total = size / 512;
    if total > 65535 * 16 * 255 {
        total = 65535 * 16 * 255;
    }
    let (spt, heads, cth);
    if total >= 65535 * 16 * 63 {
        spt = 255;
        heads = 16;
        cth = total / spt;
    } else {
        let mut s = 17;
        let mut c = total / s;
        let mut h = c.div_ceil(1024);
        if h < 4 {
            h = 4;
        }
        if c >= h * 1024 || h > 16 {
            s = 31;
            h = 16;
            c = total / s;
        }
        if c >= h * 1024 {
            s = 63;
            h = 16;
            c = total / s;
        }
        spt = s;
        heads = h;
        cth = c;
    }
    ((cth / heads) as u16, heads as u8, spt as u8)
}

/// The one's complement of the byte sum with the checksum field itself skipped.
fn checksum(f: &[u8; SIZE]) -> u32 {
    let sum: u32 = f
        .iter()
        .enumerate()
        .filter(|(i, _)| !(64..68).contains(i))
        .map(|(_, b)| *b as u32)
        .sum();
    !sum
}

/// Builds the 512-byte footer of a fixed disk of `size` bytes.
pub fn build(size: u64, opts: &VhdOptions) -> [u8; SIZE] {
    let mut f = [0u8; SIZE];
    f[0..8].copy_from_slice(SIGNATURE);
    f[8..12].copy_from_slice(&2u32.to_be_bytes()); // features: reserved bit always set
    f[12..16].copy_from_slice(&VERSION.to_be_bytes()); // file format version 1.0
    f[16..24].copy_from_slice(&u64::MAX.to_be_bytes()); // data offset: none for fixed disks
    f[24..28].copy_from_slice(&opts.timestamp.to_be_bytes());
    f[28..32].copy_from_slice(&opts.creator_app);
    f[32..36].copy_from_slice(&0x000A_0000u32.to_be_bytes()); // creator version 10.0
    f[36..40].copy_from_slice(b"Wi2k"); // creator host OS
    f[40..48].copy_from_slice(&size.to_be_bytes()); // original size
    f[48..56].copy_from_slice(&size.to_be_bytes()); // current size
    let (c, h, s) = chs(size);
    f[56..58].copy_from_slice(&c.to_be_bytes());
    f[58] = h;
    f[59] = s;
    f[60..64].copy_from_slice(&FIXED.to_be_bytes()); // disk type: fixed
    let mut id = Sha256::new();
    id.update(opts.seed.0);
    id.update(b"vhd unique id");
    f[68..84].copy_from_slice(&id.finalize()[..16]);
    let sum = checksum(&f);
    f[64..68].copy_from_slice(&sum.to_be_bytes());
    f
}

/// The kind of disk a VHD footer declares; only fixed disks are read by this crate, the
/// others are named so that the refusal can say what the file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VhdDiskType {
    /// The disk's bytes, then the footer.
    Fixed,
    /// Blocks allocated on demand (a BAT after a header at the start).
    Dynamic,
    /// Blocks over a parent disk.
    Differencing,
    /// A value the specification does not define.
    Other(u32),
}

impl fmt::Display for VhdDiskType {
    /// "fixed", "dynamic", "differencing" or "type N": how `inspect` and errors name it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VhdDiskType::Fixed => f.write_str("fixed"),
            VhdDiskType::Dynamic => f.write_str("dynamic"),
            VhdDiskType::Differencing => f.write_str("differencing"),
            VhdDiskType::Other(n) => write!(f, "type {n}"),
        }
    }
}

/// The fields of a VHD footer as read back, for `inspect` to show.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct VhdFooter {
    /// Size of the virtual disk.
    pub virtual_size: u64,
    /// Size when the disk was created.
    pub original_size: u64,
    /// Fixed, dynamic, differencing.
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::as_text"))]
    pub disk_type: VhdDiskType,
    /// Creator application tag (like `win ` or `qemu`), non-printable bytes as `.`.
    pub creator_app: String,
    /// Creator host OS tag (like `Wi2k`), non-printable bytes as `.`.
    pub creator_host: String,
    /// Seconds since 2000-01-01 UTC.
    pub timestamp: u32,
    /// CHS geometry (cylinders, heads, sectors per track).
    pub geometry: (u16, u8, u8),
    /// The disk's unique id, in the order the footer stores it.
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::as_text"))]
    pub unique_id: Guid,
}

/// Text of a 4-byte tag, non-printable bytes as `.`, so that a damaged tag still prints.
fn tag(b: &[u8]) -> String {
    b.iter()
        .map(|c| {
            if c.is_ascii_graphic() || *c == b' ' {
                *c as char
            } else {
                '.'
            }
        })
        .collect()
}

impl VhdFooter {
    /// Parses and checks a footer (cookie, checksum, version); what it says about the file
    /// around it (type, size) is for the caller to judge.
    pub fn parse(f: &[u8; SIZE]) -> Result<VhdFooter, Error> {
        let be32 = |o: usize| u32::from_be_bytes([f[o], f[o + 1], f[o + 2], f[o + 3]]);
        let be64 = |o: usize| (be32(o) as u64) << 32 | be32(o + 4) as u64;
        let bad = |problem: String| Error::CorruptVhd(problem);
        if &f[..8] != SIGNATURE {
            return Err(bad("cookie `conectix` missing".into()));
        }
        let (stored, computed) = (be32(64), checksum(f));
        if stored != computed {
            return Err(bad(format!(
                "checksum mismatch: stored {stored:#010x}, computed {computed:#010x}"
            )));
        }
        let version = be32(12);
        if version != VERSION {
            return Err(bad(format!(
                "file format version {version:#010x} is not 1.0"
            )));
        }
        let disk_type = match be32(60) {
            FIXED => VhdDiskType::Fixed,
            3 => VhdDiskType::Dynamic,
            4 => VhdDiskType::Differencing,
            n => VhdDiskType::Other(n),
        };
        let mut id = [0u8; 16];
        id.copy_from_slice(&f[68..84]);
        Ok(VhdFooter {
            virtual_size: be64(48),
            original_size: be64(40),
            disk_type,
            creator_app: tag(&f[28..32]),
            creator_host: tag(&f[36..40]),
            timestamp: be32(24),
            geometry: (u16::from_be_bytes([f[56], f[57]]), f[58], f[59]),
            unique_id: Guid(id),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes::MIB;

    #[test]
    fn chs_examples() {
        // Values computed by hand from the specification's algorithm.
        assert_eq!(chs(10 * MIB), (301, 4, 17));
        assert_eq!(chs(2040 << 30), (65535, 16, 255));
    }

    #[test]
    fn footer_checksum() {
        let f = build(64 * MIB, &VhdOptions::default());
        let stored = u32::from_be_bytes([f[64], f[65], f[66], f[67]]);
        let mut g = f;
        g[64..68].fill(0);
        let sum: u32 = g.iter().map(|b| *b as u32).sum();
        assert_eq!(stored, !sum);
    }

    #[test]
    fn parse_reads_back_what_build_wrote() {
        let opts = VhdOptions {
            seed: eflow_id::Seed([5; 32]),
            timestamp: 1234,
            ..VhdOptions::default()
        };
        let f = build(10 * MIB, &opts);
        let p = VhdFooter::parse(&f).unwrap();
        assert_eq!(p.virtual_size, 10 * MIB);
        assert_eq!(p.original_size, 10 * MIB);
        assert_eq!(p.disk_type, VhdDiskType::Fixed);
        assert_eq!(p.disk_type.to_string(), "fixed");
        assert_eq!(
            (p.creator_app.as_str(), p.creator_host.as_str()),
            ("win ", "Wi2k")
        );
        assert_eq!(p.timestamp, 1234);
        assert_eq!(p.geometry, chs(10 * MIB));
        assert_eq!(p.unique_id.0[..], f[68..84]);
    }

    #[test]
    fn any_flipped_byte_is_an_error() {
        let f = build(MIB, &VhdOptions::default());
        for i in [0usize, 13, 30, 50, 64, 100, 511] {
            let mut g = f;
            g[i] ^= 0x10;
            let e = VhdFooter::parse(&g).unwrap_err();
            assert!(matches!(e, Error::CorruptVhd(_)), "flip at {i}: {e}");
        }
    }

    #[test]
    fn other_disk_types_are_named() {
        let mut f = build(MIB, &VhdOptions::default());
        for (n, name) in [(3u32, "dynamic"), (4, "differencing"), (9, "type 9")] {
            f[60..64].copy_from_slice(&n.to_be_bytes());
            f[64..68].fill(0);
            let sum = checksum(&f);
            f[64..68].copy_from_slice(&sum.to_be_bytes());
            assert_eq!(VhdFooter::parse(&f).unwrap().disk_type.to_string(), name);
        }
    }
}
