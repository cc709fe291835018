//! The EFLOW image (recipes/images/eflow.toml) as built, read with tools nobody here wrote
//! (sfdisk, dd, e2fsck, debugfs) and checked against what the IoT Edge runtime's packaging
//! produces, row by row of the table written from the upstream files ([`crate::aziot_table`]),
//! and what the container engine's and the guest agent's packaging do.
//!
//! The runtime packages are the test stand-ins of tests/fake-aziot/make-repo.sh; the table
//! checks their files and units too, so the stand-ins cannot drift from the real packages.

use crate::aziot_table as table;
use crate::eflow_support::*;
use crate::util::*;
use eflow_testkit::{ok, require_tools, sha256sum};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// `name -> (uid, gid, home, shell)` from /etc/passwd.
fn passwd(text: &str) -> BTreeMap<String, (u32, u32, String, String)> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() == 7).then(|| {
                (
                    f[0].to_string(),
                    (
                        f[2].parse().unwrap(),
                        f[3].parse().unwrap(),
                        f[5].to_string(),
                        f[6].to_string(),
                    ),
                )
            })
        })
        .collect()
}

/// `name -> (gid, members)` from /etc/group.
fn groups(text: &str) -> BTreeMap<String, (u32, BTreeSet<String>)> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() == 4).then(|| {
                let members = f[3]
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(str::to_string)
                    .collect();
                (f[0].to_string(), (f[2].parse().unwrap(), members))
            })
        })
        .collect()
}

/// (type, mode, uid, gid, fast link target) of a path, from `debugfs stat`.
fn stat(fs: &GuestFs, path: &str) -> (String, u32, u32, u32, Option<String>) {
    let text = fs.request("stat", path);
    let word_after = |key: &str| -> Option<String> {
        let mut words = text.split_whitespace();
        words.find(|w| *w == key)?;
        words.next().map(str::to_string)
    };
    let kind = word_after("Type:").unwrap_or_else(|| panic!("{path} is not in the image:\n{text}"));
    let mode = u32::from_str_radix(&word_after("Mode:").unwrap(), 8).unwrap();
    let uid = word_after("User:").unwrap().parse().unwrap();
    let gid = word_after("Group:").unwrap().parse().unwrap();
    let link = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Fast link dest: "))
        .map(|s| s.trim_matches('"').to_string());
    (kind, mode, uid, gid, link)
}

/// The generator makes the very bytes eflow.lock pins, run after run (so the lockfile stays
/// valid), and signs an index that gpgv accepts with the keyring it exports.
#[test]
fn fake_runtime_repository_is_reproducible_and_signed() {
    require_tools(&["dpkg-deb", "xz", "gpg", "gpgv", "sha256sum"]);
    let dir = tempfile::tempdir().unwrap();
    ok(Command::new(root().join("tests/fake-aziot/make-repo.sh")).arg(dir.path()));
    let repo = dir.path().join("repo");
    for p in FAKE_DEBS {
        assert_eq!(
            sha256sum(&repo.join(p)),
            pinned_sha256(p),
            "{p}: tests/fake-aziot/make-repo.sh is not deterministic, or it changed and \
             `eflow-image lock --update recipes/images/eflow.toml` was not run"
        );
        // dpkg-deb reads it, and it is the package the recipes ask for.
        let out = ok(Command::new("dpkg-deb")
            .args(["-f"])
            .arg(repo.join(p))
            .arg("Package"));
        assert!(p.contains(String::from_utf8_lossy(&out.stdout).trim()));
    }
    ok(Command::new("gpgv")
        .arg("--keyring")
        .arg(dir.path().join("keyring.gpg"))
        .arg(repo.join("dists/bookworm/InRelease")));
}

/// `name -> (uid, gid, gecos)` from /etc/passwd.
fn gecos(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() == 7).then(|| (f[0].to_string(), f[4].to_string()))
        })
        .collect()
}

