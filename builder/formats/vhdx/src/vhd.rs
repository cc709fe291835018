//! The fixed VHD (v1) writer: the raw disk followed by the 512-byte footer of
//! [`crate::vhd_footer`]. Azure takes only this format, and only with a virtual size that is
//! a whole number of MiB.
//!
//! A size that is not a whole number of MiB is an error rather than padded: padding would
//! move the disk's end away from where its GPT backup header sits, so the caller must size
//! the disk itself.

use std::io::SeekFrom;

use eflow_extents::{Segment, SparseRead};

use crate::bytes::MIB;
use crate::error::Error;
use crate::vhd_footer;

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
    out.write_all(&vhd_footer::build(size, opts))?;
    out.flush()?;
    Ok(VhdSummary {
        virtual_size: size,
        file_size: size + vhd_footer::SIZE as u64,
    })
}
