//! The file type identifier: the first 64 KiB, `vhdxfile` then an optional creator string.

use crate::error::{corrupt, Error};

/// Where the identifier lives and how much space it owns.
pub const SIZE: usize = 64 * 1024;
/// The signature that makes a file a VHDX file.
pub const SIGNATURE: &[u8; 8] = b"vhdxfile";
/// The creator field is 512 bytes of UTF-16LE, i.e. 256 code units.
const CREATOR_BYTES: usize = 512;

/// Builds the 64 KiB identifier; the creator is stored NUL-padded as UTF-16LE.
pub fn build(creator: &str) -> Result<Vec<u8>, Error> {
    let units: Vec<u16> = creator.encode_utf16().collect();
    if units.len() * 2 > CREATOR_BYTES {
        return Err(Error::InvalidOption(format!(
            "creator string is {} UTF-16 units, the VHDX identifier holds at most 256",
            units.len()
        )));
    }
    let mut b = vec![0u8; SIZE];
    b[..8].copy_from_slice(SIGNATURE);
    for (i, u) in units.iter().enumerate() {
        b[8 + 2 * i..10 + 2 * i].copy_from_slice(&u.to_le_bytes());
    }
    Ok(b)
}

/// Checks the signature and returns the creator string (up to its first NUL).
pub fn parse(b: &[u8]) -> Result<String, Error> {
    if b.len() < 8 + CREATOR_BYTES || &b[..8] != SIGNATURE {
        return Err(corrupt(
            "file type identifier",
            0,
            "signature `vhdxfile` missing: this is not a VHDX file",
        ));
    }
    let units: Vec<u16> = b[8..8 + CREATOR_BYTES]
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|u| *u != 0)
        .collect();
    Ok(String::from_utf16_lossy(&units))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creator_round_trip() {
        let b = build("eflow-image 1.0").unwrap();
        assert_eq!(parse(&b).unwrap(), "eflow-image 1.0");
        assert!(build(&"x".repeat(257)).is_err());
        assert!(parse(&[0u8; SIZE]).is_err());
    }
}
