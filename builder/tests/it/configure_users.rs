//! The users stage on hand-made trees: exact bytes of the four databases, ids, homes, errors,
//! and the databases checked by shadow's own pwck and grpck.

use eflow_builder::stages::configure::users::{configure, GroupSpec, UserSpec, UsersError};
use eflow_testkit::outcome;
use eflow_tree::{Entry, Tree};

use crate::trees::{file, put};
use std::process::Command;

const MTIME: i64 = 1_700_000_000; // day 19675

const PASSWD_MASTER: &str = "root:*:0:0:root:/root:/bin/bash
daemon:*:1:1:daemon:/usr/sbin:/usr/sbin/nologin
sync:*:4:65534:sync:/bin:/bin/sync
_apt:*:42:65534::/nonexistent:/usr/sbin/nologin
nobody:*:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
";

const GROUP_MASTER: &str = "root:*:0:
daemon:*:1:
adm:*:4:
shadow:*:42:
users:*:100:
nogroup:*:65534:
";

/// The four account databases of `t`, in the order passwd, shadow, group, gshadow.
fn databases(t: &Tree) -> [String; 4] {
    ["passwd", "shadow", "group", "gshadow"].map(|f| file(t, &format!("/etc/{f}")))
}

/// A Debian-like tree: base-passwd's masters (no /etc/passwd yet), sysusers.d files of
/// systemd, dbus and an aziot-like package, and /etc/skel.
fn debian_tree() -> Tree {
    let mut t = Tree::new();
    t.mkdir_p("/usr/lib").unwrap();
    t.insert("/lib", Entry::symlink("usr/lib")).unwrap();
    put(
        &mut t,
        "/usr/share/base-passwd/passwd.master",
        PASSWD_MASTER,
    );
    put(&mut t, "/usr/share/base-passwd/group.master", GROUP_MASTER);
    put(
        &mut t,
        "/usr/lib/sysusers.d/basic.conf",
        "# base\ng adm 4 -\nu root 0 - /root /bin/bash\nu sync 4:65534 - /bin /bin/sync\n",
    );
    put(
        &mut t,
        "/usr/lib/sysusers.d/systemd-journal.conf",
        "g systemd-journal - -\n",
    );
    put(
        &mut t,
        "/usr/lib/sysusers.d/systemd-network.conf",
        "u systemd-network - \"systemd Network Management\"\n",
    );
    put(
        &mut t,
        "/usr/lib/sysusers.d/dbus.conf",
        "u messagebus - \"System Message Bus\"\n",
    );
    put(
        &mut t,
        "/usr/lib/sysusers.d/aziot.conf",
        "u aziotks - \"aziot keyd\" /var/lib/aziot/keyd\nu aziotcs - - /var/lib/aziot/certd\nm aziotcs aziotks\n",
    );
    put(&mut t, "/etc/skel/.bashrc", "# bashrc\n");
    put(&mut t, "/etc/skel/.profile.dpkg-old", "old\n");
    t
}

fn recipe_groups() -> Vec<GroupSpec> {
    vec![GroupSpec {
        name: "docker".into(),
        system: true,
        ..Default::default()
    }]
}

fn recipe_users() -> Vec<UserSpec> {
    vec![
        UserSpec {
            name: "iotedge".into(),
            system: true,
            home: Some("/var/lib/aziot/edged".into()),
            groups: vec![
                "docker".into(),
                "systemd-journal".into(),
                "aziotcs".into(),
                "aziotks".into(),
            ],
            ..Default::default()
        },
        UserSpec {
            name: "edgeagentuser".into(),
            uid: Some(13622),
            ..Default::default()
        },
        UserSpec {
            name: "iotedge-user".into(),
            groups: vec!["docker".into()],
            ..Default::default()
        },
    ]
}

const EXPECTED_PASSWD: &str = "root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
sync:x:4:65534:sync:/bin:/bin/sync
_apt:x:42:65534::/nonexistent:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
systemd-network:x:993:993:systemd Network Management:/:/usr/sbin/nologin
messagebus:x:995:995:System Message Bus:/:/usr/sbin/nologin
iotedge:x:996:996::/var/lib/aziot/edged:/usr/sbin/nologin
aziotks:x:998:998:aziot keyd:/var/lib/aziot/keyd:/usr/sbin/nologin
aziotcs:x:999:999::/var/lib/aziot/certd:/usr/sbin/nologin
iotedge-user:x:1000:1000::/home/iotedge-user:/bin/bash
edgeagentuser:x:13622:13622::/home/edgeagentuser:/bin/bash
";

