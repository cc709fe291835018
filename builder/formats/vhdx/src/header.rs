//! The two 4 KiB headers at 64 KiB and 128 KiB: sequence number, write GUIDs, log location.

use crate::bytes::{checked, checksum, put_u16, put_u32, put_u64, u16_at, u32_at, u64_at, MIB};
use crate::error::{corrupt, Error};
use crate::guid::Guid;

/// Size of a header and of the checksummed range.
pub const SIZE: usize = 4096;
/// File offsets of header 1 and header 2.
pub const OFFSETS: [u64; 2] = [64 * 1024, 128 * 1024];
/// `head` as a little-endian u32.
const SIGNATURE: &[u8; 4] = b"head";

/// The fields of a VHDX header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The valid header with the higher number is the current one.
    pub sequence_number: u64,
    /// Changes whenever the file is opened for writing.
    pub file_write_guid: Guid,
    /// Changes whenever the virtual disk's data is changed.
    pub data_write_guid: Guid,
    /// Non-zero when the log may hold entries to replay.
    pub log_guid: Guid,
    /// Log format version; 0 is the only one defined.
    pub log_version: u16,
    /// Header format version; 1 is the only one defined.
    pub version: u16,
    /// Log region length (a multiple of 1 MiB).
    pub log_length: u32,
    /// Log region offset (a multiple of 1 MiB).
    pub log_offset: u64,
}

/// One of the two header slots as the reader found it: only the current one need be valid,
/// and showing both tells whether the file was last updated cleanly.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct HeaderSlot {
    /// 1 or 2.
    pub index: u8,
    /// Its sequence number, when valid.
    pub sequence_number: Option<u64>,
    /// Why it is not valid, when not.
    pub error: Option<String>,
}

impl HeaderSlot {
    /// The slot `index` (1 or 2) as parsed.
    pub(crate) fn of(index: u8, parsed: &Result<Header, Error>) -> HeaderSlot {
        HeaderSlot {
            index,
            sequence_number: parsed.as_ref().ok().map(|h| h.sequence_number),
            error: parsed.as_ref().err().map(|e| e.to_string()),
        }
    }
}

impl Header {
    /// Serializes to 4 KiB with the checksum filled in.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = vec![0u8; SIZE];
        b[..4].copy_from_slice(SIGNATURE);
        put_u64(&mut b, 8, self.sequence_number);
        b[16..32].copy_from_slice(&self.file_write_guid.to_mixed_endian());
        b[32..48].copy_from_slice(&self.data_write_guid.to_mixed_endian());
        b[48..64].copy_from_slice(&self.log_guid.to_mixed_endian());
        put_u16(&mut b, 64, self.log_version);
        put_u16(&mut b, 66, self.version);
        put_u32(&mut b, 68, self.log_length);
        put_u64(&mut b, 72, self.log_offset);
        let c = checksum(&b, 4);
        put_u32(&mut b, 4, c);
        b
    }

    /// Parses and validates one header; `name` and `offset` locate it in error messages.
    pub fn parse(b: &[u8], name: &str, offset: u64) -> Result<Header, Error> {
        let b = checked(b, SIZE, SIGNATURE, "the header", name, offset)?;
        let h = Header {
            sequence_number: u64_at(b, 8),
            file_write_guid: Guid::read_mixed_endian(b, 16),
            data_write_guid: Guid::read_mixed_endian(b, 32),
            log_guid: Guid::read_mixed_endian(b, 48),
            log_version: u16_at(b, 64),
            version: u16_at(b, 66),
            log_length: u32_at(b, 68),
            log_offset: u64_at(b, 72),
        };
        if h.version != 1 {
            return Err(corrupt(
                name,
                offset,
                format!("version {} is not 1", h.version),
            ));
        }
        if h.log_version != 0 {
            return Err(corrupt(
                name,
                offset,
                format!("log version {} is not 0", h.log_version),
            ));
        }
        if !(h.log_length as u64).is_multiple_of(MIB)
            || !h.log_offset.is_multiple_of(MIB)
            || h.log_offset < MIB
        {
            return Err(corrupt(
                name,
                offset,
                format!(
                    "log region {} bytes at {} is not 1 MiB aligned past the first MiB",
                    h.log_length, h.log_offset
                ),
            ));
        }
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_crc() {
        let h = Header {
            sequence_number: 7,
            file_write_guid: Guid([1; 16]),
            data_write_guid: Guid([2; 16]),
            log_guid: Guid::ZERO,
            log_version: 0,
            version: 1,
            log_length: MIB as u32,
            log_offset: MIB,
        };
        let mut b = h.to_bytes();
        assert_eq!(Header::parse(&b, "h", 0).unwrap(), h);
        b[100] ^= 1;
        assert!(Header::parse(&b, "h", 0).is_err());
    }
}
