//! The EFLOW image (recipes/images/eflow.toml) as built, read with tools nobody here wrote
//! (sfdisk, dd, e2fsck, debugfs) and checked against what the IoT Edge runtime's packaging
//! must produce (users, groups, memberships, directory owners and modes, enabled sockets) and
//! what the container engine's and the guest agent's packaging do.
//!
//! The runtime packages are the test stand-ins of tests/fake-aziot/make-repo.sh.

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

#[test]
fn eflow_image_has_the_runtimes_users_directories_and_units() {
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

    let users = passwd(&fs.cat("/etc/passwd"));
    let groups = groups(&fs.cat("/etc/group"));
    let uid = |n: &str| users.get(n).unwrap_or_else(|| panic!("no user {n}")).0;
    let gid = |n: &str| groups.get(n).unwrap_or_else(|| panic!("no group {n}")).0;
    let member = |u: &str, g: &str| {
        let (pgid, _) = (users[u].1, ());
        groups[g].1.contains(u) || pgid == gid(g)
    };

    // Container engine: the docker system group.
    assert!(gid("docker") < 1000, "docker is a system group");

    // aziot-identity-service: system users, nologin, homes under /var/lib/aziot.
    for (u, home) in [
        ("aziotks", "/var/lib/aziot/keyd"),
        ("aziottpm", "/var/lib/aziot/tpmd"),
        ("aziotcs", "/var/lib/aziot/certd"),
        ("aziotid", "/var/lib/aziot/identityd"),
        ("iotedge", "/var/lib/aziot/edged"),
    ] {
        let (id, _, h, shell) = &users[u];
        assert!(*id < 1000, "{u} is a system user (uid {id})");
        assert_eq!(h, home, "home of {u}");
        assert!(
            shell.ends_with("/nologin"),
            "{u} has a nologin shell, not {shell}"
        );
    }
    for (u, g) in [
        ("aziotcs", "aziotks"),
        ("aziotid", "aziotcs"),
        ("aziotid", "aziotks"),
        ("aziotid", "aziottpm"),
        ("iotedge", "docker"),
        ("iotedge", "systemd-journal"),
        ("iotedge", "aziotcs"),
        ("iotedge", "aziotks"),
        ("iotedge", "aziotid"),
    ] {
        assert!(member(u, g), "{u} is in group {g}: {:?}", groups.get(g));
    }
    assert!(!member("aziotks", "aziotcs"), "memberships are one-way");
    assert_eq!(uid("edgeagentuser"), 13622);
    assert_eq!(uid("edgehubuser"), 13623);

    // Directories: (path, mode, owner).
    for (path, mode, owner) in [
        ("/etc/aziot/keyd/config.d", 0o700, "aziotks"),
        ("/etc/aziot/certd/config.d", 0o700, "aziotcs"),
        ("/etc/aziot/identityd/config.d", 0o700, "aziotid"),
        ("/etc/aziot/tpmd/config.d", 0o700, "aziottpm"),
        ("/etc/aziot/edged/config.d", 0o700, "iotedge"),
        ("/var/lib/aziot/keyd", 0o700, "aziotks"),
        ("/var/lib/aziot/certd", 0o700, "aziotcs"),
        ("/var/lib/aziot/identityd", 0o700, "aziotid"),
        ("/var/lib/aziot/tpmd", 0o700, "aziottpm"),
        ("/var/lib/aziot/edged", 0o700, "iotedge"),
        ("/var/log/aziot/edged", 0o755, "iotedge"),
    ] {
        let (kind, m, u, g) = {
            let s = stat(&fs, path);
            (s.0, s.1, s.2, s.3)
        };
        assert_eq!(kind, "directory", "{path}");
        assert_eq!(m, mode, "mode of {path}: {m:o}");
        assert_eq!((u, g), (uid(owner), gid(owner)), "owner of {path}");
    }
    let tmpl = stat(&fs, "/etc/aziot/config.toml.template");
    assert_eq!(
        (tmpl.0.as_str(), tmpl.1, tmpl.2, tmpl.3),
        ("regular", 0o600, 0, 0)
    );

    // The packages' files: binaries, units, sockets.
    for path in [
        "/usr/libexec/aziot-identity-service/aziotd",
        "/usr/bin/aziotctl",
        "/usr/bin/iotedge",
        "/usr/libexec/aziot/aziot-edged",
        "/usr/sbin/dockerd",
        "/usr/bin/docker",
        "/usr/bin/containerd",
        "/usr/sbin/runc",
    ] {
        let (kind, mode, ..) = stat(&fs, path);
        assert_eq!(kind, "regular", "{path}");
        assert_eq!(mode & 0o111, 0o111, "{path} is executable");
    }
    for d in ["aziot-certd", "aziot-identityd", "aziot-keyd", "aziot-tpmd"] {
        let link = stat(&fs, &format!("/usr/libexec/aziot-identity-service/{d}")).4;
        assert_eq!(
            link.as_deref(),
            Some("aziotd"),
            "{d} is the multi-call aziotd"
        );
    }
    let keyd = fs.cat("/usr/lib/systemd/system/aziot-keyd.socket");
    for line in [
        "ListenStream=/run/aziot/keyd.sock",
        "SocketMode=0660",
        "SocketUser=aziotks",
    ] {
        assert!(keyd.contains(line), "aziot-keyd.socket has {line}:\n{keyd}");
    }

    let mgmt = fs.cat("/usr/lib/systemd/system/aziot-edged.mgmt.socket");
    for line in [
        "ListenStream=/var/run/iotedge/mgmt.sock",
        "SocketUser=iotedge",
        "Service=aziot-edged.service",
    ] {
        assert!(
            mgmt.contains(line),
            "aziot-edged.mgmt.socket has {line}:\n{mgmt}"
        );
    }

    // update-alternatives' links of iptables (dockerd runs `iptables`): the nft variants.
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

    // Enabled units: the symlinks `systemctl enable` makes, leading to an installed unit.
    let agent = stat(&fs, "/usr/libexec/eflow-guest-agent");
    assert_eq!((agent.0.as_str(), agent.1), ("regular", 0o755));
    for (wants, unit) in [
        ("sockets.target.wants", "aziot-keyd.socket"),
        ("sockets.target.wants", "aziot-certd.socket"),
        ("sockets.target.wants", "aziot-identityd.socket"),
        ("sockets.target.wants", "aziot-tpmd.socket"),
        ("sockets.target.wants", "aziot-edged.mgmt.socket"),
        ("sockets.target.wants", "aziot-edged.workload.socket"),
        ("sockets.target.wants", "docker.socket"),
        ("multi-user.target.wants", "docker.service"),
        ("multi-user.target.wants", "containerd.service"),
        ("multi-user.target.wants", "eflow-guest-agent.service"),
    ] {
        let path = format!("/etc/systemd/system/{wants}/{unit}");
        let (kind, _, _, _, target) = stat(&fs, &path);
        assert_eq!(kind, "symlink", "{path}");
        let target = target.unwrap_or_else(|| panic!("{path} has no fast link target"));
        assert!(target.ends_with(&format!("/{unit}")), "{path} -> {target}");
        let (kind, ..) = stat(&fs, &target);
        assert!(
            kind == "regular" || kind == "symlink",
            "{path} -> {target}: {kind}"
        );
    }
}
