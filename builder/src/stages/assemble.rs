//! The assemble stage: unpack every locked package into the Tree, as dpkg would, without
//! touching the host filesystem and without running any maintainer script.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use eflow_deb::{ContentStore, DebPackage, DebSource, Installed, Owners};
use eflow_tree::Tree;

use crate::stages::plan::lockfile::LockedPackage;

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
    #[error("package {package}: the lockfile's sha256 {sha256:?} is not 64 hex digits")]
    BadDigest { package: String, sha256: String },
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

/// The lockfile's sha256 of a package as bytes.
fn pinned_digest(locked: &LockedPackage) -> Result<[u8; 32], AssembleError> {
    hex::decode(&locked.sha256)
        .ok()
        .and_then(|v| <[u8; 32]>::try_from(v).ok())
        .ok_or_else(|| AssembleError::BadDigest {
            package: locked.name.clone(),
            sha256: locked.sha256.clone(),
        })
}

/// Creates the merged-/usr skeleton (`/bin -> usr/bin`, ...): in Debian 12 no package ships
/// these links (debootstrap makes them), so `/bin/sh` from a package lands in `/usr/bin/sh`.
pub fn skeleton(arch: &str, mtime: i64) -> Result<Tree, AssembleError> {
    let mut tree = Tree::new();
    eflow_deb::merged_usr(&mut tree, arch, mtime)?;
    Ok(tree)
}

/// Unpacks `debs` (each a locked package and its verified file) in lockfile order.
/// `overrides` maps a path to the package that wins it when two ship different contents.
///
/// Decompressing and hashing every data.tar is most of the work and needs no Tree, so it
/// runs on all cores first, keeping the contents in `store` (a persistent store lets the
/// next build skip it); the packages are then applied to the Tree one by one, in order.
pub fn assemble(
    debs: &[(LockedPackage, PathBuf)],
    store: &ContentStore,
    overrides: &BTreeMap<String, String>,
    arch: &str,
    mtime: i64,
) -> Result<Assembled, AssembleError> {
    let deb_err = |name: &str, e: eflow_deb::Error| AssembleError::Deb {
        package: name.to_string(),
        source: Box::new(e),
    };
    let mut tree = skeleton(arch, mtime)?;
    let source = DebSource::new();
    let mut owners = Owners::default();
    let mut pkgs = Vec::with_capacity(debs.len());
    for (locked, path) in debs {
        let pkg = eflow_deb::read_control(path).map_err(|e| deb_err(&locked.name, e))?;
        let (name, version) = (pkg.control.name(), pkg.control.version());
        if name != locked.name || version != locked.version {
            return Err(AssembleError::WrongPackage {
                package: locked.name.clone(),
                path: path.clone(),
                expected: format!("{} {}", locked.name, locked.version),
                found: format!("{name} {version}"),
            });
        }
        // Scanning hashes the file again, whatever the cache checked when it was stored: the
        // bytes unpacked are the bytes the lockfile pins.
        let mut pkg = pkg;
        pkg.pinned_sha256 = Some(pinned_digest(locked)?);
        pkgs.push(pkg);
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let scanned = eflow_deb::scan_all(&pkgs, store, threads);
    let mut packages = Vec::with_capacity(debs.len());
    for ((pkg, scan), (locked, path)) in pkgs.into_iter().zip(scanned).zip(debs) {
        let scan = scan.map_err(|e| deb_err(&locked.name, e))?;
        let stream = source.add(path.clone());
        let me = locked.name.clone();
        let policy = |p: &str, _other: &str| overrides.get(p).is_some_and(|w| *w == me);
        let installed = eflow_deb::apply(
            &mut tree,
            &pkg,
            &scan,
            &source,
            stream,
            &mut owners,
            &policy,
        )
        .map_err(|e| deb_err(&locked.name, e))?;
        packages.push((pkg, installed));
    }
    Ok(Assembled {
        tree,
        packages,
        owners,
        source,
    })
}
