//! Typed errors of the signing library: each says what failed, where, and what to do.

use std::path::PathBuf;

use crate::public_key::KeyId;

/// Why a key could not be generated, read, decrypted or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key text is not in minisign's format (comment line + base64 line).
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// Which kind of key text was being read ("public key", "secret key").
        what: &'static str,
        /// What exactly is wrong with it.
        detail: String,
    },
    /// The key uses an algorithm minisign and this tool do not know.
    #[error("unsupported {what} in {key}: {found:?} (expected {expected:?})")]
    Unsupported {
        /// Which field carries the unknown value.
        what: &'static str,
        /// Which key it is ("public key", "secret key").
        key: &'static str,
        /// The two bytes found.
        found: String,
        /// The value expected.
        expected: &'static str,
    },
    /// The secret key is encrypted and no password was given.
    #[error("the secret key is password-protected: a password is required")]
    PasswordRequired,
    /// The secret key is not encrypted but a password was given (refused so a caller that
    /// expects protection notices an unprotected key).
    #[error(
        "the secret key is not password-protected but a password was given; omit the password"
    )]
    PasswordUnexpected,
    /// Decrypting with the given password did not produce the key's checksum.
    #[error("wrong password for this secret key (the decrypted key does not match its BLAKE2b checksum)")]
    WrongPassword,
    /// The unencrypted secret key's checksum or public half does not match its seed.
    #[error("corrupt secret key: {0}")]
    Corrupt(&'static str),
    /// The scrypt parameters in the key file are outside what this tool accepts.
    #[error("secret key KDF parameters out of range (opslimit {opslimit}, memlimit {memlimit}): {detail}")]
    KdfParams {
        /// opslimit read from the file.
        opslimit: u64,
        /// memlimit read from the file.
        memlimit: u64,
        /// Which limit is exceeded.
        detail: &'static str,
    },
    /// The operating system's random generator failed.
    #[error("the OS random generator failed: {0}")]
    Random(String),
    /// The secret key file can be read by other users.
    #[error("secret key file {path} is accessible by group or others (mode {mode:03o}); run `chmod 600 {path}` and try again")]
    InsecurePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Refused to replace an existing key file.
    #[error("{path} already exists: refusing to overwrite a key file; move it away or choose another path")]
    AlreadyExists {
        /// The existing file.
        path: PathBuf,
    },
    /// Reading or writing a key file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

/// Why a file could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The trusted comment cannot be put in a minisig file as it is.
    #[error("invalid trusted comment: {0}")]
    TrustedComment(&'static str),
    /// The file name cannot be put in a trusted comment.
    #[error("file name {name:?} cannot be put in a trusted comment: {detail}")]
    FileName {
        /// The file name.
        name: String,
        /// Why.
        detail: &'static str,
    },
    /// Reading the stream to sign failed.
    #[error("reading the data to sign: {0}")]
    Read(#[source] std::io::Error),
    /// Reading the file to sign failed.
    #[error("{path}: {source}")]
    Io {
        /// The file being signed.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

/// Why a signature was rejected: each variant names the check that failed.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The .minisig text is not in minisign's format.
    #[error("malformed signature: {0}")]
    Malformed(String),
    /// The signature uses an algorithm this tool does not verify.
    #[error("unsupported signature algorithm {0:?}: only prehashed (\"ED\") signatures are accepted; re-sign with a current minisign (without -l)")]
    UnsupportedAlgorithm(String),
    /// The signature was made by another key than the one given.
    #[error("key id mismatch: the signature was made by key {signature}, but the public key is {public_key}")]
    KeyIdMismatch {
        /// The key id in the signature.
        signature: KeyId,
        /// The key id of the public key.
        public_key: KeyId,
    },
    /// The file's content does not match the signature.
    #[error("signature mismatch: the file content does not match the signature (file modified or wrong signature)")]
    SignatureMismatch,
    /// The trusted comment was changed after signing.
    #[error(
        "trusted comment tampered: the global signature over the trusted comment does not verify"
    )]
    TrustedCommentTampered,
    /// The signature verifies but its trusted comment is not in this tool's format.
    #[error("trusted comment {comment:?} is not of the form `timestamp:N file:NAME sha256:HEX`")]
    TrustedCommentFormat {
        /// The verified trusted comment.
        comment: String,
    },
    /// The signature verifies but the SHA-256 recorded in the trusted comment differs from the file's.
    #[error("sha256 mismatch: trusted comment records {recorded}, the file has {actual}")]
    DigestMismatch {
        /// From the trusted comment.
        recorded: String,
        /// Of the file.
        actual: String,
    },
    /// Reading the stream to verify failed.
    #[error("reading the signed data: {0}")]
    Read(#[source] std::io::Error),
    /// Reading the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file being verified.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}
