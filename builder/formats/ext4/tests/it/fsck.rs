//! Images written from Trees must pass `e2fsck -fn` without a single complaint.

use crate::common::*;
use eflow_tree::{Entry, Kind, Tree};

fn small_tree() -> Tree {
    let mut t = Tree::new();
    t.mkdir_p("/usr/bin").unwrap();
    t.mkdir_p("/etc").unwrap();
    t.insert(
        "/etc/hostname",
        Entry::file("eflow\n", 0o644).at(1_600_000_000),
    )
    .unwrap();
    t.insert("/usr/bin/tool", Entry::file(vec![7u8; 100_000], 0o755))
        .unwrap();
    t.insert("/bin", Entry::symlink("usr/bin")).unwrap();
    t
}

#[test]
fn empty_filesystem_is_clean() {
    write_checked(&Tree::new(), 64 << 20, "empty.img");
}

#[test]
fn small_tree_is_clean() {
    write_checked(&small_tree(), 1 << 30, "small.img");
}

#[test]
fn every_file_type_is_clean() {
    let mut t = small_tree();
    // A minor over 16 bits: the large encoding of device numbers.
    add_device_nodes(&mut t, 70000);
    t.insert("/long", Entry::symlink("x".repeat(300))).unwrap();
    t.insert(
        "/dev/hl",
        Entry::new(
            Kind::HardLink {
                target: "/etc/hostname".into(),
            },
            0o644,
        ),
    )
    .unwrap();
    let mut cap = Entry::file(vec![1u8; 10], 0o755);
    cap.xattrs.insert(
        "security.capability".into(),
        vec![1, 0, 0, 2, 0, 32, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    );
    t.insert("/usr/bin/ping", cap).unwrap();
    let mut big = Entry::file(vec![2u8; 10], 0o644);
    big.xattrs.insert("user.big".into(), vec![3u8; 1000]);
    big.xattrs.insert("trusted.x".into(), vec![4u8; 10]);
    t.insert("/etc/big1", big.clone()).unwrap();
    t.insert("/etc/big2", big).unwrap();
    write_checked(&t, 256 << 20, "types.img");
}

#[test]
fn more_files_than_default_inodes_is_clean() {
    // 32 MiB gets 8192 inodes by the 4 KiB ratio; the writer grows the inode tables.
    let mut t = Tree::new();
    t.mkdir_p("/d").unwrap();
    for i in 0..10_000 {
        t.insert(&format!("/d/{i}"), Entry::file(vec![], 0o644))
            .unwrap();
    }
    assert!(eflow_ext4::min_size(&t) <= 32 << 20);
    write_checked(&t, 32 << 20, "inodes.img");
}

#[test]
fn filesystem_of_130_gib_with_a_1_gib_journal_is_clean() {
    // From 128 GiB on, mke2fs's journal is 1 GiB: 8 extents, so the journal inode needs an
    // extent tree block.
    let (_dir, img) = write_checked(&small_tree(), 130 << 30, "big.img");
    let out = debugfs(&img, "stat <8>");
    assert!(out.contains("Size: 1073741824"), "{out}");
}
