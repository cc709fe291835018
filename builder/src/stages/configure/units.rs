//! Unit enablement: the symlinks `systemctl enable`, `mask` and `set-default` would make.
//!
//! Matched against `systemctl --root=DIR` of Debian 12 (systemd 252): units are looked up in
//! /etc/systemd/system, /usr/local/lib/systemd/system, /lib/systemd/system and
//! /usr/lib/systemd/system in that order, and a link points at the unit file by the path it
//! was found under; on a usrmerged Debian 12 tree that is `/lib/systemd/system/NAME` (not
//! /usr/lib), since /lib comes first. Links go in /etc/systemd/system: `TARGET.wants/UNIT`
//! (WantedBy=), `TARGET.requires/UNIT` (RequiredBy=), `TARGET.upholds/UNIT` (UpheldBy=, which
//! systemd 252 itself ignores; newer ones honour it), and `ALIAS` (Alias=); Also= units are
//! enabled too. A template is enabled through its DefaultInstance= (the links name the
//! instance, point at the template file).
//!
//! Debian enables units from maintainer scripts (deb-systemd-helper), which we never run, and
//! its systemd ships presets (90-systemd.preset) without a final `disable *`, so systemd's
//! preset default (enable what no line matches) would enable every unit with an [Install]
//! section. The image therefore enables units by name, from the recipes ([`enable`]), and may
//! use presets only with an explicit default (see [`super::presets`]).

use super::unit_file::{Install, UnitName};
use super::{physical_path, read_text, write_symlink, ReadError};
use eflow_tree::{file_name, parent, Kind, Tree, TreeError};
use std::collections::BTreeSet;

/// The unit search path of Debian 12's systemd (system manager, build-time relevant part).
pub const UNIT_DIRS: [&str; 4] = [
    "/etc/systemd/system",
    "/usr/local/lib/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
];

/// Where `systemctl enable` puts its links.
pub const CONFIG_DIR: &str = "/etc/systemd/system";

/// Why a unit could not be enabled, masked or made the default.
#[derive(Debug, thiserror::Error)]
pub enum UnitsError {
    /// The name is not a valid unit name.
    #[error("unit name {unit:?}: {reason}")]
    InvalidName { unit: String, reason: String },
    /// No unit file of that name is in the image.
    #[error(
        "unit {unit} was not found in {searched}; check the name or add the package that ships it"
    )]
    NotFound { unit: String, searched: String },
    /// The unit is masked (linked to /dev/null).
    #[error("unit {unit} is masked by {path}; unmask it or do not enable it")]
    Masked { unit: String, path: String },
    /// The unit has no [Install] section, so enabling it does nothing.
    #[error("unit {unit} ({path}) has no [Install] section (a static unit): nothing to enable; pull it in from another unit instead")]
    Static { unit: String, path: String },
    /// A template without DefaultInstance= was given without an instance.
    #[error(
        "unit {unit} is a template without DefaultInstance=; enable an instance such as {example}"
    )]
    TemplateWithoutInstance { unit: String, example: String },
    /// Something else is already at a link's path.
    #[error("cannot create {path} -> {wanted}: {existing} is already there; remove the conflicting unit or alias")]
    Exists {
        path: String,
        existing: String,
        wanted: String,
    },
    /// A value of the [Install] section cannot be used.
    #[error("{path}: [Install] {reason}")]
    BadInstall { path: String, reason: String },
    /// A unit file could not be read from the Tree.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// Writing into the Tree failed.
    #[error("writing unit links into the image tree: {0}")]
    Tree(#[from] TreeError),
}

fn parse_name(unit: &str) -> Result<UnitName, UnitsError> {
    UnitName::parse(unit).map_err(|reason| UnitsError::InvalidName {
        unit: unit.to_string(),
        reason,
    })
}

/// What a unit file name resolves to on the search path.
pub(crate) enum Lookup {
    /// A unit file, by the path it was found under, with its text.
    File { path: String, text: String },
    /// An alias symlink in a unit directory to another unit of the search path.
    Alias { target: String },
    /// A link to /dev/null.
    Masked { path: String },
}