/// The `Key=value` lines of a unit file, blanks trimmed, comments and section headers left out.
fn settings(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.contains('=') && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// Every row of the upstream table, then what the rest of the image's packaging does.
#[test]
fn eflow_image_is_the_runtime_as_its_packages_install_it() {
    require_tools(&["sfdisk", "dd", "e2fsck", "debugfs"]);
    let dir = tempfile::tempdir().unwrap();
    build_eflow(dir.path(), "raw");
    let disk = dir.path().join("eflow.raw");
    assert_eq!(
        std::fs::metadata(&disk).unwrap().len(),
        8 << 30,
        "disk-size is 8GiB"
    );
    let fs = GuestFs::extract(&disk, dir.path());

    let passwd_text = fs.cat("/etc/passwd");
    let users = passwd(&passwd_text);
    let comments = gecos(&passwd_text);
    let groups = groups(&fs.cat("/etc/group"));
    let uid = |n: &str| users.get(n).unwrap_or_else(|| panic!("no user {n}")).0;
    let gid = |n: &str| groups.get(n).unwrap_or_else(|| panic!("no group {n}")).0;

    // Users: ids, primary group, home, shell, comment.
    for (name, fixed, primary, home, shell, comment) in table::USERS {
        let (u, g, h, sh) = users.get(name).unwrap_or_else(|| panic!("no user {name}"));
        match fixed {
            Some(id) => assert_eq!(*u, id, "uid of {name}"),
            None => assert!(*u < 1000, "{name} is a system user (uid {u})"),
        }
        assert_eq!(*g, gid(primary), "primary group of {name}");
        assert!(gid(primary) < 1000, "{primary} is a system group");
        assert_eq!(
            (h.as_str(), sh.as_str()),
            (home, shell),
            "home and shell of {name}"
        );
        assert_eq!(comments[name], comment, "comment of {name}");
    }
    for home in table::NO_HOME {
        let out = fs.request("stat", home);
        assert!(!out.contains("Type:"), "{home} is not created:\n{out}");
    }
    for (user, group) in table::MEMBERSHIPS {
        assert!(
            groups[group].1.contains(user),
            "{user} is in group {group}: {:?}",
            groups.get(group)
        );
    }
    assert!(
        !groups["aziotcs"].1.contains("aziotks"),
        "memberships are one-way"
    );
    for g in table::MEMBERS_JOIN_IOTEDGE {
        for m in groups.get(g).map(|g| g.1.clone()).unwrap_or_default() {
            assert!(groups["iotedge"].1.contains(&m), "{m} of {g} is in iotedge");
        }
    }

    // Paths: type, mode, owner (a symlink: its target).
    for (path, kind, mode, owner, group) in table::PATHS {
        let (k, m, u, g, link) = stat(&fs, path);
        assert_eq!(k, kind, "type of {path}");
        if kind == "symlink" {
            assert_eq!(link.as_deref(), Some(owner), "target of {path}");
            continue;
        }
        assert_eq!(m, mode, "mode of {path}: {m:o}");
        assert_eq!((u, g), (uid(owner), gid(group)), "owner of {path}");
    }

    // Units: every upstream setting is in the installed file.
    let units: Vec<(String, Vec<String>)> = table::identity_units()
        .into_iter()
        .chain(
            table::EDGE_UNITS
                .iter()
                .map(|(n, l)| (n.to_string(), l.iter().map(|s| s.to_string()).collect())),
        )
        .collect();
    for (unit, lines) in &units {
        let have = settings(&fs.cat(&format!("/usr/lib/systemd/system/{unit}")));
        for line in lines {
            assert!(have.contains(line), "{unit} has {line}: {have:?}");
        }
    }
    // Enablement: the links `systemctl enable` makes, to an installed unit; and what is not.
    let enabled = |wants: &str, unit: &str| {
        let path = format!("/etc/systemd/system/{wants}/{unit}");
        let out = fs.request("stat", &path);
        out.contains("Type: symlink")
            .then(|| stat(&fs, &path).4.unwrap_or_default())
    };
    for (wants, unit) in table::ENABLED.iter().chain(&[
        ("sockets.target.wants", "docker.socket"),
        ("multi-user.target.wants", "docker.service"),
        ("multi-user.target.wants", "containerd.service"),
        ("multi-user.target.wants", "eflow-guest-agent.service"),
        ("multi-user.target.wants", "eflow-iotedge-apply.service"),
    ]) {
        let target = enabled(wants, unit).unwrap_or_else(|| panic!("{unit} is not enabled"));
        assert!(
            target.ends_with(&format!("/{unit}")),
            "{wants}/{unit} -> {target}"
        );
        let (kind, ..) = stat(&fs, &target);
        assert_eq!(kind, "regular", "{wants}/{unit} -> {target}");
    }
    for (wants, unit) in table::NOT_ENABLED {
        assert_eq!(enabled(wants, unit), None, "{unit} is not enabled");
    }

    // Depends: installed, as dpkg records them.
    let status = fs.cat("/var/lib/dpkg/status");
    let installed: BTreeSet<&str> = status
        .lines()
        .filter_map(|l| l.strip_prefix("Package: "))
        .collect();
    for (pkg, deps) in table::DEPENDS {
        assert!(installed.contains(pkg), "{pkg} is installed");
        for d in deps {
            assert!(installed.contains(d), "{pkg} depends on {d}: installed");
        }
    }

    // The TPM devices for aziottpm; tpm-udev's account.
    let rule = fs.cat("/etc/udev/rules.d/tpmaccess.rules");
    assert!(
        rule.contains("KERNEL==\"tpmrm0\", SUBSYSTEM==\"tpmrm\", OWNER=\"aziottpm\""),
        "{rule}"
    );
    assert!(uid("tss") < 1000 && gid("tss") < 1000);

    // Container engine: the docker system group; the binaries.
    assert!(gid("docker") < 1000, "docker is a system group");
    for path in [
        "/usr/sbin/dockerd",
        "/usr/bin/docker",
        "/usr/bin/containerd",
        "/usr/sbin/runc",
    ] {
        let (kind, mode, ..) = stat(&fs, path);
        assert_eq!(kind, "regular", "{path}");
        assert_eq!(mode & 0o111, 0o111, "{path} is executable");
    }
    // update-alternatives' links of iptables (dockerd runs `iptables`): the nft variants
    // selected, and the admin file update-alternatives --display reads, both choices in it.
    for tool in [
        "iptables",
        "ip6tables",
        "iptables-save",
        "ip6tables-restore",
    ] {
        let link = stat(&fs, &format!("/usr/sbin/{tool}")).4;
        assert_eq!(link, Some(format!("/etc/alternatives/{tool}")));
        let alt = stat(&fs, &format!("/etc/alternatives/{tool}")).4;
        let want = format!("/usr/sbin/{}", tool.replacen("tables", "tables-nft", 1));
        assert_eq!(alt.as_deref(), Some(want.as_str()));
        assert_eq!(stat(&fs, &want).4.as_deref(), Some("xtables-nft-multi"));
    }
    let admin = fs.cat("/var/lib/dpkg/alternatives/iptables");
    assert!(admin.starts_with("auto\n/usr/sbin/iptables\n"), "{admin}");
    for choice in [
        "/usr/sbin/iptables-legacy\n10\n",
        "/usr/sbin/iptables-nft\n20\n",
    ] {
        assert!(admin.contains(choice), "{admin}");
    }

    // The guest never waits for the network at boot.
    let (kind, .., target) = stat(
        &fs,
        "/etc/systemd/system/systemd-networkd-wait-online.service",
    );
    assert_eq!(
        (kind.as_str(), target.as_deref()),
        ("symlink", Some("/dev/null"))
    );

    let agent = stat(&fs, "/usr/libexec/eflow-guest-agent");
    assert_eq!((agent.0.as_str(), agent.1), ("regular", 0o755));
}
