//! The crc32c flavour ext4 and e2fsprogs use for metadata_csum: the raw CRC register, with
//! no final inversion, seeded by the caller (usually with a filesystem or inode seed).

/// Continues the raw crc32c register `seed` over `data` (ext4's `ext4_chksum`).
pub fn crc32c_raw(seed: u32, data: &[u8]) -> u32 {
    // The crc32c crate applies the usual pre/post inversion; undo both to get the raw register.
    !crc32c::crc32c_append(!seed, data)
}

/// The filesystem checksum seed: crc32c of the UUID starting from all ones.
pub fn fs_seed(uuid: &[u8; 16]) -> u32 {
    crc32c_raw(!0, uuid)
}

/// The per-inode seed that inode, extent, directory and htree checksums start from.
pub fn inode_seed(fs_seed: u32, ino: u32, generation: u32) -> u32 {
    let s = crc32c_raw(fs_seed, &ino.to_le_bytes());
    crc32c_raw(s, &generation.to_le_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_register_matches_standard_crc() {
        // Standard crc32c("123456789") = 0xE3069283 = !raw(!0, ...).
        assert_eq!(!crc32c_raw(!0, b"123456789"), 0xE306_9283);
        // Chaining equals one pass.
        let a = crc32c_raw(crc32c_raw(7, b"1234"), b"56789");
        assert_eq!(a, crc32c_raw(7, b"123456789"));
    }
}