/// Looks a unit file name up on the search path, the first directory holding it winning.
pub(crate) fn lookup(tree: &Tree, name: &str) -> Result<Option<Lookup>, UnitsError> {
    let real_dirs: Vec<String> = UNIT_DIRS
        .iter()
        .filter_map(|d| tree.resolve(d, true))
        .collect();
    for dir in UNIT_DIRS {
        let path = format!("{dir}/{name}");
        let Some(phys) = tree.resolve(&path, false) else {
            continue;
        };
        let Some(entry) = tree.get(&phys) else {
            continue;
        };
        if let Kind::Symlink { .. } = entry.kind {
            let Some(resolved) = tree.resolve(&path, true) else {
                continue;
            };
            if resolved == "/dev/null" {
                return Ok(Some(Lookup::Masked { path }));
            }
            let target = file_name(&resolved);
            if target != name && real_dirs.iter().any(|d| d == parent(&resolved)) {
                return Ok(Some(Lookup::Alias {
                    target: target.to_string(),
                }));
            }
        }
        if let Some(text) = read_text(tree, &path)? {
            return Ok(Some(Lookup::File { path, text }));
        }
    }
    Ok(None)
}

fn not_found(unit: &str) -> UnitsError {
    UnitsError::NotFound {
        unit: unit.to_string(),
        searched: UNIT_DIRS.join(", "),
    }
}

/// Enables units as `systemctl enable` would. Returns the symlinks made (link paths, in the
/// order made; links already present and correct are not listed). `mtime` stamps new links
/// and directories.
pub fn enable(tree: &mut Tree, units: &[String], mtime: i64) -> Result<Vec<String>, UnitsError> {
    let mut made = Vec::new();
    let mut done = BTreeSet::new();
    for unit in units {
        enable_one(tree, unit, true, &mut done, &mut made, mtime)?;
    }
    Ok(made)
}

/// Enables one unit; `top` is false for Also= units and presets, which may be static.
pub(crate) fn enable_one(
    tree: &mut Tree,
    unit: &str,
    top: bool,
    done: &mut BTreeSet<String>,
    made: &mut Vec<String>,
    mtime: i64,
) -> Result<(), UnitsError> {
    if !done.insert(unit.to_string()) {
        return Ok(());
    }
    let name = parse_name(unit)?;
    // An instance is read from its own file if there is one, else from its template.
    let mut found = lookup(tree, unit)?;
    if found.is_none() && !name.is_template() {
        if let Some(template) = name.template() {
            found = lookup(tree, &template)?;
        }
    }
    let (path, text) = match found {
        None => return Err(not_found(unit)),
        Some(Lookup::Masked { path }) => {
            return Err(UnitsError::Masked {
                unit: unit.to_string(),
                path,
            })
        }
        Some(Lookup::Alias { target }) => {
            // `systemctl enable ALIAS` enables the unit the alias names.
            let target = match &name.instance {
                Some(i) if !i.is_empty() => parse_name(&target)?.with_instance(i),
                _ => target,
            };
            return enable_one(tree, &target, top, done, made, mtime);
        }
        Some(Lookup::File { path, text }) => (path, text),
    };
    let install = Install::parse(&text);
    if install.is_empty() {
        return if top {
            Err(UnitsError::Static {
                unit: unit.to_string(),
                path,
            })
        } else {
            Ok(())
        };
    }
    let linked_name = if name.is_template() {
        match &install.default_instance {
            Some(i) => name.with_instance(i),
            None if top => {
                return Err(UnitsError::TemplateWithoutInstance {
                    unit: unit.to_string(),
                    example: name.with_instance("NAME"),
                })
            }
            None => return Ok(()),
        }
    } else {
        unit.to_string()
    };
    let inst = parse_name(&linked_name)?;
    let bad = |reason: String| UnitsError::BadInstall {
        path: path.clone(),
        reason,
    };
    for (list, kind) in [
        (&install.wanted_by, "wants"),
        (&install.required_by, "requires"),
        (&install.upheld_by, "upholds"),
    ] {
        for t in list {
            let t = inst.expand(t).map_err(bad)?;
            UnitName::parse(&t).map_err(|r| bad(format!("target {t:?}: {r}")))?;
            let link = format!("{CONFIG_DIR}/{t}.{kind}/{linked_name}");
            make_link(tree, &link, &path, made, mtime)?;
        }
    }
    for a in &install.alias {
        let a = inst.expand(a).map_err(bad)?;
        let an = UnitName::parse(&a).map_err(|r| bad(format!("Alias={a:?}: {r}")))?;
        if an.suffix != inst.suffix {
            return Err(bad(format!(
                "Alias={a} is not of the unit's type .{}",
                inst.suffix
            )));
        }
        let alias = match (&inst.instance, an.is_template()) {
            (Some(i), true) if !i.is_empty() => an.with_instance(i),
            _ => a,
        };
        make_link(tree, &format!("{CONFIG_DIR}/{alias}"), &path, made, mtime)?;
    }
    for also in &install.also {
        let also = inst.expand(also).map_err(bad)?;
        enable_one(tree, &also, false, done, made, mtime)?;
    }
    Ok(())
}

