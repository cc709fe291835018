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
//!
//! [`configure`] reads as the order of the steps, each in its own module, all working on one
//! copy of the databases (`db`): `base` loads the existing files or base-passwd's masters,
//! `declare` merges in the recipes' and sysusers.d's declarations, `memberships` gives every
//! user a primary group, `allocate` applies the id rule above, `memberships` then adds the
//! supplementary members, `render` writes the four files and `homes` the recipe users' home
//! directories; `validate` holds adduser's rules for names and fields.

mod allocate;
mod base;
mod db;
mod declare;
mod homes;
mod memberships;
mod render;
mod validate;

use super::accounts::ParseError;
use super::sysusers::{self, SysusersError};
use super::ReadError;
use eflow_tree::{Tree, TreeError};
use std::collections::BTreeMap;
use std::fmt::Display;

/// A user account a recipe declares.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserSpec {
    /// The login name (adduser's rules: lowercase, at most 32 bytes).
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
    /// `Some(false)`: the home directory is not created (`useradd -r` without `-m`); default yes.
    pub create_home: Option<bool>,
}

/// A group a recipe declares.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupSpec {
    /// The group name (adduser's rules: lowercase, at most 32 bytes).
    pub name: String,
    /// Fixed gid; allocated when `None`.
    pub gid: Option<u32>,
    /// A system group (gid below 1000).
    pub system: bool,
    /// Users added as supplementary members; each must exist or be declared.
    pub members: Vec<String>,
    /// Groups whose supplementary members also join this one, once every other membership is
    /// in place (what a preinst's `for u in $(getent group sudo ...); do usermod -aG G $u` does,
    /// applied to every account of the image, OEM recipes' users included). A group of the
    /// list that does not exist adds nobody, as `getent` finds nobody.
    pub members_from: Vec<String>,
}

/// Every account's id by name once the stage is done: what later steps look owners up in,
/// rather than parsing /etc/passwd and /etc/group back out of the Tree.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ids {
    /// User name -> uid.
    pub users: BTreeMap<String, u32>,
    /// Group name -> gid.
    pub groups: BTreeMap<String, u32>,
}

/// What the stage decided, for the build log and for pinning ids in the lockfile.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Every account of the written files, base files included.
    pub ids: Ids,
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
        /// `user` or `group`.
        what: &'static str,
        name: String,
        /// The declaration or file line it comes from.
        origin: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// Two accounts want the same number.
    #[error(
        "{kind} {id} is claimed by both {first} and {second}; give one of them another {kind}"
    )]
    IdClash {
        /// `uid` or `gid`.
        kind: &'static str,
        id: u32,
        /// The first claimant and where it is declared.
        first: String,
        /// The second claimant and where it is declared.
        second: String,
    },
    /// Two declarations of one account disagree.
    #[error("{what} {name:?}: {field} is {first} but {second}; make them agree")]
    Conflict {
        /// `user` or `group`.
        what: &'static str,
        name: String,
        /// The field the declarations disagree on.
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
        /// The declaration that names the group.
        origin: String,
    },
    /// A group lists a user that nobody declares.
    #[error("group {group:?} ({origin}) lists member {user:?}, which does not exist; declare the user in a recipe")]
    UnknownUser {
        group: String,
        user: String,
        /// The declaration that names the user.
        origin: String,
    },
    /// No free id is left in the range.
    #[error("no free {kind} left in {range} for {name:?}; pin an id in the recipe")]
    Exhausted {
        /// `uid`, `gid`, or `uid and gid`.
        kind: &'static str,
        name: String,
        /// The range that is full, as text.
        range: String,
    },
}

impl UsersError {
    /// A [`UsersError::Conflict`] between two values, each with where it comes from.
    fn conflict(
        what: &'static str,
        name: &str,
        field: &'static str,
        (first, first_origin): (impl Display, &str),
        (second, second_origin): (impl Display, &str),
    ) -> Self {
        UsersError::Conflict {
            what,
            name: name.to_string(),
            field,
            first: format!("{first} ({first_origin})"),
            second: format!("{second} ({second_origin})"),
        }
    }
}

const PASSWD: &str = "/etc/passwd";
const GROUP: &str = "/etc/group";
const SHADOW: &str = "/etc/shadow";
const GSHADOW: &str = "/etc/gshadow";
/// The shell of system accounts that nobody logs in to.
const NOLOGIN: &str = "/usr/sbin/nologin";

/// Builds /etc/passwd, /etc/group, /etc/shadow and /etc/gshadow in the Tree, creating recipe
/// users' home directories. `mtime` is SOURCE_DATE_EPOCH: file times and the shadow
/// last-change day.
pub fn configure(
    tree: &mut Tree,
    users: &[UserSpec],
    groups: &[GroupSpec],
    mtime: i64,
) -> Result<Outcome, UsersError> {
    let mut db = base::load(tree)?;
    let lines = sysusers::load(tree)?;
    // Recipes first so that they take precedence over sysusers.d for the same name.
    let mut memberships = declare::recipes(&mut db, users, groups)?;
    let ranges = declare::sysusers(&mut db, tree, &lines, &mut memberships)?;
    declare::implied_by_memberships(&mut db, &memberships)?;
    memberships::create_primary_groups(&mut db)?;
    allocate::check_explicit_ids(&db)?;
    allocate::allocate(&mut db, &ranges)?;
    memberships::add(&mut db, &memberships)?;
    memberships::add_members_from(&mut db, groups);
    render::write(tree, &db, mtime)?;
    homes::create(tree, &db, mtime)?;
    Ok(db.outcome())
}
