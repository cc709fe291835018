//! The reader: it reads images made by `mke2fs -t ext4 -d` (an independent writer) and by our
//! writer, and never panics on garbage, truncated or bit-flipped input.

use std::io::Cursor;

use crate::common::*;
use eflow_ext4::{write, Ext4Reader, FileType};
use eflow_tree::{Entry, Kind, Tree};

fn sample_tree() -> Tree {
    let mut t = Tree::new();
    t.mkdir_p("/etc/ssl").unwrap();
    t.insert(
        "/etc/ssl/cert",
        Entry::file(vec![9u8; 10_000], 0o644).owned(5, 6).at(123),
    )
    .unwrap();
    t.insert("/etc/link", Entry::symlink("ssl/cert")).unwrap();
    t.insert("/etc/slow", Entry::symlink("z".repeat(100)))
        .unwrap();
    t.insert(
        "/etc/null",
        Entry::new(Kind::CharDevice { major: 1, minor: 3 }, 0o666),
    )
    .unwrap();
    let mut x = Entry::file(b"cap".to_vec(), 0o755);
    x.xattrs
        .insert("security.capability".into(), vec![1, 2, 3, 4]);
    x.xattrs.insert("user.big".into(), vec![5; 500]);
    t.insert("/etc/x", x).unwrap();
    t.mkdir_p("/big").unwrap();
    for i in 0..600 {
        t.insert(
            &format!("/big/entry-number-{i}"),
            Entry::file(vec![i as u8], 0o644),
        )
        .unwrap();
    }
    t
}

fn image_bytes(t: &Tree) -> Vec<u8> {
    eflow_extents::read_all(&mut write(t, &opts(8 << 20)).unwrap()).unwrap()
}

#[test]
fn reads_back_what_the_writer_wrote() {
    let bytes = image_bytes(&sample_tree());
    let mut r = Ext4Reader::open(Cursor::new(bytes)).unwrap();
    let s = r.summary();
    assert_eq!(s.label, "eflow-root");
    assert_eq!(s.block_size, 4096);
    assert!(s.features.contains(&"metadata_csum") && s.features.contains(&"has_journal"));
    let names: Vec<String> = r
        .list_dir("/etc")
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["link", "null", "slow", "ssl", "x"]);
    assert_eq!(r.read_file("/etc/ssl/cert").unwrap(), vec![9u8; 10_000]);
    let st = r.stat("/etc/ssl/cert").unwrap();
    assert_eq!(
        (st.uid, st.gid, st.mtime, st.mode, st.size),
        (5, 6, 123, 0o644, 10_000)
    );
    assert_eq!(r.read_link("/etc/link").unwrap(), "ssl/cert");
    assert_eq!(r.read_link("/etc/slow").unwrap(), "z".repeat(100));
    assert_eq!(
        r.stat("/etc/null").unwrap().file_type,
        FileType::CharDevice { major: 1, minor: 3 }
    );
    let x = r.xattrs("/etc/x").unwrap();
    assert_eq!(x["security.capability"], vec![1, 2, 3, 4]);
    assert_eq!(x["user.big"], vec![5; 500]);
    assert!(r.stat("/nope").is_err());
    // An indexed directory lists and looks up like a linear one.
    assert_eq!(r.list_dir("/big").unwrap().len(), 600);
    assert_eq!(
        r.read_file("/big/entry-number-599").unwrap(),
        vec![(599 % 256) as u8]
    );
}

#[test]
fn reads_an_image_made_by_mke2fs() {
    let mut t = Tree::new();
    t.mkdir_p("/a/b").unwrap();
    t.insert("/a/b/file", Entry::file(vec![42u8; 200_000], 0o644))
        .unwrap();
    t.insert("/a/l", Entry::symlink("b/file")).unwrap();
    let (_dir, img) = mke2fs_image(&t, 64 << 20, &[]);
    let mut r = Ext4Reader::open(std::fs::File::open(&img).unwrap()).unwrap();
    assert_eq!(r.read_file("/a/b/file").unwrap(), vec![42u8; 200_000]);
    assert_eq!(r.read_link("/a/l").unwrap(), "b/file");
    assert!(r
        .list_dir("/")
        .unwrap()
        .iter()
        .any(|e| e.name == "lost+found"));
}

/// Runs every reader operation; only panics matter.
fn exercise(bytes: &[u8]) {
    let Ok(mut r) = Ext4Reader::open(Cursor::new(bytes)) else {
        return;
    };
    let _ = r.summary();
    for p in [
        "/",
        "/etc",
        "/etc/ssl/cert",
        "/etc/link",
        "/etc/slow",
        "/etc/x",
        "/etc/null",
    ] {
        let _ = r.stat(p);
        let _ = r.list_dir(p);
        let _ = r.read_file(p);
        let _ = r.read_link(p);
        let _ = r.xattrs(p);
    }
}

