//! Users and groups: what base-passwd's postinst, `shadowconfig on`, systemd-sysusers and
//! adduser would leave in /etc/passwd, /etc/group, /etc/shadow and /etc/gshadow.
//!
//! Sources, in order of precedence for a name that appears more than once:
//! 1. the Tree's /etc/passwd and /etc/group; when missing, base-passwd's
//!    /usr/share/base-passwd/{passwd,group}.master, copied as its postinst does;
//! 2. the recipes' [`UserSpec`]s and [`GroupSpec`]s (they may add memberships to, and change the
//!    home, shell and comment of, an existing account, never its ids);
//! 3. the packages' sysusers.d files (the first line for a name wins, as in systemd-sysusers).
//!
//! Id allocation rule (stable across builds, independent of the order recipes or packages are
//! listed in):
//! - explicit ids (recipes, sysusers.d, the existing files) are taken first; two names on one
//!   id is an error naming both;
//! - then every account still without an id, in byte order of its name: system accounts get
//!   the highest free id in 100..=999 (or in the sysusers.d `r` ranges when any is declared),
//!   going down like systemd-sysusers; normal users the lowest free id in 1000..=59999 like
//!   adduser; a user and the group of the same name get the same number when it is free for
//!   both (or the user's uid follows an existing same-name group's gid, and vice versa).
//!
//! Adding an account can still move the ids of accounts whose names sort after it; ids that
//! must never change between image versions (files on the persistent /var) belong in the
//! recipes or the lockfile: [`Outcome`] lists what was allocated so the plan can pin it.
//!
//! Passwords: every account is locked. Accounts copied from base-passwd keep its `*` (as
//! `shadowconfig on` leaves them, root included: debootstrap's `root:*:`), accounts created
//! here get `!*` like systemd-sysusers (locked, and no password to unlock); SSH key logins
//! still work with Debian's `UsePAM yes`. /etc/subuid and /etc/subgid are not written: the
//! image declares no interactive users that run rootless containers.
//!
//! Home directories are created only for recipe users (0700 for normal users, 0755 for system
//! users, adduser's DIR_MODE and SYS_DIR_MODE, normal users get a copy of /etc/skel), and only
//! when the home is not `/nonexistent` and does not exist yet; package accounts get theirs from
//! their packages or from tmpfiles.d at boot.

use super::accounts::{GroupLine, GshadowLine, ParseError, PasswdLine, ShadowLine};
use super::sysusers::{self, GroupRef, IdSpec, Item, SysusersError};
use super::{mkdir_p, read_text, write_file, ReadError};
use eflow_tree::{Entry, Kind, Tree, TreeError};
use std::collections::{BTreeMap, BTreeSet};

/// A user account a recipe declares.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserSpec {
    pub name: String,
    /// Fixed uid; allocated when `None` (see the module documentation).
    pub uid: Option<u32>,
    /// A system account (uid below 1000, no login shell, home /nonexistent by default).
    pub system: bool,
    /// Default: /nonexistent for system users, /home/NAME for normal users.
    pub home: Option<String>,
    /// Default: /usr/sbin/nologin for system users, /bin/bash for normal users.
    pub shell: Option<String>,
    /// The GECOS field.
    pub comment: Option<String>,
    /// Supplementary groups; each must exist or be declared.
    pub groups: Vec<String>,
    /// Default: a group named after the user, created if missing.
    pub primary_group: Option<String>,
}

/// A group a recipe declares.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupSpec {
    pub name: String,
    /// Fixed gid; allocated when `None`.
    pub gid: Option<u32>,
    /// A system group (gid below 1000).
    pub system: bool,
    /// Users added as supplementary members; each must exist or be declared.
    pub members: Vec<String>,
}

/// What the stage decided, for the build log and for pinning ids in the lockfile.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Every user that was not in the base files, with its uid.
    pub new_users: BTreeMap<String, u32>,
    /// Every group that was not in the base files, with its gid.
    pub new_groups: BTreeMap<String, u32>,
}

