//! minisign signature files (`.minisig`): an `untrusted comment:` line; base64 of `"ED"` ||
//! key id (8) || Ed25519 signature (64) of the file's BLAKE2b-512; a `trusted comment:` line;
//! base64 of the global signature, Ed25519 over (signature || trusted comment bytes).
//! Files are streamed through the hash, never loaded whole.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer, Verifier};

use crate::error::{SignError, VerifyError};
use crate::public_key::{KeyId, PublicKey, COMMENT_PREFIX};
use crate::secret_key::SecretKey;
use crate::trusted_comment::{comment_file_name, TrustedComment, TrustedFields};
use eflow_outfile::{hex, Digests, Hasher};

/// Algorithm tag of prehashed signatures (BLAKE2b-512 of the file, then Ed25519).
const SIG_ALG_PREHASHED: [u8; 2] = *b"ED";
/// Algorithm tag of legacy signatures over the whole file (not supported: they need the file
/// in memory).
const SIG_ALG_LEGACY: [u8; 2] = *b"Ed";
/// Prefix of the third line.
const TRUSTED_PREFIX: &str = "trusted comment: ";
/// minisign refuses longer trusted comments (8192 bytes with prefix and NUL).
const TRUSTED_COMMENT_MAX: usize = 8192 - TRUSTED_PREFIX.len() - 1;

/// A parsed `.minisig` file.
struct Minisig {
    key_id: KeyId,
    signature: Signature,
    trusted_comment: String,
    global_signature: Signature,
}

/// Checks a trusted comment can be written to and read back from a minisig file as minisign
/// does (one line, printable, bounded).
fn check_trusted_comment(comment: &str) -> Result<(), SignError> {
    if comment.len() > TRUSTED_COMMENT_MAX {
        return Err(SignError::TrustedComment(
            "longer than minisign accepts (8174 bytes)",
        ));
    }
    if comment.chars().any(|c| c != '\t' && c.is_control()) {
        return Err(SignError::TrustedComment(
            "contains line breaks or other control characters",
        ));
    }
    Ok(())
}

/// Signs a BLAKE2b-512 digest computed by the caller (e.g. with [`Hasher`] while the output
/// was written) and returns the `.minisig` text.
pub fn sign_prehashed(
    sk: &SecretKey,
    blake2b512: &[u8; 64],
    trusted_comment: &str,
) -> Result<String, SignError> {
    check_trusted_comment(trusted_comment)?;
    let key = sk.signing_key();
    let signature = key.sign(blake2b512).to_bytes();
    let mut global_message = Vec::with_capacity(64 + trusted_comment.len());
    global_message.extend_from_slice(&signature);
    global_message.extend_from_slice(trusted_comment.as_bytes());
    let global = key.sign(&global_message).to_bytes();
    let mut block = Vec::with_capacity(74);
    block.extend_from_slice(&SIG_ALG_PREHASHED);
    block.extend_from_slice(&sk.key_id().0);
    block.extend_from_slice(&signature);
    Ok(format!(
        "{COMMENT_PREFIX}signature from eflow-image secret key {}\n{}\n{TRUSTED_PREFIX}{trusted_comment}\n{}\n",
        sk.key_id(),
        B64.encode(block),
        B64.encode(global)
    ))
}

/// Signs a stream; returns the `.minisig` text.
pub fn sign_reader<R: Read>(
    sk: &SecretKey,
    reader: R,
    trusted_comment: &str,
) -> Result<String, SignError> {
    check_trusted_comment(trusted_comment)?;
    let digests = Hasher::digest_reader(reader).map_err(SignError::Read)?;
    sign_prehashed(sk, &digests.blake2b512, trusted_comment)
}

