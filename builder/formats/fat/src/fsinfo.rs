//! The FAT32 FSInfo sector's free-cluster hints.
//!
//! fatfs leaves the free cluster count "unknown" (0xFFFFFFFF) after formatting, which
//! fsck.vfat reports and which makes firmware and kernels scan the whole FAT on mount.
//! Filling both hints from the finished FAT is deterministic and cheap.

use crate::FatError;

const LEAD_SIG: u32 = 0x4161_5252;
const STRUC_SIG: u32 = 0x6141_7272;

fn u16_at(b: &[u8], o: usize) -> usize {
    u16::from_le_bytes([b[o], b[o + 1]]) as usize
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

/// Sets the free cluster count and next free cluster of the FSInfo sector of a FAT32 image.
pub fn fill(img: &mut [u8]) -> Result<(), FatError> {
    let sector = u16_at(img, 11);
    let spc = img[13] as usize;
    let reserved = u16_at(img, 14);
    let fats = img[16] as usize;
    let spf = u32_at(img, 36) as usize;
    let info_sector = u16_at(img, 48);
    let total = u32_at(img, 32) as usize;
    let clusters = (total - reserved - fats * spf) / spc;
    let fat = &img[reserved * sector..(reserved + spf) * sector];
    let mut free = 0u32;
    let mut next = None;
    for c in 2..clusters + 2 {
        if u32_at(fat, 4 * c) & 0x0FFF_FFFF == 0 {
            free += 1;
            next.get_or_insert(c as u32);
        }
    }
    let o = info_sector * sector;
    let info = &mut img[o..o + sector];
    if u32_at(info, 0) != LEAD_SIG || u32_at(info, 484) != STRUC_SIG {
        return Err(FatError::Io {
            what: "the FSInfo sector".into(),
            source: std::io::Error::other("fatfs wrote no FSInfo signature"),
        });
    }
    info[488..492].copy_from_slice(&free.to_le_bytes());
    info[492..496].copy_from_slice(&next.unwrap_or(0xFFFF_FFFF).to_le_bytes());
    Ok(())
}
