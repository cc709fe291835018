//! Who belongs to which group. Every user's primary group is made to exist before ids are
//! allocated, so that a new private group is allocated with its user; supplementary
//! memberships are added after, when every account they may name exists.

use super::db::{group_with_gid, Db, Group, Primary};
use super::{GroupSpec, UsersError};

/// A user declared a supplementary member of a group, and by whom.
pub(super) struct Membership {
    pub(super) user: String,
    pub(super) group: String,
    pub(super) origin: String,
    /// A sysusers.d `m` line, which creates what it names (recipes must name declared accounts).
    pub(super) from_sysusers: bool,
}

/// Gives every user a primary group that exists, and names it: creates the same-name groups of
/// [`Primary::Private`] users and the `uid:gid` groups of sysusers.d (base accounts keep the gid
/// of their line, whether a group has it or not).
pub(super) fn create_primary_groups(db: &mut Db) -> Result<(), UsersError> {
    let names: Vec<String> = db.users.keys().cloned().collect();
    for name in names {
        let Some(user) = db.users.get(&name).cloned() else {
            continue;
        };
        let group = match &user.primary {
            Primary::Private => {
                db.groups
                    .entry(name.clone())
                    .or_insert_with(|| Group::new(None, user.system, user.origin.clone()));
                name.clone()
            }
            // A base account's gid stays as its line gives it, group or not.
            Primary::Gid(gid) if user.base.is_none() => match group_with_gid(&db.groups, *gid) {
                Some(group) => group,
                None => {
                    match db.groups.get_mut(&name) {
                        Some(g) if g.gid.is_none() => g.gid = Some(*gid),
                        Some(g) => {
                            return Err(UsersError::conflict(
                                "group",
                                &name,
                                "gid",
                                (format!("{:?}", g.gid), &g.origin),
                                (gid, &user.origin),
                            ))
                        }
                        None => {
                            db.groups.insert(
                                name.clone(),
                                Group::new(Some(*gid), user.system, user.origin.clone()),
                            );
                        }
                    }
                    name.clone()
                }
            },
            Primary::Name(g) if !db.groups.contains_key(g) => {
                return Err(UsersError::UnknownGroup {
                    user: name.clone(),
                    group: g.clone(),
                    origin: user.origin.clone(),
                });
            }
            _ => continue,
        };
        if let Some(u) = db.users.get_mut(&name) {
            u.primary = Primary::Name(group);
        }
    }
    Ok(())
}

/// Adds the supplementary members, in declaration order so that the first unknown name is the
/// one reported.
pub(super) fn add(db: &mut Db, memberships: &[Membership]) -> Result<(), UsersError> {
    for m in memberships {
        if !db.users.contains_key(&m.user) {
            return Err(UsersError::UnknownUser {
                group: m.group.clone(),
                user: m.user.clone(),
                origin: m.origin.clone(),
            });
        }
        let Some(g) = db.groups.get_mut(&m.group) else {
            return Err(UsersError::UnknownGroup {
                user: m.user.clone(),
                group: m.group.clone(),
                origin: m.origin.clone(),
            });
        };
        g.members.insert(m.user.clone());
    }
    Ok(())
}

/// Adds, to each group with `members_from`, the supplementary members of the groups it names,
/// repeated until nothing changes (so that chains of such groups settle in any order). Only
/// supplementary members count, as in `getent group`'s member list.
pub(super) fn add_members_from(db: &mut Db, groups: &[GroupSpec]) {
    loop {
        let mut changed = false;
        for spec in groups.iter().filter(|g| !g.members_from.is_empty()) {
            let joining: Vec<String> = spec
                .members_from
                .iter()
                .filter_map(|from| db.groups.get(from))
                .flat_map(|g| g.members.iter().cloned())
                .collect();
            if let Some(g) = db.groups.get_mut(&spec.name) {
                for user in joining {
                    changed |= g.members.insert(user);
                }
            }
        }
        if !changed {
            break;
        }
    }
}
