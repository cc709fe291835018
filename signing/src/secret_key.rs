//! minisign secret keys: `untrusted comment:` line, then base64 of
//! sig_alg `"Ed"` || kdf_alg (`"Sc"` scrypt, or two zero bytes) || cksum_alg `"B2"` ||
//! kdf salt (32) || opslimit (u64 LE) || memlimit (u64 LE) || key block (104 bytes:
//! key id 8 || Ed25519 secret key 64 (seed 32 + public 32) || checksum 32), where the checksum
//! is BLAKE2b-256(sig_alg || key id || secret key) and, when encrypted, the key block is XORed
//! with scrypt(password, salt) (see [`crate::kdf`]).

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use ed25519_dalek::SigningKey;
use zeroize::{Zeroize, Zeroizing};

use crate::error::KeyError;
use crate::kdf::{self, KdfLimits, KeyStream, SALT_LEN};
use crate::public_key::{KeyId, PublicKey, COMMENT_PREFIX, SIG_ALG};

/// KDF tag of password-protected keys.
const KDF_SCRYPT: [u8; 2] = *b"Sc";
/// KDF tag of unencrypted keys (`minisign -W`).
const KDF_NONE: [u8; 2] = [0, 0];
/// Checksum algorithm tag (BLAKE2b-256).
const CHK_ALG: [u8; 2] = *b"B2";
/// Length of the key block: key id 8 + secret key 64 + checksum 32.
pub(crate) const KEYNUM_SK_LEN: usize = 8 + 64 + 32;
/// Offset of the key block in the decoded secret key.
const KEYNUM_SK_OFFSET: usize = 2 + 2 + 2 + SALT_LEN + 8 + 8;
/// Length of the decoded secret key.
const SECRET_KEY_BLOCK_LEN: usize = KEYNUM_SK_OFFSET + KEYNUM_SK_LEN;

/// How the key block is protected in the file.
enum Protection {
    /// Stored in clear (`minisign -W`).
    None,
    /// XORed with a key stream derived from a password. The stream is kept (wiped on drop) so
    /// the key can be written back without asking for the password again.
    Scrypt {
        salt: [u8; SALT_LEN],
        limits: KdfLimits,
        stream: KeyStream,
    },
}

/// A minisign secret key. Its Debug output never shows key material, and the key is wiped
/// from memory when dropped.
pub struct SecretKey {
    key_id: KeyId,
    signing: SigningKey,
    protection: Protection,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("key_id", &self.key_id)
            .field("encrypted", &self.is_encrypted())
            .finish_non_exhaustive()
    }
}

/// Fills `buf` from the operating system's random generator.
fn random(buf: &mut [u8]) -> Result<(), KeyError> {
    getrandom::fill(buf).map_err(|e| KeyError::Random(e.to_string()))
}

/// Makes a new key pair with a random key id, protected by `password` if given, with
/// minisign's default KDF cost (1 GiB of memory to decrypt).
pub fn generate(password: Option<&str>) -> Result<(SecretKey, PublicKey), KeyError> {
    generate_with(password, KdfLimits::MINISIGN_DEFAULT)
}

/// Like [`generate`] with chosen KDF limits (cheaper limits for tests or constrained signers).
pub fn generate_with(
    password: Option<&str>,
    limits: KdfLimits,
) -> Result<(SecretKey, PublicKey), KeyError> {
    let mut seed = Zeroizing::new([0u8; 32]);
    random(seed.as_mut())?;
    let mut key_id = [0u8; 8];
    random(&mut key_id)?;
    let sk = SecretKey {
        key_id: KeyId(key_id),
        signing: SigningKey::from_bytes(&seed),
        protection: Protection::None,
    };
    let sk = match password {
        Some(password) => sk.with_password(Some(password), limits)?,
        None => sk,
    };
    let pk = sk.public_key();
    Ok((sk, pk))
}

/// BLAKE2b-256 over sig_alg || key id || secret key: minisign's key checksum.
fn checksum(key_id: &KeyId, secret: &[u8; 64]) -> [u8; 32] {
    let mut h = Blake2b::<U32>::new();
    h.update(SIG_ALG);
    h.update(key_id.0);
    h.update(secret);
    h.finalize().into()
}

