//! The configure stage: what Debian maintainer scripts would do, declared instead of executed.
//!
//! Each submodule does one thing on the assembled [`Tree`] and takes its own input types; the
//! pipeline maps recipe fields onto them. Nothing here runs guest code or touches the host
//! filesystem: files are read from and written to the Tree only, every output is sorted, and
//! every time stamp is the `mtime` (SOURCE_DATE_EPOCH) the caller passes in.
//!
//! [`run`] applies them in order: accounts, recipe files (which may be owned by recipe
//! users), units (which may come from recipe files), first-boot files, the mounts, the dpkg
//! database.
//!
//! - [`users`]: /etc/passwd, group, shadow, gshadow (base-passwd + sysusers.d + recipes).
//! - [`units`]: `systemctl enable` / `mask` / `set-default` as symlinks ([`unit_file`] parses
//!   unit names and [Install]); [`presets`]: systemd.preset(5).
//! - [`files`]: first-boot files (machine-id, hostname, hosts, fstab, SSH host keys).
//! - [`mounts`]: fstab, the initramfs' mount table, overlays and growing from the partitions.
//! - [`alternatives`]: update-alternatives' symlinks and its admin files.
//! - [`package_state`]: recipes' `[[file-mode]]` and `[[alternative]]` (maintainer scripts'
//!   chmod/chown of shipped paths, update-alternatives).

pub mod accounts;
pub mod alternatives;
pub mod files;
pub mod mounts;
pub mod package_state;
pub mod presets;
pub mod recipe_files;
pub mod sysusers;
pub mod unit_file;
pub mod units;
pub mod users;

use std::io::Read;

use eflow_deb::{DebPackage, Installed, Owners};
use eflow_tree::{normalize, parent, Entry, Kind, Tree, TreeError};

use crate::stages::plan::Plan;

