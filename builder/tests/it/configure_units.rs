//! Unit enablement on hand-made trees, compared with what the host's own
//! `systemctl --root=DIR` (Debian 12, systemd 252) makes of an extracted copy of the same tree.

use eflow_builder::stages::configure::presets::{apply_presets, PresetDefault};
use eflow_builder::stages::configure::units::{enable, mask, set_default_target, UnitsError};
use eflow_testkit::{extract_tree, ok};
use eflow_tree::{Entry, Kind, Tree};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::trees::put;

const MTIME: i64 = 1_700_000_000;

/// A usrmerged Debian 12 layout with a few units of every shape.
fn fixture() -> Tree {
    let mut t = Tree::new();
    for d in [
        "/usr/lib/systemd/system",
        "/usr/bin",
        "/usr/sbin",
        "/etc/systemd/system",
        "/dev",
    ] {
        t.mkdir_p(d).unwrap();
    }
    for (l, target) in [
        ("/lib", "usr/lib"),
        ("/bin", "usr/bin"),
        ("/sbin", "usr/sbin"),
    ] {
        t.insert(l, Entry::symlink(target)).unwrap();
    }
    let u = "/usr/lib/systemd/system";
    put(
        &mut t,
        &format!("{u}/multi-user.target"),
        "[Unit]\nDescription=Multi-User\n",
    );
    put(
        &mut t,
        &format!("{u}/foo.service"),
        "[Unit]\nDescription=foo\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\nRequiredBy=bar.target\nAlias=foo-alias.service\nAlso=foo.socket\n",
    );
    put(
        &mut t,
        &format!("{u}/foo.socket"),
        "[Socket]\nListenStream=/run/foo.sock\n[Install]\nWantedBy=sockets.target\n",
    );
    put(
        &mut t,
        &format!("{u}/getty@.service"),
        "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=getty.target\nDefaultInstance=tty1\n",
    );
    put(
        &mut t,
        &format!("{u}/tmpl@.service"),
        "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\nAlias=alias-tmpl@.service\n",
    );
    put(
        &mut t,
        &format!("{u}/spec-x.service"),
        "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=%j.target \\\n  multi-user.target\nAlias=%p-alt.service\n",
    );
    put(
        &mut t,
        &format!("{u}/static.service"),
        "[Service]\nExecStart=/bin/true\n",
    );
    put(
        &mut t,
        &format!("{u}/ssh.service"),
        "[Service]\nExecStart=/usr/sbin/sshd -D\n[Install]\nWantedBy=multi-user.target\nAlias=sshd.service\n",
    );
    // A vendor alias link, as Debian 13's openssh-server ships: enabling sshd enables ssh.
    t.insert(&format!("{u}/sshd.service"), Entry::symlink("ssh.service"))
        .unwrap();
    put(
        &mut t,
        "/etc/systemd/system/local.service",
        "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n",
    );
    t
}

/// A copy of the Tree in a new host directory, for systemctl to read.
fn extracted(tree: &Tree) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    extract_tree(tree, dir.path());
    dir
}

/// (link, target) of every symlink under /etc/systemd/system of a host directory.
fn host_links(root: &Path) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.join("etc/systemd/system")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_symlink() {
                let rel = e
                    .path()
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                let target = std::fs::read_link(e.path()).unwrap();
                out.insert((format!("/{rel}"), target.to_string_lossy().into_owned()));
            }
        }
    }
    out
}

fn tree_links(tree: &Tree) -> BTreeSet<(String, String)> {
    tree.iter()
        .filter(|(p, _)| p.starts_with("/etc/systemd/system/"))
        .filter_map(|(p, e)| match &e.kind {
            Kind::Symlink { target } => Some((p.to_string(), target.clone())),
            _ => None,
        })
        .collect()
}

fn systemctl(root: &Path, args: &[&str]) {
    ok(Command::new("systemctl")
        .arg(format!("--root={}", root.display()))
        .args(args));
}

const UNITS: [&str; 6] = [
    "foo.service",
    "getty@.service",
    "tmpl@x.service",
    "local.service",
    "spec-x.service",
    "sshd.service",
];

