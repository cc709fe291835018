//! Debian binary packages (.deb) for eflow-image: reading them (the `ar` container,
//! `debian-binary`, control.tar and data.tar in any compression dpkg produces), unpacking
//! their files into the in-memory [`eflow_tree::Tree`] the way dpkg installs them (never
//! touching the host filesystem), serving their file contents lazily as an
//! [`eflow_tree::ContentSource`], and writing the dpkg database so `dpkg -l` works in the guest.
//!
//! Maintainer scripts are never run (no guest code runs at build time); what they would do
//! is declared in recipes. In particular file capabilities (e.g. `cap_net_raw` on
//! `/usr/bin/ping`) are set by postinst scripts with `setcap` in Debian, not shipped in
//! data.tar: dpkg's tar reader does not accept pax headers, so debs carry no xattrs.
//!
//! ```no_run
//! use eflow_deb::{dpkg_database, merged_usr, read_control, unpack_into, DebSource, Owners};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut tree = eflow_tree::Tree::new();
//! merged_usr(&mut tree, "amd64", 0)?; // what debootstrap does before unpacking
//! let source = DebSource::new();
//! let mut owners = Owners::new();
//! let mut installed = Vec::new();
//! for path in ["a.deb", "b.deb"] {
//!     let pkg = read_control(path.as_ref())?;
//!     let stream = source.add(path.into());
//!     let inst = unpack_into(&mut tree, &pkg, &source, stream, &mut owners, &|_path, _other| false)?;
//!     installed.push((pkg, inst));
//! }
//! let refs: Vec<_> = installed.iter().map(|(p, i)| (p, i)).collect();
//! dpkg_database(&refs, &owners, &mut tree, 0)?;
//! # Ok(())
//! # }
//! ```

pub mod ar;
pub mod control;
pub mod dpkg_db;
mod error;
pub mod filter;
pub mod package;
pub mod source;
pub mod store;
pub mod tar;
#[cfg(feature = "testing")]
pub mod testing;
pub mod unpack;
pub mod usrmerge;

pub use control::Control;
pub use dpkg_db::dpkg_database;
pub use error::Error;
pub use filter::{apply_filters, PathFilter};
pub use package::{read_control, DebPackage};
pub use source::DebSource;
pub use store::ContentStore;
pub use unpack::{apply, scan, scan_all, unpack_into, Installed, Owners, Scanned};
pub use usrmerge::merged_usr;
