//! Debian archive access for eflow-image: the deb822 syntax, version ordering, relation
//! fields, signed archive indexes, mirror configuration, and the package resolver that turns
//! recipe package lists into a pinned closure.
//!
//! Typical use by the builder:
//! 1. [`mirrors::mirrors`] picks a base URI per suite (command line, environment, apt sources);
//! 2. [`source::load_index`] fetches and verifies each suite's `InRelease` and `Packages.xz`
//!    through the builder's [`Fetch`] and builds the [`Index`];
//! 3. [`resolve()`] turns the recipes' requests into the sorted closure of [`Resolved`]
//!    packages, each with its archive path, size and SHA-256.
//!
//! Checks beyond `cargo test -p eflow-apt` (which needs gpg, gpgv, gpgconf, dpkg and apt-get,
//! all from Debian):
//! - real mirror, compared with `apt-get -s` (network; run `apt-get update` first):
//!   `cargo test -p eflow-apt --release --test real_mirror -- --ignored --nocapture`
//! - parse benchmark on a real Packages file: `cargo bench -p eflow-apt --bench packages`
//! - fuzzing (nightly features): in this crate's directory,
//!   `RUSTC_BOOTSTRAP=1 cargo fuzz run -O deb822` (also `relation`, `release`).

pub mod deb822;
pub mod fetch;
pub mod index;
pub mod mirrors;
pub mod relation;
pub mod release;
pub mod resolve;
pub mod signature;
pub mod source;
pub mod version;

pub use fetch::{Fetch, FetchError};
pub use index::{Index, IndexError, Package};
pub use mirrors::{mirrors, Error};
pub use resolve::{resolve, Problem, Request, ResolveError, Resolved};
pub use source::{load_index, Loaded, SourceConfig, SourceError, DEFAULT_KEYRING};
pub use version::Version;
