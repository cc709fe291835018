//! Every path of a varied Tree comes back from the image, as `debugfs` (e2fsprogs) reads it,
//! with its type, mode, owner, times, link count, size, contents, link target, device
//! numbers and extended attributes.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::*;
use eflow_tree::{Entry, Kind, Tree};

/// Deterministic pseudo-random bytes.
fn noise(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn varied_tree() -> Tree {
    let mut t = Tree::new();
    t.get_mut("/").unwrap().mtime = 1_650_000_000;
    t.mkdir_p("/usr/lib/deep/er/still").unwrap();
    t.insert("/home", Entry::dir().owned(1000, 1000).at(1_000_000_000))
        .unwrap();
    let mut priv_dir = Entry::dir().owned(0, 0).at(5);
    priv_dir.mode = 0o1777;
    t.insert("/tmp", priv_dir).unwrap();
    for (i, size) in [0usize, 1, 59, 60, 4095, 4096, 4097, 65536, 1 << 20, 3 << 20]
        .iter()
        .enumerate()
    {
        let e = Entry::file(noise(*size, i as u32), 0o640)
            .owned(100_000 + i as u32, 70_000)
            .at(1_600_000_000 + i as i64);
        t.insert(&format!("/usr/lib/f{i}"), e).unwrap();
    }
    let mut suid = Entry::file(b"#!/bin/sh\n".to_vec(), 0o4755);
    suid.mtime = -86400; // before 1970
    t.insert("/usr/lib/suid", suid).unwrap();
    t.insert(
        "/usr/lib/future",
        Entry::file(b"x".to_vec(), 0o644).at(4_000_000_000),
    )
    .unwrap();
    t.insert("/usr/lib/fast", Entry::symlink("f1")).unwrap();
    t.insert(
        "/usr/lib/slow",
        Entry::symlink(format!("/{}", "s".repeat(200))),
    )
    .unwrap();
    t.insert("/usr/lib/edge59", Entry::symlink("e".repeat(59)))
        .unwrap();
    t.insert("/usr/lib/edge60", Entry::symlink("e".repeat(60)))
        .unwrap();
    let long = "n".repeat(255);
    t.insert(
        &format!("/usr/lib/{long}"),
        Entry::file(b"long name".to_vec(), 0o600),
    )
    .unwrap();
    t.insert(
        "/home/hardlink",
        Entry::new(
            Kind::HardLink {
                target: "/usr/lib/f3".into(),
            },
            0o640,
        ),
    )
    .unwrap();
    t.insert(
        "/usr/lib/deep/er/still/hl2",
        Entry::new(
            Kind::HardLink {
                target: "/usr/lib/f3".into(),
            },
            0o640,
        ),
    )
    .unwrap();
    add_device_nodes(&mut t, 300);
    let mut cap = Entry::file(noise(5000, 99), 0o755);
    let capv: Vec<u8> = vec![
        0, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    cap.xattrs.insert("security.capability".into(), capv);
    t.insert("/usr/lib/ping", cap).unwrap();
    let mut many = Entry::file(b"xattrs".to_vec(), 0o644);
    many.xattrs.insert("user.comment".into(), noise(700, 5));
    many.xattrs
        .insert("trusted.overlay.opaque".into(), b"y".to_vec());
    t.insert("/usr/lib/many", many).unwrap();
    // A POSIX ACL in the VFS xattr format (stored in ext4's own format on disk; debugfs
    // converts it back).
    let mut acl = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in [
        (1u16, 7u16, u32::MAX),
        (2, 5, 1000),
        (4, 5, u32::MAX),
        (0x10, 7, u32::MAX),
        (0x20, 0, u32::MAX),
    ] {
        acl.extend_from_slice(&tag.to_le_bytes());
        acl.extend_from_slice(&perm.to_le_bytes());
        acl.extend_from_slice(&id.to_le_bytes());
    }
    let mut with_acl = Entry::dir();
    with_acl
        .xattrs
        .insert("system.posix_acl_access".into(), acl.clone());
    with_acl
        .xattrs
        .insert("system.posix_acl_default".into(), acl);
    t.insert("/srv", with_acl).unwrap();
    t
}

/// ACL entries whose tag has no id (owner, group, mask, other) carry an ignored id: the
/// kernel writes -1, debugfs 0. Zero them so values compare by meaning.
fn acl_ids(name: &str, v: &[u8]) -> Vec<u8> {
    let mut v = v.to_vec();
    if name.starts_with("system.posix_acl_") && v.len() >= 4 {
        for e in v[4..].chunks_mut(8) {
            if e.len() == 8 && matches!(u16::from_le_bytes([e[0], e[1]]), 1 | 4 | 0x10 | 0x20) {
                e[4..8].fill(0);
            }
        }
    }
    v
}

/// Parsed fields of `debugfs stat`.
#[derive(Debug, Default)]
struct Stat {
    kind: String,
    mode: u32,
    uid: u32,
    gid: u32,
    size: u64,
    links: u32,
    mtime: i64,
    atime: i64,
    ctime: i64,
    crtime: i64,
    fast_link: Option<String>,
    dev: Option<(u32, u32)>,
}

fn time_field(line: &str) -> i64 {
    // " mtime: 0x5f5e1000:00000000 -- ..."
    let v = line.split_whitespace().nth(1).unwrap();
    let (lo, extra) = v.trim_start_matches("0x").split_once(':').unwrap();
    let lo = u32::from_str_radix(lo, 16).unwrap() as i32 as i64;
    let extra = u32::from_str_radix(extra, 16).unwrap();
    lo + (((extra & 3) as i64) << 32)
}

fn parse_stats(out: &str) -> BTreeMap<String, Stat> {
    let mut map = BTreeMap::new();
    let mut cur: Option<(String, Stat)> = None;
    for line in out.lines() {
        if let Some(p) = line.strip_prefix("debugfs: stat ") {
            if let Some((k, v)) = cur.take() {
                map.insert(k, v);
            }
            cur = Some((p.trim_matches('"').to_string(), Stat::default()));
            continue;
        }
        let Some((_, s)) = cur.as_mut() else { continue };
        let w: Vec<&str> = line.split_whitespace().collect();
        if line.starts_with("Inode:") {
            s.kind = w[3].to_string();
            let m = w.iter().position(|x| *x == "Mode:").unwrap();
            s.mode = u32::from_str_radix(w[m + 1], 8).unwrap();
        } else if line.starts_with("User:") {
            s.uid = w[1].parse().unwrap();
            s.gid = w[3].parse().unwrap();
            s.size = w[7].parse().unwrap();
        } else if line.starts_with("Links:") {
            s.links = w[1].parse().unwrap();
        } else if line.trim_start().starts_with("mtime:") {
            s.mtime = time_field(line.trim_start());
        } else if line.trim_start().starts_with("atime:") {
            s.atime = time_field(line.trim_start());
        } else if line.trim_start().starts_with("ctime:") {
            s.ctime = time_field(line.trim_start());
        } else if line.trim_start().starts_with("crtime:") {
            s.crtime = time_field(line.trim_start());
        } else if let Some(d) = line.strip_prefix("Fast link dest: ") {
            s.fast_link = Some(d.trim_matches('"').to_string());
        } else if let Some(d) = line
            .strip_prefix("(New-style) ")
            .unwrap_or(line)
            .strip_prefix("Device major/minor number: ")
        {
            let d = d.split_whitespace().next().unwrap();
            let (ma, mi) = d.split_once(':').unwrap();
            s.dev = Some((ma.parse().unwrap(), mi.parse().unwrap()));
        }
    }
    if let Some((k, v)) = cur.take() {
        map.insert(k, v);
    }
    map
}

fn run_debugfs_script(img: &Path, cmds: &[String]) -> String {
    let script = img.with_extension("cmds");
    std::fs::write(&script, cmds.join("\n") + "\n").unwrap();
    let (code, out) = run(
        "debugfs",
        &["-f", script.to_str().unwrap(), img.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{out}");
    out
}

#[test]
fn debugfs_sees_every_entry_as_written() {
    let tree = varied_tree();
    let dir = tempfile::tempdir().unwrap();
    let img = write_image(&tree, &opts(128 << 20), dir.path(), "varied.img");
    if let Ok(keep) = std::env::var("EXT4_KEEP_IMAGE") {
        std::fs::copy(&img, keep).unwrap();
    }
    assert_fsck_clean(&img);

    let cmds: Vec<String> = tree.iter().map(|(p, _)| format!("stat \"{p}\"")).collect();
    let stats = parse_stats(&run_debugfs_script(&img, &cmds));
    assert_eq!(stats.len(), tree.len());

    let mut nlinks: BTreeMap<String, u32> = BTreeMap::new();
    for (p, e) in tree.iter() {
        if let Kind::HardLink { target } = &e.kind {
            *nlinks.entry(target.clone()).or_insert(1) += 1;
            let _ = p;
        }
    }
    for (path, e) in tree.iter() {
        let s = &stats[path];
        let (e, path) = match &e.kind {
            Kind::HardLink { target } => (tree.get(target).unwrap(), target.as_str()),
            _ => (e, path),
        };
        let want_kind = match &e.kind {
            Kind::File { .. } => "regular",
            Kind::Dir => "directory",
            Kind::Symlink { .. } => "symlink",
            Kind::CharDevice { .. } => "character",
            Kind::BlockDevice { .. } => "block",
            Kind::Fifo => "FIFO",
            Kind::Socket => "socket",
            Kind::HardLink { .. } => unreachable!(),
        };
        assert_eq!(s.kind, want_kind, "{path}");
        assert_eq!(s.mode, e.mode, "{path} mode");
        assert_eq!((s.uid, s.gid), (e.uid, e.gid), "{path} owner");
        let mtime = if path == "/lost+found" {
            1_700_000_000
        } else {
            e.mtime
        };
        assert_eq!(s.mtime, mtime, "{path} mtime");
        assert_eq!(
            (s.atime, s.ctime, s.crtime),
            (mtime, mtime, mtime),
            "{path} times"
        );
        match &e.kind {
            Kind::File { size, .. } => {
                assert_eq!(s.size, *size, "{path}");
                assert_eq!(
                    s.links,
                    nlinks.get(path).copied().unwrap_or(1),
                    "{path} links"
                );
            }
            Kind::Symlink { target } => {
                assert_eq!(s.size, target.len() as u64);
                if target.len() < 60 {
                    assert_eq!(s.fast_link.as_deref(), Some(target.as_str()), "{path}");
                } else {
                    assert!(s.fast_link.is_none(), "{path} should be a slow symlink");
                }
            }
            Kind::Dir => {
                let subdirs = tree.children(path).filter(|(_, c)| c.is_dir()).count() as u32;
                let extra = u32::from(path == "/"); // lost+found
                assert_eq!(s.links, 2 + subdirs + extra, "{path} links");
            }
            Kind::CharDevice { major, minor } | Kind::BlockDevice { major, minor } => {
                assert_eq!(s.dev, Some((*major, *minor)), "{path}");
            }
            _ => {}
        }
    }

    // Contents and link targets through rdump.
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let o = run_debugfs_script(&img, &[format!("rdump / {}", out.display())]);
    assert!(!o.contains("rror"), "{o}");
    for (path, e) in tree.iter() {
        let host = out.join(path.trim_start_matches('/'));
        match &e.kind {
            Kind::File { content, .. } => {
                let mut want = Vec::new();
                std::io::Read::read_to_end(&mut content.open().unwrap(), &mut want).unwrap();
                assert_eq!(std::fs::read(&host).unwrap(), want, "{path} contents");
            }
            Kind::HardLink { target } => {
                let Kind::File { content, .. } = &tree.get(target).unwrap().kind else {
                    panic!()
                };
                let mut want = Vec::new();
                std::io::Read::read_to_end(&mut content.open().unwrap(), &mut want).unwrap();
                assert_eq!(std::fs::read(&host).unwrap(), want, "{path} contents");
            }
            Kind::Symlink { target } => {
                assert_eq!(std::fs::read_link(&host).unwrap().to_str().unwrap(), target);
            }
            _ => {}
        }
    }

    // Extended attributes, byte for byte.
    for (path, e) in tree.iter() {
        for (name, value) in &e.xattrs {
            let f = dir.path().join("xattr.bin");
            let o = run_debugfs_script(
                &img,
                &[format!("ea_get -f {} \"{path}\" {name}", f.display())],
            );
            let got = std::fs::read(&f).unwrap_or_else(|_| panic!("{o}"));
            assert_eq!(acl_ids(name, &got), acl_ids(name, value), "{path} {name}");
        }
    }
}
