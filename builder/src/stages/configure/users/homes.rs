//! Home directories of recipe users (unless the recipe says `create-home = false`, as for an
//! account that `useradd -r` makes without `-m`), as adduser makes them: 0755 for system users (SYS_DIR_MODE),
//! 0700 and a copy of /etc/skel for normal users (DIR_MODE), owned by the user and its primary
//! group. Package accounts get theirs from their packages or from tmpfiles.d at boot, so they are
//! left alone, and so is a home that already exists.

use super::super::mkdir_p;
use super::db::Db;
use super::UsersError;
use eflow_tree::{Entry, Kind, Tree};

/// Files in /etc/skel that adduser leaves out (SKEL_IGNORE_REGEX).
fn skel_ignored(name: &str) -> bool {
    ["dpkg", "ucf"].iter().any(|tool| {
        ["old", "new", "dist", "save"]
            .iter()
            .any(|kind| name.ends_with(&format!(".{tool}-{kind}")))
    })
}

/// Creates the missing homes of recipe users (`/nonexistent` and `/` are never homes to make).
pub(super) fn create(tree: &mut Tree, db: &Db, mtime: i64) -> Result<(), UsersError> {
    for (name, u) in &db.users {
        if !u.make_home || u.home == "/nonexistent" || u.home == "/" {
            continue;
        }
        if tree
            .resolve(&u.home, true)
            .is_some_and(|p| tree.get(&p).is_some())
        {
            continue;
        }
        let uid = u.uid.unwrap_or_default();
        let gid = db.primary_gid(name, u);
        let home = mkdir_p(tree, &u.home, mtime)?;
        let mode = if u.system { 0o755 } else { 0o700 };
        if let Some(e) = tree.get_mut(&home) {
            e.mode = mode;
            e.uid = uid;
            e.gid = gid;
        }
        if u.system {
            continue;
        }
        let skel: Vec<(String, Entry)> = tree
            .iter()
            .filter(|(p, _)| p.starts_with("/etc/skel/"))
            .filter(|(p, _)| !skel_ignored(p))
            .map(|(p, e)| (p["/etc/skel".len()..].to_string(), e.clone()))
            .collect();
        for (rel, mut e) in skel {
            if let Kind::HardLink { .. } = e.kind {
                // A hard link inside /etc/skel cannot be kept across the copy; skip it.
                continue;
            }
            e.uid = uid;
            e.gid = gid;
            e.mtime = mtime;
            tree.insert(&format!("{home}{rel}"), e)?;
        }
    }
    Ok(())
}
