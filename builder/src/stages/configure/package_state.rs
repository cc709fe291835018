//! What maintainer scripts do to the files their packages ship, declared in recipes:
//! `[[file-mode]]` (a postinst's `chmod`/`chown` of a shipped path) and `[[alternative]]`
//! (`update-alternatives --install`, links and admin file through [`super::alternatives`]).
//!
//! A `[[file-mode]]` path must be one a package of the image ships (after usrmerge, by the
//! path where it really lives): a recipe that names anything else is an error naming the
//! recipe file, line and key, since the declaration would silently do nothing on the day the
//! package moves the file.

use std::collections::BTreeMap;

use eflow_deb::Owners;
use eflow_tree::Tree;

use super::alternatives::{self, Alternative, AlternativesError, Choice, Slave};
use super::physical_path;
use super::users::Ids;
use crate::stages::plan::recipe::Recipe;
use crate::stages::plan::{toml_error, DefinitionError, RecipeSet};

/// Why a declaration about packaged files could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum PackageStateError {
    /// A recipe value that cannot be applied, with its file, line and key.
    #[error(transparent)]
    Definition(#[from] DefinitionError),
    /// The alternatives module refused a group.
    #[error("{file}: {source}")]
    Alternative {
        file: String,
        source: AlternativesError,
    },
}

fn at(r: &Recipe, key: &str, hint: &str, msg: String) -> PackageStateError {
    DefinitionError::at(
        &r.path,
        &r.text,
        toml_error::find_key(&r.text, key, Some(hint)),
        msg,
    )
    .into()
}

/// Applies every recipe's `[[file-mode]]`, in recipe order. `owners` lists what the packages
/// installed; `ids` the accounts of the users step.
pub fn file_modes(
    tree: &mut Tree,
    recipes: &RecipeSet,
    owners: &Owners,
    ids: &Ids,
) -> Result<(), PackageStateError> {
    for r in &recipes.recipes {
        for m in &r.def.file_modes {
            let path = &m.path;
            let phys = physical_path(tree, path)
                .ok()
                .filter(|p| tree.get(p).is_some());
            let Some(phys) = phys.filter(|p| owners.contains_key(p)) else {
                return Err(at(
                    r,
                    "path",
                    path,
                    format!(
                        "key `file-mode.path`: {path:?} is not shipped by any package of the \
                         image; [[file-mode]] sets what a package installs (use [[file]] or \
                         [[directory]] for what the recipe adds)"
                    ),
                ));
            };
            let uid = ids.users.get(&m.owner).copied().ok_or_else(|| {
                at(
                    r,
                    "owner",
                    &m.owner,
                    format!("key `file-mode.owner`: no user {:?} in the image", m.owner),
                )
            })?;
            let gid = ids.groups.get(&m.group).copied().ok_or_else(|| {
                at(
                    r,
                    "group",
                    &m.group,
                    format!("key `file-mode.group`: no group {:?} in the image", m.group),
                )
            })?;
            if let Some(e) = tree.get_mut(&phys) {
                // chmod/chown change nothing else: content, time stamps and xattrs stay.
                e.mode = m.mode.0;
                e.uid = uid;
                e.gid = gid;
            }
        }
    }
    Ok(())
}

