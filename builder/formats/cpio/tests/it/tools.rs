//! Checks archives with GNU cpio, gzip and zstd, which nobody here wrote.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use eflow_cpio::{read_newc, write_compressed, write_newc, Compression, CpioError};
use eflow_testkit::{damaged_copies, run_with_input};
use eflow_tree::{Entry, Kind, Tree};

fn sample() -> Tree {
    let mut t = Tree::new();
    t.mkdir_p("/bin").unwrap();
    t.mkdir_p("/lib/modules/6.1.0-1-cloud-amd64/kernel")
        .unwrap();
    t.mkdir_p("/dev").unwrap();
    t.insert(
        "/init",
        Entry::file(b"#!/bin/busybox sh\necho hi\n".to_vec(), 0o755).at(1_700_000_000),
    )
    .unwrap();
    t.insert("/bin/busybox", Entry::file(vec![0x7f; 10_001], 0o755))
        .unwrap();
    t.insert("/bin/sh", Entry::symlink("busybox")).unwrap();
    t.insert(
        "/bin/mount",
        Entry::new(
            Kind::HardLink {
                target: "/bin/busybox".into(),
            },
            0o755,
        ),
    )
    .unwrap();
    t.insert(
        "/bin/ash",
        Entry::new(
            Kind::HardLink {
                target: "/bin/busybox".into(),
            },
            0o755,
        ),
    )
    .unwrap();
    t.insert(
        "/dev/console",
        Entry::new(Kind::CharDevice { major: 5, minor: 1 }, 0o600),
    )
    .unwrap();
    t.insert(
        "/dev/sda",
        Entry::new(Kind::BlockDevice { major: 8, minor: 0 }, 0o660).owned(0, 6),
    )
    .unwrap();
    t.insert("/dev/fifo", Entry::new(Kind::Fifo, 0o644))
        .unwrap();
    t.insert("/empty", Entry::file(Vec::new(), 0o600).owned(1000, 1001))
        .unwrap();
    t.insert("/sticky", Entry::dir()).unwrap();
    t.get_mut("/sticky").unwrap().mode = 0o1777;
    t.insert(
        "/lib/modules/6.1.0-1-cloud-amd64/kernel/virtio_blk.ko",
        Entry::file(vec![1, 2, 3], 0o644),
    )
    .unwrap();
    t
}

fn archive(c: Compression) -> Vec<u8> {
    let mut out = Vec::new();
    write_compressed(&sample(), c, &mut out).unwrap();
    out
}

