//! Release signing for eflow-image: minisign-compatible Ed25519 keys and signatures, the
//! build manifest, and the SPDX SBOM.
//!
//! Keys and signatures are byte-compatible with the stock `minisign` tool: `minisign -Vm FILE
//! -p KEY.pub` verifies what [`sign_file`] writes, and keys made by `minisign -G` are read by
//! [`SecretKey::from_str`] / [`PublicKey`]'s `FromStr`. Only prehashed ("ED") signatures are
//! made and accepted, so files are streamed, never loaded whole.
//!
//! Typical use by the CLI:
//!
//! - `keygen`: [`generate`] then [`write_secret_key_file`] and [`write_public_key_file`];
//! - `sign`: [`load_secret_key_file`] then [`sign_file_described`] (or [`sign_file`] with
//!   [`trusted_comment_for`]) and write the `.minisig` text next to the file;
//! - `verify`: [`load_public_key_file`] (or parse a `-P` base64 string) then
//!   [`verify_file_described`] or [`verify_file`];
//! - `build --sign`: [`Manifest`] and [`spdx_sbom`] written with [`write_new_file`], then
//!   every output signed.

mod dep5;
mod error;
mod hashing;
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
pub use error::{KeyError, SignError, VerifyError};
pub use hashing::{hex, Digests, Hasher};
pub use kdf::KdfLimits;
pub use key_file::{
    load_public_key_file, load_secret_key_file, write_new_file, write_public_key_file,
    write_secret_key_file,
};
pub use manifest::{
    FileDigest, ImageIdentity, InputDigests, Manifest, ManifestError, OutputFile, PackageRecord,
    PackageSource, RecipeDigest, MANIFEST_FORMAT,
};
pub use public_key::{KeyId, PublicKey};
pub use sbom::{iso8601_utc, spdx_sbom, spdx_sbom_json, SbomInput, SbomPackage};
pub use secret_key::{generate, generate_with, SecretKey};
pub use signature::{
    sign_file, sign_file_described, sign_prehashed, sign_reader, verify_file,
    verify_file_described, verify_prehashed, verify_reader, SignedFile,
};
pub use trusted_comment::{trusted_comment_for, TrustedComment, TrustedFields};
