//! The resolver checked against apt itself: each fixture archive is served to `apt-get` as local
//! flat repositories (one per suite), and `apt-get -s install` on an empty system, without
//! Recommends, must choose exactly the same packages and versions as [`resolve`].
//!
//! Needs apt-get (any Debian host); no network, no root-owned state is touched (all apt
//! directories point into a temporary directory).

use crate::fixture::pkg;
use eflow_apt::fetch::sha256_hex;
use eflow_apt::{resolve, Index, Request};
use eflow_testkit::ok_stdout;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// `name=version` chosen by apt for `requests`, with `suites` as flat repositories.
fn apt_choice(dir: &Path, suites: &[Vec<String>], requests: &[&str]) -> BTreeSet<String> {
    let mut sources = String::new();
    for (i, stanzas) in suites.iter().enumerate() {
        let repo = dir.join(format!("repo{i}"));
        std::fs::create_dir_all(&repo).unwrap();
        let packages = stanzas.concat();
        std::fs::write(repo.join("Packages"), &packages).unwrap();
        let release = format!(
            "Origin: fx\nLabel: fx\nSuite: fx{i}\nCodename: fx{i}\nDate: Tue, 20 May 2025 00:00:00 UTC\nArchitectures: amd64\nSHA256:\n {} {} Packages\n",
            sha256_hex(packages.as_bytes()),
            packages.len()
        );
        std::fs::write(repo.join("Release"), release).unwrap();
        sources.push_str(&format!("deb [trusted=yes] file:{} ./\n", repo.display()));
    }
    for d in [
        "lists/partial",
        "cache/archives/partial",
        "etc/parts",
        "etc/prefs",
    ] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    std::fs::write(dir.join("etc/sources.list"), sources).unwrap();
    std::fs::write(dir.join("status"), "").unwrap();
    let opts = [
        ("Dir::Etc::SourceList", "etc/sources.list"),
        ("Dir::Etc::SourceParts", "etc/parts"),
        ("Dir::Etc::Preferences", "etc/prefs/none"),
        ("Dir::Etc::PreferencesParts", "etc/prefs"),
        ("Dir::State::Lists", "lists"),
        ("Dir::Cache", "cache"),
        ("Dir::State::status", "status"),
    ];
    let apt = |args: &[&str]| {
        let mut c = Command::new("apt-get");
        for (k, v) in opts {
            c.arg(format!("-o{k}={}", dir.join(v).display()));
        }
        c.args([
            "-oDebug::NoLocking=1",
            "-oAPT::Architecture=amd64",
            "-oAPT::Architectures::=amd64",
            "-oAPT::Install-Recommends=false",
            "-oAPT::Install-Suggests=false",
            "-q",
        ])
        .args(args)
        .env("LC_ALL", "C");
        ok_stdout(&mut c)
    };
    apt(&["update"]);
    let mut args = vec!["-s", "install"];
    args.extend_from_slice(requests);
    apt(&args)
        .lines()
        .filter_map(|l| l.strip_prefix("Inst "))
        .filter_map(|l| {
            // "Inst name (version origin [arch])"
            let (name, rest) = l.split_once(" (")?;
            Some(format!("{name}={}", rest.split_whitespace().next()?))
        })
        .collect()
}

fn our_choice(suites: &[Vec<String>], requests: &[&str]) -> BTreeSet<String> {
    let mut idx = Index::new("amd64");
    for (i, stanzas) in suites.iter().enumerate() {
        idx.add_packages(&format!("fx{i}"), "main", "fixture", &stanzas.concat())
            .unwrap();
    }
    let reqs: Vec<Request> = requests
        .iter()
        .map(|p| Request {
            package: p.to_string(),
            recipe: "r".into(),
        })
        .collect();
    match resolve(&idx, &reqs) {
        Ok(r) => r
            .into_iter()
            .map(|p| format!("{}={}", p.name, p.version))
            .collect(),
        Err(e) => panic!("{e}"),
    }
}

fn check(suites: &[Vec<String>], request_sets: &[&[&str]]) {
    for requests in request_sets {
        let dir = tempfile::tempdir().unwrap();
        let apt = apt_choice(dir.path(), suites, requests);
        let ours = our_choice(suites, requests);
        assert_eq!(
            ours, apt,
            "requests {requests:?}: ours (left) vs apt (right)"
        );
    }
}

#[test]
fn alternatives_virtuals_priorities_and_cycles() {
    let archive = vec![vec![
        pkg(
            "app",
            "1",
            "Depends: mawk | gawk, mail-transport-agent, libx (>= 2)\nPre-Depends: base",
        ),
        pkg("base", "1", "Pre-Depends: awk\nDepends: app2"),
        pkg("app2", "1", "Depends: missing | present, base"),
        pkg("present", "1", ""),
        pkg("mawk", "1", "Provides: awk\nPriority: required"),
        pkg("gawk", "1", "Provides: awk\nPriority: optional"),
        pkg("original-awk", "1", "Provides: awk\nPriority: optional"),
        pkg(
            "postfix",
            "1",
            "Provides: mail-transport-agent\nPriority: optional",
        ),
        pkg(
            "exim4",
            "1",
            "Provides: mail-transport-agent\nPriority: optional",
        ),
        pkg("libx", "1", ""),
        pkg("libx", "2", ""),
        pkg("libx", "3", ""),
        pkg("tool", "1", "Depends: perl:any, python3:any"),
        pkg("perl", "5.36", "Multi-Arch: allowed"),
        pkg("python3", "3.11", "Multi-Arch: allowed"),
        pkg("v-user", "1", "Depends: abi (>= 2)"),
        pkg("abi-old", "1", "Provides: abi (= 1)"),
        pkg("abi-new", "1", "Provides: abi (= 2)"),
    ]];
    check(
        &archive,
        &[
            &["app"],
            &["app", "gawk"],
            &["app", "postfix"],
            &["app2"],
            &["tool"],
            &["v-user"],
            &["base", "original-awk"],
        ],
    );
}

#[test]
fn versions_across_suites() {
    let suites = vec![
        vec![
            pkg(
                "openssh-server",
                "1:9.2p1-2",
                "Depends: libssl3 (>= 3.0.13), libc6",
            ),
            pkg("libssl3", "3.0.11-1~deb12u2", ""),
            pkg("libc6", "2.36-9+deb12u4", ""),
            pkg("same", "1.0", ""),
        ],
        vec![
            pkg("libssl3", "3.0.15-1~deb12u1", ""),
            pkg("libc6", "2.36-9+deb12u10", ""),
            pkg("same", "1.0", ""),
        ],
    ];
    check(&suites, &[&["openssh-server"], &["openssh-server", "same"]]);
}