#[test]
fn garbage_and_truncation_do_not_panic() {
    let bytes = image_bytes(&sample_tree());
    for len in [0usize, 100, 1024, 2047, 2048, 4096, 8192, 65536, 1 << 20] {
        exercise(&bytes[..len]);
    }
    let mut x = 0x1234_5678u32;
    let garbage: Vec<u8> = (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    exercise(&garbage);
    // A valid superblock in front of garbage.
    let mut g = garbage.clone();
    g[1024..2048].copy_from_slice(&bytes[1024..2048]);
    exercise(&g);
}

/// 3000 times: flips one bit at `at(i, x)` (`x` a xorshift sequence from `seed`), runs every
/// reader operation on the damaged image, and flips the bit back.
fn flip_bits_and_exercise(bytes: &mut [u8], seed: u32, at: impl Fn(u32, u32) -> usize) {
    let mut x = seed;
    for i in 0..3000u32 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let off = at(i, x);
        let bit = 1u8 << (x >> 29);
        bytes[off] ^= bit;
        exercise(bytes);
        bytes[off] ^= bit;
    }
}

#[test]
fn bit_flips_do_not_panic() {
    let mut bytes = image_bytes(&sample_tree());
    // Metadata lives in the first blocks; flip bits there and at scattered offsets.
    let len = bytes.len();
    flip_bits_and_exercise(&mut bytes, 0x9E37_79B9, |i, x| {
        if i % 2 == 0 {
            (x as usize) % (600 * 4096)
        } else {
            (x as usize) % len
        }
    });
}

#[test]
fn bit_flips_without_checksums_do_not_panic() {
    // Without metadata_csum nothing stops a flipped bit before the parsers see it.
    let mut t = Tree::new();
    t.mkdir_p("/etc/ssl").unwrap();
    t.insert("/etc/ssl/cert", Entry::file(vec![9u8; 10_000], 0o644))
        .unwrap();
    t.insert("/etc/link", Entry::symlink("ssl/cert")).unwrap();
    t.insert("/etc/slow", Entry::symlink("z".repeat(100)))
        .unwrap();
    t.insert("/etc/x", Entry::file(b"x".to_vec(), 0o644))
        .unwrap();
    let (_dir, img) = mke2fs_image(&t, 8 << 20, &["-O", "^metadata_csum"]);
    let mut bytes = std::fs::read(&img).unwrap();
    exercise(&bytes);
    // Used blocks of an 8 MiB mke2fs image are in the first ~600 blocks.
    flip_bits_and_exercise(&mut bytes, 0x0BAD_CAFE, |_, x| (x as usize) % (600 * 4096));
}

#[test]
fn image_summary_is_what_the_reader_reads_back() {
    let mut img = write(&sample_tree(), &opts(8 << 20)).unwrap();
    let written = img.summary().clone();
    assert!(written.free_blocks > 0 && written.free_blocks < written.block_count);
    let bytes = eflow_extents::read_all(&mut img).unwrap();
    let r = Ext4Reader::open(Cursor::new(bytes)).unwrap();
    assert_eq!(r.summary(), written);
}

#[test]
fn probe_tells_and_summarizes_an_mke2fs_image() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("probe.img");
    let uuid = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9";
    mke2fs(&img, 32 << 20, &["-L", "probed", "-U", uuid]);
    let bytes = std::fs::read(&img).unwrap();
    assert!(eflow_ext4::is_ext4(&bytes[..4096]));
    assert!(
        !eflow_ext4::is_ext4(&bytes[..1081]),
        "too short to hold the magic"
    );
    assert!(!eflow_ext4::is_ext4(&[0u8; 4096]));
    let s = eflow_ext4::probe(Cursor::new(&bytes)).unwrap();
    assert_eq!(s.uuid.to_string(), uuid);
    assert_eq!(s.label, "probed");
    assert_eq!(s.block_count * s.block_size, 32 << 20);
    assert!(s.free_blocks < s.block_count && s.features.contains(&"extent"));
    // The magic kept, the geometry broken (s_inodes_per_group = 0): an error, not a panic.
    let mut bad = bytes;
    bad[1024 + 40..1024 + 44].fill(0);
    assert!(eflow_ext4::is_ext4(&bad[..4096]));
    assert!(eflow_ext4::probe(Cursor::new(bad)).is_err());
}
