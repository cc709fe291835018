//! A partition entry (128 bytes) of the partition entry array.

use crate::{GptError, Guid, Partition};

/// The size of an entry this crate writes.
pub const ENTRY_SIZE: usize = 128;
/// The most UTF-16 code units a partition name holds.
pub const NAME_UNITS: usize = 36;

/// Serializes a partition into an entry; the name must already be checked to fit.
pub fn write(p: &Partition, out: &mut [u8]) {
    out[0..16].copy_from_slice(&p.type_guid.to_mixed_endian());
    out[16..32].copy_from_slice(&p.unique_guid.to_mixed_endian());
    out[32..40].copy_from_slice(&p.first_lba.to_le_bytes());
    out[40..48].copy_from_slice(&p.last_lba.to_le_bytes());
    out[48..56].copy_from_slice(&p.attributes.to_le_bytes());
    for (i, unit) in p.name.encode_utf16().take(NAME_UNITS).enumerate() {
        out[56 + 2 * i..58 + 2 * i].copy_from_slice(&unit.to_le_bytes());
    }
}

/// Parses an entry; None for an unused one (zero type GUID).
pub fn parse(e: &[u8], index: usize) -> Result<Option<Partition>, GptError> {
    let mut g = [0u8; 16];
    g.copy_from_slice(&e[0..16]);
    let type_guid = Guid::from_mixed_endian(&g);
    if type_guid == Guid::ZERO {
        return Ok(None);
    }
    g.copy_from_slice(&e[16..32]);
    let unique_guid = Guid::from_mixed_endian(&g);
    let u64_at = |o: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&e[o..o + 8]);
        u64::from_le_bytes(b)
    };
    let units: Vec<u16> = e[56..128]
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|u| *u != 0)
        .collect();
    let name = String::from_utf16(&units).map_err(|_| GptError::Corrupt {
        what: "partition entry",
        detail: format!("entry {index} has a name that is not valid UTF-16"),
    })?;
    Ok(Some(Partition {
        type_guid,
        unique_guid,
        name,
        first_lba: u64_at(32),
        last_lba: u64_at(40),
        attributes: u64_at(48),
    }))
}
