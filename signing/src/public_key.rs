//! minisign public keys: `untrusted comment:` line, then base64 of
//! `"Ed"` || key id (8 bytes) || Ed25519 public key (32 bytes).

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::VerifyingKey;

use crate::error::KeyError;

/// Signature algorithm tag of minisign keys (Ed25519).
pub(crate) const SIG_ALG: [u8; 2] = *b"Ed";
/// Prefix of every first line of minisign files.
pub(crate) const COMMENT_PREFIX: &str = "untrusted comment: ";
/// Length of the decoded public key block.
const PUBLIC_KEY_BLOCK_LEN: usize = 2 + 8 + 32;

/// The 8-byte key id that ties signatures to keys.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 8]);

impl fmt::Display for KeyId {
    /// As minisign prints it: the bytes read as a little-endian u64, in upper-case hex
    /// without leading zeros (its `%" PRIX64 "`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}", u64::from_le_bytes(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// A minisign public key: what `verify` needs and what is published with releases.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub(crate) key_id: KeyId,
    pub(crate) key: VerifyingKey,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({} {})", self.key_id, self.to_base64())
    }
}

impl PublicKey {
    /// The key id signatures made by the matching secret key carry.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The raw Ed25519 public key.
    pub fn ed25519_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The base64 line alone, as `minisign -P` takes it.
    pub fn to_base64(&self) -> String {
        let mut block = Vec::with_capacity(PUBLIC_KEY_BLOCK_LEN);
        block.extend_from_slice(&SIG_ALG);
        block.extend_from_slice(&self.key_id.0);
        block.extend_from_slice(self.key.as_bytes());
        B64.encode(block)
    }

    /// The content of a `.pub` file, byte for byte what `minisign -G` writes.
    pub fn to_file_string(&self) -> String {
        format!(
            "{COMMENT_PREFIX}minisign public key {}\n{}\n",
            self.key_id,
            self.to_base64()
        )
    }

    /// Decodes the base64 line of a public key.
    fn from_base64(line: &str) -> Result<Self, KeyError> {
        let malformed = |detail: String| KeyError::Malformed {
            what: "public key",
            detail,
        };
        let block = B64
            .decode(line.trim())
            .map_err(|e| malformed(format!("invalid base64: {e}")))?;
        if block.len() != PUBLIC_KEY_BLOCK_LEN {
            return Err(malformed(format!(
                "decodes to {} bytes, expected {PUBLIC_KEY_BLOCK_LEN}",
                block.len()
            )));
        }
        if block[0..2] != SIG_ALG {
            return Err(KeyError::Unsupported {
                what: "signature algorithm",
                key: "public key",
                found: String::from_utf8_lossy(&block[0..2]).into_owned(),
                expected: "Ed",
            });
        }
        let mut key_id = [0u8; 8];
        key_id.copy_from_slice(&block[2..10]);
        let mut key = [0u8; 32];
        key.copy_from_slice(&block[10..42]);
        let key = VerifyingKey::from_bytes(&key)
            .map_err(|_| malformed("not a valid Ed25519 point".to_string()))?;
        Ok(PublicKey {
            key_id: KeyId(key_id),
            key,
        })
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;

    /// Reads a public key from the content of a `.pub` file (comment line + base64 line,
    /// as minisign reads it: the second line is the key) or from the bare base64 line that
    /// `minisign -P` takes.
    fn from_str(text: &str) -> Result<Self, KeyError> {
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        let first = lines.next().ok_or_else(|| KeyError::Malformed {
            what: "public key",
            detail: "empty text".to_string(),
        })?;
        if first.starts_with("untrusted comment:") {
            let line = lines.next().ok_or_else(|| KeyError::Malformed {
                what: "public key",
                detail: "no base64 line after the comment line".to_string(),
            })?;
            PublicKey::from_base64(line)
        } else {
            PublicKey::from_base64(first)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A public key produced by `minisign -G -W` (0.11) on this machine, kept as a fixture.
    const MINISIGN_PUB: &str = "untrusted comment: minisign public key D3447FD914116424\n\
RWQkZBEU2X9E05Fxf14pIuag6XYuUpyY+bhaVcXpnNWzmjq6a+IR2RCl\n";

    #[test]
    fn reads_minisign_file_and_writes_it_back_identically() {
        let pk: PublicKey = MINISIGN_PUB.parse().unwrap();
        assert_eq!(pk.key_id().to_string(), "D3447FD914116424");
        assert_eq!(pk.to_file_string(), MINISIGN_PUB);
        let bare: PublicKey = "RWQkZBEU2X9E05Fxf14pIuag6XYuUpyY+bhaVcXpnNWzmjq6a+IR2RCl"
            .parse()
            .unwrap();
        assert_eq!(bare, pk);
    }

    #[test]
    fn key_ids_print_without_leading_zeros_as_minisign_does() {
        // `minisign -G` (0.11) wrote "minisign public key D49DC87C0B3B282" for this id.
        let id = KeyId(0x0D49_DC87_C0B3_B282u64.to_le_bytes());
        assert_eq!(id.to_string(), "D49DC87C0B3B282");
    }

    #[test]
    fn garbage_is_refused_without_panic() {
        for text in [
            "",
            "untrusted comment: x",
            "untrusted comment: x\n!!!",
            "RWQkZBEU2X9E05Fxf14pIuag6XYuUpyY+bhaVcXpnNWzmjq6a+IR2R",
            "SWQkZBEU2X9E05Fxf14pIuag6XYuUpyY+bhaVcXpnNWzmjq6a+IR2RCl",
            "\u{0}\u{ff}",
        ] {
            assert!(text.parse::<PublicKey>().is_err(), "{text:?}");
        }
        // Every truncation of a valid file fails cleanly or parses.
        for n in 0..MINISIGN_PUB.len() {
            let _ = MINISIGN_PUB[..n].parse::<PublicKey>();
        }
    }
}