/// Creates `link -> target` unless it is already there; anything else at `link` is an error.
fn make_link(
    tree: &mut Tree,
    link: &str,
    target: &str,
    made: &mut Vec<String>,
    mtime: i64,
) -> Result<(), UnitsError> {
    let phys = physical_path(tree, link)?;
    match tree.get(&phys).map(|e| &e.kind) {
        None => {}
        Some(Kind::Symlink { target: t }) if t == target => return Ok(()),
        Some(other) => {
            return Err(UnitsError::Exists {
                path: link.to_string(),
                existing: match other {
                    Kind::Symlink { target } => format!("a link to {target}"),
                    Kind::Dir => "a directory".into(),
                    _ => "a file".into(),
                },
                wanted: target.to_string(),
            })
        }
    }
    write_symlink(tree, link, target, mtime)?;
    made.push(link.to_string());
    Ok(())
}

/// Masks a unit as `systemctl mask` would: /etc/systemd/system/UNIT -> /dev/null. The unit
/// need not exist. Returns the link path. A regular file of that name in /etc is an error.
pub fn mask(tree: &mut Tree, unit: &str, mtime: i64) -> Result<String, UnitsError> {
    parse_name(unit)?;
    let link = format!("{CONFIG_DIR}/{unit}");
    let phys = physical_path(tree, &link)?;
    match tree.get(&phys).map(|e| &e.kind) {
        None | Some(Kind::Symlink { .. }) => {}
        Some(_) => {
            return Err(UnitsError::Exists {
                path: link,
                existing: "a unit file".into(),
                wanted: "/dev/null".into(),
            })
        }
    }
    write_symlink(tree, &link, "/dev/null", mtime)?;
    Ok(link)
}

/// Sets the default target as `systemctl set-default` would:
/// /etc/systemd/system/default.target -> the target's unit file. The target must exist.
pub fn set_default_target(tree: &mut Tree, target: &str, mtime: i64) -> Result<String, UnitsError> {
    let name = parse_name(target)?;
    if name.suffix != "target" {
        return Err(UnitsError::InvalidName {
            unit: target.to_string(),
            reason: "the default unit must be a .target".into(),
        });
    }
    let path = match lookup(tree, target)? {
        Some(Lookup::File { path, .. }) => path,
        Some(Lookup::Alias { target: t }) => match lookup(tree, &t)? {
            Some(Lookup::File { path, .. }) => path,
            _ => return Err(not_found(target)),
        },
        Some(Lookup::Masked { path }) => {
            return Err(UnitsError::Masked {
                unit: target.to_string(),
                path,
            })
        }
        None => return Err(not_found(target)),
    };
    let link = format!("{CONFIG_DIR}/default.target");
    let phys = physical_path(tree, &link)?;
    if let Some(e) = tree.get(&phys) {
        if !matches!(e.kind, Kind::Symlink { .. }) {
            return Err(UnitsError::Exists {
                path: link,
                existing: "a unit file".into(),
                wanted: path,
            });
        }
    }
    write_symlink(tree, &link, &path, mtime)?;
    Ok(link)
}
