//! sysusers.d(5) files: the accounts packages declare for systemd-sysusers.
//!
//! Reads `*.conf` from the sysusers.d directories of the Tree (a file in /etc overrides one of
//! the same name in /usr/lib, a link to /dev/null masks it, files are taken in byte order of
//! their names), and parses the `u`, `g`, `m` and `r` lines. Nothing is decided here: the
//! [`users`](super::users) module merges these declarations with the existing databases.

use super::{read_text, ReadError};
use eflow_tree::{Kind, Tree};

/// The directories systemd-sysusers reads, most important first (Debian 12 is built with
/// split-usr, so /lib/sysusers.d is searched too; on a usrmerged tree it is /usr/lib's).
pub const SYSUSERS_DIRS: [&str; 5] = [
    "/etc/sysusers.d",
    "/run/sysusers.d",
    "/usr/local/lib/sysusers.d",
    "/usr/lib/sysusers.d",
    "/lib/sysusers.d",
];

/// Why a sysusers.d file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SysusersError {
    /// A line does not follow sysusers.d(5).
    #[error("{file} line {line}: {reason}; fix the line (see sysusers.d(5)) in the package or recipe that ships the file")]
    Syntax {
        file: String,
        line: usize,
        reason: String,
    },
    /// The file could not be read from the Tree.
    #[error(transparent)]
    Read(#[from] ReadError),
}

/// The id column of a `u` or `g` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdSpec {
    /// `-`: allocate one.
    Auto,
    /// A fixed number.
    Fixed(u32),
    /// A path: take the owner (uid for users, gid for groups) of that file in the Tree, or
    /// allocate when it does not exist, as systemd-sysusers does.
    Path(String),
}

/// The primary group given after a colon in a `u` line's id (`uid:gid` or `uid:group`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupRef {
    /// By number: that group if one has this gid, else a group named after the user with it.
    Gid(u32),
    /// By name: that group, which must exist or be declared.
    Name(String),
}

/// One declaration of a sysusers.d file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// `u name id gecos home shell`: a system user (and, unless `group` says otherwise, a
    /// group of the same name).
    User {
        name: String,
        uid: IdSpec,
        group: Option<GroupRef>,
        gecos: Option<String>,
        home: Option<String>,
        shell: Option<String>,
    },
    /// `g name id`: a system group.
    Group { name: String, gid: IdSpec },
    /// `m user group`: supplementary membership (both are created if missing).
    Member { user: String, group: String },
    /// `r - lo-hi`: the range system ids are allocated from.
    Range { lo: u32, hi: u32 },
}

/// A declaration and where it was read, for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub item: Item,
    pub file: String,
    pub line: usize,
}

/// Reads every sysusers.d file of the Tree in the order systemd-sysusers would.
pub fn load(tree: &Tree) -> Result<Vec<Line>, SysusersError> {
    let mut seen_dirs: Vec<String> = Vec::new();
    // name -> guest path of the winning file (None when masked).
    let mut files: std::collections::BTreeMap<String, Option<String>> = Default::default();
    for dir in SYSUSERS_DIRS {
        let Some(real) = tree.resolve(dir, true) else {
            continue;
        };
        if seen_dirs.contains(&real) || !tree.get(&real).is_some_and(|e| e.is_dir()) {
            continue;
        }
        seen_dirs.push(real.clone());
        for (name, entry) in tree.children(&real) {
            if !name.ends_with(".conf") || files.contains_key(name) {
                continue;
            }
            let path = format!("{dir}/{name}");
            let masked = match &entry.kind {
                Kind::Symlink { .. } => tree.resolve(&path, true).as_deref() == Some("/dev/null"),
                _ => false,
            };
            files.insert(name.to_string(), (!masked).then_some(path));
        }
    }
    let mut out = Vec::new();
    for path in files.into_values().flatten() {
        if let Some(text) = read_text(tree, &path)? {
            out.extend(parse(&path, &text)?);
        }
    }
    Ok(out)
}

