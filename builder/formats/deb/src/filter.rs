//! Path filters as dpkg's `--path-exclude` and `--path-include` apply them: what a minimal
//! system leaves out of the packages it installs (documentation, manual pages, locales).
//!
//! Patterns are shell globs matched against the whole absolute path, where `*` and `?` also
//! match `/` (fnmatch without flags, as dpkg uses it). Patterns are tried in order and the
//! last one that matches decides; a path no pattern matches is installed. As with dpkg, the
//! filtered paths stay in the packages' file lists (dpkg keeps tracking what it would have
//! installed), a directory that still holds something is kept, and a regular file that a kept
//! hard link points to is kept.

use std::collections::BTreeSet;

use eflow_tree::{Kind, Tree};

use crate::Owners;

/// One `--path-exclude` or `--path-include` pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathFilter {
    pub pattern: String,
    pub include: bool,
}

/// What filtering left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filtered {
    /// Entries removed (files, links, empty directories).
    pub entries: usize,
    /// Bytes of the regular files removed.
    pub bytes: u64,
}

/// Whether `path` is installed under `filters` (the last matching pattern decides).
pub fn is_included(filters: &[PathFilter], path: &str) -> bool {
    filters
        .iter()
        .rev()
        .find(|f| glob_match(f.pattern.as_bytes(), path.as_bytes()))
        .is_none_or(|f| f.include)
}

/// Removes from `tree` the package-owned paths (the keys of `owners`) that `filters` leave
/// out. Objects no package owns (the merged-/usr skeleton, generated files) are untouched.
pub fn apply_filters(tree: &mut Tree, owners: &Owners, filters: &[PathFilter]) -> Filtered {
    let mut out = Filtered::default();
    if filters.is_empty() {
        return out;
    }
    let mut excluded: BTreeSet<&str> = owners
        .keys()
        .map(String::as_str)
        .filter(|p| *p != "/" && !is_included(filters, p))
        .collect();
    // A directory or symlink that an include pattern may reach through stays (dpkg keeps
    // them "to be on the safe side": a package's /usr/share/doc/NAME is often a symlink to
    // another package's, and its copyright file is read through it).
    let includes: Vec<&PathFilter> = filters.iter().filter(|f| f.include).collect();
    excluded.retain(|p| {
        let dir_or_link = tree
            .get(p)
            .is_some_and(|e| e.is_dir() || matches!(e.kind, Kind::Symlink { .. }));
        let below = format!("{p}/");
        !(dir_or_link
            && includes
                .iter()
                .any(|f| glob_match_prefix(f.pattern.as_bytes(), below.as_bytes())))
    });
    // A kept hard link needs its target's inode.
    for (path, e) in tree.iter() {
        if let Kind::HardLink { target } = &e.kind {
            if !excluded.contains(path) {
                excluded.remove(target.as_str());
            }
        }
    }
    let (dirs, others): (Vec<&str>, Vec<&str>) = excluded
        .iter()
        .copied()
        .partition(|p| tree.get(p).is_some_and(|e| e.is_dir()));
    let dirs: Vec<String> = dirs.into_iter().map(String::from).collect();
    for p in others.into_iter().map(String::from).collect::<Vec<_>>() {
        if let Some(e) = tree.get(&p) {
            if let Kind::File { size, .. } = &e.kind {
                out.bytes += size;
            }
            if tree.remove(&p).unwrap_or(false) {
                out.entries += 1;
            }
        }
    }
    // Deepest first, so a directory emptied by removing its subdirectories goes too.
    for d in dirs.iter().rev() {
        if tree.children(d).next().is_none() && tree.remove(d).unwrap_or(false) {
            out.entries += 1;
        }
    }
    out
}

/// fnmatch(3) with no flags: `*` any run of bytes (`/` included), `?` any one byte,
/// `[...]` a class (`!` or `^` negates, `a-z` ranges), `\` quotes the next byte.
pub fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    matches(pattern, text, false)
}

/// Whether `pattern` matches some string that starts with `text` (a directory or symlink
/// that a path an include pattern keeps may lie below).
pub fn glob_match_prefix(pattern: &[u8], text: &[u8]) -> bool {
    matches(pattern, text, true)
}

fn matches(pattern: &[u8], text: &[u8], prefix: bool) -> bool {
    // Iterative matching with one backtrack point (the last `*`): linear in practice and
    // never exponential, whatever the pattern.
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        let step = match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
                continue;
            }
            Some(b'?') => Some(p + 1),
            Some(b'[') => match class(&pattern[p..], text[t]) {
                Some((true, len)) => Some(p + len),
                Some((false, _)) => None,
                // An unclosed `[` is an ordinary character.
                None => (text[t] == b'[').then_some(p + 1),
            },
            Some(b'\\') if p + 1 < pattern.len() => (pattern[p + 1] == text[t]).then_some(p + 2),
            Some(&c) => (c == text[t]).then_some(p + 1),
            None => None,
        };
        match step {
            Some(next) => {
                p = next;
                t += 1;
            }
            None => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    prefix || pattern[p..].iter().all(|&c| c == b'*')
}

