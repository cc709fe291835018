//! Debian archive access for eflow-image: the deb822 syntax, version ordering, relation
//! fields, signed archive indexes, mirror configuration, and the package resolver that turns
//! recipe package lists into a pinned closure.

pub mod deb822;
pub mod index;
pub mod relation;
pub mod resolve;
pub mod version;

pub use index::{Index, IndexError, Package};
pub use resolve::{resolve, Problem, Request, ResolveError, Resolved};
pub use version::Version;
