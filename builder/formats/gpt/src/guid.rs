//! GUIDs as GPT stores them: text form for people, Microsoft's mixed-endian form on disk.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// A GUID kept in RFC 4122 byte order (the order of its text form).
///
/// On disk, GPT stores the first three fields little-endian ("mixed-endian"):
/// [`Guid::to_disk`] and [`Guid::from_disk`] convert.
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
    /// The all-zero GUID, which marks an unused partition entry.
    pub const ZERO: Guid = Guid([0; 16]);

    /// A GUID from its text form at compile time; panics (at compile time) on a malformed literal.
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
            out[o] = (hex(b[i]) << 4) | hex(b[i + 1]);
            o += 1;
            i += 2;
        }
        Guid(out)
    }

    /// The 16 bytes GPT stores: time_low, time_mid and time_hi little-endian, the rest as is.
    pub fn to_disk(&self) -> [u8; 16] {
        let g = &self.0;
        let mut d = *g;
        d[0..4].copy_from_slice(&[g[3], g[2], g[1], g[0]]);
        d[4..6].copy_from_slice(&[g[5], g[4]]);
        d[6..8].copy_from_slice(&[g[7], g[6]]);
        d
    }

    /// Reads the 16 bytes of a GUID as GPT stores them.
    pub fn from_disk(d: &[u8; 16]) -> Guid {
        let mut g = *d;
        g[0..4].copy_from_slice(&[d[3], d[2], d[1], d[0]]);
        g[4..6].copy_from_slice(&[d[5], d[4]]);
        g[6..8].copy_from_slice(&[d[7], d[6]]);
        Guid(g)
    }

    /// A deterministic random-looking GUID (RFC 4122 version 4 layout) derived from the image
    /// seed and a label naming its use (say `"disk"` or `"partition/root"`), so that rebuilding
    /// the same image gives the same GUIDs and different uses never collide.
    pub fn from_seed(seed: &[u8], label: &str) -> Guid {
        let mut h = Sha256::new();
        h.update(b"eflow-gpt guid\0");
        // Length-prefix the seed so (seed, label) pairs cannot be confused with each other.
        h.update((seed.len() as u64).to_le_bytes());
        h.update(seed);
        h.update(label.as_bytes());
        let digest = h.finalize();
        let mut g = [0u8; 16];
        g.copy_from_slice(&digest[..16]);
        g[6] = (g[6] & 0x0f) | 0x40; // version 4
        g[8] = (g[8] & 0x3f) | 0x80; // RFC 4122 variant
        Guid(g)
    }
}

const fn hex(c: u8) -> u8 {
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
    /// Lowercase 8-4-4-4-12 text, as RFC 4122 recommends and systemd prints.
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
    fn esp_guid_disk_bytes_match_the_uefi_spec() {
        // The UEFI spec lists the ESP type as {0xC12A7328,0xF81F,0x11D2,{0xBA,0x4B,0x00,0xA0,0xC9,0x3E,0xC9,0x3B}}.
        let g: Guid = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B".parse().unwrap();
        let d = g.to_disk();
        assert_eq!(
            d,
            [
                0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11, 0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E,
                0xC9, 0x3B
            ]
        );
        assert_eq!(Guid::from_disk(&d), g);
        assert_eq!(g.to_string(), "c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
        assert_eq!(
            Guid::from_text_const("C12A7328-F81F-11D2-BA4B-00A0C93EC93B"),
            g
        );
    }

    #[test]
    fn seeded_guids_are_v4_deterministic_and_distinct() {
        let a = Guid::from_seed(b"image", "disk");
        assert_eq!(a, Guid::from_seed(b"image", "disk"));
        assert_ne!(a, Guid::from_seed(b"image", "root"));
        assert_ne!(a, Guid::from_seed(b"imag", "edisk"));
        assert_eq!(a.0[6] >> 4, 4);
        assert_eq!(a.0[8] >> 6, 0b10);
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
