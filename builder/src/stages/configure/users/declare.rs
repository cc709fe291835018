//! Declarations merged into the base accounts: the recipes' [`UserSpec`]s and [`GroupSpec`]s
//! first, then the packages' sysusers.d lines, so that for a name declared twice the recipe's
//! fields win and, among sysusers.d lines, the first one (as in systemd-sysusers). Ids are only
//! taken here when explicit; the memberships found on the way are returned for later, when every
//! account exists.

use super::super::sysusers::{GroupRef, IdSpec, Item, Line};
use super::db::{group_with_gid, Db, Group, Primary, User};
use super::memberships::Membership;
use super::{validate, GroupSpec, UserSpec, UsersError, NOLOGIN};
use eflow_tree::Tree;

/// Adds the recipes' groups, then their users; returns the memberships both declare.
pub(super) fn recipes(
    db: &mut Db,
    users: &[UserSpec],
    groups: &[GroupSpec],
) -> Result<Vec<Membership>, UsersError> {
    let mut memberships = Vec::new();
    for g in groups {
        recipe_group(db, g)?;
        for m in &g.members {
            memberships.push(Membership {
                user: m.clone(),
                group: g.name.clone(),
                origin: format!("recipe group {}", g.name),
                from_sysusers: false,
            });
        }
    }
    for u in users {
        recipe_user(db, u)?;
        for g in &u.groups {
            memberships.push(Membership {
                user: u.name.clone(),
                group: g.clone(),
                origin: format!("recipe user {}", u.name),
                from_sysusers: false,
            });
        }
    }
    Ok(memberships)
}

/// Adds what the sysusers.d `lines` declare and nobody declared before, appending their `m`
/// lines to `memberships`; returns the `r` lines' ranges for system ids.
pub(super) fn sysusers(
    db: &mut Db,
    tree: &Tree,
    lines: &[Line],
    memberships: &mut Vec<Membership>,
) -> Result<Vec<(u32, u32)>, UsersError> {
    let mut ranges = Vec::new();
    for line in lines {
        let origin = format!("{} line {}", line.file, line.line);
        match &line.item {
            Item::Range { lo, hi } => ranges.push((*lo, *hi)),
            Item::Group { name, gid } => {
                if db.groups.contains_key(name) {
                    continue;
                }
                validate::name("group", name, true, &origin)?;
                let gid = id_from_spec(tree, gid, false);
                db.groups
                    .insert(name.clone(), Group::new(gid, true, origin));
            }
            Item::User {
                name,
                uid,
                group,
                gecos,
                home,
                shell,
            } => {
                let Some(existing) = db.users.get_mut(name) else {
                    validate::name("user", name, true, &origin)?;
                    let uid = id_from_spec(tree, uid, true);
                    let primary = match group {
                        None => Primary::Private,
                        Some(GroupRef::Gid(g)) => Primary::Gid(*g),
                        Some(GroupRef::Name(n)) => Primary::Name(n.clone()),
                    };
                    let default_shell = if uid == Some(0) { "/bin/sh" } else { NOLOGIN };
                    let user = User {
                        uid,
                        primary,
                        gecos: gecos.clone().unwrap_or_default(),
                        home: home.clone().unwrap_or_else(|| "/".into()),
                        shell: shell.clone().unwrap_or_else(|| default_shell.into()),
                        ..User::sysusers(origin)
                    };
                    validate::fields(name, &user)?;
                    db.users.insert(name.clone(), user);
                    continue;
                };
                // A recipe user that a package also declares: the recipe's fields stay, a
                // fixed uid of the package is taken when the recipe left it open, and two
                // different fixed uids are an error.
                if existing.recipe {
                    match (existing.uid, uid) {
                        (Some(a), IdSpec::Fixed(b)) if a != *b => {
                            return Err(UsersError::conflict(
                                "user",
                                name,
                                "uid",
                                (a, &existing.origin),
                                (b, &origin),
                            ));
                        }
                        (None, IdSpec::Fixed(b)) => existing.uid = Some(*b),
                        _ => {}
                    }
                }
            }
            Item::Member { user, group } => memberships.push(Membership {
                user: user.clone(),
                group: group.clone(),
                origin,
                from_sysusers: true,
            }),
        }
    }
    Ok(ranges)
}

