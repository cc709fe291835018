//! The protective MBR at LBA 0: one partition of type 0xEE covering the disk, so that
//! MBR-only tools see the disk as in use instead of empty.

use crate::{GptError, SECTOR};

const TYPE_GPT_PROTECTIVE: u8 = 0xEE;

/// The 512-byte protective MBR for a disk of `sectors` sectors.
pub fn protective(sectors: u64) -> [u8; SECTOR as usize] {
    let mut m = [0u8; SECTOR as usize];
    let e = &mut m[446..462];
    e[0] = 0x00; // not bootable
    e[1..4].copy_from_slice(&[0x00, 0x02, 0x00]); // CHS of LBA 1: head 0, sector 2, cylinder 0
    e[4] = TYPE_GPT_PROTECTIVE;
    e[5..8].copy_from_slice(&[0xFF, 0xFF, 0xFF]); // CHS past the addressable range
    e[8..12].copy_from_slice(&1u32.to_le_bytes());
    let size = sectors.saturating_sub(1).min(u32::MAX as u64) as u32;
    e[12..16].copy_from_slice(&size.to_le_bytes());
    m[510] = 0x55;
    m[511] = 0xAA;
    m
}

/// Checks that `m` (LBA 0) is an MBR with a GPT protective partition.
pub fn check(m: &[u8]) -> Result<(), GptError> {
    if m.len() < SECTOR as usize || m[510..512] != [0x55, 0xAA] {
        return Err(GptError::Corrupt {
            what: "protective MBR",
            detail: "no 0x55AA boot signature at LBA 0".into(),
        });
    }
    let has_ee = (0..4).any(|i| m[446 + 16 * i + 4] == TYPE_GPT_PROTECTIVE);
    if !has_ee {
        return Err(GptError::Corrupt {
            what: "protective MBR",
            detail: "no partition of type 0xEE (is this an MBR-partitioned disk?)".into(),
        });
    }
    Ok(())
}
