//! systemd.preset(5): enabling the units that preset files enable, like `systemctl preset-all`
//! on a fresh tree.
//!
//! Preset files are read from /etc, /run, /usr/local/lib, /usr/lib and /lib
//! systemd/system-preset (a file in an earlier directory overrides one of the same name, a link
//! to /dev/null masks it), all files in byte order of their names; for each unit the first
//! matching `enable`/`disable` line wins.
//!
//! systemd enables units that no line matches. Debian 12 does not use presets (its packages
//! enable units from their postinsts) and ships no catch-all `disable *`, so that default would
//! enable every installable unit of the image; the caller therefore chooses the default with
//! [`PresetDefault`], and an image should pass [`PresetDefault::Disable`]. Only enabling is
//! done: on a fresh tree there is nothing for a `disable` line to remove.

use super::read_text;
use super::unit_file::{Install, UnitName};
use super::units::{enable_one, lookup, Lookup, UnitsError, UNIT_DIRS};
use eflow_tree::{Kind, Tree};
use std::collections::{BTreeMap, BTreeSet};

/// The preset directories, most important first.
pub const PRESET_DIRS: [&str; 5] = [
    "/etc/systemd/system-preset",
    "/run/systemd/system-preset",
    "/usr/local/lib/systemd/system-preset",
    "/usr/lib/systemd/system-preset",
    "/lib/systemd/system-preset",
];

/// What to do with a unit that no preset line matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PresetDefault {
    /// systemd's own default.
    Enable,
    /// The equivalent of a final `disable *` (what an image built from Debian wants).
    Disable,
}

/// One `enable`/`disable` line of a preset file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub enable: bool,
    /// A unit name glob (`*`, `?`, `[...]`).
    pub pattern: String,
    /// For `enable TEMPLATE@.service a b`: the instances to enable.
    pub instances: Vec<String>,
    pub file: String,
    pub line: usize,
}

/// Reads every preset file of the Tree, rules in the order they apply.
pub fn load(tree: &Tree) -> Result<Vec<Rule>, UnitsError> {
    let mut files: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for dir in PRESET_DIRS {
        let Some(real) = tree.resolve(dir, true) else {
            continue;
        };
        if !seen.insert(real.clone()) || !tree.get(&real).is_some_and(|e| e.is_dir()) {
            continue;
        }
        for (name, entry) in tree.children(&real) {
            if !name.ends_with(".preset") || files.contains_key(name) {
                continue;
            }
            let path = format!("{dir}/{name}");
            let masked = matches!(entry.kind, Kind::Symlink { .. })
                && tree.resolve(&path, true).as_deref() == Some("/dev/null");
            files.insert(name.to_string(), (!masked).then_some(path));
        }
    }
    let mut rules = Vec::new();
    for path in files.into_values().flatten() {
        let Some(text) = read_text(tree, &path)? else {
            continue;
        };
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            let mut words = line.split_whitespace();
            let verb = words.next().unwrap_or_default();
            let enable = match verb {
                "enable" => true,
                "disable" => false,
                // systemd ignores unknown verbs with a warning; so do we, silently.
                _ => continue,
            };
            let Some(pattern) = words.next() else {
                continue;
            };
            rules.push(Rule {
                enable,
                pattern: pattern.to_string(),
                instances: words.map(str::to_string).collect(),
                file: path.clone(),
                line: i + 1,
            });
        }
    }
    Ok(rules)
}

/// Every unit file name on the search path, once, sorted (aliases and masks left out).
fn all_units(tree: &Tree) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for dir in UNIT_DIRS {
        let Some(real) = tree.resolve(dir, true) else {
            continue;
        };
        if !seen.insert(real.clone()) {
            continue;
        }
        for (name, _) in tree.children(&real) {
            if UnitName::parse(name).is_ok() {
                names.insert(name.to_string());
            }
        }
    }
    names
}

/// Enables the units the presets enable; unmatched units follow `default`. Returns the
/// symlinks made.
pub fn apply_presets(
    tree: &mut Tree,
    default: PresetDefault,
    mtime: i64,
) -> Result<Vec<String>, UnitsError> {
    let rules = load(tree)?;
    let mut made = Vec::new();
    let mut done = BTreeSet::new();
    for unit in all_units(tree) {
        let Some(Lookup::File { text, .. }) = lookup(tree, &unit)? else {
            continue;
        };
        if Install::parse(&text).is_empty() {
            continue;
        }
        let rule = rules.iter().find(|r| glob_match(&r.pattern, &unit));
        let enable = rule.map_or(default == PresetDefault::Enable, |r| r.enable);
        if !enable {
            continue;
        }
        let instances = rule.map(|r| r.instances.as_slice()).unwrap_or_default();
        let name = UnitName::parse(&unit).map_err(|reason| UnitsError::InvalidName {
            unit: unit.clone(),
            reason,
        })?;
        if name.is_template() && !instances.is_empty() {
            for i in instances {
                let inst = name.with_instance(i);
                enable_one(tree, &inst, false, &mut done, &mut made, mtime)?;
            }
        } else {
            enable_one(tree, &unit, false, &mut done, &mut made, mtime)?;
        }
    }
    Ok(made)
}

/// fnmatch(3) without flags: `*`, `?`, `[abc]`, `[a-z]`, `[!x]`, and `\` escapes.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    glob_at(&p, &n)
}

fn glob_at(p: &[char], n: &[char]) -> bool {
    let (mut pi, mut ni) = (0, 0);
    // Position after the last `*` and the name position it is trying, for backtracking.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        let step = match p.get(pi) {
            Some('*') => {
                star = Some((pi + 1, ni));
                pi += 1;
                continue;
            }
            Some('?') => Some(1),
            Some('[') => class_match(&p[pi..], n[ni]),
            Some('\\') if pi + 1 < p.len() => (p[pi + 1] == n[ni]).then_some(2),
            Some(c) => (*c == n[ni]).then_some(1),
            None => None,
        };
        match step {
            Some(len) => {
                pi += len;
                ni += 1;
            }
            None => match star {
                Some((sp, sn)) => {
                    pi = sp;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Matches `c` against the bracket expression at the start of `p`; returns its length.
fn class_match(p: &[char], c: char) -> Option<usize> {
    let mut i = 1;
    let negate = matches!(p.get(1), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return (matched != negate).then_some(i + 1);
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            matched |= p[i] <= c && c <= p[i + 2];
            i += 3;
        } else {
            matched |= p[i] == c;
            i += 1;
        }
    }
    // No closing bracket: `[` is an ordinary character.
    (c == '[').then_some(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*", "a.service"));
        assert!(glob_match(
            "systemd-journal-gatewayd.*",
            "systemd-journal-gatewayd.socket"
        ));
        assert!(!glob_match(
            "systemd-journal-gatewayd.*",
            "systemd-journald.service"
        ));
        assert!(glob_match("getty@.service", "getty@.service"));
        assert!(glob_match("a?c.[st]*", "abc.service"));
        assert!(!glob_match("a?c.[!s]*", "abc.service"));
        assert!(glob_match("*-[0-9].mount", "x-y-7.mount"));
        assert!(!glob_match("a", "ab"));
        assert!(glob_match("a**b", "axxb"));
        assert!(glob_match("[", "["));
        assert!(glob_match("\\*", "*"));
        assert!(!glob_match("\\*", "x"));
    }
}
