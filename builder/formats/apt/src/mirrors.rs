//! Which mirror serves each suite: from the command line, the environment, or the host's apt
//! sources. No mirror is ever built in.
//!
//! Order: the command-line mirror, else `EFLOW_DEBIAN_MIRROR`, else the host's apt sources.
//! Security suites (`*-security`) live in a separate archive on Debian (`.../debian` and
//! `.../debian-security`): they always take the apt sources' entry when there is one; when only
//! a command-line/environment mirror is known, `<mirror>-security` is used.
//!
//! Apt sources read (under `apt_root`, `/` on a normal host): `etc/apt/sources.list`, then
//! `etc/apt/sources.list.d/*.list` and `*.sources` in name order. The first enabled `deb`
//! entry naming a suite wins.

use crate::deb822;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Why the mirrors could not be determined.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A suite has no mirror anywhere.
    #[error("no Debian mirror for suite {suite:?}: pass --mirror URI, set EFLOW_DEBIAN_MIRROR, or add a 'deb' entry for it to the apt sources (looked in {looked})")]
    NoSource {
        /// The suite.
        suite: String,
        /// The apt source files read.
        looked: String,
    },
    /// An apt sources file could not be read.
    #[error("{path}: {message}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// An apt sources file is malformed.
    #[error("{path}: line {line}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The mirror given on the command line or in the environment is not a URI.
    #[error("mirror {0:?} is not a URI (expected e.g. http://host/debian)")]
    BadMirror(String),
}

/// One `deb` entry of the apt sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AptSource {
    /// Base URI, without a trailing slash.
    pub uri: String,
    /// Suites it serves.
    pub suites: Vec<String>,
    /// Components.
    pub components: Vec<String>,
    /// The `Signed-By` keyring (deb822) or `signed-by=` option (one-line), if given.
    pub signed_by: Option<String>,
    /// The file it came from.
    pub file: PathBuf,
    /// Line of the entry.
    pub line: usize,
}

/// Suite -> mirror base URI, for each of `suites`; see the module documentation for the order.
pub fn mirrors(
    cli: Option<&str>,
    env: Option<&str>,
    apt_root: &Path,
    suites: &[String],
) -> Result<BTreeMap<String, String>, Error> {
    let given = [cli, env]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|m| !m.is_empty())
        .map(|m| m.trim_end_matches('/').to_string());
    if let Some(m) = &given {
        if !m.contains("://") && !m.starts_with('/') {
            return Err(Error::BadMirror(m.clone()));
        }
    }
    let needs_apt = given.is_none() || suites.iter().any(|s| s.ends_with("-security"));
    let (apt, looked) = if needs_apt {
        read_apt_sources(apt_root)?
    } else {
        (Vec::new(), Vec::new())
    };
    let from_apt = |suite: &str| {
        apt.iter()
            .find(|s| s.suites.iter().any(|x| x == suite))
            .map(|s| s.uri.clone())
    };
    let mut out = BTreeMap::new();
    for suite in suites {
        let uri = match &given {
            Some(m) if suite.ends_with("-security") => {
                Some(from_apt(suite).unwrap_or_else(|| format!("{m}-security")))
            }
            Some(m) => Some(m.clone()),
            None => from_apt(suite),
        };
        let uri = uri.ok_or_else(|| Error::NoSource {
            suite: suite.clone(),
            looked: if looked.is_empty() {
                format!(
                    "{} (no apt source files)",
                    apt_root.join("etc/apt").display()
                )
            } else {
                looked
                    .iter()
                    .map(|p: &PathBuf| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        })?;
        out.insert(suite.clone(), uri);
    }
    Ok(out)
}

/// Reads every enabled `deb` entry of the apt sources under `apt_root`, in apt's file order;
/// also returns the files read.
pub fn read_apt_sources(apt_root: &Path) -> Result<(Vec<AptSource>, Vec<PathBuf>), Error> {
    let etc = apt_root.join("etc/apt");
    let mut files = Vec::new();
    let main = etc.join("sources.list");
    if main.is_file() {
        files.push(main);
    }
    let dir = etc.join("sources.list.d");
    if dir.is_dir() {
        let rd = std::fs::read_dir(&dir).map_err(|e| Error::Read {
            path: dir.clone(),
            message: e.to_string(),
        })?;
        let mut more: Vec<PathBuf> = rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "list" || x == "sources"))
            .collect();
        // Directory order is not stable: sort by name, as apt does.
        more.sort();
        files.extend(more);
    }
    let mut out = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).map_err(|e| Error::Read {
            path: f.clone(),
            message: e.to_string(),
        })?;
        if f.extension().is_some_and(|x| x == "sources") {
            out.extend(parse_sources(&text, f)?);
        } else {
            out.extend(parse_list(&text, f)?);
        }
    }
    Ok((out, files))
}

