//! update-alternatives(1) without running it: the two levels of symlinks
//! (`/usr/bin/awk -> /etc/alternatives/awk -> /usr/bin/mawk`) and the administrative file
//! /var/lib/dpkg/alternatives/NAME that dpkg's update-alternatives reads back in the guest.
//!
//! The group is left in automatic mode with the highest-priority choice selected (the first by
//! path among equals). Choices and slaves are written sorted (choices by path, slaves by name),
//! as update-alternatives itself writes them. A slave whose file the selected choice does not
//! provide, or that is not in the Tree, gets no link (update-alternatives skips it too).

use super::{physical_path, write_file, write_symlink};
use eflow_tree::{Kind, Tree, TreeError};
use std::collections::BTreeSet;

/// Why an alternative could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AlternativesError {
    /// The declaration breaks update-alternatives' rules.
    #[error("alternative {name:?}: {reason}")]
    Invalid { name: String, reason: String },
    /// A regular file is where a link should go (update-alternatives refuses to replace it).
    #[error("alternative {name:?}: {path} is a real file in the image, not replacing it with a link; remove it or use another link path")]
    NotALink { name: String, path: String },
    /// Writing into the Tree failed.
    #[error("writing alternative links into the image tree: {0}")]
    Tree(#[from] TreeError),
}

/// A secondary link that follows the master's choice (a man page, a second command).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slave {
    pub name: String,
    pub link: String,
}

/// One candidate of a group, as `update-alternatives --install` declares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    pub path: String,
    pub priority: i32,
    /// The file for each slave, in the order of [`Alternative::slaves`] (`None`: not provided).
    pub slave_paths: Vec<Option<String>>,
}

/// A group of alternatives: the generic name, its link and its candidates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alternative {
    /// The generic name (`awk`): /etc/alternatives/NAME, /var/lib/dpkg/alternatives/NAME.
    pub name: String,
    /// The master link (`/usr/bin/awk`).
    pub link: String,
    pub slaves: Vec<Slave>,
    pub choices: Vec<Choice>,
}

/// The simple case, one master link and one candidate:
/// `update-alternatives --install LINK NAME PATH PRIORITY`.
pub fn alternative(
    tree: &mut Tree,
    link: &str,
    name: &str,
    path: &str,
    priority: i32,
    mtime: i64,
) -> Result<String, AlternativesError> {
    install(
        tree,
        &Alternative {
            name: name.to_string(),
            link: link.to_string(),
            slaves: vec![],
            choices: vec![Choice {
                path: path.to_string(),
                priority,
                slave_paths: vec![],
            }],
        },
        mtime,
    )
}

fn exists(tree: &Tree, path: &str) -> bool {
    tree.resolve(path, true)
        .is_some_and(|p| tree.get(&p).is_some())
}

fn check_name(group: &str, name: &str) -> Result<(), AlternativesError> {
    if name.is_empty() || name.contains(['/', ' ', '\t', '\n']) || name == "." || name == ".." {
        return Err(AlternativesError::Invalid {
            name: group.to_string(),
            reason: format!("name {name:?} must be non-empty, without slashes or blanks"),
        });
    }
    Ok(())
}

fn check_path(group: &str, what: &str, path: &str) -> Result<(), AlternativesError> {
    if !path.starts_with('/') || path.contains('\n') || eflow_tree::normalize(path).is_err() {
        return Err(AlternativesError::Invalid {
            name: group.to_string(),
            reason: format!("{what} {path:?} must be an absolute path"),
        });
    }
    Ok(())
}