/// Why the account databases could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    /// An existing or master account file is malformed.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A sysusers.d file is malformed.
    #[error(transparent)]
    Sysusers(#[from] SysusersError),
    /// A file could not be read from the Tree.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// Writing into the Tree failed.
    #[error("writing the account files into the image tree: {0}")]
    Tree(#[from] TreeError),
    /// A name or field breaks the rules of useradd/adduser.
    #[error("{what} {name:?} ({origin}): {reason}")]
    Invalid {
        what: &'static str,
        name: String,
        origin: String,
        reason: String,
    },
    /// Two accounts want the same number.
    #[error(
        "{kind} {id} is claimed by both {first} and {second}; give one of them another {kind}"
    )]
    IdClash {
        kind: &'static str,
        id: u32,
        first: String,
        second: String,
    },
    /// Two declarations of one account disagree.
    #[error("{what} {name:?}: {field} is {first} but {second}; make them agree")]
    Conflict {
        what: &'static str,
        name: String,
        field: &'static str,
        /// The first value and where it comes from.
        first: String,
        /// The second value and where it comes from.
        second: String,
    },
    /// A user refers to a group that nobody declares.
    #[error("user {user:?} ({origin}) refers to group {group:?}, which does not exist; declare the group in a recipe")]
    UnknownGroup {
        user: String,
        group: String,
        origin: String,
    },
    /// A group lists a user that nobody declares.
    #[error("group {group:?} ({origin}) lists member {user:?}, which does not exist; declare the user in a recipe")]
    UnknownUser {
        group: String,
        user: String,
        origin: String,
    },
    /// No free id is left in the range.
    #[error("no free {kind} left in {range} for {name:?}; pin an id in the recipe")]
    Exhausted {
        kind: &'static str,
        name: String,
        range: String,
    },
}

const PASSWD: &str = "/etc/passwd";
const GROUP: &str = "/etc/group";
const SHADOW: &str = "/etc/shadow";
const GSHADOW: &str = "/etc/gshadow";
const PASSWD_MASTER: &str = "/usr/share/base-passwd/passwd.master";
const GROUP_MASTER: &str = "/usr/share/base-passwd/group.master";
const NOLOGIN: &str = "/usr/sbin/nologin";
const SYSTEM_RANGE: (u32, u32) = (100, 999);
const NORMAL_RANGE: (u32, u32) = (1000, 59999);

/// How a user's primary group is given.
#[derive(Clone, Debug)]
enum Primary {
    /// The group of the same name, created if missing.
    Private,
    /// A named group.
    Name(String),
    /// The group with this gid, or a group of the user's name created with it (sysusers `u:gid`).
    Gid(u32),
}

#[derive(Clone, Debug)]
struct User {
    uid: Option<u32>,
    primary: Primary,
    system: bool,
    gecos: String,
    home: String,
    shell: String,
    origin: String,
    /// From the base files: kept in place, with its shadow defaults from pwconv.
    base: Option<PasswdLine>,
    /// Declared by a recipe: gets a home directory.
    recipe: bool,
}

#[derive(Clone, Debug)]
struct Group {
    gid: Option<u32>,
    system: bool,
    members: BTreeSet<String>,
    origin: String,
    base: Option<GroupLine>,
}

struct Db {
    users: BTreeMap<String, User>,
    groups: BTreeMap<String, Group>,
    /// Base lines in file order (names).
    user_order: Vec<String>,
    group_order: Vec<String>,
}