/// Sets up every `[[alternative]]` group: entries of one name, from any recipe, are its
/// choices; they must agree on the master link and on each slave's link.
pub fn alternatives(
    tree: &mut Tree,
    recipes: &RecipeSet,
    mtime: i64,
) -> Result<(), PackageStateError> {
    // name -> (the group, the recipe that declared it first)
    let mut groups: BTreeMap<String, (Alternative, &Recipe)> = BTreeMap::new();
    for r in &recipes.recipes {
        for a in &r.def.alternatives {
            let (group, _) = groups.entry(a.name.clone()).or_insert_with(|| {
                (
                    Alternative {
                        name: a.name.clone(),
                        link: a.link.clone(),
                        slaves: vec![],
                        choices: vec![],
                    },
                    r,
                )
            });
            if group.link != a.link {
                return Err(at(
                    r,
                    "link",
                    &a.link,
                    format!(
                        "key `alternative.link`: {:?} for alternative {:?}, which another entry links at {:?}; one group has one link",
                        a.link, a.name, group.link
                    ),
                ));
            }
            let mut slave_paths = vec![None; group.slaves.len()];
            for s in &a.slaves {
                let i = match group.slaves.iter().position(|g| g.name == s.name) {
                    Some(i) if group.slaves[i].link != s.link => {
                        return Err(at(
                            r,
                            "link",
                            &s.link,
                            format!(
                                "key `alternative.slaves.link`: slave {:?} of {:?} is linked at {:?} by another entry",
                                s.name, a.name, group.slaves[i].link
                            ),
                        ))
                    }
                    Some(i) => i,
                    None => {
                        group.slaves.push(Slave {
                            name: s.name.clone(),
                            link: s.link.clone(),
                        });
                        slave_paths.push(None);
                        group.slaves.len() - 1
                    }
                };
                slave_paths[i] = Some(s.path.clone());
            }
            group.choices.push(Choice {
                path: a.path.clone(),
                priority: a.priority,
                slave_paths,
            });
        }
    }
    for (group, r) in groups.values() {
        alternatives::install(tree, group, mtime).map_err(|source| {
            PackageStateError::Alternative {
                file: r.path.display().to_string(),
                source,
            }
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use eflow_tree::Entry;

    fn recipes(body: &str) -> (tempfile::TempDir, RecipeSet) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("r.toml");
        std::fs::write(&p, format!("[recipe]\nname = \"r\"\n{body}")).unwrap();
        let r = Recipe::load(&p).unwrap();
        (d, RecipeSet { recipes: vec![r] })
    }

    fn tree() -> (Tree, Owners, Ids) {
        let mut t = Tree::new();
        t.mkdir_p("/etc/aziot").unwrap();
        t.insert("/etc/aziot/a.default", Entry::file("x", 0o644))
            .unwrap();
        t.insert("/etc/aziot/mine", Entry::file("y", 0o644))
            .unwrap();
        t.mkdir_p("/usr/sbin").unwrap();
        for f in [
            "/usr/sbin/t-nft",
            "/usr/sbin/t-legacy",
            "/usr/sbin/t-nft-save",
        ] {
            t.insert(f, Entry::file("z", 0o755)).unwrap();
        }
        let owners = Owners::from([("/etc/aziot/a.default".to_string(), vec!["pkg".to_string()])]);
        let mut ids = Ids::default();
        ids.users.insert("root".into(), 0);
        ids.users.insert("svc".into(), 990);
        ids.groups.insert("root".into(), 0);
        ids.groups.insert("svc".into(), 991);
        (t, owners, ids)
    }

    #[test]
    fn file_mode_sets_a_shipped_path_and_refuses_others() {
        let (mut t, owners, ids) = tree();
        let (_d, set) = recipes(
            "[[file-mode]]\npath = \"/etc/aziot/a.default\"\nmode = \"0400\"\nowner = \"svc\"\ngroup = \"svc\"\n",
        );
        file_modes(&mut t, &set, &owners, &ids).unwrap();
        let e = t.get("/etc/aziot/a.default").unwrap();
        assert_eq!((e.mode, e.uid, e.gid), (0o400, 990, 991));

        // In the tree but shipped by no package, or not there at all: file, line and key.
        for path in ["/etc/aziot/mine", "/etc/aziot/none"] {
            let (_d, set) = recipes(&format!(
                "\n[[file-mode]]\npath = \"{path}\"\nmode = \"0400\"\n"
            ));
            let err = file_modes(&mut t, &set, &owners, &ids)
                .unwrap_err()
                .to_string();
            assert!(err.contains("r.toml:5:"), "{err}");
            assert!(
                err.contains("file-mode.path") && err.contains("not shipped"),
                "{err}"
            );
        }
        let (_d, set) = recipes(
            "[[file-mode]]\npath = \"/etc/aziot/a.default\"\nmode = \"0400\"\nowner = \"nobody-here\"\n",
        );
        let err = file_modes(&mut t, &set, &owners, &ids)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("r.toml:6:") && err.contains("nobody-here"),
            "{err}"
        );
    }

    #[test]
    fn alternative_entries_of_one_name_are_one_group() {
        let (mut t, _, _) = tree();
        let entry = |path: &str, prio: u32, slave: &str| {
            format!(
                "[[alternative]]\nname = \"t\"\nlink = \"/usr/sbin/t\"\npath = \"{path}\"\npriority = {prio}\n\
                 slaves = [{{ name = \"t-save\", link = \"/usr/sbin/t-save\", path = \"{slave}\" }}]\n"
            )
        };
        let body = entry("/usr/sbin/t-legacy", 10, "/usr/sbin/t-legacy-save")
            + &entry("/usr/sbin/t-nft", 20, "/usr/sbin/t-nft-save");
        let (_d, set) = recipes(&body);
        alternatives(&mut t, &set, 7).unwrap();
        let admin = super::super::read_text(&t, "/var/lib/dpkg/alternatives/t")
            .unwrap()
            .unwrap();
        assert_eq!(
            admin,
            "auto\n/usr/sbin/t\nt-save\n/usr/sbin/t-save\n\n/usr/sbin/t-legacy\n10\n/usr/sbin/t-legacy-save\n/usr/sbin/t-nft\n20\n/usr/sbin/t-nft-save\n\n"
        );
        let link = |p: &str| match &t.get(p).unwrap().kind {
            eflow_tree::Kind::Symlink { target } => target.clone(),
            k => panic!("{p}: {k:?}"),
        };
        assert_eq!(link("/etc/alternatives/t"), "/usr/sbin/t-nft");
        assert_eq!(link("/etc/alternatives/t-save"), "/usr/sbin/t-nft-save");

        // Two links for one name: named with its line.
        let body = entry("/usr/sbin/t-nft", 20, "/usr/sbin/t-nft-save")
            + &entry("/usr/sbin/t-legacy", 10, "/x")
                .replace("link = \"/usr/sbin/t\"", "link = \"/usr/bin/t\"");
        let (_d, set) = recipes(&body);
        let err = alternatives(&mut t, &set, 7).unwrap_err().to_string();
        assert!(
            err.contains("alternative.link") && err.contains("/usr/bin/t"),
            "{err}"
        );
    }
}
