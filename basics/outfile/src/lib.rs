//! Output files: written under a temporary name next to the target and renamed into place
//! only when complete ([`AtomicFile`]), digested while they are written ([`DigestingFile`])
//! so that a build records and signs each output without reading it back.
//!
//! Every command that writes a file a user asked for goes through here: `build`'s outputs,
//! manifest, SBOM and signatures, `convert`, `lock`, key files and `agent copy-out`.

#![warn(missing_docs)]

mod atomic;
mod digest;
mod digesting;

pub use atomic::{check_target, write, AtomicFile};
pub use digest::{hex, Digests, Hasher};
pub use digesting::DigestingFile;