/// Parses a deb822 `.sources` file.
pub fn parse_sources(text: &str, file: &Path) -> Result<Vec<AptSource>, Error> {
    let stanzas = deb822::parse_all(text).map_err(|e| Error::Syntax {
        path: file.to_path_buf(),
        line: e.line,
        message: e.message,
    })?;
    let mut out = Vec::new();
    for st in stanzas {
        let words = |f: &str| -> Vec<String> {
            st.get(f)
                .unwrap_or("")
                .split_ascii_whitespace()
                .map(str::to_string)
                .collect()
        };
        if !words("Types").iter().any(|t| t == "deb") {
            continue;
        }
        if st
            .get("Enabled")
            .is_some_and(|v| v.eq_ignore_ascii_case("no"))
        {
            continue;
        }
        let uris = words("URIs");
        let Some(uri) = uris.first() else {
            return Err(Error::Syntax {
                path: file.to_path_buf(),
                line: st.line,
                message: "deb entry without URIs".into(),
            });
        };
        let suites = words("Suites");
        if suites.is_empty() {
            return Err(Error::Syntax {
                path: file.to_path_buf(),
                line: st.line,
                message: "deb entry without Suites".into(),
            });
        }
        out.push(AptSource {
            uri: uri.trim_end_matches('/').to_string(),
            suites,
            components: words("Components"),
            signed_by: st
                .get("Signed-By")
                .filter(|v| !v.is_empty())
                .map(str::to_string),
            file: file.to_path_buf(),
            line: st.line,
        });
    }
    Ok(out)
}

/// Parses a one-line-style `.list` file (`deb [opts] uri suite component...`).
pub fn parse_list(text: &str, file: &Path) -> Result<Vec<AptSource>, Error> {
    let mut out = Vec::new();
    for (k, raw) in text.lines().enumerate() {
        let line_no = k + 1;
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let syntax = |m: &str| Error::Syntax {
            path: file.to_path_buf(),
            line: line_no,
            message: m.to_string(),
        };
        let (kind, rest) = line
            .split_once(|c: char| c.is_ascii_whitespace())
            .ok_or_else(|| syntax("expected 'deb [options] uri suite [component...]'"))?;
        let rest = rest.trim_start();
        // Options in brackets may contain spaces: skip to the closing bracket.
        let (options, rest) = if let Some(r) = rest.strip_prefix('[') {
            let end = r
                .find(']')
                .ok_or_else(|| syntax("unclosed '[' in options"))?;
            (&r[..end], &r[end + 1..])
        } else {
            ("", rest)
        };
        let signed_by = options
            .split_ascii_whitespace()
            .find_map(|o| o.strip_prefix("signed-by="))
            .map(str::to_string);
        let mut words = rest.split_ascii_whitespace();
        let (Some(uri), Some(suite)) = (words.next(), words.next()) else {
            return Err(syntax("expected 'deb [options] uri suite [component...]'"));
        };
        match kind {
            "deb" => out.push(AptSource {
                uri: uri.trim_end_matches('/').to_string(),
                suites: vec![suite.to_string()],
                components: words.map(str::to_string).collect(),
                signed_by,
                file: file.to_path_buf(),
                line: line_no,
            }),
            "deb-src" => {}
            other => return Err(syntax(&format!("unknown entry type {other:?}"))),
        }
    }
    Ok(out)
}