/// Parses one sysusers.d file; `file` is only used in error messages and [`Line::file`].
pub fn parse(file: &str, text: &str) -> Result<Vec<Line>, SysusersError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let lineno = i + 1;
        let err = |reason: String| SysusersError::Syntax {
            file: file.to_string(),
            line: lineno,
            reason,
        };
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let words = split_words(trimmed).map_err(err)?;
        let field = |n: usize| -> Result<Option<String>, SysusersError> {
            match words.get(n).map(String::as_str) {
                None | Some("-") => Ok(None),
                Some(w) => expand_specifiers(w).map(Some).map_err(err),
            }
        };
        let name = field(1)?;
        let item = match words[0].as_str() {
            // `u!` (systemd 256) only changes how the account is locked; ours always are.
            "u" | "u!" => {
                let name = name.ok_or_else(|| err("a `u` line needs a user name".into()))?;
                let (uid, group) = match field(2)? {
                    None => (IdSpec::Auto, None),
                    Some(id) => parse_user_id(&id).map_err(err)?,
                };
                Item::User {
                    name,
                    uid,
                    group,
                    gecos: field(3)?,
                    home: field(4)?,
                    shell: field(5)?,
                }
            }
            "g" => {
                let name = name.ok_or_else(|| err("a `g` line needs a group name".into()))?;
                let gid = match field(2)? {
                    None => IdSpec::Auto,
                    Some(id) => parse_id(&id).map_err(err)?,
                };
                Item::Group { name, gid }
            }
            "m" => Item::Member {
                user: name.ok_or_else(|| err("an `m` line needs a user name".into()))?,
                group: field(2)?.ok_or_else(|| err("an `m` line needs a group name".into()))?,
            },
            "r" => {
                let range = field(2)?.ok_or_else(|| err("an `r` line needs a range".into()))?;
                let (lo, hi) = match range.split_once('-') {
                    Some((lo, hi)) => (lo, hi),
                    None => (range.as_str(), range.as_str()),
                };
                let num = |s: &str| {
                    s.parse::<u32>()
                        .map_err(|_| err(format!("bad range {range:?}")))
                };
                let (lo, hi) = (num(lo)?, num(hi)?);
                if lo > hi {
                    return Err(err(format!("range {range:?} is empty")));
                }
                Item::Range { lo, hi }
            }
            other => return Err(err(format!("unknown line type {other:?}"))),
        };
        out.push(Line {
            item,
            file: file.to_string(),
            line: lineno,
        });
    }
    Ok(out)
}

fn parse_id(s: &str) -> Result<IdSpec, String> {
    if s.starts_with('/') {
        return Ok(IdSpec::Path(s.to_string()));
    }
    s.parse::<u32>()
        .map(IdSpec::Fixed)
        .map_err(|_| format!("id {s:?} is neither `-`, a number nor an absolute path"))
}

fn parse_user_id(s: &str) -> Result<(IdSpec, Option<GroupRef>), String> {
    let Some((uid, group)) = s.split_once(':') else {
        return Ok((parse_id(s)?, None));
    };
    let uid = if uid == "-" {
        IdSpec::Auto
    } else {
        parse_id(uid)?
    };
    let group = match group.parse::<u32>() {
        Ok(gid) => GroupRef::Gid(gid),
        Err(_) if !group.is_empty() => GroupRef::Name(group.to_string()),
        Err(_) => return Err(format!("id {s:?} has an empty group after the colon")),
    };
    Ok((uid, Some(group)))
}

/// Only `%%` is accepted: other specifiers (%H, %m, ...) depend on the running machine.
fn expand_specifiers(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some(x) => {
                return Err(format!(
                    "specifier %{x} in {s:?} is not supported at build time"
                ))
            }
            None => return Err(format!("{s:?} ends with a lone %")),
        }
    }
    Ok(out)
}

