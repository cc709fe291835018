//! The four account databases as files: /etc/passwd, /etc/group, /etc/shadow, /etc/gshadow.
//!
//! One line type per file, each parsed from and formatted to exactly the colon-separated
//! layout of passwd(5), group(5), shadow(5) and gshadow(5). Unknown trailing fields of shadow
//! lines are kept verbatim so an existing file round-trips byte for byte.

/// Why an account file line could not be parsed.
#[derive(Debug, thiserror::Error)]
#[error(
    "{file} line {line}: {reason}; fix or remove this line in the package or recipe that ships it"
)]
pub struct ParseError {
    /// The file (a guest path such as /etc/passwd).
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// One line of /etc/passwd: `name:password:uid:gid:gecos:home:shell`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswdLine {
    pub name: String,
    /// `x` when the password lives in /etc/shadow; `*` in base-passwd's master file.
    pub password: String,
    pub uid: u32,
    pub gid: u32,
    pub gecos: String,
    pub home: String,
    pub shell: String,
}

/// One line of /etc/group: `name:password:gid:member,member`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupLine {
    pub name: String,
    pub password: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// One line of /etc/shadow: `name:password:lastchg:min:max:warn:inactive:expire:reserved`.
/// Only the name, password and last-change fields are interpreted; the rest is kept as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShadowLine {
    pub name: String,
    pub password: String,
    /// Days since 1970-01-01 of the last password change (empty = unknown).
    pub lastchg: String,
    /// The six fields after lastchg, as written (min, max, warn, inactive, expire, reserved).
    pub rest: [String; 6],
}

/// One line of /etc/gshadow: `name:password:admins:members`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GshadowLine {
    pub name: String,
    pub password: String,
    pub admins: Vec<String>,
    pub members: Vec<String>,
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|m| !m.is_empty())
        .map(str::to_string)
        .collect()
}

fn parse_id(s: &str, what: &str) -> Result<u32, String> {
    s.parse::<u32>()
        .map_err(|_| format!("{what} {s:?} is not a number from 0 to 4294967295"))
}

/// Parses the non-empty, non-comment lines of a file with `f`, numbering errors. Every line of
/// a file has the same `N` colon-separated fields, so the count is checked here, once.
fn parse_lines<const N: usize, T>(
    file: &str,
    text: &str,
    f: impl Fn([&str; N]) -> Result<T, String>,
) -> Result<Vec<T>, ParseError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(':').collect();
        let parsed = <[&str; N]>::try_from(fields.as_slice())
            .map_err(|_| {
                format!(
                    "expected {N} colon-separated fields, found {}",
                    fields.len()
                )
            })
            .and_then(&f);
        out.push(parsed.map_err(|reason| ParseError {
            file: file.to_string(),
            line: i + 1,
            reason,
        })?);
    }
    Ok(out)
}

impl PasswdLine {
    /// Parses a passwd file (or base-passwd's passwd.master).
    pub fn parse_file(file: &str, text: &str) -> Result<Vec<Self>, ParseError> {
        parse_lines(
            file,
            text,
            |[name, password, uid, gid, gecos, home, shell]| {
                Ok(PasswdLine {
                    name: name.to_string(),
                    password: password.to_string(),
                    uid: parse_id(uid, "uid")?,
                    gid: parse_id(gid, "gid")?,
                    gecos: gecos.to_string(),
                    home: home.to_string(),
                    shell: shell.to_string(),
                })
            },
        )
    }

    /// The line as written in the file, without the newline.
    pub fn format(&self) -> String {
        format!(
            "{}:{}:{}:{}:{}:{}:{}",
            self.name, self.password, self.uid, self.gid, self.gecos, self.home, self.shell
        )
    }
}

impl GroupLine {
    /// Parses a group file (or base-passwd's group.master).
    pub fn parse_file(file: &str, text: &str) -> Result<Vec<Self>, ParseError> {
        parse_lines(file, text, |[name, password, gid, members]| {
            Ok(GroupLine {
                name: name.to_string(),
                password: password.to_string(),
                gid: parse_id(gid, "gid")?,
                members: split_list(members),
            })
        })
    }

    /// The line as written in the file, without the newline.
    pub fn format(&self) -> String {
        format!(
            "{}:{}:{}:{}",
            self.name,
            self.password,
            self.gid,
            self.members.join(",")
        )
    }
}

impl ShadowLine {
    /// Parses a shadow file.
    pub fn parse_file(file: &str, text: &str) -> Result<Vec<Self>, ParseError> {
        parse_lines(file, text, |[name, password, lastchg, a, b, c, d, e, g]| {
            Ok(ShadowLine {
                name: name.to_string(),
                password: password.to_string(),
                lastchg: lastchg.to_string(),
                rest: [a, b, c, d, e, g].map(|s| s.to_string()),
            })
        })
    }

    /// The line as written in the file, without the newline.
    pub fn format(&self) -> String {
        format!(
            "{}:{}:{}:{}",
            self.name,
            self.password,
            self.lastchg,
            self.rest.join(":")
        )
    }
}

impl GshadowLine {
    /// Parses a gshadow file.
    pub fn parse_file(file: &str, text: &str) -> Result<Vec<Self>, ParseError> {
        parse_lines(file, text, |[name, password, admins, members]| {
            Ok(GshadowLine {
                name: name.to_string(),
                password: password.to_string(),
                admins: split_list(admins),
                members: split_list(members),
            })
        })
    }

    /// The line as written in the file, without the newline.
    pub fn format(&self) -> String {
        format!(
            "{}:{}:{}:{}",
            self.name,
            self.password,
            self.admins.join(","),
            self.members.join(",")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        let p =
            "root:x:0:0:root:/root:/bin/bash\n_apt:x:42:65534::/nonexistent:/usr/sbin/nologin\n";
        let lines = PasswdLine::parse_file("/etc/passwd", p).unwrap();
        let back: String = lines.iter().map(|l| l.format() + "\n").collect();
        assert_eq!(back, p);
        let g = "ssl-cert:x:103:postgres,www-data\nusers:x:100:\n";
        let lines = GroupLine::parse_file("/etc/group", g).unwrap();
        assert_eq!(lines[0].members, ["postgres", "www-data"]);
        let back: String = lines.iter().map(|l| l.format() + "\n").collect();
        assert_eq!(back, g);
        let s = "root:*:20228:0:99999:7:::\nmessagebus:!:20263::::::\n";
        let lines = ShadowLine::parse_file("/etc/shadow", s).unwrap();
        let back: String = lines.iter().map(|l| l.format() + "\n").collect();
        assert_eq!(back, s);
        let gs = "ssl-cert:!:adm:postgres\n";
        let lines = GshadowLine::parse_file("/etc/gshadow", gs).unwrap();
        assert_eq!(lines[0].format() + "\n", gs);
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let e = PasswdLine::parse_file("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nbad:x:y\n")
            .unwrap_err();
        assert_eq!(e.line, 2);
        assert_eq!(e.reason, "expected 7 colon-separated fields, found 3");
        assert!(e.to_string().contains("/etc/passwd line 2"));
        let e = GroupLine::parse_file("/etc/group", "g:x:-1:\n").unwrap_err();
        assert!(e.reason.contains("gid"));
        // Garbage never panics.
        for junk in ["", ":::::::", "\u{0}\u{1}:\n", "a:b:c:d:e:f:g:h:i:j"] {
            let _ = PasswdLine::parse_file("f", junk);
            let _ = GroupLine::parse_file("f", junk);
            let _ = ShadowLine::parse_file("f", junk);
            let _ = GshadowLine::parse_file("f", junk);
        }
    }
}
