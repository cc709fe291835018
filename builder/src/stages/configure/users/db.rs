//! The stage's working copy of the account databases: every user and group by name, with where
//! it was declared (for error messages) and, for accounts of the base files, their original line
//! (kept in place, and the source of their shadow defaults).

use super::super::accounts::{GroupLine, PasswdLine};
use super::{Outcome, NOLOGIN};
use std::collections::{BTreeMap, BTreeSet};

/// How a user's primary group is given.
#[derive(Clone, Debug)]
pub(super) enum Primary {
    /// The group of the same name, created if missing.
    Private,
    /// A named group.
    Name(String),
    /// The group with this gid, or a group of the user's name created with it (sysusers `u:gid`).
    Gid(u32),
}

#[derive(Clone, Debug)]
pub(super) struct User {
    pub(super) uid: Option<u32>,
    pub(super) primary: Primary,
    pub(super) system: bool,
    pub(super) gecos: String,
    pub(super) home: String,
    pub(super) shell: String,
    pub(super) origin: String,
    /// From the base files: kept in place, with its shadow defaults from pwconv.
    pub(super) base: Option<PasswdLine>,
    /// Declared by a recipe.
    pub(super) recipe: bool,
    /// Its home directory is made when missing (recipe users, unless `create-home = false`).
    pub(super) make_home: bool,
}

impl User {
    /// A system user as a bare sysusers.d `u NAME -` line makes it; an `m` line that names an
    /// unknown user makes the same.
    pub(super) fn sysusers(origin: String) -> User {
        User {
            uid: None,
            primary: Primary::Private,
            system: true,
            gecos: String::new(),
            home: "/".into(),
            shell: NOLOGIN.into(),
            origin,
            base: None,
            recipe: false,
            make_home: false,
        }
    }
}

#[derive(Clone, Debug)]
pub(super) struct Group {
    pub(super) gid: Option<u32>,
    pub(super) system: bool,
    pub(super) members: BTreeSet<String>,
    pub(super) origin: String,
    pub(super) base: Option<GroupLine>,
}

impl Group {
    /// A group that is not in the base files, without members yet.
    pub(super) fn new(gid: Option<u32>, system: bool, origin: String) -> Group {
        Group {
            gid,
            system,
            members: BTreeSet::new(),
            origin,
            base: None,
        }
    }
}

#[derive(Default)]
pub(super) struct Db {
    pub(super) users: BTreeMap<String, User>,
    pub(super) groups: BTreeMap<String, Group>,
    /// Base lines in file order (names).
    pub(super) user_order: Vec<String>,
    pub(super) group_order: Vec<String>,
}

impl Db {
    /// The gid of a group; 0 when unknown, which cannot happen once ids are allocated.
    pub(super) fn gid_of(&self, group: &str) -> u32 {
        self.groups.get(group).and_then(|g| g.gid).unwrap_or(0)
    }

    /// The gid of the user `name`'s primary group.
    pub(super) fn primary_gid(&self, name: &str, user: &User) -> u32 {
        match &user.primary {
            Primary::Name(g) => self.gid_of(g),
            Primary::Gid(g) => *g,
            Primary::Private => self.gid_of(name),
        }
    }

    /// Every account's id once allocated, and which accounts are new.
    pub(super) fn outcome(&self) -> Outcome {
        let mut outcome = Outcome::default();
        for (name, u) in &self.users {
            let uid = u.uid.unwrap_or_default();
            outcome.ids.users.insert(name.clone(), uid);
            if u.base.is_none() {
                outcome.new_users.insert(name.clone(), uid);
            }
        }
        for (name, g) in &self.groups {
            let gid = g.gid.unwrap_or_default();
            outcome.ids.groups.insert(name.clone(), gid);
            if g.base.is_none() {
                outcome.new_groups.insert(name.clone(), gid);
            }
        }
        outcome
    }
}

/// The name of the group that has `gid`, if any; over the groups alone so that a user can be
/// borrowed for change meanwhile.
pub(super) fn group_with_gid(groups: &BTreeMap<String, Group>, gid: u32) -> Option<String> {
    groups
        .iter()
        .find(|(_, g)| g.gid == Some(gid))
        .map(|(n, _)| n.clone())
}