/// Builds /etc/passwd, /etc/group, /etc/shadow and /etc/gshadow in the Tree, creating recipe
/// users' home directories. `mtime` is SOURCE_DATE_EPOCH: file times and the shadow
/// last-change day.
pub fn configure(
    tree: &mut Tree,
    users: &[UserSpec],
    groups: &[GroupSpec],
    mtime: i64,
) -> Result<Outcome, UsersError> {
    let mut db = load_base(tree)?;
    let lines = sysusers::load(tree)?;
    let mut ranges = Vec::new();
    let mut memberships: Vec<(String, String, String, bool)> = Vec::new();

    // Recipes first so that they take precedence over sysusers.d for the same name.
    for g in groups {
        add_recipe_group(&mut db, g)?;
        for m in &g.members {
            memberships.push((
                m.clone(),
                g.name.clone(),
                format!("recipe group {}", g.name),
                false,
            ));
        }
    }
    for u in users {
        add_recipe_user(&mut db, u)?;
        for g in &u.groups {
            memberships.push((
                u.name.clone(),
                g.clone(),
                format!("recipe user {}", u.name),
                false,
            ));
        }
    }
    for line in &lines {
        let origin = format!("{} line {}", line.file, line.line);
        match &line.item {
            Item::Range { lo, hi } => ranges.push((*lo, *hi)),
            Item::Group { name, gid } => {
                if db.groups.contains_key(name) {
                    continue;
                }
                check_name("group", name, true, &origin)?;
                let gid = id_from_spec(tree, gid, false);
                db.groups.insert(name.clone(), new_group(gid, true, origin));
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
                    check_name("user", name, true, &origin)?;
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
                        system: true,
                        gecos: gecos.clone().unwrap_or_default(),
                        home: home.clone().unwrap_or_else(|| "/".into()),
                        shell: shell.clone().unwrap_or_else(|| default_shell.into()),
                        origin,
                        base: None,
                        recipe: false,
                    };
                    check_fields(name, &user)?;
                    db.users.insert(name.clone(), user);
                    continue;
                };
                // A recipe user that a package also declares: the recipe's fields stay, a
                // fixed uid of the package is taken when the recipe left it open, and two
                // different fixed uids are an error.
                if existing.recipe {
                    match (existing.uid, uid) {
                        (Some(a), IdSpec::Fixed(b)) if a != *b => {
                            return Err(conflict("user", name, "uid", existing, a, &origin, b));
                        }
                        (None, IdSpec::Fixed(b)) => existing.uid = Some(*b),
                        _ => {}
                    }
                }
            }
            Item::Member { user, group } => {
                memberships.push((user.clone(), group.clone(), origin, true));
            }
        }
    }

    // sysusers.d `m` lines create what they name (as systemd-sysusers does).
    for (user, group, origin, implicit) in &memberships {
        if !implicit {
            continue;
        }
        if !db.users.contains_key(user) {
            check_name("user", user, true, origin)?;
            db.users.insert(
                user.clone(),
                User {
                    uid: None,
                    primary: Primary::Private,
                    system: true,
                    gecos: String::new(),
                    home: "/".into(),
                    shell: NOLOGIN.into(),
                    origin: origin.clone(),
                    base: None,
                    recipe: false,
                },
            );
        }
        if !db.groups.contains_key(group) {
            check_name("group", group, true, origin)?;
            db.groups
                .insert(group.clone(), new_group(None, true, origin.clone()));
        }
    }

    create_primary_groups(&mut db)?;
    check_explicit_ids(&db)?;
    allocate(&mut db, &ranges)?;

    // Memberships, now that every account exists.
    for (user, group, origin, _) in &memberships {
        if !db.users.contains_key(user) {
            return Err(UsersError::UnknownUser {
                group: group.clone(),
                user: user.clone(),
                origin: origin.clone(),
            });
        }
        let Some(g) = db.groups.get_mut(group) else {
            return Err(UsersError::UnknownGroup {
                user: user.clone(),
                group: group.clone(),
                origin: origin.clone(),
            });
        };
        g.members.insert(user.clone());
    }

    write(tree, &db, mtime)?;
    make_homes(tree, &db, mtime)?;

    let mut outcome = Outcome::default();
    for (name, u) in &db.users {
        if u.base.is_none() {
            outcome
                .new_users
                .insert(name.clone(), u.uid.unwrap_or_default());
        }
    }
    for (name, g) in &db.groups {
        if g.base.is_none() {
            outcome
                .new_groups
                .insert(name.clone(), g.gid.unwrap_or_default());
        }
    }
    Ok(outcome)
}