/// Splits a line into words the way systemd does for sysusers.d: whitespace separates words,
/// single or double quotes group, backslash escapes the next character.
fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (_, '\\') => {
                let n = chars
                    .next()
                    .ok_or_else(|| "line ends with a backslash".to_string())?;
                cur.push(match n {
                    'n' => '\n',
                    't' => '\t',
                    x => x,
                });
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("unterminated quote".into());
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use eflow_tree::Entry;

    fn items(text: &str) -> Vec<Item> {
        parse("/t.conf", text)
            .unwrap()
            .into_iter()
            .map(|l| l.item)
            .collect()
    }

    #[test]
    fn parses_debian_lines() {
        let got = items(concat!(
            "# comment\n",
            "u sync       4:65534 - /bin                 /bin/sync\n",
            "u messagebus - \"System Message Bus\"\n",
            "g systemd-journal - -\n",
            "u polkitd - \"polkit\" /nonexistent\n",
            "u x 5:grp 'a b' - -\n",
            "m aziotid aziotks\n",
            "r - 500-900\n",
            "g owner /var/lib/x\n",
        ));
        assert_eq!(
            got[0],
            Item::User {
                name: "sync".into(),
                uid: IdSpec::Fixed(4),
                group: Some(GroupRef::Gid(65534)),
                gecos: None,
                home: Some("/bin".into()),
                shell: Some("/bin/sync".into()),
            }
        );
        assert_eq!(
            got[1],
            Item::User {
                name: "messagebus".into(),
                uid: IdSpec::Auto,
                group: None,
                gecos: Some("System Message Bus".into()),
                home: None,
                shell: None,
            }
        );
        assert_eq!(
            got[2],
            Item::Group {
                name: "systemd-journal".into(),
                gid: IdSpec::Auto
            }
        );
        assert!(
            matches!(&got[4], Item::User { group: Some(GroupRef::Name(g)), gecos: Some(c), .. } if g == "grp" && c == "a b")
        );
        assert_eq!(
            got[5],
            Item::Member {
                user: "aziotid".into(),
                group: "aziotks".into()
            }
        );
        assert_eq!(got[6], Item::Range { lo: 500, hi: 900 });
        assert_eq!(
            got[7],
            Item::Group {
                name: "owner".into(),
                gid: IdSpec::Path("/var/lib/x".into())
            }
        );
    }

    #[test]
    fn errors_name_file_and_line() {
        for bad in [
            "x foo\n",
            "u\n",
            "u a b\n",
            "u a \"open\n",
            "r - 9-1\n",
            "u %H\n",
            "m a\n",
            "u a 1: \n",
        ] {
            let e = parse("/usr/lib/sysusers.d/x.conf", &format!("\n{bad}")).unwrap_err();
            assert!(
                e.to_string()
                    .starts_with("/usr/lib/sysusers.d/x.conf line 2:"),
                "{bad:?}: {e}"
            );
        }
        // Garbage never panics.
        for junk in ["\\", "'", "u \u{0} \u{1}", "%", "u a -:", "g g /"] {
            let _ = parse("f", junk);
        }
    }

    #[test]
    fn load_honours_overrides_masks_and_order() {
        let mut t = Tree::new();
        t.mkdir_p("/usr/lib/sysusers.d").unwrap();
        t.mkdir_p("/etc/sysusers.d").unwrap();
        t.mkdir_p("/dev").unwrap();
        t.insert("/lib", Entry::symlink("usr/lib")).unwrap();
        t.insert("/usr/lib/sysusers.d/b.conf", Entry::file("g b -\n", 0o644))
            .unwrap();
        t.insert("/usr/lib/sysusers.d/a.conf", Entry::file("g a -\n", 0o644))
            .unwrap();
        t.insert("/usr/lib/sysusers.d/c.conf", Entry::file("g c -\n", 0o644))
            .unwrap();
        t.insert("/usr/lib/sysusers.d/n.txt", Entry::file("junk", 0o644))
            .unwrap();
        t.insert("/etc/sysusers.d/b.conf", Entry::file("g b2 -\n", 0o644))
            .unwrap();
        t.insert("/etc/sysusers.d/c.conf", Entry::symlink("/dev/null"))
            .unwrap();
        let got = load(&t).unwrap();
        let names: Vec<_> = got
            .iter()
            .map(|l| match &l.item {
                Item::Group { name, .. } => name.as_str(),
                _ => "?",
            })
            .collect();
        assert_eq!(names, ["a", "b2"]);
        assert_eq!(got[1].file, "/etc/sysusers.d/b.conf");
    }
}
