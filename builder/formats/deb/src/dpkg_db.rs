//! The dpkg database (`/var/lib/dpkg`) of the packages unpacked into the Tree, as dpkg would
//! leave it after installing them, so `dpkg -l`, `dpkg -L`, `dpkg -S`, `dpkg --verify` and
//! later `apt`/`dpkg` runs in the guest see them as installed.
//!
//! Written: `status` (one stanza per package, sorted by name then architecture,
//! `Status: install ok installed`, fields in dpkg's order), `available` (empty),
//! `info/<pkg>.list` (the paths in data.tar order, symlinks last, minus the files another
//! package took over), `info/<pkg>.<member>` for every control.tar member but `control`
//! (md5sums, conffiles, scripts, triggers, shlibs, ...), the trigger interest files
//! `triggers/File` and `triggers/<name>`, an empty `triggers/Unincorp`, and the `updates`,
//! `alternatives` and `parts` directories, and `info/format` (`1`: multiarch file names). `<pkg>` is `name:arch` for `Multi-Arch: same`
//! packages, as dpkg names them.

use std::collections::BTreeMap;

use eflow_tree::{Entry, Tree};

use crate::package::{DebPackage, MAINTAINER_SCRIPTS};
use crate::unpack::{Installed, Owners};
use crate::Error;

/// The admin directory.
pub const ADMINDIR: &str = "/var/lib/dpkg";

/// The fields dpkg writes in its status file, in its order; other fields follow in the order
/// of the package's control file.
const FIELD_ORDER: [&str; 28] = [
    "Package",
    "Essential",
    "Protected",
    "Status",
    "Priority",
    "Section",
    "Installed-Size",
    "Origin",
    "Maintainer",
    "Bugs",
    "Architecture",
    "Multi-Arch",
    "Source",
    "Version",
    "Config-Version",
    "Replaces",
    "Provides",
    "Depends",
    "Pre-Depends",
    "Recommends",
    "Suggests",
    "Breaks",
    "Conflicts",
    "Enhances",
    "Conffiles",
    "Description",
    "Triggers-Pending",
    "Triggers-Awaited",
];

/// Fields dpkg only writes in the `available` file, never in `status`.
const AVAILABLE_ONLY: [&str; 4] = ["Filename", "Size", "MD5sum", "MSDOS-Filename"];

fn db_err(reason: impl Into<String>) -> Error {
    Error::Database {
        reason: reason.into(),
    }
}

fn push_field(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push(':');
    if !value.is_empty() && !value.starts_with('\n') {
        out.push(' ');
    }
    out.push_str(value);
    out.push('\n');
}

/// The status stanza of an installed package.
pub fn status_stanza(pkg: &DebPackage, installed: &Installed) -> String {
    let c = &pkg.control;
    let mut out = String::new();
    for field in FIELD_ORDER {
        match field {
            "Status" => push_field(&mut out, field, "install ok installed"),
            "Conffiles" => {
                if !installed.conffiles.is_empty() {
                    let mut v = String::new();
                    for (path, md5) in &installed.conffiles {
                        v.push_str(&format!("\n {path} {md5}"));
                    }
                    push_field(&mut out, field, &v);
                }
            }
            // Booleans dpkg writes only when true; Multi-Arch only when not `no`.
            "Essential" | "Protected" => {
                if c.get(field).is_some_and(|v| v == "yes") {
                    push_field(&mut out, field, "yes");
                }
            }
            "Multi-Arch" => {
                if c.multi_arch() != "no" {
                    push_field(&mut out, field, c.multi_arch());
                }
            }
            // Only meaningful for packages not fully installed.
            "Config-Version" | "Triggers-Pending" | "Triggers-Awaited" => {}
            _ => {
                if let Some(v) = c.get(field) {
                    push_field(&mut out, field, v);
                }
            }
        }
    }
    for (name, value) in &c.fields {
        let known = FIELD_ORDER
            .iter()
            .chain(AVAILABLE_ONLY.iter())
            .any(|f| f.eq_ignore_ascii_case(name));
        if !known {
            push_field(&mut out, name, value);
        }
    }
    out
}

/// Creates a directory and its missing parents with the given mtime.
fn ensure_dir(tree: &mut Tree, path: &str, mtime: i64) -> Result<(), Error> {
    let mut cur = String::new();
    for comp in path.split('/').filter(|c| !c.is_empty()) {
        cur.push('/');
        cur.push_str(comp);
        match tree.get(&cur) {
            Some(e) if e.is_dir() => {}
            Some(_) => {
                return Err(db_err(format!(
                    "{cur} exists and is not a directory; the dpkg database needs it to be one"
                )))
            }
            None => {
                tree.insert(&cur, Entry::dir().at(mtime))
                    .map_err(|e| db_err(e.to_string()))?;
            }
        }
    }
    Ok(())
}