/// sysusers.d `m` lines create the user and the group they name when nobody declares them, as
/// systemd-sysusers does; a recipe's membership must name declared accounts.
pub(super) fn implied_by_memberships(
    db: &mut Db,
    memberships: &[Membership],
) -> Result<(), UsersError> {
    for m in memberships.iter().filter(|m| m.from_sysusers) {
        if !db.users.contains_key(&m.user) {
            validate::name("user", &m.user, true, &m.origin)?;
            db.users
                .insert(m.user.clone(), User::sysusers(m.origin.clone()));
        }
        if !db.groups.contains_key(&m.group) {
            validate::name("group", &m.group, true, &m.origin)?;
            db.groups
                .insert(m.group.clone(), Group::new(None, true, m.origin.clone()));
        }
    }
    Ok(())
}

fn recipe_group(db: &mut Db, spec: &GroupSpec) -> Result<(), UsersError> {
    let origin = format!("recipe group {}", spec.name);
    match db.groups.get_mut(&spec.name) {
        Some(g) => {
            if let (Some(a), Some(b)) = (g.gid, spec.gid) {
                if a != b {
                    return Err(UsersError::conflict(
                        "group",
                        &spec.name,
                        "gid",
                        (a, &g.origin),
                        (b, &origin),
                    ));
                }
            }
            if g.gid.is_none() {
                g.gid = spec.gid;
            }
        }
        None => {
            validate::name("group", &spec.name, spec.system, &origin)?;
            db.groups
                .insert(spec.name.clone(), Group::new(spec.gid, spec.system, origin));
        }
    }
    Ok(())
}

fn recipe_user(db: &mut Db, spec: &UserSpec) -> Result<(), UsersError> {
    let origin = format!("recipe user {}", spec.name);
    if let Some(u) = db.users.get_mut(&spec.name) {
        // An account of the base files: a recipe may change its descriptive fields and add
        // memberships, never its ids.
        if let (Some(a), Some(b)) = (u.uid, spec.uid) {
            if a != b {
                return Err(UsersError::conflict(
                    "user",
                    &spec.name,
                    "uid",
                    (a, &u.origin),
                    (b, &origin),
                ));
            }
        }
        if let Some(h) = &spec.home {
            u.home = h.clone();
        }
        if let Some(s) = &spec.shell {
            u.shell = s.clone();
        }
        if let Some(c) = &spec.comment {
            u.gecos = c.clone();
        }
        if let Some(p) = &spec.primary_group {
            let current = match &u.primary {
                Primary::Name(n) => Some(n.clone()),
                Primary::Gid(g) => group_with_gid(&db.groups, *g),
                Primary::Private => None,
            };
            if current.as_deref() != Some(p.as_str()) {
                let shown = current.unwrap_or_else(|| format!("{:?}", u.primary));
                return Err(UsersError::conflict(
                    "user",
                    &spec.name,
                    "primary group",
                    (shown, &u.origin),
                    (p, &origin),
                ));
            }
        }
        return validate::fields(&spec.name, u);
    }
    validate::name("user", &spec.name, spec.system, &origin)?;
    let (home, shell) = if spec.system {
        ("/nonexistent".to_string(), NOLOGIN)
    } else {
        (format!("/home/{}", spec.name), "/bin/bash")
    };
    let user = User {
        uid: spec.uid,
        primary: match &spec.primary_group {
            Some(g) => Primary::Name(g.clone()),
            None => Primary::Private,
        },
        system: spec.system,
        gecos: spec.comment.clone().unwrap_or_default(),
        home: spec.home.clone().unwrap_or(home),
        shell: spec.shell.clone().unwrap_or_else(|| shell.into()),
        origin,
        base: None,
        recipe: true,
        make_home: spec.create_home != Some(false),
    };
    validate::fields(&spec.name, &user)?;
    db.users.insert(spec.name.clone(), user);
    Ok(())
}

/// The id a sysusers.d id column fixes, if any: a path gives its owner in the Tree (uid for
/// users, gid for groups), and allocation when the path does not exist.
fn id_from_spec(tree: &Tree, spec: &IdSpec, user: bool) -> Option<u32> {
    match spec {
        IdSpec::Auto => None,
        IdSpec::Fixed(id) => Some(*id),
        IdSpec::Path(p) => {
            let e = tree.get(&tree.resolve(p, true)?)?;
            Some(if user { e.uid } else { e.gid })
        }
    }
}