/// An "unsupported algorithm" error for a secret key field.
fn unsupported(what: &'static str, found: &[u8], expected: &'static str) -> KeyError {
    KeyError::Unsupported {
        what,
        key: "secret key",
        found: String::from_utf8_lossy(found).into_owned(),
        expected,
    }
}

/// Decodes a secret key file's text into its fixed-size block, checking the signature and
/// checksum algorithm tags.
fn decode_block(text: &str) -> Result<Zeroizing<[u8; SECRET_KEY_BLOCK_LEN]>, KeyError> {
    let malformed = |detail: String| KeyError::Malformed {
        what: "secret key",
        detail,
    };
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines
        .next()
        .ok_or_else(|| malformed("empty text".to_string()))?;
    if !first.starts_with("untrusted comment:") {
        return Err(malformed(
            "the first line must be an `untrusted comment:` line".to_string(),
        ));
    }
    let line = lines
        .next()
        .ok_or_else(|| malformed("no base64 line after the comment line".to_string()))?;
    let decoded = Zeroizing::new(
        B64.decode(line)
            .map_err(|e| malformed(format!("invalid base64: {e}")))?,
    );
    if decoded.len() != SECRET_KEY_BLOCK_LEN {
        return Err(malformed(format!(
            "decodes to {} bytes, expected {SECRET_KEY_BLOCK_LEN}",
            decoded.len()
        )));
    }
    let mut block = Zeroizing::new([0u8; SECRET_KEY_BLOCK_LEN]);
    block.copy_from_slice(&decoded);
    if block[0..2] != SIG_ALG {
        return Err(unsupported("signature algorithm", &block[0..2], "Ed"));
    }
    if block[4..6] != CHK_ALG {
        return Err(unsupported("checksum algorithm", &block[4..6], "B2"));
    }
    Ok(block)
}

impl SecretKey {
    /// Whether a secret key file's text is password-protected, read without decrypting: lets
    /// the CLI ask for a password only when one is needed.
    pub fn text_is_encrypted(text: &str) -> Result<bool, KeyError> {
        let block = decode_block(text)?;
        match [block[2], block[3]] {
            KDF_SCRYPT => Ok(true),
            KDF_NONE => Ok(false),
            other => Err(unsupported("key derivation function", &other, "Sc or none")),
        }
    }
}