/// Signs a file (streamed) with the given trusted comment; returns the `.minisig` text, which
/// `minisign -Vm FILE -p KEY.pub` verifies.
pub fn sign_file(sk: &SecretKey, path: &Path, trusted_comment: &str) -> Result<String, SignError> {
    check_trusted_comment(trusted_comment)?;
    let digests = digest_path(path).map_err(|source| SignError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    sign_prehashed(sk, &digests.blake2b512, trusted_comment)
}

/// A file signed with this tool's trusted comment.
#[derive(Debug, Clone)]
pub struct SignedFile {
    /// The `.minisig` text.
    pub minisig: String,
    /// The trusted comment it carries.
    pub trusted_comment: String,
    /// The file's SHA-256 (lower-case hex), for the manifest.
    pub sha256: String,
    /// The file's size, for the manifest.
    pub size: u64,
}

/// Signs a file with the trusted comment `timestamp:<epoch> file:<name> sha256:<hex>`,
/// reading it once (both digests in one pass).
pub fn sign_file_described(
    sk: &SecretKey,
    path: &Path,
    source_date_epoch: u64,
) -> Result<SignedFile, SignError> {
    let file = comment_file_name(path)?;
    let digests = digest_path(path).map_err(|source| SignError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    sign_digests_described(sk, &file, &digests, source_date_epoch)
}

/// As [`sign_file_described`], from digests taken while the file was written (so nothing
/// is read back); `file_name` is the name the trusted comment records.
pub fn sign_digests_described(
    sk: &SecretKey,
    file_name: &str,
    digests: &Digests,
    source_date_epoch: u64,
) -> Result<SignedFile, SignError> {
    let file = comment_file_name(Path::new(file_name))?;
    let trusted_comment = TrustedFields {
        timestamp: source_date_epoch,
        file,
        sha256: digests.sha256_hex(),
    }
    .to_comment();
    let minisig = sign_prehashed(sk, &digests.blake2b512, &trusted_comment)?;
    Ok(SignedFile {
        minisig,
        trusted_comment,
        sha256: digests.sha256_hex(),
        size: digests.size,
    })
}

fn digest_path(path: &Path) -> std::io::Result<Digests> {
    Hasher::digest_reader(File::open(path)?)
}

/// Decodes a base64 line into exactly `N` bytes.
fn decode_exact<const N: usize>(line: &str, what: &str) -> Result<[u8; N], VerifyError> {
    let bytes = B64
        .decode(line.trim())
        .map_err(|e| VerifyError::Malformed(format!("{what}: invalid base64: {e}")))?;
    <[u8; N]>::try_from(bytes.as_slice())
        .map_err(|_| VerifyError::Malformed(format!("{what}: {} bytes, expected {N}", bytes.len())))
}

/// Parses `.minisig` text the way minisign reads it (lines end with `\n` or `\r\n`).
fn parse_minisig(text: &str) -> Result<Minisig, VerifyError> {
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let mut next = |what: &str| {
        lines
            .next()
            .ok_or_else(|| VerifyError::Malformed(format!("missing {what} line")))
    };
    let comment = next("untrusted comment")?;
    if !comment.starts_with(COMMENT_PREFIX) {
        return Err(VerifyError::Malformed(format!(
            "the first line must start with {COMMENT_PREFIX:?}"
        )));
    }
    let sig_line = next("signature")?;
    let trusted = next("trusted comment")?;
    let trusted_comment = trusted.strip_prefix(TRUSTED_PREFIX).ok_or_else(|| {
        VerifyError::Malformed(format!("the third line must start with {TRUSTED_PREFIX:?}"))
    })?;
    if trusted_comment.chars().any(|c| c != '\t' && c.is_control()) {
        return Err(VerifyError::Malformed(
            "the trusted comment contains unprintable characters".to_string(),
        ));
    }
    let global_line = next("global signature")?;
    let block: [u8; 74] = decode_exact(sig_line, "signature line")?;
    let global: [u8; 64] = decode_exact(global_line, "global signature line")?;
    let alg = [block[0], block[1]];
    if alg != SIG_ALG_PREHASHED {
        let name = if alg == SIG_ALG_LEGACY {
            "Ed (legacy, non-prehashed)".to_string()
        } else {
            String::from_utf8_lossy(&alg).into_owned()
        };
        return Err(VerifyError::UnsupportedAlgorithm(name));
    }
    let mut key_id = [0u8; 8];
    key_id.copy_from_slice(&block[2..10]);
    let mut signature = [0u8; 64];
    signature.copy_from_slice(&block[10..74]);
    Ok(Minisig {
        key_id: KeyId(key_id),
        signature: Signature::from_bytes(&signature),
        trusted_comment: trusted_comment.to_string(),
        global_signature: Signature::from_bytes(&global),
    })
}

/// Checks a parsed signature against a digest, in minisign's order: key id, file signature,
/// trusted comment.
fn verify_digest(
    pk: &PublicKey,
    sig: &Minisig,
    blake2b512: &[u8; 64],
) -> Result<TrustedComment, VerifyError> {
    if sig.key_id != pk.key_id {
        return Err(VerifyError::KeyIdMismatch {
            signature: sig.key_id,
            public_key: pk.key_id,
        });
    }
    pk.key
        .verify(blake2b512, &sig.signature)
        .map_err(|_| VerifyError::SignatureMismatch)?;
    let mut global_message = Vec::with_capacity(64 + sig.trusted_comment.len());
    global_message.extend_from_slice(&sig.signature.to_bytes());
    global_message.extend_from_slice(sig.trusted_comment.as_bytes());
    pk.key
        .verify(&global_message, &sig.global_signature)
        .map_err(|_| VerifyError::TrustedCommentTampered)?;
    Ok(TrustedComment(sig.trusted_comment.clone()))
}

/// Verifies `.minisig` text against a BLAKE2b-512 digest computed by the caller.
pub fn verify_prehashed(
    pk: &PublicKey,
    blake2b512: &[u8; 64],
    minisig_text: &str,
) -> Result<TrustedComment, VerifyError> {
    let sig = parse_minisig(minisig_text)?;
    verify_digest(pk, &sig, blake2b512)
}

/// Verifies `.minisig` text against a stream.
pub fn verify_reader<R: Read>(
    pk: &PublicKey,
    reader: R,
    minisig_text: &str,
) -> Result<TrustedComment, VerifyError> {
    let sig = parse_minisig(minisig_text)?;
    let digests = Hasher::digest_reader(reader).map_err(VerifyError::Read)?;
    verify_digest(pk, &sig, &digests.blake2b512)
}

/// Verifies a file (streamed) against `.minisig` text; returns the authenticated trusted
/// comment. The signature text is parsed before the file is read, so a malformed signature
/// fails fast.
pub fn verify_file(
    pk: &PublicKey,
    path: &Path,
    minisig_text: &str,
) -> Result<TrustedComment, VerifyError> {
    let sig = parse_minisig(minisig_text)?;
    let digests = digest_path(path).map_err(|source| VerifyError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    verify_digest(pk, &sig, &digests.blake2b512)
}

/// Verifies a file signed by [`sign_file_described`]: the signature, then that the trusted
/// comment is in this tool's format and records the file's SHA-256. The file name in the
/// comment is returned, not checked (files may be renamed after release).
pub fn verify_file_described(
    pk: &PublicKey,
    path: &Path,
    minisig_text: &str,
) -> Result<TrustedFields, VerifyError> {
    let sig = parse_minisig(minisig_text)?;
    let digests = digest_path(path).map_err(|source| VerifyError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let comment = verify_digest(pk, &sig, &digests.blake2b512)?;
    let fields = comment
        .fields()
        .ok_or_else(|| VerifyError::TrustedCommentFormat {
            comment: comment.0.clone(),
        })?;
    let actual = hex(&digests.sha256);
    if fields.sha256 != actual {
        return Err(VerifyError::DigestMismatch {
            recorded: fields.sha256,
            actual,
        });
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SK: &str = "untrusted comment: minisign encrypted secret key\n\
RWQAAEIyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAJGQRFNl/RNPCE3vR9gAKPh2gMX9yM+fSdNedoCboIIrtniy/jzQBhJFxf14pIuag6XYuUpyY+bhaVcXpnNWzmjq6a+IR2RClAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    // `minisign -S -s k.key -m f -t 'my tc'` with f = "hello\n", made with minisign 0.11.
    const MINISIG: &str = "untrusted comment: signature from minisign secret key\n\
RUQkZBEU2X9E0z83ihOzXfaSP96Laa/fE/VORIBWE17Y+04TiHZrZwf2fcJZfMcI6A6d8VqzKdAKb6BtVhBPJExgaRILKbZ4PQA=\n\
trusted comment: my tc\n\
DVJGKSEZ392lJ0yKG9olR8dvgnbmJ50d2yT7q28g0D1oCd0ELFoKUQ2QQL4EBIa/tRHVDOp5AqqbVYs3dkEBAA==\n";

    #[test]
    fn verifies_minisign_fixture_and_reproduces_it() {
        let sk = SecretKey::from_str(SK, None).unwrap();
        let pk = sk.public_key();
        let tc = verify_reader(&pk, &b"hello\n"[..], MINISIG).unwrap();
        assert_eq!(tc.as_str(), "my tc");
        // Ed25519 is deterministic: our signature lines equal minisign's.
        let ours = sign_reader(&sk, &b"hello\n"[..], "my tc").unwrap();
        let their_lines: Vec<&str> = MINISIG.lines().skip(1).collect();
        let our_lines: Vec<&str> = ours.lines().skip(1).collect();
        assert_eq!(our_lines, their_lines);
    }

    #[test]
    fn each_check_reports_its_failure() {
        let sk = SecretKey::from_str(SK, None).unwrap();
        let pk = sk.public_key();
        assert!(matches!(
            verify_reader(&pk, &b"hellO\n"[..], MINISIG),
            Err(VerifyError::SignatureMismatch)
        ));
        let tampered = MINISIG.replace("my tc", "my tC");
        assert!(matches!(
            verify_reader(&pk, &b"hello\n"[..], &tampered),
            Err(VerifyError::TrustedCommentTampered)
        ));
        let (_, other) = crate::generate(None).unwrap();
        assert!(matches!(
            verify_reader(&other, &b"hello\n"[..], MINISIG),
            Err(VerifyError::KeyIdMismatch { .. })
        ));
        let legacy = MINISIG.replace("RUQkZBEU", "RWQkZBEU");
        assert!(matches!(
            verify_reader(&pk, &b"hello\n"[..], &legacy),
            Err(VerifyError::UnsupportedAlgorithm(_))
        ));
    }

    #[test]
    fn garbage_truncation_and_bit_flips_never_panic_or_verify() {
        let sk = SecretKey::from_str(SK, None).unwrap();
        let pk = sk.public_key();
        let digest = Hasher::digest_reader(&b"hello\n"[..]).unwrap().blake2b512;
        for n in 0..MINISIG.len() {
            // Truncation keeping all four full lines (only the final newline cut) still verifies.
            let r = verify_prehashed(&pk, &digest, &MINISIG[..n]);
            assert!(
                r.is_err() || n + 1 >= MINISIG.len(),
                "truncated at {n} verified"
            );
        }
        let bytes = MINISIG.as_bytes();
        for i in 0..bytes.len() * 8 {
            let mut b = bytes.to_vec();
            b[i / 8] ^= 1 << (i % 8);
            if let Ok(text) = std::str::from_utf8(&b) {
                if let Ok(tc) = verify_prehashed(&pk, &digest, text) {
                    // Only flips in the untrusted comment, or of the final newline into other
                    // trailing whitespace, may leave the signature valid.
                    assert_eq!(tc.as_str(), "my tc", "flip {i} changed the trusted comment");
                    let byte = i / 8;
                    assert!(
                        byte < MINISIG.find('\n').unwrap() || byte == bytes.len() - 1,
                        "flip {i} accepted"
                    );
                }
            }
        }
        for text in [
            "",
            "\n\n\n\n",
            "untrusted comment: \n\ntrusted comment: \n\n",
        ] {
            assert!(matches!(
                verify_prehashed(&pk, &digest, text),
                Err(VerifyError::Malformed(_))
            ));
        }
    }

    #[test]
    fn trusted_comment_with_newline_is_refused() {
        let sk = SecretKey::from_str(SK, None).unwrap();
        assert!(sign_prehashed(&sk, &[0; 64], "a\nb").is_err());
        assert!(sign_prehashed(&sk, &[0; 64], &"x".repeat(9000)).is_err());
    }

    #[test]
    fn crlf_signature_files_verify() {
        let sk = SecretKey::from_str(SK, None).unwrap();
        let crlf = MINISIG.replace('\n', "\r\n");
        let tc = verify_reader(&sk.public_key(), &b"hello\n"[..], &crlf).unwrap();
        assert_eq!(tc.as_str(), "my tc");
    }

    #[test]
    fn described_signatures_check_the_recorded_digest() {
        let sk = SecretKey::from_str(SK, None).unwrap();
        let pk = sk.public_key();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("eflow.vhdx");
        std::fs::write(&path, b"image bytes").unwrap();
        let signed = sign_file_described(&sk, &path, 42).unwrap();
        assert_eq!(
            signed.trusted_comment,
            format!("timestamp:42 file:eflow.vhdx sha256:{}", signed.sha256)
        );
        assert_eq!(signed.size, 11);
        assert_eq!(
            crate::trusted_comment_for(&path, 42).unwrap(),
            signed.trusted_comment
        );
        let fields = verify_file_described(&pk, &path, &signed.minisig).unwrap();
        assert_eq!((fields.timestamp, fields.file.as_str()), (42, "eflow.vhdx"));
        // Validly signed, but the recorded digest is not the file's.
        let lie = format!("timestamp:42 file:eflow.vhdx sha256:{}", "0".repeat(64));
        let sig = sign_file(&sk, &path, &lie).unwrap();
        assert!(matches!(
            verify_file_described(&pk, &path, &sig),
            Err(VerifyError::DigestMismatch { .. })
        ));
        // Validly signed, but not in our comment format.
        let sig = sign_file(&sk, &path, "timestamp:1\tfile:eflow.vhdx").unwrap();
        assert!(matches!(
            verify_file_described(&pk, &path, &sig),
            Err(VerifyError::TrustedCommentFormat { .. })
        ));
        // A file name that cannot go into a trusted comment.
        let odd = dir.path().join("bad\nname");
        std::fs::write(&odd, b"x").unwrap();
        assert!(matches!(
            sign_file_described(&sk, &odd, 0),
            Err(SignError::FileName { .. })
        ));
        // A missing file names the path.
        let err = verify_file(&pk, &dir.path().join("missing"), &signed.minisig).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }
}