/// Matches a `[...]` class at the start of `pattern` against `c`: (matched, the class's
/// length), or `None` when the class is not closed.
fn class(pattern: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(pattern.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let lo = *pattern.get(i)?;
        if lo == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if pattern.get(i + 1) == Some(&b'-') && pattern.get(i + 2).is_some_and(|&h| h != b']') {
            let hi = pattern[i + 2];
            matched |= lo <= c && c <= hi;
            i += 3;
        } else {
            matched |= lo == c;
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        glob_match(p.as_bytes(), t.as_bytes())
    }

    #[test]
    fn globs_match_as_fnmatch_without_flags() {
        assert!(m("/usr/share/doc/*", "/usr/share/doc/bash/README"));
        assert!(!m("/usr/share/doc/*", "/usr/share/doc"));
        assert!(m(
            "/usr/share/doc/*/copyright",
            "/usr/share/doc/bash/copyright"
        ));
        assert!(m("/usr/*/READ*", "/usr/share/doc/package/README"));
        assert!(m("/a?c", "/a/c"));
        assert!(m("/[a-c]x", "/bx") && !m("/[!a-c]x", "/bx") && m("/[^a-c]x", "/dx"));
        assert!(m("/[]]", "/]") && m("/[x", "/[x"));
        assert!(m("/a\\*", "/a*") && !m("/a\\*", "/ab"));
        assert!(m("*", "") && !m("?", ""));
        assert!(!m("/usr/share/man/*", "/usr/share/mandoc"));
        // No exponential blow-up.
        let text = "/".to_string() + &"a".repeat(5000);
        assert!(!m("/*a*a*a*a*a*a*a*a*b", &text));
    }

    #[test]
    fn prefixes_that_a_pattern_may_continue() {
        let p = b"/usr/share/doc/*/copyright";
        assert!(glob_match_prefix(p, b"/usr/share/doc/libfoo/"));
        assert!(glob_match_prefix(p, b"/usr/share/"));
        assert!(!glob_match_prefix(p, b"/usr/share/man/"));
        assert!(!glob_match_prefix(b"/etc/x", b"/etc/y/"));
    }

    /// Documentation left out, copyright files kept: what the reference images declare.
    fn doc_filters() -> [PathFilter; 2] {
        [
            PathFilter {
                pattern: "/usr/share/doc/*".into(),
                include: false,
            },
            PathFilter {
                pattern: "/usr/share/doc/*/copyright".into(),
                include: true,
            },
        ]
    }

    #[test]
    fn the_last_matching_pattern_decides() {
        let f = doc_filters();
        assert!(!is_included(&f, "/usr/share/doc/bash/README"));
        assert!(is_included(&f, "/usr/share/doc/bash/copyright"));
        assert!(is_included(&f, "/usr/bin/bash"));
        assert!(is_included(&[], "/anything"));
    }

    #[test]
    fn symlinked_doc_dirs_stay_for_their_copyright() {
        use eflow_tree::Entry;
        let mut tree = Tree::new();
        tree.mkdir_p("/usr/share/doc/libkmod2").unwrap();
        tree.insert(
            "/usr/share/doc/libkmod2/copyright",
            Entry::file(b"c".to_vec(), 0o644),
        )
        .unwrap();
        tree.insert(
            "/usr/share/doc/libkmod2/README",
            Entry::file(b"r".to_vec(), 0o644),
        )
        .unwrap();
        tree.insert("/usr/share/doc/kmod", Entry::symlink("libkmod2"))
            .unwrap();
        let mut owners = Owners::new();
        for p in [
            "/usr/share/doc/libkmod2",
            "/usr/share/doc/libkmod2/copyright",
            "/usr/share/doc/libkmod2/README",
            "/usr/share/doc/kmod",
        ] {
            owners.insert(p.into(), vec!["kmod".into()]);
        }
        let f = apply_filters(&mut tree, &owners, &doc_filters());
        assert_eq!(
            f,
            Filtered {
                entries: 1,
                bytes: 1
            }
        );
        assert!(tree.get("/usr/share/doc/kmod").is_some());
        assert!(tree.get("/usr/share/doc/libkmod2/copyright").is_some());
        assert!(tree.get("/usr/share/doc/libkmod2/README").is_none());
    }
}