impl SecretKey {
    /// The key id written into every signature.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// Whether the key file form is password-protected.
    pub fn is_encrypted(&self) -> bool {
        matches!(self.protection, Protection::Scrypt { .. })
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            key_id: self.key_id,
            key: self.signing.verifying_key(),
        }
    }

    /// The Ed25519 signing key, for the signature module.
    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    /// The same key protected by another password (or none): what `minisign -C` does.
    /// A fresh random salt is drawn.
    pub fn with_password(
        &self,
        password: Option<&str>,
        limits: KdfLimits,
    ) -> Result<SecretKey, KeyError> {
        let protection = match password {
            None => Protection::None,
            Some(password) => {
                let mut salt = [0u8; SALT_LEN];
                random(&mut salt)?;
                let mut stream: KeyStream = Zeroizing::new([0u8; KEYNUM_SK_LEN]);
                kdf::derive(password.as_bytes(), &salt, limits, stream.as_mut())?;
                Protection::Scrypt {
                    salt,
                    limits,
                    stream,
                }
            }
        };
        Ok(SecretKey {
            key_id: self.key_id,
            signing: SigningKey::from_bytes(self.signing.as_bytes()),
            protection,
        })
    }

    /// The content of a secret key file in minisign's format (readable by `minisign -S`,
    /// with `-W` when unencrypted).
    pub fn to_file_string(&self) -> String {
        let mut block = Zeroizing::new([0u8; SECRET_KEY_BLOCK_LEN]);
        block[0..2].copy_from_slice(&SIG_ALG);
        block[4..6].copy_from_slice(&CHK_ALG);
        let mut keypair = Zeroizing::new(self.signing.to_keypair_bytes());
        let chk = checksum(&self.key_id, &keypair);
        let kb = KEYNUM_SK_OFFSET;
        block[kb..kb + 8].copy_from_slice(&self.key_id.0);
        block[kb + 8..kb + 72].copy_from_slice(keypair.as_ref());
        block[kb + 72..kb + 104].copy_from_slice(&chk);
        keypair.zeroize();
        let comment = match &self.protection {
            Protection::None => {
                block[2..4].copy_from_slice(&KDF_NONE);
                "minisign unencrypted secret key"
            }
            Protection::Scrypt {
                salt,
                limits,
                stream,
            } => {
                block[2..4].copy_from_slice(&KDF_SCRYPT);
                block[6..6 + SALT_LEN].copy_from_slice(salt);
                block[38..46].copy_from_slice(&limits.opslimit.to_le_bytes());
                block[46..54].copy_from_slice(&limits.memlimit.to_le_bytes());
                for (b, s) in block[kb..].iter_mut().zip(stream.iter()) {
                    *b ^= s;
                }
                "minisign encrypted secret key"
            }
        };
        let encoded = Zeroizing::new(B64.encode(block.as_ref()));
        format!("{COMMENT_PREFIX}{comment}\n{}\n", encoded.as_str())
    }

    /// Reads a secret key file's content. `password` must be given for encrypted keys and
    /// omitted for unencrypted ones; a wrong password is detected by the key's checksum.
    pub fn from_str(text: &str, password: Option<&str>) -> Result<SecretKey, KeyError> {
        let mut block = decode_block(text)?;
        let kdf_alg = [block[2], block[3]];
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(&block[6..6 + SALT_LEN]);
        let mut le = [0u8; 8];
        le.copy_from_slice(&block[38..46]);
        let opslimit = u64::from_le_bytes(le);
        le.copy_from_slice(&block[46..54]);
        let memlimit = u64::from_le_bytes(le);
        let kb = KEYNUM_SK_OFFSET;
        let protection = if kdf_alg == KDF_SCRYPT {
            let password = password.ok_or(KeyError::PasswordRequired)?;
            let limits = KdfLimits { opslimit, memlimit };
            let mut stream: KeyStream = Zeroizing::new([0u8; KEYNUM_SK_LEN]);
            kdf::derive(password.as_bytes(), &salt, limits, stream.as_mut())?;
            for (b, s) in block[kb..].iter_mut().zip(stream.iter()) {
                *b ^= s;
            }
            Protection::Scrypt {
                salt,
                limits,
                stream,
            }
        } else if kdf_alg == KDF_NONE {
            if password.is_some() {
                return Err(KeyError::PasswordUnexpected);
            }
            Protection::None
        } else {
            return Err(unsupported(
                "key derivation function",
                &kdf_alg,
                "Sc or none",
            ));
        };
        let mut key_id = [0u8; 8];
        key_id.copy_from_slice(&block[kb..kb + 8]);
        let key_id = KeyId(key_id);
        let mut secret = Zeroizing::new([0u8; 64]);
        secret.copy_from_slice(&block[kb + 8..kb + 72]);
        let stored_chk = &block[kb + 72..kb + 104];
        let chk = checksum(&key_id, &secret);
        match protection {
            Protection::Scrypt { .. } if stored_chk != chk => return Err(KeyError::WrongPassword),
            // `minisign -W` leaves the checksum of unencrypted keys zeroed; accept that, but a
            // non-zero checksum must match.
            Protection::None if stored_chk.iter().any(|&b| b != 0) && stored_chk != chk => {
                return Err(KeyError::Corrupt("checksum mismatch"))
            }
            _ => {}
        }
        let signing = SigningKey::from_keypair_bytes(&secret)
            .map_err(|_| KeyError::Corrupt("the public half does not match the seed"))?;
        Ok(SecretKey {
            key_id,
            signing,
            protection,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A secret key produced by `minisign -G -W` (0.11) on this machine, with its public key:
    // a throw-away fixture.
    const MINISIGN_SK: &str = "untrusted comment: minisign encrypted secret key\n\
RWQAAEIyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAJGQRFNl/RNPCE3vR9gAKPh2gMX9yM+fSdNedoCboIIrtniy/jzQBhJFxf14pIuag6XYuUpyY+bhaVcXpnNWzmjq6a+IR2RClAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    const MINISIGN_PUB: &str = "RWQkZBEU2X9E05Fxf14pIuag6XYuUpyY+bhaVcXpnNWzmjq6a+IR2RCl";

    #[test]
    fn reads_minisign_unencrypted_key() {
        let sk = SecretKey::from_str(MINISIGN_SK, None).unwrap();
        let pk: PublicKey = MINISIGN_PUB.parse().unwrap();
        assert_eq!(sk.public_key(), pk);
        assert!(!sk.is_encrypted());
        assert!(matches!(
            SecretKey::from_str(MINISIGN_SK, Some("x")),
            Err(KeyError::PasswordUnexpected)
        ));
    }

    #[test]
    fn encrypted_round_trip_and_wrong_password() {
        let (sk, pk) = generate_with(Some("correct horse"), KdfLimits::INTERACTIVE).unwrap();
        assert!(sk.is_encrypted());
        let text = sk.to_file_string();
        assert!(SecretKey::text_is_encrypted(&text).unwrap());
        assert!(!SecretKey::text_is_encrypted(MINISIGN_SK).unwrap());
        let back = SecretKey::from_str(&text, Some("correct horse")).unwrap();
        assert_eq!(back.public_key(), pk);
        // Written back without the password, byte for byte.
        assert_eq!(back.to_file_string(), text);
        let err = SecretKey::from_str(&text, Some("wrong")).unwrap_err();
        assert!(matches!(err, KeyError::WrongPassword), "{err}");
        assert!(err.to_string().contains("wrong password"));
        assert!(matches!(
            SecretKey::from_str(&text, None),
            Err(KeyError::PasswordRequired)
        ));
        let clear = sk.with_password(None, KdfLimits::INTERACTIVE).unwrap();
        let clear_back = SecretKey::from_str(&clear.to_file_string(), None).unwrap();
        assert_eq!(clear_back.public_key(), pk);
    }

    #[test]
    fn garbage_truncation_and_bit_flips_are_refused_without_panic() {
        for text in ["", "x", "untrusted comment: x", "untrusted comment: x\n@@@"] {
            assert!(SecretKey::from_str(text, None).is_err());
        }
        for n in 0..MINISIGN_SK.len() {
            let _ = SecretKey::from_str(&MINISIGN_SK[..n], None);
        }
        // Flip each bit of the decoded block: every flip is either refused or yields a key
        // (flips in the unused salt/limits of an unencrypted key are harmless), never a panic.
        let line = MINISIGN_SK.lines().nth(1).unwrap();
        let block = B64.decode(line).unwrap();
        for i in 0..block.len() * 8 {
            let mut b = block.clone();
            b[i / 8] ^= 1 << (i % 8);
            let text = format!("untrusted comment: x\n{}\n", B64.encode(&b));
            if let Ok(sk) = SecretKey::from_str(&text, None) {
                let kb = KEYNUM_SK_OFFSET;
                // A flip in the key itself must never be accepted silently.
                let _ = sk.key_id();
                assert!(
                    !(kb + 8..kb + 72).contains(&(i / 8)),
                    "flipped key bit {i} accepted"
                );
            }
        }
    }

    #[test]
    fn debug_shows_no_key_material() {
        let sk = SecretKey::from_str(MINISIGN_SK, None).unwrap();
        let shown = format!("{sk:?} {sk:#?}");
        let seed = sk.signing_key().to_bytes();
        let hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
        let upper = hex.to_uppercase();
        let b64 = B64.encode(seed);
        let decimal = format!("{}, {}, {}", seed[0], seed[1], seed[2]);
        for needle in [&hex[..16], &upper[..16], &b64[..12], decimal.as_str()] {
            assert!(
                !shown.contains(needle),
                "Debug output leaks {needle}: {shown}"
            );
        }
        assert!(shown.contains("D3447FD914116424"));

        // An encrypted key: neither the key nor the stored key stream shows, nor do errors.
        let enc = sk
            .with_password(Some("pw"), KdfLimits::INTERACTIVE)
            .unwrap();
        let Protection::Scrypt { stream, .. } = &enc.protection else {
            panic!("not encrypted")
        };
        let stream_hex: String = stream[..8].iter().map(|b| format!("{b:02x}")).collect();
        let wrong = SecretKey::from_str(&enc.to_file_string(), Some("bad")).unwrap_err();
        let shown = format!("{enc:?} {enc:#?} {wrong} {wrong:?}");
        for needle in [
            &hex[..16],
            &b64[..12],
            decimal.as_str(),
            stream_hex.as_str(),
        ] {
            assert!(!shown.contains(needle), "output leaks {needle}: {shown}");
        }
    }
}
