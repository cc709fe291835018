//! A GUID (RFC 4122 UUID) kept in the byte order of its text form, with conversions to the
//! mixed-endian order that Microsoft formats (GPT, VHDX) store on disk.

use std::fmt;
use std::str::FromStr;

/// A GUID in RFC 4122 byte order: `01234567-89ab-...` is `[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, ...]`.
///
/// ext4 and dm-verity store this order as is; GPT and VHDX store the first three fields
/// little-endian ([`Guid::to_mixed_endian`], [`Guid::from_mixed_endian`]).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Guid(pub [u8; 16]);

/// A text GUID that could not be parsed.
#[derive(Debug, thiserror::Error)]
#[error("invalid GUID {text:?}: expected 8-4-4-4-12 hexadecimal digits")]
pub struct ParseGuidError {
    /// The text that was given.
    pub text: String,
}

impl Guid {
    /// The all-zero GUID: an unused GPT entry, an empty VHDX log.
    pub const ZERO: Guid = Guid([0; 16]);

    /// A GUID from its text form at compile time (for well-known type GUIDs); a malformed
    /// literal fails the build.
    pub const fn from_text_const(s: &str) -> Guid {
        let b = s.as_bytes();
        assert!(b.len() == 36, "a GUID literal has 36 characters");
        let mut out = [0u8; 16];
        let mut i = 0;
        let mut o = 0;
        while i < 36 {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                assert!(
                    b[i] == b'-',
                    "a GUID literal has dashes at 8, 13, 18 and 23"
                );
                i += 1;
                continue;
            }
            out[o] = (hex_digit(b[i]) << 4) | hex_digit(b[i + 1]);
            o += 1;
            i += 2;
        }
        Guid(out)
    }

    /// A version-4 GUID made of the first 16 bytes of `digest`, with the RFC 4122 version
    /// and variant bits set: how every derived id of this project is formed.
    pub fn v4_from_digest(digest: &[u8; 32]) -> Guid {
        let mut g = [0u8; 16];
        g.copy_from_slice(&digest[..16]);
        g[6] = (g[6] & 0x0f) | 0x40; // version 4
        g[8] = (g[8] & 0x3f) | 0x80; // RFC 4122 variant
        Guid(g)
    }

    /// The 16 bytes GPT and VHDX store: time_low, time_mid and time_hi little-endian.
    pub fn to_mixed_endian(&self) -> [u8; 16] {
        let g = &self.0;
        let mut d = *g;
        d[0..4].copy_from_slice(&[g[3], g[2], g[1], g[0]]);
        d[4..6].copy_from_slice(&[g[5], g[4]]);
        d[6..8].copy_from_slice(&[g[7], g[6]]);
        d
    }

    /// Reads 16 bytes stored in the mixed-endian order of GPT and VHDX.
    pub fn from_mixed_endian(d: &[u8; 16]) -> Guid {
        // The swap is its own inverse.
        Guid(Guid(*d).to_mixed_endian())
    }

    /// Reads a mixed-endian GUID at `at` in `b`; the caller has checked the length.
    pub fn read_mixed_endian(b: &[u8], at: usize) -> Guid {
        let mut d = [0u8; 16];
        d.copy_from_slice(&b[at..at + 16]);
        Guid::from_mixed_endian(&d)
    }

    /// True for the all-zero GUID.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 16]
    }

    /// Upper-case text, as Microsoft's tools print VHDX GUIDs.
    pub fn to_upper(&self) -> String {
        self.to_string().to_ascii_uppercase()
    }
}

const fn hex_digit(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => panic!("a GUID literal has only hexadecimal digits"),
    }
}

impl FromStr for Guid {
    type Err = ParseGuidError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseGuidError {
            text: s.to_string(),
        };
        let b = s.as_bytes();
        if b.len() != 36 {
            return Err(err());
        }
        let mut out = [0u8; 16];
        let mut o = 0;
        let mut i = 0;
        while i < 36 {
            if matches!(i, 8 | 13 | 18 | 23) {
                if b[i] != b'-' {
                    return Err(err());
                }
                i += 1;
                continue;
            }
            let hi = (b[i] as char).to_digit(16).ok_or_else(err)?;
            let lo = (b[i + 1] as char).to_digit(16).ok_or_else(err)?;
            out[o] = (hi * 16 + lo) as u8;
            o += 1;
            i += 2;
        }
        Ok(Guid(out))
    }
}

impl fmt::Display for Guid {
    /// Lowercase 8-4-4-4-12 text, as RFC 4122 recommends and systemd and blkid print.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guid({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esp_type_mixed_endian_bytes_match_the_uefi_spec() {
        // UEFI: {0xC12A7328,0xF81F,0x11D2,{0xBA,0x4B,0x00,0xA0,0xC9,0x3E,0xC9,0x3B}}.
        let g: Guid = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B".parse().unwrap();
        let d = g.to_mixed_endian();
        assert_eq!(
            d,
            [
                0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11, 0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E,
                0xC9, 0x3B
            ]
        );
        assert_eq!(Guid::from_mixed_endian(&d), g);
        assert_eq!(Guid::read_mixed_endian(&[&[0u8][..], &d].concat(), 1), g);
        assert_eq!(g.to_string(), "c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
        assert_eq!(g.to_upper(), "C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
        assert_eq!(
            Guid::from_text_const("C12A7328-F81F-11D2-BA4B-00A0C93EC93B"),
            g
        );
    }

    #[test]
    fn bad_text_is_an_error() {
        for s in [
            "",
            "c12a7328-f81f-11d2-ba4b-00a0c93ec93",
            "c12a7328xf81f-11d2-ba4b-00a0c93ec93b",
            "g12a7328-f81f-11d2-ba4b-00a0c93ec93b",
            "c12a7328-f81f-11d2-ba4b-00a0c93ec9é",
        ] {
            assert!(s.parse::<Guid>().is_err(), "{s}");
        }
    }
}
