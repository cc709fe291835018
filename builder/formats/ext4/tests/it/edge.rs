//! Edge cases checked with e2fsprogs: huge directories, files spanning many extents and an
//! extent tree level, 255-byte names, the empty filesystem, determinism, offline growth with
//! resize2fs, and the size planner.

use std::io::{self, Read};
use std::sync::Arc;

use crate::common::*;
use eflow_ext4::{min_size, write, Error};
use eflow_tree::{Content, ContentSource, Entry, Kind, Tree};

/// A content source of mostly-zero members: member `index` is `size` bytes of zeros with the
/// 8-byte big-endian offset written at each marker offset.
struct Sparse {
    size: u64,
    markers: Vec<u64>,
}

struct SparseReader<'a> {
    src: &'a Sparse,
    pos: u64,
}

impl Read for SparseReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (self.src.size - self.pos).min(buf.len() as u64) as usize;
        buf[..n].fill(0);
        for m in &self.src.markers {
            for (i, b) in m.to_be_bytes().iter().enumerate() {
                let at = m + i as u64;
                if at >= self.pos && at < self.pos + n as u64 {
                    buf[(at - self.pos) as usize] = *b;
                }
            }
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl ContentSource for Sparse {
    fn describe(&self, _stream: u32) -> String {
        "sparse test content".into()
    }
    fn open(&self, _stream: u32, _index: u64) -> io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(SparseReader { src: self, pos: 0 }))
    }
}

fn sparse_file(size: u64, markers: Vec<u64>) -> Entry {
    let src = Arc::new(Sparse { size, markers });
    Entry::new(
        Kind::File {
            content: Content::Source {
                source: src,
                stream: 0,
                index: 0,
                digest: None,
            },
            size,
        },
        0o644,
    )
}

/// Number of extent entries debugfs lists for a path, and whether it shows an index level.
fn extents(img: &std::path::Path, path: &str) -> (usize, bool) {
    let out = debugfs(img, &format!("ex {path}"));
    // Lines look like " 1/ 1   2/ 42   23768 -   56535   33537 -   66304  32768": level/depth first.
    let mut leaves = 0;
    let mut index = false;
    for l in out.lines().skip(1) {
        let l = l.replace("/ ", "/");
        let Some((level, depth)) = l.split_whitespace().next().and_then(|t| t.split_once('/'))
        else {
            continue;
        };
        if level == depth {
            leaves += 1;
        } else {
            index = true;
        }
    }
    (leaves, index)
}