/// Sets up a group of alternatives: links, /etc/alternatives entries and the admin file.
/// Returns the selected path.
pub fn install(
    tree: &mut Tree,
    alt: &Alternative,
    mtime: i64,
) -> Result<String, AlternativesError> {
    let invalid = |reason: String| AlternativesError::Invalid {
        name: alt.name.clone(),
        reason,
    };
    check_name(&alt.name, &alt.name)?;
    check_path(&alt.name, "link", &alt.link)?;
    let mut names = BTreeSet::from([alt.name.as_str()]);
    let mut links = BTreeSet::from([alt.link.as_str()]);
    for s in &alt.slaves {
        check_name(&alt.name, &s.name)?;
        check_path(&alt.name, "slave link", &s.link)?;
        if !names.insert(&s.name) || !links.insert(&s.link) {
            return Err(invalid(format!(
                "slave {} ({}) repeats a name or link of the group",
                s.name, s.link
            )));
        }
    }
    if alt.choices.is_empty() {
        return Err(invalid("has no choices".into()));
    }
    let mut paths = BTreeSet::new();
    for c in &alt.choices {
        check_path(&alt.name, "choice", &c.path)?;
        if !paths.insert(&c.path) {
            return Err(invalid(format!("choice {} is given twice", c.path)));
        }
        if c.path == alt.link {
            return Err(invalid(format!("choice {} is the link itself", c.path)));
        }
        if c.slave_paths.len() > alt.slaves.len() {
            return Err(invalid(format!(
                "choice {} gives {} slave paths for {} slaves",
                c.path,
                c.slave_paths.len(),
                alt.slaves.len()
            )));
        }
        for p in c.slave_paths.iter().flatten() {
            check_path(&alt.name, "slave path", p)?;
        }
        if !exists(tree, &c.path) {
            return Err(invalid(format!(
                "choice {} is not in the image; install the package that ships it",
                c.path
            )));
        }
    }

    // Sorted as update-alternatives writes them.
    let mut slave_order: Vec<usize> = (0..alt.slaves.len()).collect();
    slave_order.sort_by(|a, b| alt.slaves[*a].name.cmp(&alt.slaves[*b].name));
    let mut choices: Vec<&Choice> = alt.choices.iter().collect();
    choices.sort_by(|a, b| a.path.cmp(&b.path));
    let best = choices
        .iter()
        .copied()
        .fold(None::<&Choice>, |best, c| match best {
            Some(b) if b.priority >= c.priority => Some(b),
            _ => Some(c),
        })
        .ok_or_else(|| invalid("has no choices".into()))?;

    // Master and slave links.
    let etc = |n: &str| format!("/etc/alternatives/{n}");
    link(tree, &alt.name, &alt.link, &etc(&alt.name), mtime)?;
    link(tree, &alt.name, &etc(&alt.name), &best.path, mtime)?;
    for (i, s) in alt.slaves.iter().enumerate() {
        match best.slave_paths.get(i).cloned().flatten() {
            Some(p) if exists(tree, &p) => {
                link(tree, &alt.name, &s.link, &etc(&s.name), mtime)?;
                link(tree, &alt.name, &etc(&s.name), &p, mtime)?;
            }
            _ => {}
        }
    }

    // The administrative file.
    let mut admin = format!("auto\n{}\n", alt.link);
    for &i in &slave_order {
        admin.push_str(&format!("{}\n{}\n", alt.slaves[i].name, alt.slaves[i].link));
    }
    admin.push('\n');
    for c in &choices {
        admin.push_str(&format!("{}\n{}\n", c.path, c.priority));
        for &i in &slave_order {
            let p = c.slave_paths.get(i).cloned().flatten().unwrap_or_default();
            admin.push_str(&p);
            admin.push('\n');
        }
    }
    admin.push('\n');
    write_file(
        tree,
        &format!("/var/lib/dpkg/alternatives/{}", alt.name),
        admin,
        0o644,
        (0, 0),
        mtime,
    )?;
    Ok(best.path.clone())
}

/// Creates `path -> target`, replacing a symlink but never a real file.
fn link(
    tree: &mut Tree,
    name: &str,
    path: &str,
    target: &str,
    mtime: i64,
) -> Result<(), AlternativesError> {
    let phys = physical_path(tree, path)?;
    if let Some(e) = tree.get(&phys) {
        if !matches!(e.kind, Kind::Symlink { .. }) {
            return Err(AlternativesError::NotALink {
                name: name.to_string(),
                path: path.to_string(),
            });
        }
    }
    write_symlink(tree, path, target, mtime)?;
    Ok(())
}
