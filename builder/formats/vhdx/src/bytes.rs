//! Little-endian field access and the CRC-32C checksum shared by every VHDX structure.

use crate::error::{corrupt, Error};

/// Reads a little-endian u16 at `at` (the caller has checked the length).
pub(crate) fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

/// Reads a little-endian u32 at `at`.
pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

/// Reads a little-endian u64 at `at`.
pub(crate) fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// Writes a little-endian u16 at `at`.
pub(crate) fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

/// Writes a little-endian u32 at `at`.
pub(crate) fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Writes a little-endian u64 at `at`.
pub(crate) fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// CRC-32C of `b` computed as if the 4-byte checksum field at `field` were zero
/// (how VHDX headers, region tables and log entries are checksummed).
pub(crate) fn checksum(b: &[u8], field: usize) -> u32 {
    let c = crc32c::crc32c(&b[..field]);
    let c = crc32c::crc32c_append(c, &[0u8; 4]);
    crc32c::crc32c_append(c, &b[field + 4..])
}

/// The `size` bytes of a checksummed structure (a header, a region table) at the start of
/// `b`, once its 4-byte signature and its CRC-32C (at byte 4) are checked; the error names
/// `name` at `offset`, and says the file ends inside `what` when `b` is short.
pub(crate) fn checked<'a>(
    b: &'a [u8],
    size: usize,
    signature: &[u8; 4],
    what: &str,
    name: &str,
    offset: u64,
) -> Result<&'a [u8], Error> {
    if b.len() < size {
        return Err(corrupt(name, offset, format!("file ends inside {what}")));
    }
    let b = &b[..size];
    if &b[..4] != signature {
        let sig = String::from_utf8_lossy(signature);
        return Err(corrupt(name, offset, format!("signature `{sig}` missing")));
    }
    let stored = u32_at(b, 4);
    let computed = checksum(b, 4);
    if stored != computed {
        return Err(corrupt(
            name,
            offset,
            format!("CRC-32C mismatch: stored {stored:#010x}, computed {computed:#010x}"),
        ));
    }
    Ok(b)
}

/// One mebibyte: the alignment of every region and payload block.
pub(crate) const MIB: u64 = 1024 * 1024;

#[cfg(test)]
mod tests {
    #[test]
    fn crc32c_known_vector() {
        // RFC 3720 B.4: 32 bytes of zeros.
        assert_eq!(crc32c::crc32c(&[0u8; 32]), 0x8A91_36AA);
    }
}