const EXPECTED_GROUP: &str = "root:x:0:
daemon:x:1:
adm:x:4:
shadow:x:42:
users:x:100:
nogroup:x:65534:
systemd-network:x:993:
systemd-journal:x:994:iotedge
messagebus:x:995:
iotedge:x:996:
docker:x:997:iotedge,iotedge-user
aziotks:x:998:aziotcs,iotedge
aziotcs:x:999:iotedge
iotedge-user:x:1000:
edgeagentuser:x:13622:
";

const EXPECTED_SHADOW: &str = "root:*:19675:0:99999:7:::
daemon:*:19675:0:99999:7:::
sync:*:19675:0:99999:7:::
_apt:*:19675:0:99999:7:::
nobody:*:19675:0:99999:7:::
systemd-network:!*:19675::::::
messagebus:!*:19675::::::
iotedge:!*:19675::::::
aziotks:!*:19675::::::
aziotcs:!*:19675::::::
iotedge-user:!*:19675::::::
edgeagentuser:!*:19675::::::
";

const EXPECTED_GSHADOW: &str = "root:*::
daemon:*::
adm:*::
shadow:*::
users:*::
nogroup:*::
systemd-network:!*::
systemd-journal:!*::iotedge
messagebus:!*::
iotedge:!*::
docker:!*::iotedge,iotedge-user
aziotks:!*::aziotcs,iotedge
aziotcs:!*::iotedge
iotedge-user:!*::
edgeagentuser:!*::
";

#[test]
fn debian_tree_gets_exact_databases() {
    let mut t = debian_tree();
    let out = configure(&mut t, &recipe_users(), &recipe_groups(), MTIME).unwrap();
    assert_eq!(
        databases(&t),
        [
            EXPECTED_PASSWD,
            EXPECTED_SHADOW,
            EXPECTED_GROUP,
            EXPECTED_GSHADOW
        ]
    );
    for (path, mode, gid) in [
        ("/etc/passwd", 0o644, 0),
        ("/etc/group", 0o644, 0),
        ("/etc/shadow", 0o640, 42),
        ("/etc/gshadow", 0o640, 42),
    ] {
        let e = t.get(path).unwrap();
        assert_eq!(
            (e.mode, e.uid, e.gid, e.mtime),
            (mode, 0, gid, MTIME),
            "{path}"
        );
    }
    assert_eq!(out.new_users["iotedge"], 996);
    assert_eq!(out.new_groups["docker"], 997);
    assert!(!out.new_users.contains_key("root"));
    // The ids handed to later steps are exactly those of the written files, base ones included.
    let ids = |path: &str, id_field: usize| -> Vec<(String, u32)> {
        file(&t, path)
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f[0].to_string(), f[id_field].parse().unwrap())
            })
            .collect()
    };
    let mut passwd = ids("/etc/passwd", 2);
    passwd.sort();
    let mut group = ids("/etc/group", 2);
    group.sort();
    assert_eq!(
        out.ids.users.clone().into_iter().collect::<Vec<_>>(),
        passwd
    );
    assert_eq!(
        out.ids.groups.clone().into_iter().collect::<Vec<_>>(),
        group
    );
    assert_eq!((out.ids.users["root"], out.ids.groups["shadow"]), (0, 42));

    // Homes: recipe users only, adduser's modes, skel copied for normal users.
    let h = t.get("/var/lib/aziot/edged").unwrap();
    assert_eq!((h.mode, h.uid, h.gid, h.mtime), (0o755, 996, 996, MTIME));
    let h = t.get("/home/iotedge-user").unwrap();
    assert_eq!((h.mode, h.uid, h.gid), (0o700, 1000, 1000));
    let b = t.get("/home/iotedge-user/.bashrc").unwrap();
    assert_eq!((b.mode, b.uid, b.gid, b.mtime), (0o644, 1000, 1000, MTIME));
    assert!(t.get("/home/iotedge-user/.profile.dpkg-old").is_none());
    assert!(t.get("/home/edgeagentuser/.bashrc").is_some());
    assert!(
        t.get("/var/lib/aziot/keyd").is_none(),
        "package homes are left to the package"
    );
}

