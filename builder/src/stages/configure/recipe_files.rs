//! Installs what recipes declare directly: files from the files directory (guest-rootfs/),
//! directories and symlinks, with their owners and modes; removes paths recipes drop.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use eflow_tree::{Entry, Kind, Tree};

use crate::stages::configure::users::Ids;
use crate::stages::plan::RecipeSet;

/// Why a recipe's files could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum RecipeFilesError {
    /// A file's source in the files directory could not be read.
    #[error("recipe {recipe}: cannot read {path}: {source}")]
    Read {
        recipe: String,
        path: PathBuf,
        source: std::io::Error,
    },
    /// An owner or group name that no account of the guest has.
    #[error("recipe {recipe}: {path}: unknown {what} {name:?} (not in /etc/passwd or /etc/group of the guest, nor declared by a recipe)")]
    UnknownOwner {
        recipe: String,
        path: String,
        what: &'static str,
        name: String,
    },
    /// The Tree refused the entry (a parent that is not a directory, a bad path).
    #[error("recipe {recipe}: {path}: {source}")]
    Tree {
        recipe: String,
        path: String,
        source: eflow_tree::TreeError,
    },
}

/// Installs every recipe's `[[directory]]`, `[[file]]` and `[[symlink]]`, in recipe order,
/// then applies `remove`. Parents are created as root-owned 0755 directories; owners are looked
/// up by name in `ids`, the accounts the users step wrote.
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
        let id = |path: &str, what, names: &BTreeMap<String, u32>, name: &str| {
            names
                .get(name)
                .copied()
                .ok_or_else(|| RecipeFilesError::UnknownOwner {
                    recipe: recipe.clone(),
                    path: path.to_string(),
                    what,
                    name: name.to_string(),
                })
        };
        let owner = |path: &str, user: &str, group: &str| -> Result<(u32, u32), RecipeFilesError> {
            Ok((
                id(path, "user", &ids.users, user)?,
                id(path, "group", &ids.groups, group)?,
            ))
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