/// Runs a tool with `input` on stdin (in the C locale and UTC), in `dir` if given.
fn pipe(cmd: &str, args: &[&str], input: &[u8], dir: Option<&Path>) -> (bool, Vec<u8>, String) {
    let mut c = Command::new(cmd);
    c.args(args).env("LC_ALL", "C").env("TZ", "UTC");
    if let Some(d) = dir {
        c.current_dir(d);
    }
    let out = run_with_input(&mut c, input);
    (
        out.status.success(),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const NAMES: &[&str] = &[
    ".",
    "bin",
    "bin/ash",
    "bin/busybox",
    "bin/mount",
    "bin/sh",
    "dev",
    "dev/console",
    "dev/fifo",
    "dev/sda",
    "empty",
    "init",
    "lib",
    "lib/modules",
    "lib/modules/6.1.0-1-cloud-amd64",
    "lib/modules/6.1.0-1-cloud-amd64/kernel",
    "lib/modules/6.1.0-1-cloud-amd64/kernel/virtio_blk.ko",
    "sticky",
];

#[test]
fn cpio_t_lists_exactly_the_entries() {
    let (ok, out, err) = pipe(
        "cpio",
        &["-t", "--quiet"],
        &archive(Compression::None),
        None,
    );
    assert!(ok, "cpio -t: {err}");
    let names: Vec<&str> = std::str::from_utf8(&out).unwrap().lines().collect();
    assert_eq!(names, NAMES);
}

#[test]
fn cpio_tv_shows_modes_owners_and_devices() {
    let (ok, out, err) = pipe(
        "cpio",
        &["-tv", "--quiet", "--numeric-uid-gid"],
        &archive(Compression::None),
        None,
    );
    assert!(ok, "cpio -tv: {err}");
    let text = String::from_utf8(out).unwrap();
    let line = |name: &str| {
        text.lines()
            .find(|l| l.ends_with(&format!(" {name}")) || l.contains(&format!(" {name} -> ")))
            .unwrap_or_else(|| panic!("{name} not in:\n{text}"))
            .to_string()
    };
    assert!(
        line("init").starts_with("-rwxr-xr-x   1 0        0              26 Nov 14  2023 init"),
        "{}",
        line("init")
    );
    assert!(
        line("bin/busybox").starts_with("-rwxr-xr-x   3 0        0"),
        "{}",
        line("bin/busybox")
    );
    assert!(
        line("bin/sh").starts_with("lrwxrwxrwx"),
        "{}",
        line("bin/sh")
    );
    assert!(line("bin/sh").ends_with("bin/sh -> busybox"));
    assert!(
        line("dev/console").starts_with("crw-------"),
        "{}",
        line("dev/console")
    );
    assert!(
        line("dev/console").contains("5,   1"),
        "{}",
        line("dev/console")
    );
    assert!(
        line("dev/sda").starts_with("brw-rw----   1 0        6"),
        "{}",
        line("dev/sda")
    );
    assert!(
        line("dev/fifo").starts_with("prw-r--r--"),
        "{}",
        line("dev/fifo")
    );
    assert!(
        line("empty").starts_with("-rw-------   1 1000     1001"),
        "{}",
        line("empty")
    );
    assert!(
        line("sticky").starts_with("drwxrwxrwt   2"),
        "{}",
        line("sticky")
    );
    assert!(line("bin").starts_with("drwxr-xr-x   2"), "{}", line("bin"));
    assert!(
        line("lib/modules").starts_with("drwxr-xr-x   3"),
        "{}",
        line("lib/modules")
    );
}

#[test]
fn cpio_extracts_the_contents() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = pipe(
        "cpio",
        &["-idm", "--quiet", "--no-absolute-filenames"],
        &archive(Compression::None),
        Some(dir.path()),
    );
    assert!(ok, "cpio -idm: {err}");
    let d = dir.path();
    assert_eq!(
        std::fs::read(d.join("init")).unwrap(),
        b"#!/bin/busybox sh\necho hi\n"
    );
    assert_eq!(
        std::fs::read(d.join("bin/busybox")).unwrap(),
        vec![0x7f; 10_001]
    );
    assert_eq!(
        std::fs::read(d.join("bin/mount")).unwrap(),
        vec![0x7f; 10_001]
    );
    let ino = |p: &str| std::fs::metadata(d.join(p)).unwrap().ino();
    assert_eq!(ino("bin/busybox"), ino("bin/mount"));
    assert_eq!(ino("bin/busybox"), ino("bin/ash"));
    assert_eq!(
        std::fs::read_link(d.join("bin/sh"))
            .unwrap()
            .to_str()
            .unwrap(),
        "busybox"
    );
    let m = std::fs::metadata(d.join("init")).unwrap();
    assert_eq!(m.permissions().mode() & 0o7777, 0o755);
    assert_eq!(m.mtime(), 1_700_000_000);
    assert_eq!(
        std::fs::read(d.join("lib/modules/6.1.0-1-cloud-amd64/kernel/virtio_blk.ko")).unwrap(),
        [1, 2, 3]
    );
    assert!(std::fs::metadata(d.join("dev/fifo"))
        .unwrap()
        .file_type()
        .is_fifo());
}

#[test]
fn gzip_and_zstd_variants_decompress_and_list() {
    let plain = archive(Compression::None);
    for (c, tool) in [(Compression::Gzip, "gzip"), (Compression::Zstd, "zstd")] {
        let z = archive(c);
        assert_eq!(z, archive(c), "{tool} output is not deterministic");
        let (ok, out, err) = pipe(tool, &["-dc"], &z, None);
        assert!(ok, "{tool} -dc: {err}");
        assert_eq!(out, plain, "{tool} decompresses to a different archive");
        let (ok, out, err) = pipe("cpio", &["-t", "--quiet"], &out, None);
        assert!(ok, "{err}");
        assert_eq!(
            std::str::from_utf8(&out).unwrap().lines().count(),
            NAMES.len()
        );
    }
    // No mtime and no name in the gzip header.
    let gz = archive(Compression::Gzip);
    assert_eq!(&gz[..4], &[0x1f, 0x8b, 8, 0]);
    assert_eq!(&gz[4..8], &[0, 0, 0, 0]);
}

#[test]
fn same_tree_same_bytes() {
    assert_eq!(archive(Compression::None), archive(Compression::None));
}

#[test]
fn reader_round_trip() {
    let members = read_newc(&archive(Compression::None)[..], 1 << 20).unwrap();
    let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, NAMES);
    let get = |n: &str| members.iter().find(|m| m.name == n).unwrap();
    assert_eq!(get("bin/sh").data, b"busybox");
    assert_eq!(get("bin/sh").mode(), 0o120777);
    assert_eq!(get("bin/ash").data.len(), 0);
    assert_eq!(get("bin/mount").data.len(), 10_001);
    assert_eq!(get("bin/ash").header.ino, get("bin/mount").header.ino);
    assert_eq!(get("dev/sda").header.rdevmajor, 8);
    // Inode numbers are unique apart from hard links.
    let mut inos: Vec<u32> = members.iter().map(|m| m.header.ino).collect();
    inos.sort();
    inos.dedup();
    assert_eq!(inos.len(), NAMES.len() - 2);
}

#[test]
fn damaged_archives_are_errors_not_panics() {
    let good = archive(Compression::None);
    for len in 0..good.len() {
        if len % 7 == 0 || len < 300 {
            let r = read_newc(&good[..len], 1 << 20);
            assert!(r.is_err(), "truncated to {len} was accepted");
        }
    }
    for bad in damaged_copies(&good, 0x853c49e6748fea9b).take(2000) {
        let _ = read_newc(&bad[..], 1 << 20);
    }
    let e = read_newc(&b"070701zzzzzzzz"[..], 10).unwrap_err();
    assert!(matches!(e, CpioError::Truncated { .. }), "{e}");
    let mut huge = Vec::new();
    write_newc(&sample(), &mut huge).unwrap();
    assert!(read_newc(&huge[..], 100).is_err());
}
