//! The databases written into the Tree as /etc/passwd, /etc/group, /etc/shadow and
//! /etc/gshadow: base lines first and in place, new accounts after them by id, and the shadow
//! files as `shadowconfig on` (pwconv, grpconv) and systemd-sysusers would leave them.

use super::super::accounts::{GroupLine, GshadowLine, ParseError, PasswdLine, ShadowLine};
use super::super::{read_text, write_file};
use super::db::Db;
use super::{UsersError, GROUP, GSHADOW, PASSWD, SHADOW};
use eflow_tree::Tree;
use std::collections::BTreeMap;

/// Writes the four files (the shadow ones readable by group `shadow`), keeping the lines an
/// existing shadow or gshadow file has for an account. `mtime` is also the last-change day.
pub(super) fn write(tree: &mut Tree, db: &Db, mtime: i64) -> Result<(), UsersError> {
    let days = mtime.div_euclid(86_400).to_string();
    let shadow = parse_existing(tree, SHADOW, ShadowLine::parse_file, |l: &ShadowLine| {
        l.name.clone()
    })?;
    let gshadow = parse_existing(tree, GSHADOW, GshadowLine::parse_file, |l: &GshadowLine| {
        l.name.clone()
    })?;
    let (passwd, shadow) = users(db, &shadow, &days);
    let (group, gshadow) = groups(db, &gshadow);
    let shadow_gid = db.gid_of("shadow");
    write_file(tree, PASSWD, passwd, 0o644, (0, 0), mtime)?;
    write_file(tree, GROUP, group, 0o644, (0, 0), mtime)?;
    write_file(tree, SHADOW, shadow, 0o640, (0, shadow_gid), mtime)?;
    write_file(tree, GSHADOW, gshadow, 0o640, (0, shadow_gid), mtime)?;
    Ok(())
}

/// The text of /etc/passwd and /etc/shadow.
fn users(db: &Db, shadow: &BTreeMap<String, ShadowLine>, days: &str) -> (String, String) {
    let (mut passwd, mut shadow_out) = (String::new(), String::new());
    for name in file_order(&db.user_order, &db.users, |u| u.base.is_none(), |u| u.uid) {
        let u = &db.users[name];
        let line = PasswdLine {
            name: name.clone(),
            password: "x".into(),
            uid: u.uid.unwrap_or_default(),
            gid: db.primary_gid(name, u),
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
                lastchg: days.to_string(),
                rest: ["0", "99999", "7", "", "", ""].map(String::from),
            },
            // systemd-sysusers' and our new accounts: locked, no ageing.
            (None, None) => ShadowLine {
                name: name.clone(),
                password: "!*".into(),
                lastchg: days.to_string(),
                rest: Default::default(),
            },
        };
        shadow_out.push_str(&s.format());
        shadow_out.push('\n');
    }
    (passwd, shadow_out)
}

/// The text of /etc/group and /etc/gshadow; an existing gshadow line keeps its password and
/// administrators, and takes the group's members.
fn groups(db: &Db, gshadow: &BTreeMap<String, GshadowLine>) -> (String, String) {
    let (mut group, mut gshadow_out) = (String::new(), String::new());
    for name in file_order(&db.group_order, &db.groups, |g| g.base.is_none(), |g| g.gid) {
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
    (group, gshadow_out)
}

/// Names in file order: the base lines first as they were, then the new accounts by (id, name).
fn file_order<'a, T>(
    base_order: &'a [String],
    accounts: &'a BTreeMap<String, T>,
    is_new: impl Fn(&T) -> bool,
    id: impl Fn(&T) -> Option<u32>,
) -> Vec<&'a String> {
    let mut new: Vec<(Option<u32>, &String)> = accounts
        .iter()
        .filter(|(_, a)| is_new(a))
        .map(|(n, a)| (id(a), n))
        .collect();
    new.sort();
    base_order
        .iter()
        .chain(new.into_iter().map(|(_, n)| n))
        .collect()
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

/// The lines of an existing shadow-type file by name (the first line of a name wins); empty
/// when the file does not exist.
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