/// Why the configure stage failed; each names the part that did.
#[derive(Debug, thiserror::Error)]
pub enum ConfigureError {
    #[error("accounts: {0}")]
    Users(#[from] users::UsersError),
    #[error(transparent)]
    RecipeFiles(#[from] recipe_files::RecipeFilesError),
    #[error(transparent)]
    PackageState(#[from] package_state::PackageStateError),
    #[error("units: {0}")]
    Units(#[from] units::UnitsError),
    #[error("first-boot files: {0}")]
    Files(#[from] files::FilesError),
    #[error("dpkg database: {0}")]
    Dpkg(eflow_deb::Error),
    #[error("provisioning: {0}")]
    Tree(#[from] eflow_tree::TreeError),
}

/// The unit the guest boots into.
pub const DEFAULT_TARGET: &str = "multi-user.target";

/// Applies every recipe's declarations and the generated files to `tree`.
pub fn run(
    tree: &mut Tree,
    plan: &Plan,
    packages: &[(DebPackage, Installed)],
    owners: &Owners,
) -> Result<(), ConfigureError> {
    let sde = plan.source_date_epoch;
    let recipes = &plan.recipes.recipes;

    let user_specs: Vec<users::UserSpec> = recipes
        .iter()
        .flat_map(|r| r.def.users.iter())
        .map(|u| users::UserSpec {
            name: u.name.clone(),
            uid: u.uid,
            system: u.system,
            home: u.home.clone(),
            shell: u.shell.clone(),
            comment: u.comment.clone(),
            groups: u.groups.clone(),
            primary_group: u.group.clone(),
            create_home: u.create_home,
        })
        .collect();
    let group_specs: Vec<users::GroupSpec> = recipes
        .iter()
        .flat_map(|r| r.def.groups.iter())
        .map(|g| users::GroupSpec {
            name: g.name.clone(),
            gid: g.gid,
            system: g.system,
            members: g.members.clone(),
            members_from: g.members_from.clone(),
        })
        .collect();
    let accounts = users::configure(tree, &user_specs, &group_specs, sde)?;

    recipe_files::install(
        tree,
        &plan.recipes,
        &plan.image.files_dir(),
        &accounts.ids,
        sde,
    )?;
    package_state::file_modes(tree, &plan.recipes, owners, &accounts.ids)?;
    package_state::alternatives(tree, &plan.recipes, sde)?;

    let enable: Vec<String> = recipes
        .iter()
        .flat_map(|r| r.def.recipe.enable.iter().cloned())
        .collect();
    units::enable(tree, &enable, sde)?;
    for r in recipes {
        for m in &r.def.recipe.mask {
            units::mask(tree, m, sde)?;
        }
    }
    units::set_default_target(tree, DEFAULT_TARGET, sde)?;

    files::machine_id(tree, files::MachineId::Empty, sde)?;
    files::hostname(tree, plan.image.hostname(), sde)?;
    files::ssh_host_keys_at_first_boot(tree, sde)?;
    files::run_links(tree, sde)?;
    if let Some(p) = &plan.image.def.provisioning {
        // What `iotedge config` expects to find; only root may read it (it holds secrets).
        let config = eflow_guest_agent::render_config(p, plan.image.hostname());
        tree.mkdir_p("/etc/aziot")?;
        tree.insert(
            "/etc/aziot/config.toml",
            Entry::file(config, 0o600).owned(0, 0).at(sde),
        )?;
    }

    let partitions = &plan.image.def.partitions;
    mounts::configure(
        tree,
        partitions,
        &mounts::MountPlan::new(partitions, &plan.seed),
        sde,
    )?;

    let refs: Vec<(&DebPackage, &Installed)> = packages.iter().map(|(p, i)| (p, i)).collect();
    eflow_deb::dpkg_database(&refs, owners, tree, sde).map_err(ConfigureError::Dpkg)?;
    clamp_mtimes(tree, sde);
    Ok(())
}

/// No timestamp in the image is newer than SOURCE_DATE_EPOCH.
pub fn clamp_mtimes(tree: &mut Tree, sde: i64) {
    for (_, e) in tree.iter_mut() {
        if e.mtime > sde {
            e.mtime = sde;
        }
    }
}

/// Why a file of the Tree could not be read as bytes.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The path exists but is not a regular file after following symlinks.
    #[error("{path} in the image tree is not a regular file")]
    NotAFile { path: String },
    /// The content could not be opened or read (a package stream failed).
    #[error("reading {path} from the image tree: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// A symlink loop or too many links on the way.
    #[error("{path} in the image tree: too many levels of symbolic links")]
    Loop { path: String },
}

/// Reads a regular file of the Tree (following symlinks and hard links); `None` when absent.
pub fn read_file(tree: &Tree, path: &str) -> Result<Option<Vec<u8>>, ReadError> {
    let resolved = tree.resolve(path, true).ok_or_else(|| ReadError::Loop {
        path: path.to_string(),
    })?;
    let Some(mut entry) = tree.get(&resolved) else {
        return Ok(None);
    };
    if let Kind::HardLink { target } = &entry.kind {
        entry = tree.get(target).ok_or_else(|| ReadError::NotAFile {
            path: path.to_string(),
        })?;
    }
    let Kind::File { content, size } = &entry.kind else {
        return Err(ReadError::NotAFile {
            path: path.to_string(),
        });
    };
    let io = |source| ReadError::Io {
        path: path.to_string(),
        source,
    };
    // Size is a hint only; cap the pre-allocation so a lying size cannot exhaust memory.
    let mut buf = Vec::with_capacity((*size).min(1 << 20) as usize);
    content
        .open()
        .map_err(io)?
        .read_to_end(&mut buf)
        .map_err(io)?;
    Ok(Some(buf))
}

/// Reads a text file of the Tree; `None` when absent. Invalid UTF-8 is replaced, not fatal:
/// the parsers that use this only care about ASCII syntax.
pub fn read_text(tree: &Tree, path: &str) -> Result<Option<String>, ReadError> {
    Ok(read_file(tree, path)?.map(|b| String::from_utf8_lossy(&b).into_owned()))
}

/// The path where an entry named `path` really lives: its parent directory resolved through
/// symlinks (so `/lib/systemd/system/x` lands in `/usr/lib/...` on a usrmerged tree), the last
/// component kept as is.
pub(crate) fn physical_path(tree: &Tree, path: &str) -> Result<String, TreeError> {
    let path = normalize(path)?;
    if path == "/" {
        return Ok(path);
    }
    let dir = tree
        .resolve(parent(&path), true)
        .ok_or_else(|| TreeError::InvalidPath {
            path: path.clone(),
            reason: "too many levels of symbolic links in its parent",
        })?;
    let name = eflow_tree::file_name(&path);
    Ok(if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    })
}

/// Creates a directory and its missing ancestors (root-owned, 0755, at `mtime`), following
/// symlinks on the way like `mkdir -p` does. Returns the physical path of the directory.
pub(crate) fn mkdir_p(tree: &mut Tree, path: &str, mtime: i64) -> Result<String, TreeError> {
    let path = normalize(path)?;
    let mut cur = String::from("/");
    for comp in path.split('/').filter(|c| !c.is_empty()) {
        let next = if cur == "/" {
            format!("/{comp}")
        } else {
            format!("{cur}/{comp}")
        };
        let resolved = tree
            .resolve(&next, true)
            .ok_or_else(|| TreeError::InvalidPath {
                path: path.clone(),
                reason: "too many levels of symbolic links",
            })?;
        match tree.get(&resolved) {
            Some(e) if e.is_dir() => {}
            Some(_) => {
                return Err(TreeError::ParentNotDir {
                    path: path.clone(),
                    parent: next,
                })
            }
            None => {
                // A dangling symlink's target is created where it points.
                let p = physical_path(tree, &resolved)?;
                tree.insert(&p, Entry::dir().at(mtime))?;
            }
        }
        cur = resolved;
    }
    Ok(cur)
}

/// Writes a regular file (replacing what was there), creating missing parent directories.
pub(crate) fn write_file(
    tree: &mut Tree,
    path: &str,
    data: impl Into<Vec<u8>>,
    mode: u32,
    owner: (u32, u32),
    mtime: i64,
) -> Result<(), TreeError> {
    let path = normalize(path)?;
    mkdir_p(tree, parent(&path), mtime)?;
    let phys = physical_path(tree, &path)?;
    let entry = Entry::file(data, mode).owned(owner.0, owner.1).at(mtime);
    tree.insert(&phys, entry)?;
    Ok(())
}

/// Writes a symlink (replacing what was there), creating missing parent directories.
pub(crate) fn write_symlink(
    tree: &mut Tree,
    path: &str,
    target: &str,
    mtime: i64,
) -> Result<(), TreeError> {
    let path = normalize(path)?;
    mkdir_p(tree, parent(&path), mtime)?;
    let phys = physical_path(tree, &path)?;
    tree.insert(&phys, Entry::symlink(target).at(mtime))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_through_usrmerge_symlinks() {
        let mut t = Tree::new();
        t.mkdir_p("/usr/lib").unwrap();
        t.insert("/lib", Entry::symlink("usr/lib")).unwrap();
        write_file(
            &mut t,
            "/lib/systemd/system/a.service",
            "x",
            0o644,
            (0, 0),
            7,
        )
        .unwrap();
        assert!(t.get("/usr/lib/systemd/system/a.service").is_some());
        assert_eq!(t.get("/usr/lib/systemd").unwrap().mtime, 7);
        assert_eq!(
            read_file(&t, "/lib/systemd/system/a.service").unwrap(),
            Some(b"x".to_vec())
        );
        assert_eq!(read_file(&t, "/nope").unwrap(), None);
        assert!(matches!(
            read_file(&t, "/usr").unwrap_err(),
            ReadError::NotAFile { .. }
        ));
    }
}