/// Reads `len` bytes at byte `off` of file `path` in the image through debugfs' block map.
fn read_via_bmap(img: &std::path::Path, path: &str, off: u64, len: usize) -> Vec<u8> {
    let lblk = off / 4096;
    let out = debugfs(img, &format!("bmap {path} {lblk}"));
    let pblk: u64 = out
        .lines()
        .find_map(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no block number from bmap: {out}"));
    let mut f = std::fs::File::open(img).unwrap();
    use std::io::{Seek, SeekFrom};
    f.seek(SeekFrom::Start(pblk * 4096 + off % 4096)).unwrap();
    let mut b = vec![0u8; len];
    f.read_exact(&mut b).unwrap();
    b
}

#[test]
fn directory_with_20000_entries() {
    let mut t = Tree::new();
    t.mkdir_p("/many").unwrap();
    for i in 0..20_000 {
        t.insert(
            &format!("/many/entry-{i:06}-with-a-longer-name"),
            Entry::file(vec![], 0o644),
        )
        .unwrap();
    }
    t.mkdir_p("/many/sub").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let img = write_image(&t, &opts(256 << 20), dir.path(), "many.img");
    if let Ok(keep) = std::env::var("EXT4_KEEP_IMAGE") {
        std::fs::copy(&img, keep).unwrap();
    }
    assert_fsck_clean(&img);
    let out = debugfs(&img, "htree /many");
    assert!(
        out.contains("Root node dump") && out.contains("Indirect levels: 0"),
        "{out}"
    );
    let out = debugfs(&img, "ls /many");
    assert!(out.contains("entry-019999-with-a-longer-name"));
    assert!(out.contains("entry-000000-with-a-longer-name"));
}

#[test]
fn directory_with_a_two_level_index() {
    // 10,000 names of 240+ bytes: ~15 per leaf, ~670 leaves, more than a root's 507 slots.
    let mut t = Tree::new();
    t.mkdir_p("/d").unwrap();
    for i in 0..10_000 {
        t.insert(
            &format!("/d/{i:05}{}", "n".repeat(240)),
            Entry::file(vec![], 0o644),
        )
        .unwrap();
    }
    let (_dir, img) = write_checked(&t, 256 << 20, "deep.img");
    let out = debugfs(&img, "htree /d");
    assert!(
        out.contains("Indirect levels: 1"),
        "{}",
        &out[..out.len().min(2000)]
    );
    let out = debugfs(&img, &format!("stat /d/09999{}", "n".repeat(240)));
    assert!(out.contains("Type: regular"), "{out}");
}

#[test]
fn names_of_255_bytes() {
    let mut t = Tree::new();
    for c in [
        'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q',
    ] {
        t.insert(
            &format!("/{}", c.to_string().repeat(255)),
            Entry::file(vec![1], 0o644),
        )
        .unwrap();
    }
    let (_dir, img) = write_checked(&t, 64 << 20, "names.img");
    let out = debugfs(&img, &format!("stat /{}", "q".repeat(255)));
    assert!(out.contains("Type: regular"), "{out}");
}

#[test]
fn file_just_over_one_extent() {
    // 128 MiB + 4 KiB: one extent covers at most 32768 blocks (128 MiB).
    let size = (128 << 20) + 4096;
    let mut t = Tree::new();
    t.insert("/f", sparse_file(size, vec![0, 128 << 20, size - 8]))
        .unwrap();
    let (_dir, img) = write_checked(&t, 512 << 20, "one.img");
    let (n, index) = extents(&img, "/f");
    assert!(n >= 2 && !index, "{n} extents");
    for m in [0u64, 128 << 20, size - 8] {
        assert_eq!(read_via_bmap(&img, "/f", m, 8), m.to_be_bytes());
    }
}

#[test]
fn five_gib_file_needs_an_extent_tree_level() {
    // All blocks are allocated (no hole detection): 5 GiB of data, > 40 extents, so the
    // extent tree gets an index in the inode and a leaf block.
    let size = 5u64 << 30;
    let markers: Vec<u64> = (0..10)
        .map(|i| i * (size / 10) + 4096 * i)
        .chain([size - 8])
        .collect();
    let mut t = Tree::new();
    t.insert("/small", Entry::file(b"before".to_vec(), 0o644))
        .unwrap();
    t.insert("/big", sparse_file(size, markers.clone()))
        .unwrap();
    let (_dir, img) = write_checked(&t, 6 << 30, "big.img");
    let (n, index) = extents(&img, "/big");
    assert!(n > 40 && index, "{n} extents, index level {index}");
    for m in markers {
        assert_eq!(
            read_via_bmap(&img, "/big", m, 8),
            m.to_be_bytes(),
            "marker at {m}"
        );
    }
}

#[test]
fn two_writes_give_identical_bytes() {
    let mut t = Tree::new();
    t.mkdir_p("/a/b").unwrap();
    for i in 0..300 {
        t.insert(
            &format!("/a/b/{i}"),
            Entry::file(vec![i as u8; i * 37], 0o644).at(i as i64),
        )
        .unwrap();
    }
    let o = opts(64 << 20);
    let a = eflow_extents::read_all(&mut write(&t, &o).unwrap()).unwrap();
    let b = eflow_extents::read_all(&mut write(&t.clone(), &o).unwrap()).unwrap();
    assert!(a == b, "two writes differ");
}

#[test]
fn resize2fs_grows_a_written_image() {
    let mut t = Tree::new();
    t.mkdir_p("/etc").unwrap();
    for i in 0..200 {
        t.insert(
            &format!("/etc/f{i}"),
            Entry::file(vec![i as u8; 10_000], 0o644),
        )
        .unwrap();
    }
    let (_dir, img) = write_checked(&t, 128 << 20, "grow.img");
    // 10 GiB = 80 groups: the descriptor table grows from 1 to 2 blocks, taken from the
    // reserved GDT blocks the resize inode holds (15 for 128 MiB, as mke2fs reserves).
    let (code, out) = run("resize2fs", &[img.to_str().unwrap(), "10G"]);
    assert_eq!(code, 0, "resize2fs failed: {out}");
    assert_fsck_clean(&img);
    let out = debugfs(&img, "stat /etc/f199");
    assert!(out.contains("Size: 10000"), "{out}");
    let (_, dump) = run("dumpe2fs", &["-h", img.to_str().unwrap()]);
    assert!(dump.contains("Block count:              2621440"), "{dump}");
    assert!(dump.contains("Reserved GDT blocks:      14"), "{dump}");
}

#[test]
fn min_size_fits_and_too_small_is_an_error() {
    let mut t = Tree::new();
    t.mkdir_p("/d").unwrap();
    for i in 0..50 {
        t.insert(&format!("/d/{i}"), Entry::file(vec![1u8; 1 << 20], 0o644))
            .unwrap();
    }
    let m = min_size(&t);
    assert!((50 << 20..100 << 20).contains(&m), "min_size {m}");
    write_checked(&t, m, "min.img");
    match write(&t, &opts(32 << 20)) {
        Err(Error::NoSpace { min_size, .. }) => assert_eq!(min_size, m),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("50 MiB of files fit in 32 MiB?"),
    }
}

#[test]
fn empty_filesystem_has_root_and_lost_found() {
    let (_dir, img) = write_checked(&Tree::new(), 8 << 20, "tiny.img");
    let out = debugfs(&img, "ls -l /");
    assert!(out.contains("lost+found"), "{out}");
}
