//! Runs the configure stage on the assembled Tree: accounts, recipe files, units, first-boot
//! files and the dpkg database, in that order (recipe files may be owned by recipe users;
//! units may come from recipe files).

use eflow_deb::{DebPackage, Installed, Owners};
use eflow_tree::{Entry, Tree};

use crate::build::Plan;
use crate::configure::{files, units, users};
use crate::recipe_files::{self, Ids};

/// Why the configure stage failed; each names the part that did.
#[derive(Debug, thiserror::Error)]
pub enum ConfigureError {
    #[error("accounts: {0}")]
    Users(#[from] users::UsersError),
    #[error(transparent)]
    RecipeFiles(#[from] recipe_files::RecipeFilesError),
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
pub fn configure(
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
        })
        .collect();
    users::configure(tree, &user_specs, &group_specs, sde)?;

    let ids = Ids::from_tree(tree)?;
    recipe_files::install(tree, &plan.recipes, &plan.image.files_dir(), &ids, sde)?;

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
    if let Some(p) = &plan.image.def.provisioning {
        // What `iotedge config` expects to find; only root may read it (it holds secrets).
        let config = eflow_guest_agent::render_config(p, plan.image.hostname());
        tree.mkdir_p("/etc/aziot")?;
        tree.insert(
            "/etc/aziot/config.toml",
            Entry::file(config, 0o600).owned(0, 0).at(sde),
        )?;
    }

    let refs: Vec<(&DebPackage, &Installed)> = packages.iter().map(|(p, i)| (p, i)).collect();
    eflow_deb::dpkg_database(&refs, owners, tree, sde).map_err(ConfigureError::Dpkg)?;
    Ok(())
}
