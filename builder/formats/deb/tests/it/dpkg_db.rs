//! The dpkg database written into the Tree, checked by dpkg itself (`--root` on the
//! materialized Tree): -l, --audit, -L, -S, --verify, and dpkg rewriting the status file
//! byte for byte the same.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use eflow_deb::testing::materialize;
use eflow_deb::{
    dpkg_database, merged_usr, read_control, unpack_into, DebPackage, DebSource, Installed, Owners,
};
use eflow_testkit::{ok, ok_stdout};
use eflow_tree::Tree;

/// Installs `debs` together, in order, on merged /usr as the build does (`replaces(pkg, other)`:
/// whether `pkg` may take over files of the package `other`), writes the dpkg database and
/// materializes the Tree into a new directory, for dpkg to read. Returns the package names
/// as dpkg knows them and the directory.
fn install(
    debs: &[PathBuf],
    replaces: &dyn Fn(&DebPackage, &str) -> bool,
) -> (Vec<String>, tempfile::TempDir) {
    let mut tree = Tree::new();
    merged_usr(&mut tree, "amd64", 1_700_000_000).unwrap();
    let source = DebSource::new();
    let mut owners = Owners::new();
    let mut done: Vec<(DebPackage, Installed)> = Vec::new();
    for deb in debs {
        let pkg = read_control(deb).unwrap();
        let stream = source.add(deb.clone());
        let policy = |_: &str, other: &str| replaces(&pkg, other);
        let inst = unpack_into(&mut tree, &pkg, &source, stream, &mut owners, &policy).unwrap();
        done.push((pkg, inst));
    }
    let refs: Vec<(&DebPackage, &Installed)> = done.iter().map(|(p, i)| (p, i)).collect();
    dpkg_database(&refs, &owners, &mut tree, 1_700_000_000).unwrap();
    let root = tempfile::tempdir().unwrap();
    materialize(&tree, root.path()).unwrap();
    (done.iter().map(|(p, _)| p.dpkg_name()).collect(), root)
}

/// Runs dpkg on the installed system at `root` (as a user, maintainer scripts run outside a
/// chroot) and returns what it prints.
fn dpkg_on(root: &Path, args: &[&str]) -> String {
    ok_stdout(
        Command::new("dpkg")
            .arg(format!("--root={}", root.display()))
            .args(["--force-not-root", "--force-script-chrootless"])
            .args(args)
            .env("LC_ALL", "C")
            .env("COLUMNS", "200"),
    )
}

fn package(
    dir: &Path,
    name: &str,
    control: &str,
    files: &[(&str, &[u8])],
    extra: &[(&str, &str)],
) -> std::path::PathBuf {
    let root = dir.join(format!("{name}-root"));
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    std::fs::write(root.join("DEBIAN/control"), control).unwrap();
    for (f, data) in files {
        let p = root.join(f.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, data).unwrap();
    }
    // md5sums as dh_md5sums makes them (conffiles excluded), by the host's md5sum.
    let conffiles: Vec<&str> = extra
        .iter()
        .filter(|(n, _)| *n == "conffiles")
        .flat_map(|(_, t)| t.lines())
        .collect();
    let mut names: Vec<&str> = files
        .iter()
        .map(|(f, _)| f.trim_start_matches('/'))
        .filter(|f| !conffiles.contains(&format!("/{f}").as_str()))
        .collect();
    names.sort();
    if !names.is_empty() {
        let sums = ok_stdout(Command::new("md5sum").args(&names).current_dir(&root));
        std::fs::write(root.join("DEBIAN/md5sums"), sums).unwrap();
    }
    for (n, text) in extra {
        let p = root.join("DEBIAN").join(n);
        std::fs::write(&p, text).unwrap();
        if ["postinst", "prerm", "postrm", "preinst"].contains(n) {
            ok(Command::new("chmod").arg("0755").arg(&p));
        }
    }
    let deb = dir.join(format!("{name}.deb"));
    dpkg_deb_build(&root, &deb, "xz");
    deb
}