#[test]
fn ids_do_not_depend_on_declaration_order() {
    let mut a = debian_tree();
    configure(&mut a, &recipe_users(), &recipe_groups(), MTIME).unwrap();
    let mut b = debian_tree();
    let mut users = recipe_users();
    users.reverse();
    configure(&mut b, &users, &recipe_groups(), MTIME).unwrap();
    for f in ["/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow"] {
        assert_eq!(file(&a, f), file(&b, f), "{f}");
    }
}

#[test]
fn existing_databases_are_kept_and_extended() {
    let mut t = Tree::new();
    put(
        &mut t,
        "/etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\nold:x:1000:1000::/home/old:/bin/bash\n",
    );
    put(
        &mut t,
        "/etc/shadow",
        "root:$6$abc:19000:0:99999:7:::\nold:!:19001::::::\n",
    );
    put(
        &mut t,
        "/etc/group",
        "root:x:0:\nold:x:1000:\nshadow:x:42:\n",
    );
    put(&mut t, "/etc/gshadow", "root:*::\nold:!:old:\n");
    let users = [UserSpec {
        name: "new".into(),
        groups: vec!["old".into()],
        ..Default::default()
    }];
    configure(&mut t, &users, &[], 86_400 * 20_000).unwrap();
    // The existing gshadow line keeps its password and admins; shadow had no line: grpconv's `*`.
    assert_eq!(
        databases(&t),
        [
            "root:x:0:0:root:/root:/bin/bash\nold:x:1000:1000::/home/old:/bin/bash\nnew:x:1001:1001::/home/new:/bin/bash\n",
            "root:$6$abc:19000:0:99999:7:::\nold:!:19001::::::\nnew:!*:20000::::::\n",
            "root:x:0:\nold:x:1000:new\nshadow:x:42:\nnew:x:1001:\n",
            "root:*::\nold:!:old:new\nshadow:*::\nnew:!*::\n",
        ]
    );
}

#[test]
fn sysusers_ranges_explicit_ids_paths_and_implicit_members() {
    let mut t = Tree::new();
    put(&mut t, "/etc/group", "root:x:0:\n");
    put(&mut t, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
    t.mkdir_p("/var/lib/owned").unwrap();
    t.get_mut("/var/lib/owned").unwrap().gid = 321;
    put(
        &mut t,
        "/usr/lib/sysusers.d/x.conf",
        "r - 500-510\nu fixed 600:grp\ng grp 700\nu pair 520:530\ng byfile /var/lib/owned\nm ghost club\nu auto\n",
    );
    configure(&mut t, &[], &[], 0).unwrap();
    assert_eq!(
        file(&t, "/etc/passwd"),
        "root:x:0:0:root:/root:/bin/bash\n\
         ghost:x:508:508::/:/usr/sbin/nologin\n\
         auto:x:510:510::/:/usr/sbin/nologin\n\
         pair:x:520:530::/:/usr/sbin/nologin\n\
         fixed:x:600:700::/:/usr/sbin/nologin\n"
    );
    assert_eq!(
        file(&t, "/etc/group"),
        "root:x:0:\nbyfile:x:321:\nghost:x:508:\nclub:x:509:ghost\nauto:x:510:\npair:x:530:\ngrp:x:700:\n"
    );
}

fn err(users: &[UserSpec], groups: &[GroupSpec]) -> String {
    let mut t = debian_tree();
    configure(&mut t, users, groups, MTIME)
        .unwrap_err()
        .to_string()
}

#[test]
fn errors_say_what_and_who() {
    let u = |name: &str, uid| UserSpec {
        name: name.into(),
        uid,
        ..Default::default()
    };
    let e = err(&[u("alice", Some(2000)), u("bob", Some(2000))], &[]);
    assert!(
        e.contains("uid 2000") && e.contains("alice") && e.contains("bob"),
        "{e}"
    );
    let e = err(&[u("clash", Some(42))], &[]);
    assert!(e.contains("_apt") && e.contains("clash"), "{e}");
    let e = err(
        &[UserSpec {
            name: "carol".into(),
            groups: vec!["nosuch".into()],
            ..Default::default()
        }],
        &[],
    );
    assert!(e.contains("\"carol\"") && e.contains("\"nosuch\""), "{e}");
    let e = err(
        &[],
        &[GroupSpec {
            name: "club".into(),
            members: vec!["nobody-here".into()],
            ..Default::default()
        }],
    );
    assert!(
        e.contains("\"club\"") && e.contains("\"nobody-here\""),
        "{e}"
    );
    let e = err(&[u("root", Some(5))], &[]);
    assert!(e.contains("uid is 0") && e.contains("5"), "{e}");
    for bad in [
        "Bad",
        "9lives",
        "a:b",
        "",
        "_normal",
        "x".repeat(33).as_str(),
    ] {
        let mut t = debian_tree();
        let r = configure(&mut t, &[u(bad, None)], &[], MTIME);
        assert!(
            matches!(r, Err(UsersError::Invalid { .. })),
            "{bad:?}: {r:?}"
        );
    }
    let e = err(
        &[UserSpec {
            name: "dave".into(),
            home: Some("relative".into()),
            ..Default::default()
        }],
        &[],
    );
    assert!(e.contains("home"), "{e}");
    let mut t = debian_tree();
    put(&mut t, "/etc/passwd", "root:x:0:0\n");
    let e = configure(&mut t, &[], &[], MTIME).unwrap_err().to_string();
    assert!(e.contains("/etc/passwd line 1"), "{e}");
}

/// shadow's own checkers (pwck, grpck) on the written files, chrooted into a copy of them.
#[test]
fn pwck_and_grpck_accept_the_databases() {
    let mut t = debian_tree();
    configure(&mut t, &recipe_users(), &recipe_groups(), MTIME).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("etc")).unwrap();
    for f in ["passwd", "group", "shadow", "gshadow"] {
        std::fs::write(
            dir.path().join("etc").join(f),
            file(&t, &format!("/etc/{f}")),
        )
        .unwrap();
    }
    // pwck without -q lists warnings (and exits 2 for the missing homes); with -q it only
    // reports errors and must succeed. grpck has no quiet mode.
    for (tool, args) in [
        ("pwck", &["-r"][..]),
        ("pwck", &["-r", "-q"]),
        ("grpck", &["-r"]),
    ] {
        let out = outcome(Command::new(tool).args(args).arg("-R").arg(dir.path()));
        let text = out.all();
        assert!(
            !text.contains("chroot"),
            "{tool} -R needs root (CAP_SYS_CHROOT): {text}"
        );
        // Homes and shells are not in the copy: those two warnings are expected, nothing else.
        let rest: Vec<&str> = text
            .lines()
            .filter(|l| !(l.contains("' does not exist") && l.starts_with("user '")))
            .filter(|l| !l.ends_with(": no changes"))
            .collect();
        let quiet_ok = args == ["-r"] && tool == "pwck" || out.success();
        assert!(
            rest.is_empty() && quiet_ok,
            "{tool} {args:?}: {:?}\n{text}",
            out.code
        );
    }
}

