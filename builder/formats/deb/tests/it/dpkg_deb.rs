//! Unpacking compared with dpkg-deb -x and GNU tar -tv on packages built by dpkg-deb itself
//! (every compression), on hand-written packages with owners and device nodes, and on the
//! packages of a directory given by EFLOW_DEB_DIR (ignored test).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::*;
use eflow_deb::testing::{compare_with_dpkg_deb, compare_with_tar_listing};
use eflow_testkit::ok;

fn set_mode(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A package tree exercising what data.tar can hold.
fn package_root(root: &Path) {
    let d = |p: &str| {
        let q = root.join(p);
        std::fs::create_dir_all(&q).unwrap();
        q
    };
    let f = |p: &str, data: &[u8], mode: u32| {
        let q = root.join(p);
        std::fs::write(&q, data).unwrap();
        set_mode(&q, mode);
    };
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    std::fs::write(
        root.join("DEBIAN/control"),
        "Package: sample\nVersion: 2:1.0-1\nArchitecture: all\nMaintainer: T <t@example.org>\nDescription: sample\n multi-line\n .\n description\n",
    )
    .unwrap();
    std::fs::write(root.join("DEBIAN/conffiles"), "/etc/sample.conf\n").unwrap();
    std::fs::write(root.join("DEBIAN/postinst"), "#!/bin/sh\nexit 0\n").unwrap();
    set_mode(&root.join("DEBIAN/postinst"), 0o755);
    d("etc");
    f("etc/sample.conf", b"key=value\n", 0o644);
    d("usr/bin");
    f("usr/bin/suid", b"#!/bin/sh\n", 0o4755);
    f("usr/bin/sgid", b"#!/bin/sh\necho sgid\n", 0o2755);
    std::fs::hard_link(root.join("usr/bin/suid"), root.join("usr/bin/suid-link")).unwrap();
    std::os::unix::fs::symlink("suid", root.join("usr/bin/rel-link")).unwrap();
    std::os::unix::fs::symlink("/etc/sample.conf", root.join("usr/bin/abs-link")).unwrap();
    let tmp = d("var/tmp-sticky");
    set_mode(&tmp, 0o1777);
    let sgdir = d("var/lib/sample");
    set_mode(&sgdir, 0o2775);
    d("usr/share/sample");
    f("usr/share/sample/empty", b"", 0o644);
    f("usr/share/sample/block", &[7u8; 512], 0o600);
    f("usr/share/sample/block-plus-one", &[9u8; 513], 0o640);
    let big: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    f("usr/share/sample/big", &big, 0o644);
    let long_dir = "usr/share/sample/".to_string() + &"d".repeat(90);
    d(&long_dir);
    f(
        &format!("{long_dir}/{}", "f".repeat(120)),
        b"long name\n",
        0o644,
    );
    std::os::unix::fs::symlink(
        format!("{}/{}", "d".repeat(90), "f".repeat(120)),
        root.join("usr/share/sample/long-target"),
    )
    .unwrap();
    std::fs::File::create(root.join("usr/share/sample/ünïcode file")).unwrap();
    let fifo = root.join("usr/share/sample/fifo");
    ok(std::process::Command::new("mkfifo").arg(&fifo));
}

#[test]
fn same_as_dpkg_deb_for_every_compression() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    package_root(&root);
    for comp in ["gzip", "xz", "zstd", "none"] {
        let deb = dir.path().join(format!("sample-{comp}.deb"));
        dpkg_deb_build(&root, &deb, comp);
        if let Err(e) = compare_with_dpkg_deb(&deb) {
            panic!("{comp}: {e}");
        }
    }
}

#[test]
fn owners_and_devices_match_tar_listing() {
    let dir = tempfile::tempdir().unwrap();
    let mut chr = T::new("./dev/null", b'3', 0o666);
    (chr.major, chr.minor) = (1, 3);
    let mut blk = T::new("./dev/sda", b'4', 0o660).owned(0, 6);
    (blk.major, blk.minor) = (8, 0);
    let deb = write_deb(
        dir.path(),
        "owned",
        &[
            T::dir("./"),
            T::dir("./dev"),
            chr,
            blk,
            T::new("./dev/fifo", b'6', 0o600).owned(101, 102),
            T::dir("./usr"),
            T::dir("./usr/bin"),
            T::file("./usr/bin/chage", b"binary", 0o2755).owned(0, 42),
            T::dir("./var").owned(1000, 1000),
            T::file("./var/owned", b"x", 0o640).owned(65534, 65534),
            T::symlink("./var/link", "owned").owned(5, 6),
        ],
    );
    compare_with_tar_listing(&deb).unwrap();
}

#[test]
fn hand_written_package_matches_dpkg_deb() {
    // Absolute names and names without ./ are taken relative to the root, as dpkg does.
    let dir = tempfile::tempdir().unwrap();
    let deb = write_deb(
        dir.path(),
        "plain",
        &[
            T::dir("./"),
            T::dir("usr"),
            T::dir("usr/lib/"),
            T::file("usr/lib/a", b"aaa", 0o644),
            T::hardlink("usr/lib/b", "usr/lib/a"),
            T::file(&format!("/usr/lib/{}", "n".repeat(150)), b"x", 0o644),
        ],
    );
    compare_with_dpkg_deb(&deb).unwrap();
}

/// Compares every .deb of $EFLOW_DEB_DIR (run with `cargo test -p eflow-deb -- --ignored`).
#[test]
#[ignore]
fn every_deb_in_eflow_deb_dir_matches_dpkg_deb() {
    let debs = eflow_deb_dir_debs();
    let failures: Vec<String> = debs
        .iter()
        .filter_map(|d| compare_with_dpkg_deb(d).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} packages differ:\n{}",
        failures.len(),
        debs.len(),
        failures.join("\n")
    );
}