fn new_group(gid: Option<u32>, system: bool, origin: String) -> Group {
    Group {
        gid,
        system,
        members: BTreeSet::new(),
        origin,
        base: None,
    }
}

fn conflict(
    what: &'static str,
    name: &str,
    field: &'static str,
    first: &User,
    a: impl ToString,
    second: &str,
    b: impl ToString,
) -> UsersError {
    UsersError::Conflict {
        what,
        name: name.to_string(),
        field,
        first: format!("{} ({})", a.to_string(), first.origin),
        second: format!("{} ({second})", b.to_string()),
    }
}

/// The existing databases, or base-passwd's masters when they are missing.
fn load_base(tree: &Tree) -> Result<Db, UsersError> {
    let (pfile, ptext) = match read_text(tree, PASSWD)? {
        Some(t) => (PASSWD, t),
        None => (
            PASSWD_MASTER,
            read_text(tree, PASSWD_MASTER)?.unwrap_or_default(),
        ),
    };
    let (gfile, gtext) = match read_text(tree, GROUP)? {
        Some(t) => (GROUP, t),
        None => (
            GROUP_MASTER,
            read_text(tree, GROUP_MASTER)?.unwrap_or_default(),
        ),
    };
    let mut db = Db {
        users: BTreeMap::new(),
        groups: BTreeMap::new(),
        user_order: Vec::new(),
        group_order: Vec::new(),
    };
    for l in PasswdLine::parse_file(pfile, &ptext)? {
        let origin = format!("{pfile} entry");
        if db.users.contains_key(&l.name) {
            return Err(UsersError::Invalid {
                what: "user",
                name: l.name,
                origin,
                reason: "listed twice".into(),
            });
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
            },
        );
    }
    for l in GroupLine::parse_file(gfile, &gtext)? {
        let origin = format!("{gfile} entry");
        if db.groups.contains_key(&l.name) {
            return Err(UsersError::Invalid {
                what: "group",
                name: l.name,
                origin,
                reason: "listed twice".into(),
            });
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

fn add_recipe_group(db: &mut Db, spec: &GroupSpec) -> Result<(), UsersError> {
    let origin = format!("recipe group {}", spec.name);
    match db.groups.get_mut(&spec.name) {
        Some(g) => {
            if let (Some(a), Some(b)) = (g.gid, spec.gid) {
                if a != b {
                    return Err(UsersError::Conflict {
                        what: "group",
                        name: spec.name.clone(),
                        field: "gid",
                        first: format!("{a} ({})", g.origin),
                        second: format!("{b} ({origin})"),
                    });
                }
            }
            if g.gid.is_none() {
                g.gid = spec.gid;
            }
        }
        None => {
            check_name("group", &spec.name, spec.system, &origin)?;
            db.groups
                .insert(spec.name.clone(), new_group(spec.gid, spec.system, origin));
        }
    }
    Ok(())
}

fn add_recipe_user(db: &mut Db, spec: &UserSpec) -> Result<(), UsersError> {
    let origin = format!("recipe user {}", spec.name);
    if let Some(u) = db.users.get_mut(&spec.name) {
        // An account of the base files: a recipe may change its descriptive fields and add
        // memberships, never its ids.
        if let (Some(a), Some(b)) = (u.uid, spec.uid) {
            if a != b {
                return Err(conflict("user", &spec.name, "uid", u, a, &origin, b));
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
                Primary::Gid(g) => db
                    .groups
                    .iter()
                    .find(|(_, x)| x.gid == Some(*g))
                    .map(|(n, _)| n.clone()),
                Primary::Private => None,
            };
            if current.as_deref() != Some(p.as_str()) {
                let shown = current.unwrap_or_else(|| format!("{:?}", u.primary));
                return Err(conflict(
                    "user",
                    &spec.name,
                    "primary group",
                    u,
                    shown,
                    &origin,
                    p,
                ));
            }
        }
        let name = spec.name.clone();
        let u = db.users.get(&name).cloned();
        if let Some(u) = u {
            check_fields(&name, &u)?;
        }
        return Ok(());
    }
    check_name("user", &spec.name, spec.system, &origin)?;
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
    };
    check_fields(&spec.name, &user)?;
    db.users.insert(spec.name.clone(), user);
    Ok(())
}

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

/// Gives every user a primary group that exists: creating the same-name groups of
/// [`Primary::Private`] users and the `uid:gid` groups of sysusers.d.
fn create_primary_groups(db: &mut Db) -> Result<(), UsersError> {
    let names: Vec<String> = db.users.keys().cloned().collect();
    for name in names {
        let Some(user) = db.users.get(&name).cloned() else {
            continue;
        };
        match &user.primary {
            Primary::Private => {
                db.groups
                    .entry(name.clone())
                    .or_insert_with(|| new_group(None, user.system, user.origin.clone()));
                if let Some(u) = db.users.get_mut(&name) {
                    u.primary = Primary::Name(name.clone());
                }
            }
            Primary::Gid(gid) if user.base.is_none() => {
                let by_gid = db
                    .groups
                    .iter()
                    .find(|(_, g)| g.gid == Some(*gid))
                    .map(|(n, _)| n.clone());
                let group = match by_gid {
                    Some(n) => n,
                    None => {
                        match db.groups.get_mut(&name) {
                            Some(g) if g.gid.is_none() => g.gid = Some(*gid),
                            Some(g) => {
                                return Err(UsersError::Conflict {
                                    what: "group",
                                    name: name.clone(),
                                    field: "gid",
                                    first: format!("{:?} ({})", g.gid, g.origin),
                                    second: format!("{gid} ({})", user.origin),
                                })
                            }
                            None => {
                                db.groups.insert(
                                    name.clone(),
                                    new_group(Some(*gid), user.system, user.origin.clone()),
                                );
                            }
                        }
                        name.clone()
                    }
                };
                if let Some(u) = db.users.get_mut(&name) {
                    u.primary = Primary::Name(group);
                }
            }
            Primary::Name(g) if !db.groups.contains_key(g) => {
                return Err(UsersError::UnknownGroup {
                    user: name.clone(),
                    group: g.clone(),
                    origin: user.origin.clone(),
                });
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_explicit_ids(db: &Db) -> Result<(), UsersError> {
    let mut uids: BTreeMap<u32, String> = BTreeMap::new();
    for (name, u) in &db.users {
        if let Some(uid) = u.uid {
            let who = format!("user {name} ({})", u.origin);
            if let Some(first) = uids.insert(uid, who.clone()) {
                return Err(UsersError::IdClash {
                    kind: "uid",
                    id: uid,
                    first,
                    second: who,
                });
            }
        }
    }
    let mut gids: BTreeMap<u32, String> = BTreeMap::new();
    for (name, g) in &db.groups {
        if let Some(gid) = g.gid {
            let who = format!("group {name} ({})", g.origin);
            if let Some(first) = gids.insert(gid, who.clone()) {
                return Err(UsersError::IdClash {
                    kind: "gid",
                    id: gid,
                    first,
                    second: who,
                });
            }
        }
    }
    Ok(())
}

/// Candidate ids for an account, in the order they are tried.
fn candidates(system: bool, ranges: &[(u32, u32)]) -> Vec<u32> {
    if !system {
        return (NORMAL_RANGE.0..=NORMAL_RANGE.1).collect();
    }
    let mut ids: BTreeSet<u32> = BTreeSet::new();
    if ranges.is_empty() {
        ids.extend(SYSTEM_RANGE.0..=SYSTEM_RANGE.1);
    } else {
        for (lo, hi) in ranges {
            // Ranges are clamped to the system range so a typo cannot make millions of ids.
            ids.extend((*lo).max(1)..=(*hi).min(SYSTEM_RANGE.1));
        }
    }
    ids.into_iter().rev().collect()
}

fn range_text(system: bool, ranges: &[(u32, u32)]) -> String {
    match (system, ranges.is_empty()) {
        (false, _) => format!("{}..={}", NORMAL_RANGE.0, NORMAL_RANGE.1),
        (true, true) => format!("{}..={}", SYSTEM_RANGE.0, SYSTEM_RANGE.1),
        (true, false) => format!("the sysusers.d ranges {ranges:?}"),
    }
}

/// Allocates ids in byte order of names (see the module documentation).
fn allocate(db: &mut Db, ranges: &[(u32, u32)]) -> Result<(), UsersError> {
    let mut used_uids: BTreeSet<u32> = db.users.values().filter_map(|u| u.uid).collect();
    let mut used_gids: BTreeSet<u32> = db.groups.values().filter_map(|g| g.gid).collect();
    let names: BTreeSet<String> = db
        .users
        .iter()
        .filter(|(_, u)| u.uid.is_none())
        .map(|(n, _)| n.clone())
        .chain(
            db.groups
                .iter()
                .filter(|(_, g)| g.gid.is_none())
                .map(|(n, _)| n.clone()),
        )
        .collect();
    for name in names {
        let user = db.users.get(&name).map(|u| (u.uid, u.system));
        let group = db.groups.get(&name).map(|g| (g.gid, g.system));
        match (user, group) {
            (Some((None, system)), Some((None, _))) => {
                let cands = candidates(system, ranges);
                let id = cands
                    .iter()
                    .copied()
                    .find(|i| !used_uids.contains(i) && !used_gids.contains(i))
                    .ok_or_else(|| UsersError::Exhausted {
                        kind: "uid and gid",
                        name: name.clone(),
                        range: range_text(system, ranges),
                    })?;
                used_uids.insert(id);
                used_gids.insert(id);
                set_uid(db, &name, id);
                set_gid(db, &name, id);
            }
            (Some((None, system)), other) => {
                let cands = candidates(system, ranges);
                let same = other.and_then(|(gid, _)| gid).filter(|g| cands.contains(g));
                let id = same
                    .filter(|g| !used_uids.contains(g))
                    .or_else(|| cands.iter().copied().find(|i| !used_uids.contains(i)))
                    .ok_or_else(|| UsersError::Exhausted {
                        kind: "uid",
                        name: name.clone(),
                        range: range_text(system, ranges),
                    })?;
                used_uids.insert(id);
                set_uid(db, &name, id);
            }
            (other, Some((None, system))) => {
                let cands = candidates(system, ranges);
                let same = other.and_then(|(uid, _)| uid).filter(|u| cands.contains(u));
                let id = same
                    .filter(|u| !used_gids.contains(u))
                    .or_else(|| cands.iter().copied().find(|i| !used_gids.contains(i)))
                    .ok_or_else(|| UsersError::Exhausted {
                        kind: "gid",
                        name: name.clone(),
                        range: range_text(system, ranges),
                    })?;
                used_gids.insert(id);
                set_gid(db, &name, id);
            }
            _ => {}
        }
    }
    Ok(())
}

fn set_uid(db: &mut Db, name: &str, id: u32) {
    if let Some(u) = db.users.get_mut(name) {
        u.uid = Some(id);
    }
}

fn set_gid(db: &mut Db, name: &str, id: u32) {
    if let Some(g) = db.groups.get_mut(name) {
        g.gid = Some(id);
    }
}

/// adduser's rules (NAME_REGEX `^[a-z][-a-z0-9_]*\$?$` for normal users, SYS_NAME_REGEX
/// `^[a-z_][-a-z0-9_]*\$?$` for system accounts), and at most 32 bytes (utmp's limit).
fn check_name(
    what: &'static str,
    name: &str,
    system: bool,
    origin: &str,
) -> Result<(), UsersError> {
    let bad = |reason: &str| UsersError::Invalid {
        what,
        name: name.to_string(),
        origin: origin.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() || name.len() > 32 {
        return Err(bad("a name must be 1 to 32 bytes long"));
    }
    let body = name.strip_suffix('$').unwrap_or(name);
    let mut chars = body.chars();
    let first_ok = match chars.next() {
        Some(c) => c.is_ascii_lowercase() || (system && c == '_'),
        None => false,
    };
    if !first_ok {
        return Err(bad(if system {
            "a name must start with a lowercase letter or _"
        } else {
            "a name must start with a lowercase letter"
        }));
    }
    if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_') {
        return Err(bad(
            "a name may only hold lowercase letters, digits, - and _ (and a final $)",
        ));
    }
    Ok(())
}

fn check_fields(name: &str, u: &User) -> Result<(), UsersError> {
    let bad = |reason: String| UsersError::Invalid {
        what: "user",
        name: name.to_string(),
        origin: u.origin.clone(),
        reason,
    };
    if u.gecos.contains([':', '\n']) {
        return Err(bad(format!(
            "comment {:?} contains ':' or a newline",
            u.gecos
        )));
    }
    for (field, v) in [("home", &u.home), ("shell", &u.shell)] {
        if !v.starts_with('/') || v.contains([':', '\n', '\0']) {
            return Err(bad(format!(
                "{field} {v:?} must be an absolute path without ':' or newlines"
            )));
        }
    }
    Ok(())
}

/// Users in file order: base lines first as they were, then new ones by (uid, name).
fn user_order(db: &Db) -> Vec<&String> {
    let mut new: Vec<&String> = db
        .users
        .iter()
        .filter(|(_, u)| u.base.is_none())
        .map(|(n, _)| n)
        .collect();
    new.sort_by_key(|n| (db.users[*n].uid, *n));
    db.user_order.iter().chain(new).collect()
}

fn group_order(db: &Db) -> Vec<&String> {
    let mut new: Vec<&String> = db
        .groups
        .iter()
        .filter(|(_, g)| g.base.is_none())
        .map(|(n, _)| n)
        .collect();
    new.sort_by_key(|n| (db.groups[*n].gid, *n));
    db.group_order.iter().chain(new).collect()
}

fn write(tree: &mut Tree, db: &Db, mtime: i64) -> Result<(), UsersError> {
    let days = mtime.div_euclid(86_400).to_string();
    let shadow = parse_existing(tree, SHADOW, ShadowLine::parse_file, |l: &ShadowLine| {
        l.name.clone()
    })?;
    let gshadow = parse_existing(tree, GSHADOW, GshadowLine::parse_file, |l: &GshadowLine| {
        l.name.clone()
    })?;
    let gid_of = |group: &str| db.groups.get(group).and_then(|g| g.gid).unwrap_or(0);

    let (mut passwd, mut shadow_out) = (String::new(), String::new());
    for name in user_order(db) {
        let u = &db.users[name];
        let gid = match &u.primary {
            Primary::Name(g) => gid_of(g),
            Primary::Gid(g) => *g,
            Primary::Private => gid_of(name),
        };
        let line = PasswdLine {
            name: name.clone(),
            password: "x".into(),
            uid: u.uid.unwrap_or_default(),
            gid,
            gecos: u.gecos.clone(),
            home: u.home.clone(),
            shell: u.shell.clone(),
        };
        passwd.push_str(&line.format());
        passwd.push('\n');
        let s = match (shadow.get(name), &u.base) {
            (Some(s), _) => s.clone(),
            // pwconv (run by `shadowconfig on`) moves the password over with login.defs' ages.
            (None, Some(base)) => ShadowLine {
                name: name.clone(),
                password: locked_or(&base.password),
                lastchg: days.clone(),
                rest: ["0", "99999", "7", "", "", ""].map(String::from),
            },
            // systemd-sysusers' and our new accounts: locked, no ageing.
            (None, None) => ShadowLine {
                name: name.clone(),
                password: "!*".into(),
                lastchg: days.clone(),
                rest: Default::default(),
            },
        };
        shadow_out.push_str(&s.format());
        shadow_out.push('\n');
    }

    let (mut group, mut gshadow_out) = (String::new(), String::new());
    for name in group_order(db) {
        let g = &db.groups[name];
        let members: Vec<String> = g.members.iter().cloned().collect();
        let line = GroupLine {
            name: name.clone(),
            password: "x".into(),
            gid: g.gid.unwrap_or_default(),
            members: members.clone(),
        };
        group.push_str(&line.format());
        group.push('\n');
        let gs = match (gshadow.get(name), &g.base) {
            (Some(s), _) => GshadowLine {
                members,
                ..s.clone()
            },
            (None, Some(base)) => GshadowLine {
                name: name.clone(),
                password: locked_or(&base.password),
                admins: vec![],
                members,
            },
            (None, None) => GshadowLine {
                name: name.clone(),
                password: "!*".into(),
                admins: vec![],
                members,
            },
        };
        gshadow_out.push_str(&gs.format());
        gshadow_out.push('\n');
    }

    let shadow_gid = gid_of("shadow");
    write_file(tree, PASSWD, passwd, 0o644, (0, 0), mtime)?;
    write_file(tree, GROUP, group, 0o644, (0, 0), mtime)?;
    write_file(tree, SHADOW, shadow_out, 0o640, (0, shadow_gid), mtime)?;
    write_file(tree, GSHADOW, gshadow_out, 0o640, (0, shadow_gid), mtime)?;
    Ok(())
}

/// What pwconv/grpconv put in the shadow file for a password field of passwd/group: the
/// field itself, or `*` (locked) when it was already moved out (`x`) or empty.
fn locked_or(field: &str) -> String {
    if field.is_empty() || field == "x" {
        "*".into()
    } else {
        field.into()
    }
}

fn parse_existing<T>(
    tree: &Tree,
    path: &str,
    parse: fn(&str, &str) -> Result<Vec<T>, ParseError>,
    key: impl Fn(&T) -> String,
) -> Result<BTreeMap<String, T>, UsersError> {
    let Some(text) = read_text(tree, path)? else {
        return Ok(BTreeMap::new());
    };
    let mut out = BTreeMap::new();
    for l in parse(path, &text)? {
        out.entry(key(&l)).or_insert(l);
    }
    Ok(out)
}

/// Files in /etc/skel that adduser leaves out (SKEL_IGNORE_REGEX).
fn skel_ignored(name: &str) -> bool {
    ["dpkg", "ucf"].iter().any(|tool| {
        ["old", "new", "dist", "save"]
            .iter()
            .any(|kind| name.ends_with(&format!(".{tool}-{kind}")))
    })
}

fn make_homes(tree: &mut Tree, db: &Db, mtime: i64) -> Result<(), UsersError> {
    for (name, u) in &db.users {
        if !u.recipe || u.home == "/nonexistent" || u.home == "/" {
            continue;
        }
        if tree
            .resolve(&u.home, true)
            .is_some_and(|p| tree.get(&p).is_some())
        {
            continue;
        }
        let uid = u.uid.unwrap_or_default();
        let gid = match &u.primary {
            Primary::Name(g) => db.groups.get(g).and_then(|g| g.gid).unwrap_or_default(),
            Primary::Gid(g) => *g,
            Primary::Private => db.groups.get(name).and_then(|g| g.gid).unwrap_or_default(),
        };
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
