//! The FAT32 FSInfo sector's free-cluster hints.
//!
//! fatfs leaves the free cluster count "unknown" (0xFFFFFFFF) after formatting, which
//! fsck.vfat reports and which makes firmware and kernels scan the whole FAT on mount.
//! Filling both hints from the finished FAT is deterministic and cheap.

use crate::bpb::{u32_at, Bpb};
use crate::{FatError, FatImage};

const LEAD_SIG: u32 = 0x4161_5252;
const STRUC_SIG: u32 = 0x6141_7272;

fn io(e: std::io::Error) -> FatError {
    FatError::Io {
        what: "the FSInfo sector".into(),
        source: e,
    }
}

/// Sets the free cluster count and next free cluster of the FSInfo sector of a FAT32 image.
pub fn fill(img: &mut FatImage) -> Result<(), FatError> {
    let b = Bpb::read(img).map_err(io)?;
    let (sector, fat) = (b.sector, &b.fat);
    let clusters = (b.total - b.reserved - b.fats * b.spf) / b.spc;
    let mut free = 0u32;
    let mut next = None;
    for c in 2..clusters + 2 {
        if u32_at(fat, 4 * c) & 0x0FFF_FFFF == 0 {
            free += 1;
            next.get_or_insert(c as u32);
        }
    }
    let o = (b.info_sector * sector) as u64;
    let mut info = vec![0u8; sector];
    img.read_at(o, &mut info).map_err(io)?;
    if u32_at(&info, 0) != LEAD_SIG || u32_at(&info, 484) != STRUC_SIG {
        return Err(FatError::Io {
            what: "the FSInfo sector".into(),
            source: std::io::Error::other("fatfs wrote no FSInfo signature"),
        });
    }
    info[488..492].copy_from_slice(&free.to_le_bytes());
    info[492..496].copy_from_slice(&next.unwrap_or(0xFFFF_FFFF).to_le_bytes());
    img.write_at(o, &info).map_err(io)?;
    Ok(())
}
