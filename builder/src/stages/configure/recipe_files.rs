//! Installs what recipes declare directly: files from the files directory (guest-rootfs/),
//! directories and symlinks, with their owners and modes; removes paths recipes drop.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use eflow_tree::{Entry, Kind, Tree};

use crate::stages::configure::accounts;

use crate::stages::plan::RecipeSet;

/// Why a recipe's files could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum RecipeFilesError {
    #[error("recipe {recipe}: cannot read {path}: {source}")]
    Read {
        recipe: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("recipe {recipe}: {path}: unknown {what} {name:?} (not in /etc/passwd or /etc/group of the guest, nor declared by a recipe)")]
    UnknownOwner {
        recipe: String,
        path: String,
        what: &'static str,
        name: String,
    },
    #[error("reading the guest's accounts: {0}")]
    Accounts(String),
    #[error("recipe {recipe}: {path}: {source}")]
    Tree {
        recipe: String,
        path: String,
        source: eflow_tree::TreeError,
    },
}

/// Name-to-id maps of the guest's accounts, read from the Tree after the configure stage wrote them.
#[derive(Default, Debug, Clone)]
pub struct Ids {
    pub users: BTreeMap<String, u32>,
    pub groups: BTreeMap<String, u32>,
}

impl Ids {
    /// Reads /etc/passwd and /etc/group from the Tree, with the configure stage's own parsers.
    pub fn from_tree(tree: &Tree) -> Result<Ids, RecipeFilesError> {
        let text = |path: &str| -> Result<String, RecipeFilesError> {
            Ok(crate::stages::configure::read_text(tree, path)
                .map_err(|e| RecipeFilesError::Accounts(e.to_string()))?
                .unwrap_or_default())
        };
        let bad = |e: accounts::ParseError| RecipeFilesError::Accounts(e.to_string());
        let users = accounts::PasswdLine::parse_file("/etc/passwd", &text("/etc/passwd")?)
            .map_err(bad)?
            .into_iter()
            .map(|l| (l.name, l.uid))
            .collect();
        let groups = accounts::GroupLine::parse_file("/etc/group", &text("/etc/group")?)
            .map_err(bad)?
            .into_iter()
            .map(|l| (l.name, l.gid))
            .collect();
        Ok(Ids { users, groups })
    }
}

/// Installs every recipe's `[[directory]]`, `[[file]]` and `[[symlink]]`, in recipe order,
/// then applies `remove`. Parents are created as root-owned 0755 directories.
pub fn install(
    tree: &mut Tree,
    recipes: &RecipeSet,
    files_dir: &Path,
    ids: &Ids,
    mtime: i64,
) -> Result<(), RecipeFilesError> {
    for r in &recipes.recipes {
        let recipe = r.name().to_string();
        let tree_err = |path: &str, source| RecipeFilesError::Tree {
            recipe: recipe.clone(),
            path: path.to_string(),
            source,
        };
        let owner = |path: &str, user: &str, group: &str| -> Result<(u32, u32), RecipeFilesError> {
            let uid = *ids
                .users
                .get(user)
                .ok_or_else(|| RecipeFilesError::UnknownOwner {
                    recipe: recipe.clone(),
                    path: path.to_string(),
                    what: "user",
                    name: user.to_string(),
                })?;
            let gid = *ids
                .groups
                .get(group)
                .ok_or_else(|| RecipeFilesError::UnknownOwner {
                    recipe: recipe.clone(),
                    path: path.to_string(),
                    what: "group",
                    name: group.to_string(),
                })?;
            Ok((uid, gid))
        };
        for d in &r.def.directories {
            let (uid, gid) = owner(&d.path, &d.owner, &d.group)?;
            tree.mkdir_p(eflow_tree::parent(&d.path))
                .map_err(|e| tree_err(&d.path, e))?;
            let mut e = Entry::new(Kind::Dir, d.mode.0).owned(uid, gid).at(mtime);
            if let Some(old) = tree.get(&d.path).filter(|o| o.is_dir()) {
                e.xattrs = old.xattrs.clone();
            }
            tree.insert(&d.path, e).map_err(|e| tree_err(&d.path, e))?;
        }
        for f in &r.def.files {
            let (uid, gid) = owner(&f.path, &f.owner, &f.group)?;
            let src = files_dir.join(&f.source);
            let data = std::fs::read(&src).map_err(|source| RecipeFilesError::Read {
                recipe: recipe.clone(),
                path: src.clone(),
                source,
            })?;
            tree.mkdir_p(eflow_tree::parent(&f.path))
                .map_err(|e| tree_err(&f.path, e))?;
            tree.insert(
                &f.path,
                Entry::file(data, f.mode.0).owned(uid, gid).at(mtime),
            )
            .map_err(|e| tree_err(&f.path, e))?;
        }
        for s in &r.def.symlinks {
            tree.mkdir_p(eflow_tree::parent(&s.path))
                .map_err(|e| tree_err(&s.path, e))?;
            tree.insert(&s.path, Entry::symlink(s.target.clone()).at(mtime))
                .map_err(|e| tree_err(&s.path, e))?;
        }
        for p in &r.def.recipe.remove {
            tree.remove(p).map_err(|e| tree_err(p, e))?;
        }
    }
    Ok(())
}
