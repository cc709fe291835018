//! The assemble stage: unpack every locked package into the Tree, as dpkg would, without
//! touching the host filesystem and without running any maintainer script.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use eflow_deb::{DebPackage, DebSource, Installed, Owners};
use eflow_tree::{Entry, Tree};

use crate::plan::lockfile::LockedPackage;

/// Why assembly failed.
#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    #[error("package {package}: {source}")]
    Deb {
        package: String,
        source: Box<eflow_deb::Error>,
    },
    #[error("package {package} ({path}) is {found}, but the lockfile pins {expected}")]
    WrongPackage {
        package: String,
        path: PathBuf,
        expected: String,
        found: String,
    },
    #[error(transparent)]
    Tree(#[from] eflow_tree::TreeError),
}

/// The assembled guest: the Tree, and what each package installed (for the dpkg database).
pub struct Assembled {
    pub tree: Tree,
    pub packages: Vec<(DebPackage, Installed)>,
    /// Which packages own which paths (the dpkg database needs it).
    pub owners: Owners,
    pub source: Arc<DebSource>,
}

/// Debian 12 is merged-/usr: these top-level links exist before any package is unpacked,
/// as debootstrap makes them, so `/bin/sh` from a package lands in `/usr/bin/sh`.
pub const MERGED_USR: &[(&str, &str)] = &[
    ("/bin", "usr/bin"),
    ("/sbin", "usr/sbin"),
    ("/lib", "usr/lib"),
    ("/lib64", "usr/lib64"),
];

/// Creates the merged-/usr skeleton.
pub fn skeleton(mtime: i64) -> Result<Tree, AssembleError> {
    let mut tree = Tree::new();
    for dir in ["/usr", "/usr/bin", "/usr/sbin", "/usr/lib", "/usr/lib64"] {
        tree.insert(dir, Entry::dir().at(mtime))?;
    }
    for (link, target) in MERGED_USR {
        tree.insert(link, Entry::symlink(*target).at(mtime))?;
    }
    Ok(tree)
}

/// Unpacks `debs` (each a locked package and its verified file) in lockfile order.
/// `overrides` maps a path to the package that wins it when two ship different contents.
pub fn assemble(
    debs: &[(LockedPackage, PathBuf)],
    overrides: &BTreeMap<String, String>,
    mtime: i64,
) -> Result<Assembled, AssembleError> {
    let mut tree = skeleton(mtime)?;
    let source = DebSource::new();
    let mut owners = Owners::default();
    let mut packages = Vec::with_capacity(debs.len());
    for (locked, path) in debs {
        let pkg = eflow_deb::read_control(path).map_err(|source| AssembleError::Deb {
            package: locked.name.clone(),
            source: Box::new(source),
        })?;
        let (name, version) = (pkg.control.name(), pkg.control.version());
        if name != locked.name || version != locked.version {
            return Err(AssembleError::WrongPackage {
                package: locked.name.clone(),
                path: path.clone(),
                expected: format!("{} {}", locked.name, locked.version),
                found: format!("{name} {version}"),
            });
        }
        let stream = source.add(path.clone());
        let me = locked.name.clone();
        let policy = |p: &str, _other: &str| overrides.get(p).is_some_and(|w| *w == me);
        let installed =
            eflow_deb::unpack_into(&mut tree, &pkg, &source, stream, &mut owners, &policy)
                .map_err(|source| AssembleError::Deb {
                    package: locked.name.clone(),
                    source: Box::new(source),
                })?;
        packages.push((pkg, installed));
    }
    Ok(Assembled {
        tree,
        packages,
        owners,
        source,
    })
}
