//! Ids for every account declared without one, by the rule of the `users` module documentation:
//! explicit ids are checked for clashes first, then the rest are given out in byte order of
//! names, so that the result depends on the set of accounts and never on the order recipes or
//! packages list them.

use super::db::Db;
use super::UsersError;
use std::collections::{BTreeMap, BTreeSet};

/// Where system accounts get their ids, from the top down like systemd-sysusers, unless
/// sysusers.d `r` lines say otherwise.
pub(super) const SYSTEM_RANGE: (u32, u32) = (100, 999);
/// Where normal users get their ids, from the bottom up like adduser; below it is system.
pub(super) const NORMAL_RANGE: (u32, u32) = (1000, 59999);

/// Two accounts of one kind may not share an id they were given explicitly.
pub(super) fn check_explicit_ids(db: &Db) -> Result<(), UsersError> {
    unique(
        "uid",
        db.users
            .iter()
            .filter_map(|(name, u)| Some((u.uid?, format!("user {name} ({})", u.origin)))),
    )?;
    unique(
        "gid",
        db.groups
            .iter()
            .filter_map(|(name, g)| Some((g.gid?, format!("group {name} ({})", g.origin)))),
    )
}

/// The first clash among `claims` (id, who claims it), naming both claimants.
fn unique(
    kind: &'static str,
    claims: impl Iterator<Item = (u32, String)>,
) -> Result<(), UsersError> {
    let mut seen: BTreeMap<u32, String> = BTreeMap::new();
    for (id, who) in claims {
        if let Some(first) = seen.insert(id, who.clone()) {
            return Err(UsersError::IdClash {
                kind,
                id,
                first,
                second: who,
            });
        }
    }
    Ok(())
}

/// Allocates ids in byte order of names. A name that is both a user and a group without ids
/// gets one number free on both sides; a user or group alone takes the number of its
/// same-name partner when that is free and in its range.
pub(super) fn allocate(db: &mut Db, ranges: &[(u32, u32)]) -> Result<(), UsersError> {
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
        let (uid, gid) = match (user, group) {
            (Some((None, system)), Some((None, _))) => {
                let free = |i| !used_uids.contains(&i) && !used_gids.contains(&i);
                let id = pick(&name, "uid and gid", system, ranges, None, free)?;
                (Some(id), Some(id))
            }
            (Some((None, system)), group) => {
                let partner = group.and_then(|(gid, _)| gid);
                let free = |i| !used_uids.contains(&i);
                (
                    Some(pick(&name, "uid", system, ranges, partner, free)?),
                    None,
                )
            }
            (user, Some((None, system))) => {
                let partner = user.and_then(|(uid, _)| uid);
                let free = |i| !used_gids.contains(&i);
                (
                    None,
                    Some(pick(&name, "gid", system, ranges, partner, free)?),
                )
            }
            _ => (None, None),
        };
        if let (Some(id), Some(u)) = (uid, db.users.get_mut(&name)) {
            used_uids.insert(id);
            u.uid = Some(id);
        }
        if let (Some(id), Some(g)) = (gid, db.groups.get_mut(&name)) {
            used_gids.insert(id);
            g.gid = Some(id);
        }
    }
    Ok(())
}

/// The id `name` gets: `partner` (the id of the same-name account of the other kind) when it
/// is a candidate and `free`, else the first free candidate.
fn pick(
    name: &str,
    kind: &'static str,
    system: bool,
    ranges: &[(u32, u32)],
    partner: Option<u32>,
    free: impl Fn(u32) -> bool,
) -> Result<u32, UsersError> {
    let cands = candidates(system, ranges);
    partner
        .filter(|p| cands.contains(p) && free(*p))
        .or_else(|| cands.iter().copied().find(|i| free(*i)))
        .ok_or_else(|| UsersError::Exhausted {
            kind,
            name: name.to_string(),
            range: range_text(system, ranges),
        })
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
