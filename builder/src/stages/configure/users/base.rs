//! The accounts every later step builds on: the Tree's /etc/passwd and /etc/group, or, when a
//! file is missing, base-passwd's master copy of it, as base-passwd's postinst would copy it.

use super::super::accounts::{GroupLine, PasswdLine};
use super::super::read_text;
use super::allocate::NORMAL_RANGE;
use super::db::{Db, Group, Primary, User};
use super::{UsersError, GROUP, PASSWD};
use eflow_tree::Tree;

const PASSWD_MASTER: &str = "/usr/share/base-passwd/passwd.master";
const GROUP_MASTER: &str = "/usr/share/base-passwd/group.master";

/// The base accounts, in file order; a name listed twice is an error.
pub(super) fn load(tree: &Tree) -> Result<Db, UsersError> {
    let (pfile, ptext) = file_or_master(tree, PASSWD, PASSWD_MASTER)?;
    let (gfile, gtext) = file_or_master(tree, GROUP, GROUP_MASTER)?;
    let mut db = Db::default();
    for l in PasswdLine::parse_file(pfile, &ptext)? {
        let origin = format!("{pfile} entry");
        if db.users.contains_key(&l.name) {
            return Err(listed_twice("user", l.name, origin));
        }
        db.user_order.push(l.name.clone());
        db.users.insert(
            l.name.clone(),
            User {
                uid: Some(l.uid),
                primary: Primary::Gid(l.gid),
                system: l.uid < NORMAL_RANGE.0,
                gecos: l.gecos.clone(),
                home: l.home.clone(),
                shell: l.shell.clone(),
                origin,
                base: Some(l),
                recipe: false,
                make_home: false,
            },
        );
    }
    for l in GroupLine::parse_file(gfile, &gtext)? {
        let origin = format!("{gfile} entry");
        if db.groups.contains_key(&l.name) {
            return Err(listed_twice("group", l.name, origin));
        }
        db.group_order.push(l.name.clone());
        db.groups.insert(
            l.name.clone(),
            Group {
                gid: Some(l.gid),
                system: l.gid < NORMAL_RANGE.0,
                members: l.members.iter().cloned().collect(),
                origin,
                base: Some(l),
            },
        );
    }
    Ok(db)
}

/// The text of `path` and its name, or of `master` when `path` is missing (empty when both are:
/// a tree without base-passwd starts with no accounts).
fn file_or_master(
    tree: &Tree,
    path: &'static str,
    master: &'static str,
) -> Result<(&'static str, String), UsersError> {
    Ok(match read_text(tree, path)? {
        Some(t) => (path, t),
        None => (master, read_text(tree, master)?.unwrap_or_default()),
    })
}

fn listed_twice(what: &'static str, name: String, origin: String) -> UsersError {
    UsersError::Invalid {
        what,
        name,
        origin,
        reason: "listed twice".into(),
    }
}
