//! Fixed VHD (v1): the raw disk followed by a 512-byte big-endian `conectix` footer. Azure
//! takes only this format, and only with a virtual size that is a whole number of MiB.
//!
//! A size that is not a whole number of MiB is an error rather than padded: padding would
//! move the disk's end away from where its GPT backup header sits, so the caller must size
//! the disk itself.

use std::io::SeekFrom;

use eflow_extents::{Segment, SparseRead};
use sha2::{Digest, Sha256};

use crate::bytes::MIB;
use crate::error::Error;

/// Size of the footer.
pub const FOOTER_SIZE: usize = 512;
/// Largest fixed VHD the format allows (2040 GiB).
pub const MAX_SIZE: u64 = 2040 << 30;

/// How to write a fixed VHD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VhdOptions {
    /// The footer's unique id derives from this.
    pub seed: eflow_id::Seed,
    /// Footer time stamp: seconds since 2000-01-01 00:00:00 UTC (from SOURCE_DATE_EPOCH,
    /// never the clock).
    pub timestamp: u32,
    /// Creator application tag. Readers such as QEMU take the footer's size as the disk size
    /// only for known tags (`win `, `qem2`, ...) and otherwise trust the CHS geometry, which
    /// rounds down; so the default is `win `, the tag of Hyper-V's own VHDs, whose size
    /// semantics these files follow.
    pub creator_app: [u8; 4],
}

impl Default for VhdOptions {
    fn default() -> Self {
        VhdOptions {
            seed: eflow_id::Seed::default(),
            timestamp: 0,
            creator_app: *b"win ",
        }
    }
}

/// What was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VhdSummary {
    /// Size of the virtual disk in bytes.
    pub virtual_size: u64,
    /// Length of the file (virtual size plus the footer).
    pub file_size: u64,
}

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

/// Builds the 512-byte footer of a fixed disk of `size` bytes.
pub fn footer(size: u64, opts: &VhdOptions) -> [u8; FOOTER_SIZE] {
    let mut f = [0u8; FOOTER_SIZE];
    f[0..8].copy_from_slice(b"conectix");
    f[8..12].copy_from_slice(&2u32.to_be_bytes()); // features: reserved bit always set
    f[12..16].copy_from_slice(&0x0001_0000u32.to_be_bytes()); // file format version 1.0
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
    f[60..64].copy_from_slice(&2u32.to_be_bytes()); // disk type: fixed
    let mut id = Sha256::new();
    id.update(opts.seed.0);
    id.update(b"vhd unique id");
    f[68..84].copy_from_slice(&id.finalize()[..16]);
    let sum: u32 = f.iter().map(|b| *b as u32).sum();
    f[64..68].copy_from_slice(&(!sum).to_be_bytes());
    f
}

/// Writes `src` as a fixed VHD into `out` (truncated first).
pub fn write_vhd_fixed(
    src: &mut dyn SparseRead,
    out: &mut dyn eflow_extents::Output,
    opts: &VhdOptions,
) -> Result<VhdSummary, Error> {
    write_vhd_fixed_with_progress(src, out, opts, &mut |_, _| {})
}

/// As [`write_vhd_fixed`], calling `progress(bytes_done, bytes_total)` as it goes.
pub fn write_vhd_fixed_with_progress(
    src: &mut dyn SparseRead,
    out: &mut dyn eflow_extents::Output,
    opts: &VhdOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<VhdSummary, Error> {
    let size = src.size();
    if size == 0 || !size.is_multiple_of(MIB) {
        return Err(Error::InvalidOption(format!(
            "a fixed VHD for Azure must be a whole number of MiB; the disk is {size} bytes: \
             size the disk (and its partition table) to a multiple of 1 MiB"
        )));
    }
    if size > MAX_SIZE {
        return Err(Error::InvalidOption(format!(
            "{size} bytes exceeds the 2040 GiB limit of VHD"
        )));
    }
    out.set_len(0)?;
    let mut buf = vec![0u8; 4 << 20];
    let mut pos = 0u64;
    let mut file_pos = 0u64;
    while let Some(seg) = src.next_segment(&mut buf)? {
        let n = match seg {
            Segment::Zero(n) => n,
            Segment::Data(n) if n > 0 && n <= buf.len() => {
                if file_pos != pos {
                    out.seek(SeekFrom::Start(pos))?;
                }
                out.write_all(&buf[..n])?;
                file_pos = pos + n as u64;
                n as u64
            }
            Segment::Data(n) => {
                return Err(Error::Input(format!(
                    "a data segment of {n} bytes for a {}-byte buffer",
                    buf.len()
                )))
            }
        };
        pos = match pos.checked_add(n) {
            Some(p) if n > 0 && p <= size => p,
            _ => {
                return Err(Error::Input(format!(
                    "segments pass the declared size {size} (at {pos}, a {n}-byte segment)"
                )))
            }
        };
        progress(pos, size);
    }
    if pos != size {
        return Err(Error::Input(format!(
            "the stream ended at {pos} bytes, its declared size is {size}"
        )));
    }
    out.seek(SeekFrom::Start(size))?;
    out.write_all(&footer(size, opts))?;
    out.flush()?;
    Ok(VhdSummary {
        virtual_size: size,
        file_size: size + FOOTER_SIZE as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chs_examples() {
        // 127 MiB... values computed by hand from the specification's algorithm.
        assert_eq!(chs(10 * MIB), (301, 4, 17));
        assert_eq!(chs(2040 << 30), (65535, 16, 255));
    }

    #[test]
    fn footer_checksum() {
        let f = footer(64 * MIB, &VhdOptions::default());
        let stored = u32::from_be_bytes([f[64], f[65], f[66], f[67]]);
        let mut g = f;
        g[64..68].fill(0);
        let sum: u32 = g.iter().map(|b| *b as u32).sum();
        assert_eq!(stored, !sum);
    }
}