#[test]
fn enable_mask_and_default_match_systemctl() {
    let mut t = fixture();
    let dir = extracted(&t);

    let units: Vec<String> = UNITS.iter().map(|s| s.to_string()).collect();
    let made = enable(&mut t, &units, MTIME).unwrap();
    mask(&mut t, "bar.service", MTIME).unwrap();
    set_default_target(&mut t, "multi-user.target", MTIME).unwrap();

    let mut args = vec!["enable"];
    args.extend(UNITS);
    systemctl(dir.path(), &args);
    systemctl(dir.path(), &["mask", "bar.service"]);
    systemctl(dir.path(), &["set-default", "multi-user.target"]);

    let ours = tree_links(&t);
    assert_eq!(ours, host_links(dir.path()));
    // Spot checks of what Debian 12 writes.
    assert!(ours.contains(&(
        "/etc/systemd/system/multi-user.target.wants/foo.service".into(),
        "/lib/systemd/system/foo.service".into()
    )));
    assert!(ours.contains(&(
        "/etc/systemd/system/getty.target.wants/getty@tty1.service".into(),
        "/lib/systemd/system/getty@.service".into()
    )));
    assert!(ours.contains(&(
        "/etc/systemd/system/x.target.wants/spec-x.service".into(),
        "/lib/systemd/system/spec-x.service".into()
    )));
    // The vendor alias sshd.service enabled ssh.service (and wrote the alias in /etc too).
    assert!(ours.contains(&(
        "/etc/systemd/system/multi-user.target.wants/ssh.service".into(),
        "/lib/systemd/system/ssh.service".into()
    )));
    assert_eq!(
        made.len(),
        ours.len() - 2,
        "every link but mask and default is reported"
    );
    let e = t
        .get("/etc/systemd/system/multi-user.target.wants")
        .unwrap();
    assert_eq!((e.mode, e.mtime), (0o755, MTIME));

    // Enabling again changes nothing and reports nothing.
    assert!(enable(&mut t, &units, MTIME).unwrap().is_empty());
}

#[test]
fn upheld_by_makes_upholds_links() {
    let mut t = fixture();
    put(
        &mut t,
        "/usr/lib/systemd/system/up.service",
        "[Install]\nUpheldBy=multi-user.target\n",
    );
    let made = enable(&mut t, &["up.service".into()], MTIME).unwrap();
    assert_eq!(
        made,
        ["/etc/systemd/system/multi-user.target.upholds/up.service"]
    );
}

#[test]
fn errors_name_the_unit() {
    let mut t = fixture();
    let e = |t: &mut Tree, u: &str| enable(t, &[u.to_string()], MTIME).unwrap_err();
    let err = e(&mut t, "nope.service");
    assert!(
        matches!(&err, UnitsError::NotFound { unit, .. } if unit == "nope.service"),
        "{err}"
    );
    assert!(err.to_string().contains("/usr/lib/systemd/system"));
    assert!(matches!(
        e(&mut t, "static.service"),
        UnitsError::Static { .. }
    ));
    assert!(matches!(
        e(&mut t, "bad name.service"),
        UnitsError::InvalidName { .. }
    ));
    assert!(matches!(
        e(&mut t, "tmpl@.service"),
        UnitsError::TemplateWithoutInstance { .. }
    ));
    mask(&mut t, "foo.service", MTIME).unwrap();
    assert!(matches!(
        e(&mut t, "foo.service"),
        UnitsError::Masked { .. }
    ));
    let mut t = fixture();
    t.mkdir_p("/etc/systemd/system/multi-user.target.wants")
        .unwrap();
    put(
        &mut t,
        "/etc/systemd/system/multi-user.target.wants/foo.service",
        "x",
    );
    let err = e(&mut t, "foo.service");
    assert!(
        err.to_string()
            .contains("multi-user.target.wants/foo.service"),
        "{err}"
    );
    assert!(matches!(
        mask(&mut t, "local.service", MTIME),
        Err(UnitsError::Exists { .. })
    ));
    assert!(matches!(
        set_default_target(&mut t, "graphical.target", MTIME),
        Err(UnitsError::NotFound { .. })
    ));
    assert!(set_default_target(&mut t, "foo.service", MTIME).is_err());
}

fn preset_fixture() -> Tree {
    let mut t = fixture();
    put(
        &mut t,
        "/usr/lib/systemd/system-preset/90-systemd.preset",
        "# like Debian's\nenable getty@.service\ndisable tmpl@.service\nenable foo.*\ndisable ssh*\n",
    );
    put(
        &mut t,
        "/usr/lib/systemd/system-preset/80-first.preset",
        "disable foo.service\nenable tmpl@.service a b\n",
    );
    put(
        &mut t,
        "/etc/systemd/system-preset/90-systemd.preset",
        "enable getty@.service\ndisable tmpl@.service\nenable foo.*\n",
    );
    t
}

#[test]
fn presets_match_systemctl_preset_all() {
    // With systemd's own default (enable what nothing matches) the host's preset-all is the oracle.
    let mut t = preset_fixture();
    let dir = extracted(&t);
    apply_presets(&mut t, PresetDefault::Enable, MTIME).unwrap();
    systemctl(dir.path(), &["preset-all"]);
    assert_eq!(tree_links(&t), host_links(dir.path()));
}

#[test]
fn presets_with_disable_default_enable_only_listed_units() {
    let mut t = preset_fixture();
    let made: BTreeSet<String> = apply_presets(&mut t, PresetDefault::Disable, MTIME)
        .unwrap()
        .into_iter()
        .collect();
    let want: BTreeSet<String> = [
        "/etc/systemd/system/getty.target.wants/getty@tty1.service",
        "/etc/systemd/system/multi-user.target.wants/tmpl@a.service",
        "/etc/systemd/system/multi-user.target.wants/tmpl@b.service",
        "/etc/systemd/system/alias-tmpl@a.service",
        "/etc/systemd/system/alias-tmpl@b.service",
        "/etc/systemd/system/sockets.target.wants/foo.socket",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(made, want);
}
