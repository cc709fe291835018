//! Mirror selection from the command line, the environment and fixture apt sources.

use eflow_apt::mirrors::{mirrors, read_apt_sources, Error};
use std::collections::BTreeMap;
use std::path::Path;

fn suites(s: &[&str]) -> Vec<String> {
    s.iter().map(|x| x.to_string()).collect()
}

/// Bookworm's suites as an image names them.
const BOOKWORM: [&str; 3] = ["bookworm", "bookworm-updates", "bookworm-security"];

/// The mirrors of `s` from the apt sources under `root` alone (no --mirror, no environment).
fn from_apt(root: &Path, s: &[&str]) -> Result<BTreeMap<String, String>, Error> {
    mirrors(None, None, root, &suites(s))
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

const DEB822: &str = "\
Types: deb
# a snapshot comment
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example/debian
Suites: trixie

Types: deb
URIs: http://disabled.example/debian
Suites: trixie
Enabled: no
";

#[test]
fn deb822_sources() {
    let root = tempfile::tempdir().unwrap();
    write(root.path(), "etc/apt/sources.list.d/debian.sources", DEB822);
    // Not a .sources/.list name: ignored, as apt does.
    write(
        root.path(),
        "etc/apt/sources.list.d/other.sources.disabled",
        "Types: deb\nURIs: http://bad.example/x\nSuites: bookworm\n",
    );
    let m = from_apt(root.path(), &BOOKWORM).unwrap();
    assert_eq!(m["bookworm"], "http://mirror.example/debian");
    assert_eq!(m["bookworm-updates"], "http://mirror.example/debian");
    assert_eq!(
        m["bookworm-security"],
        "http://mirror.example/debian-security"
    );
    let (entries, _) = read_apt_sources(root.path()).unwrap();
    assert_eq!(
        entries[0].signed_by.as_deref(),
        Some("/usr/share/keyrings/debian-archive-keyring.gpg")
    );
    // deb-src and disabled entries don't count.
    let e = from_apt(root.path(), &["trixie"]).unwrap_err();
    assert!(matches!(e, Error::NoSource { .. }));
    let msg = e.to_string();
    assert!(
        msg.contains("\"trixie\"") && msg.contains("debian.sources"),
        "{msg}"
    );
    assert!(
        msg.contains("--mirror") && msg.contains("EFLOW_DEBIAN_MIRROR"),
        "{msg}"
    );
}

#[test]
fn one_line_sources() {
    let root = tempfile::tempdir().unwrap();
    write(
        root.path(),
        "etc/apt/sources.list",
        "# comment\n\ndeb-src http://src.example/debian bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://one.example/debian bookworm main contrib # trailing\ndeb http://one.example/debian-security/ bookworm-security main\n",
    );
    write(
        root.path(),
        "etc/apt/sources.list.d/extra.list",
        "deb http://two.example/debian bookworm-updates main\ndeb http://two.example/debian bookworm main\n",
    );
    let (entries, files) = read_apt_sources(root.path()).unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(entries.len(), 4);
    assert_eq!(entries[0].components, ["main", "contrib"]);
    assert_eq!(entries[0].line, 4);
    assert_eq!(entries[0].signed_by.as_deref(), Some("/k.gpg"));
    assert_eq!(entries[1].signed_by, None);
    let m = from_apt(root.path(), &BOOKWORM).unwrap();
    // sources.list comes first.
    assert_eq!(m["bookworm"], "http://one.example/debian");
    assert_eq!(m["bookworm-updates"], "http://two.example/debian");
    assert_eq!(m["bookworm-security"], "http://one.example/debian-security");
}

#[test]
fn cli_then_env_then_apt() {
    let root = tempfile::tempdir().unwrap();
    write(root.path(), "etc/apt/sources.list.d/debian.sources", DEB822);
    let all = suites(&["bookworm", "bookworm-security"]);
    let m = mirrors(
        Some("http://cli.example/debian/"),
        Some("http://env.example/debian"),
        root.path(),
        &all,
    )
    .unwrap();
    assert_eq!(m["bookworm"], "http://cli.example/debian");
    // Security always prefers the apt sources' entry.
    assert_eq!(
        m["bookworm-security"],
        "http://mirror.example/debian-security"
    );
    let m = mirrors(None, Some("http://env.example/debian"), root.path(), &all).unwrap();
    assert_eq!(m["bookworm"], "http://env.example/debian");
    // An empty environment variable counts as unset.
    let m = mirrors(None, Some(""), root.path(), &all).unwrap();
    assert_eq!(m["bookworm"], "http://mirror.example/debian");

    // Without apt sources, security is derived from the given mirror.
    let empty = tempfile::tempdir().unwrap();
    let m = mirrors(Some("http://cli.example/debian"), None, empty.path(), &all).unwrap();
    assert_eq!(m["bookworm-security"], "http://cli.example/debian-security");
    let e = mirrors(None, None, empty.path(), &all).unwrap_err();
    assert!(e.to_string().contains("no apt source files"), "{e}");
    // Only a non-security suite and a cli mirror: the apt sources aren't even read.
    write(empty.path(), "etc/apt/sources.list", "garbage line here\n");
    let m = mirrors(
        Some("http://cli.example/debian"),
        None,
        empty.path(),
        &suites(&["bookworm"]),
    )
    .unwrap();
    assert_eq!(m["bookworm"], "http://cli.example/debian");
    assert!(matches!(
        mirrors(Some("not a uri"), None, empty.path(), &all),
        Err(Error::BadMirror(_))
    ));
}

#[test]
fn malformed_sources_name_file_and_line() {
    let root = tempfile::tempdir().unwrap();
    write(
        root.path(),
        "etc/apt/sources.list",
        "deb http://x.example/debian bookworm main\nfoo http://y bookworm\n",
    );
    let e = read_apt_sources(root.path()).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("sources.list: line 2") && msg.contains("\"foo\""),
        "{msg}"
    );

    let root = tempfile::tempdir().unwrap();
    write(
        root.path(),
        "etc/apt/sources.list",
        "deb [arch=amd64 http://x bookworm\n",
    );
    assert!(read_apt_sources(root.path())
        .unwrap_err()
        .to_string()
        .contains("line 1"));

    let root = tempfile::tempdir().unwrap();
    write(
        root.path(),
        "etc/apt/sources.list",
        "deb http://x.example/debian\n",
    );
    assert!(read_apt_sources(root.path()).is_err());

    let root = tempfile::tempdir().unwrap();
    write(
        root.path(),
        "etc/apt/sources.list.d/a.sources",
        "Types: deb\nSuites: bookworm\n",
    );
    let msg = read_apt_sources(root.path()).unwrap_err().to_string();
    assert!(
        msg.contains("a.sources: line 1") && msg.contains("URIs"),
        "{msg}"
    );

    let root = tempfile::tempdir().unwrap();
    write(
        root.path(),
        "etc/apt/sources.list.d/a.sources",
        "Types: deb\n  bad continuation\n\n bad\n",
    );
    let msg = read_apt_sources(root.path()).unwrap_err().to_string();
    assert!(msg.contains("a.sources: line 4"), "{msg}");
}

/// The host's own apt sources parse, whatever they hold (the real-mirror test relies on them).
#[test]
fn host_apt_sources_parse() {
    read_apt_sources(Path::new("/")).unwrap();
}