#[test]
fn dpkg_reads_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let alpha = package(
        dir.path(),
        "alpha",
        "Package: alpha\nVersion: 1:2.0-1\nArchitecture: all\nEssential: yes\nMulti-Arch: foreign\nMaintainer: T <t@example.org>\nInstalled-Size: 12\nDepends: libbeta (>= 1)\nPriority: required\nSection: admin\nHomepage: https://example.org/alpha\nDescription: alpha package\n Longer text.\n .\n More.\n",
        &[("/etc/alpha.conf", b"a=1\n"), ("/usr/bin/alpha", b"#!/bin/sh\n"), ("/bin/alpha-old", b"old\n"), ("/usr/share/taken", b"alpha version\n")],
        &[("conffiles", "/etc/alpha.conf\n"), ("postinst", "#!/bin/sh\nexit 0\n"), ("triggers", "interest-noawait /usr/share/alpha-trig\ninterest alpha-explicit\nactivate-noawait ldconfig\n")],
    );
    let beta = package(
        dir.path(),
        "libbeta",
        "Package: libbeta\nSource: beta (1.0-1)\nVersion: 1.0-1+b1\nArchitecture: amd64\nMulti-Arch: same\nMaintainer: T <t@example.org>\nDescription: beta library\n",
        &[("/usr/lib/x86_64-linux-gnu/libbeta.so.1", b"\x7fELF")],
        &[],
    );
    let gamma = package(
        dir.path(),
        "gamma",
        "Package: gamma\nVersion: 3\nArchitecture: all\nMaintainer: T <t@example.org>\nReplaces: alpha (<< 3)\nDescription: gamma\n",
        &[("/usr/share/taken", b"gamma version\n")],
        &[],
    );
    let (_, root) = install(&[alpha, beta, gamma], &|pkg, other| {
        pkg.control.name() == "gamma" && other == "alpha"
    });
    let r = root.path().to_str().unwrap();
    let dpkg = |args: &[&str]| dpkg_on(root.path(), args);
    let list = dpkg(&["-l"]);
    for want in ["ii  alpha ", "ii  libbeta:amd64 ", "ii  gamma "] {
        assert!(list.contains(want), "dpkg -l lacks {want:?}:\n{list}");
    }
    assert_eq!(dpkg(&["--audit"]), "");
    let files = dpkg(&["-L", "alpha"]);
    assert!(files.starts_with("/.\n"), "{files}");
    for want in ["/etc/alpha.conf", "/usr/bin/alpha", "/bin/alpha-old"] {
        assert!(
            files.lines().any(|l| l == want),
            "dpkg -L alpha lacks {want}:\n{files}"
        );
    }
    assert!(
        !files.lines().any(|l| l == "/usr/share/taken"),
        "gamma took it over:\n{files}"
    );
    assert_eq!(
        dpkg(&["-S", "/usr/share/taken"]),
        "gamma: /usr/share/taken\n"
    );
    assert_eq!(
        dpkg(&["-S", "/usr/lib/x86_64-linux-gnu/libbeta.so.1"]),
        "libbeta:amd64: /usr/lib/x86_64-linux-gnu/libbeta.so.1\n"
    );
    // --verify compares every file with md5sums and conffiles with the Conffiles hashes.
    assert_eq!(dpkg(&["--verify", "alpha", "libbeta", "gamma"]), "");
    let conf = ok_stdout(
        Command::new("dpkg-query")
            .arg(format!("--admindir={r}/var/lib/dpkg"))
            .args(["-W", "-f=${Conffiles}", "alpha"]),
    );
    let md5 = ok_stdout(Command::new("md5sum").arg(root.path().join("etc/alpha.conf")));
    assert_eq!(conf.trim(), format!("/etc/alpha.conf {}", &md5[..32]));
    let file_triggers =
        std::fs::read_to_string(root.path().join("var/lib/dpkg/triggers/File")).unwrap();
    assert_eq!(file_triggers, "/usr/share/alpha-trig alpha/noawait\n");
    assert_eq!(
        std::fs::read_to_string(root.path().join("var/lib/dpkg/triggers/alpha-explicit")).unwrap(),
        "alpha\n"
    );

    // dpkg rewrites the status file as it parsed it: it must come out identical.
    let ours = std::fs::read_to_string(root.path().join("var/lib/dpkg/status")).unwrap();
    dpkg(&["--configure", "-a"]);
    let theirs = std::fs::read_to_string(root.path().join("var/lib/dpkg/status")).unwrap();
    assert_eq!(ours, theirs, "dpkg rewrote the status file differently");
}

/// Installs every .deb of $EFLOW_DEB_DIR together on merged /usr, writes the database and
/// lets dpkg audit and verify it (run with `cargo test -p eflow-deb --test it -- --ignored`).
#[test]
#[ignore]
fn every_deb_in_eflow_deb_dir_installs_together_and_verifies() {
    let debs = eflow_deb_dir_debs();
    // Replaces: the names listed (versions not checked here).
    let replaces = |pkg: &DebPackage, other: &str| {
        pkg.control
            .get("Replaces")
            .unwrap_or("")
            .split(',')
            .filter_map(|r| r.split_whitespace().next())
            .map(|n| n.split(':').next().unwrap_or(n))
            .any(|r| r == other.split(':').next().unwrap_or(other))
    };
    let (names, root) = install(&debs, &replaces);
    let dpkg = |args: &[&str]| dpkg_on(root.path(), args);
    assert_eq!(dpkg(&["--audit"]), "");
    let mut args = vec!["--verify"];
    args.extend(names.iter().map(String::as_str));
    assert_eq!(dpkg(&args), "");
    let list = dpkg(&["-l"]);
    assert_eq!(
        list.lines().filter(|l| l.starts_with("ii ")).count(),
        debs.len(),
        "{list}"
    );
    let ours = std::fs::read_to_string(root.path().join("var/lib/dpkg/status")).unwrap();
    dpkg(&["--configure", "-a"]);
    let theirs = std::fs::read_to_string(root.path().join("var/lib/dpkg/status")).unwrap();
    if ours != theirs {
        let diff: Vec<String> = ours
            .lines()
            .zip(theirs.lines())
            .filter(|(a, b)| a != b)
            .take(10)
            .map(|(a, b)| format!("ours:   {a}\ntheirs: {b}"))
            .collect();
        panic!(
            "dpkg rewrote the status file differently:\n{}",
            diff.join("\n")
        );
    }
}
