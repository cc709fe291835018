//! The boot sector fields and the first FAT of a FAT32 image fatfs just built, as the
//! fix-ups that follow it (the dot entries, the FSInfo hints) read them.

use crate::FatImage;

pub(crate) fn u16_at(b: &[u8], o: usize) -> usize {
    u16::from_le_bytes([b[o], b[o + 1]]) as usize
}

pub(crate) fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

/// The BIOS parameter block's geometry (sizes in sectors unless named otherwise).
pub(crate) struct Bpb {
    /// Bytes per sector.
    pub sector: usize,
    /// Sectors per cluster.
    pub spc: usize,
    pub reserved: usize,
    pub fats: usize,
    /// Sectors per FAT.
    pub spf: usize,
    /// Sectors of the volume.
    pub total: usize,
    /// The root directory's first cluster.
    pub root: u32,
    /// The FSInfo sector's number.
    pub info_sector: usize,
    /// The first FAT, read whole.
    pub fat: Vec<u8>,
}

impl Bpb {
    /// Reads the boot sector and the first FAT of `img`.
    pub fn read(img: &FatImage) -> std::io::Result<Bpb> {
        let mut b = [0u8; 512];
        img.read_at(0, &mut b)?;
        let sector = u16_at(&b, 11);
        let reserved = u16_at(&b, 14);
        let spf = u32_at(&b, 36) as usize;
        let mut fat = vec![0u8; spf * sector];
        img.read_at((reserved * sector) as u64, &mut fat)?;
        Ok(Bpb {
            sector,
            spc: b[13] as usize,
            reserved,
            fats: b[16] as usize,
            spf,
            total: u32_at(&b, 32) as usize,
            root: u32_at(&b, 44),
            info_sector: u16_at(&b, 48),
            fat,
        })
    }
}