/// `members_from`: what a preinst's `for u in $(getent group sudo); do usermod -aG iotedge $u`
/// does, for every user of the image whichever recipe declares it; a group that does not exist
/// (Debian 12 has no `admin`) adds nobody, and a user kept out of `sudo` stays out.
#[test]
fn members_from_joins_every_member_of_the_named_groups() {
    let mut t = debian_tree();
    let groups = [
        GroupSpec {
            name: "sudo".into(),
            system: true,
            ..Default::default()
        },
        GroupSpec {
            name: "iotedge".into(),
            system: true,
            members_from: vec!["sudo".into(), "admin".into()],
            ..Default::default()
        },
    ];
    let user = |name: &str, groups: &[&str]| UserSpec {
        name: name.into(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        ..Default::default()
    };
    // An "OEM" user declared after the group, and one that is not in sudo.
    let users = [user("oem-admin", &["sudo"]), user("operator", &["adm"])];
    configure(&mut t, &users, &groups, MTIME).unwrap();
    let group = file(&t, "/etc/group");
    let line = group
        .lines()
        .find(|l| l.starts_with("iotedge:"))
        .unwrap_or_else(|| panic!("no iotedge group:\n{group}"));
    assert!(line.ends_with(":oem-admin"), "{line}");
    // Home directories: made unless create_home is false (`useradd -r` without -m).
    let mut t = debian_tree();
    let users = [UserSpec {
        name: "edgehubuser".into(),
        uid: Some(13623),
        system: true,
        home: Some("/home/edgehubuser".into()),
        create_home: Some(false),
        ..Default::default()
    }];
    configure(&mut t, &users, &[], MTIME).unwrap();
    assert!(t.get("/home/edgehubuser").is_none());
    assert!(file(&t, "/etc/passwd").contains("edgehubuser:x:13623:"));
}
