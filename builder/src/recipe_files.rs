//! Installs what recipes declare directly: files from the files directory (guest-rootfs/),
//! directories and symlinks, with their owners and modes; removes paths recipes drop.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use eflow_tree::{Entry, Kind, Tree};

use crate::plan::RecipeSet;

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
    /// Reads /etc/passwd and /etc/group from the Tree.
    pub fn from_tree(tree: &Tree) -> Ids {
        let read = |path: &str| -> BTreeMap<String, u32> {
            let mut m = BTreeMap::new();
            let Some(Entry {
                kind: Kind::File { content, .. },
                ..
            }) = tree.get(path)
            else {
                return m;
            };
            let mut text = String::new();
            if let Ok(mut r) = content.open() {
                let _ = std::io::Read::read_to_string(&mut r, &mut text);
            }
            for line in text.lines() {
                let f: Vec<&str> = line.split(':').collect();
                if f.len() >= 3 {
                    if let Ok(id) = f[2].parse() {
                        m.insert(f[0].to_string(), id);
                    }
                }
            }
            m
        };
        Ids {
            users: read("/etc/passwd"),
            groups: read("/etc/group"),
        }
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