fn put_file(
    tree: &mut Tree,
    path: &str,
    data: Vec<u8>,
    mode: u32,
    mtime: i64,
) -> Result<(), Error> {
    tree.insert(path, Entry::file(data, mode).at(mtime))
        .map_err(|e| db_err(format!("{path}: {e}")))?;
    Ok(())
}

/// A trigger name dpkg would accept (it becomes a file name for explicit triggers).
fn valid_trigger_name(name: &str, file: bool) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_graphic())
        && (file || (!name.contains('/') && name != "." && name != ".."))
}

/// Writes the dpkg database for the given installed packages into the Tree (see the module
/// documentation). `owners` is the map filled by `unpack_into`, used to leave out of a
/// package's list the files another package replaced. `mtime` stamps every file written.
pub fn dpkg_database(
    packages: &[(&DebPackage, &Installed)],
    owners: &Owners,
    tree: &mut Tree,
    mtime: i64,
) -> Result<(), Error> {
    for d in ["info", "updates", "triggers", "alternatives", "parts"] {
        ensure_dir(tree, &format!("{ADMINDIR}/{d}"), mtime)?;
    }
    let mut sorted: Vec<&(&DebPackage, &Installed)> = packages.iter().collect();
    sorted.sort_by(|a, b| {
        (a.0.control.name(), a.0.control.architecture())
            .cmp(&(b.0.control.name(), b.0.control.architecture()))
    });
    let mut status = String::new();
    let mut file_triggers: Vec<(String, String)> = Vec::new();
    let mut explicit: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut seen = std::collections::HashSet::new();
    for (pkg, installed) in sorted {
        let name = pkg.dpkg_name();
        if !seen.insert(name.clone()) {
            return Err(db_err(format!("package {name} is listed twice")));
        }
        // dpkg ends every stanza, the last one included, with a blank line.
        status.push_str(&status_stanza(pkg, installed));
        status.push('\n');

        let mut list = String::new();
        let mut listed = std::collections::HashSet::new();
        for (path, phys) in installed.paths.iter().zip(&installed.physical) {
            let kept = tree.get(phys).is_some_and(Entry::is_dir)
                || owners.get(phys).is_some_and(|o| o.contains(&name));
            if kept && listed.insert(path.as_str()) {
                list.push_str(path);
                list.push('\n');
            }
        }
        put_file(
            tree,
            &format!("{ADMINDIR}/info/{name}.list"),
            list.into_bytes(),
            0o644,
            mtime,
        )?;
        for (member, data) in &pkg.info_files {
            let mode = if MAINTAINER_SCRIPTS.contains(&member.as_str()) {
                0o755
            } else {
                0o644
            };
            put_file(
                tree,
                &format!("{ADMINDIR}/info/{name}.{member}"),
                data.clone(),
                mode,
                mtime,
            )?;
            if member == "triggers" {
                for line in String::from_utf8_lossy(data).lines() {
                    let line = line.trim();
                    if line.is_empty() || line.starts_with('#') {
                        continue;
                    }
                    let mut words = line.split_whitespace();
                    let (Some(directive), Some(trigger)) = (words.next(), words.next()) else {
                        continue;
                    };
                    let suffix = match directive {
                        "interest" | "interest-await" => "",
                        "interest-noawait" => "/noawait",
                        _ => continue,
                    };
                    let is_file = trigger.starts_with('/');
                    if !valid_trigger_name(trigger, is_file) {
                        return Err(db_err(format!(
                            "package {name}: invalid trigger name {trigger:?} in its triggers file"
                        )));
                    }
                    let who = format!("{name}{suffix}");
                    if is_file {
                        file_triggers.push((trigger.to_string(), who));
                    } else {
                        explicit.entry(trigger.to_string()).or_default().push(who);
                    }
                }
            }
        }
    }
    let fixed: [(&str, Vec<u8>); 4] = [
        ("status", status.into_bytes()),
        ("available", Vec::new()),
        ("triggers/Unincorp", Vec::new()),
        // Without it dpkg assumes the pre-multiarch layout and looks for `name.list`
        // instead of `name:arch.list`.
        ("info/format", b"1\n".to_vec()),
    ];
    for (name, data) in fixed {
        put_file(tree, &format!("{ADMINDIR}/{name}"), data, 0o644, mtime)?;
    }
    if !file_triggers.is_empty() {
        file_triggers.sort();
        let text: String = file_triggers
            .iter()
            .map(|(path, who)| format!("{path} {who}\n"))
            .collect();
        put_file(
            tree,
            &format!("{ADMINDIR}/triggers/File"),
            text.into_bytes(),
            0o644,
            mtime,
        )?;
    }
    for (trigger, who) in explicit {
        let text: String = who.iter().map(|w| format!("{w}\n")).collect();
        put_file(
            tree,
            &format!("{ADMINDIR}/triggers/{trigger}"),
            text.into_bytes(),
            0o644,
            mtime,
        )?;
    }
    Ok(())
}
