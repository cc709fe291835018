//! Release signing for eflow-image: minisign-compatible Ed25519 keys and signatures, the
//! build manifest, and the SPDX SBOM.
//!
//! Keys and signatures are byte-compatible with the stock `minisign` tool: `minisign -Vm FILE
//! -p KEY.pub` verifies what [`sign_file`] writes, `minisign -S` signs with keys from
//! [`generate`], and keys made by `minisign -G` are read by [`SecretKey::from_str`] and
//! [`PublicKey`]'s `FromStr`. Only prehashed (`ED`) signatures are made and accepted, so files
//! are streamed through BLAKE2b-512, never loaded whole.
//!
//! How the CLI uses it:
//!
//! - `keygen`: [`generate`] (password-protected keys use minisign's KDF cost: scrypt with
//!   1 GiB; [`generate_with`] takes other [`KdfLimits`]), then [`write_secret_key_file`]
//!   (0600, atomic, never overwrites) and [`write_public_key_file`];
//! - `sign`: [`load_secret_key_file`] (refuses group/other-readable files, says to
//!   `chmod 600`), then [`sign_file_described`] (trusted comment
//!   `timestamp:<SOURCE_DATE_EPOCH> file:<name> sha256:<hex>`, one pass over the file) or
//!   [`sign_file`] with any trusted comment, e.g. from [`trusted_comment_for`]; write the
//!   `.minisig` text next to the file with `eflow_outfile::write`;
//! - `verify`: [`load_public_key_file`] or `"RWQ...".parse::<PublicKey>()` (the `-P` form),
//!   then [`verify_file_described`] (also checks the SHA-256 in the trusted comment) or
//!   [`verify_file`]; each [`VerifyError`] variant names the failed check;
//! - `build --sign`: fill a [`Manifest`] ([`Manifest::to_json`]) and a [`SbomInput`]
//!   ([`spdx_sbom_json`], with licenses from [`licenses_from_copyright`]), write both, sign
//!   every output. [`Hasher`] digests an output while it is written, and [`sign_prehashed`]
//!   signs it without reading it back.

mod dep5;
mod error;
mod kdf;
mod key_file;
mod manifest;
mod public_key;
mod sbom;
mod secret_key;
mod signature;
mod spdx_license;
mod trusted_comment;

pub use dep5::{license_refs, licenses_from_copyright};
pub use eflow_outfile::{hex, Digests, Hasher};
pub use error::{KeyError, SignError, VerifyError};
pub use kdf::KdfLimits;
pub use key_file::{
    load_public_key_file, load_secret_key_file, secret_key_file_is_encrypted, write_new_file,
    write_public_key_file, write_secret_key_file,
};
pub use manifest::{
    FileDigest, ImageIdentity, InputDigests, Manifest, ManifestError, OutputFile, PackageRecord,
    PackageSource, PartitionRecord, RecipeDigest, MANIFEST_FORMAT,
};
pub use public_key::{KeyId, PublicKey};
pub use sbom::{iso8601_utc, spdx_sbom, spdx_sbom_json, SbomInput, SbomPackage};
pub use secret_key::{generate, generate_with, SecretKey};
pub use signature::{
    sign_digests_described, sign_file, sign_file_described, sign_prehashed, sign_reader,
    verify_file, verify_file_described, verify_prehashed, verify_reader, SignedFile,
};
pub use trusted_comment::{trusted_comment_for, TrustedComment, TrustedFields};
