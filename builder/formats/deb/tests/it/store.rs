//! The persistent content store: a package is decompressed once, later scans take its
//! verified entry, and a damaged entry is rebuilt, never used.

use std::path::Path;
use std::sync::Arc;

use crate::common::*;
use eflow_deb::unpack::ScannedKind;
use eflow_deb::{apply, read_control, ContentStore, DebSource, Owners, Scanned};
use eflow_tree::{Kind, Tree};

fn package(dir: &Path) -> std::path::PathBuf {
    let files: Vec<T> = (0..12)
        .map(|i| {
            T::file(
                &format!("./usr/share/f{i:02}"),
                format!("bytes of file {i};").repeat(i * 40 + 1).as_bytes(),
                0o644,
            )
        })
        .collect();
    write_deb(dir, "stored", &files)
}

/// Every regular file of a scan, read back through a Tree as the writers read it.
fn contents(deb: &Path, scanned: &Scanned) -> Vec<(String, Vec<u8>)> {
    let pkg = read_control(deb).unwrap();
    let source = DebSource::new();
    let stream = source.add(deb.to_path_buf());
    let mut tree = Tree::new();
    apply(
        &mut tree,
        &pkg,
        scanned,
        &source,
        stream,
        &mut Owners::new(),
        &|_, _| false,
    )
    .unwrap();
    let mut out = Vec::new();
    for (path, e) in tree.iter() {
        if let Kind::File { content, .. } = &e.kind {
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut content.open().unwrap(), &mut v).unwrap();
            out.push((path.to_string(), v));
        }
    }
    out
}

fn entry_files(store: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let mut index = None;
    let mut files = None;
    for e in std::fs::read_dir(store).unwrap() {
        let p = e.unwrap().path();
        match p.extension().and_then(|x| x.to_str()) {
            Some("index") => index = Some(p),
            Some("files") => files = Some(p),
            _ => panic!("unexpected file left in the store: {}", p.display()),
        }
    }
    (index.expect("an index"), files.expect("the contents"))
}

#[test]
fn a_stored_scan_equals_a_fresh_one_and_is_reused() {
    let dir = tempfile::tempdir().unwrap();
    let deb = package(dir.path());
    let pkg = read_control(&deb).unwrap();
    let expected = contents(&deb, &eflow_deb::scan(&pkg).unwrap());
    assert_eq!(expected.len(), 12);

    let store_dir = dir.path().join("store");
    let store = ContentStore::persistent(&store_dir);
    let first = store.scan(&pkg).unwrap();
    assert_eq!(contents(&deb, &first), expected);
    let (index, files) = entry_files(&store_dir);
    let inode = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&files).unwrap());

    // The second scan takes the entry: the contents file is not rewritten.
    let second = store.scan(&pkg).unwrap();
    assert_eq!(contents(&deb, &second), expected);
    assert_eq!(
        std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&files).unwrap()),
        inode
    );
    assert_eq!(first.package_sha256, second.package_sha256);
    let digest = sha256_hex(&std::fs::read(&deb).unwrap());
    assert_eq!(hex(&second.package_sha256.unwrap()), digest);
    assert!(index
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with(&digest));
    // Offsets and sizes describe the contents file exactly.
    let total: u64 = second
        .entries
        .iter()
        .map(|e| match e.kind {
            ScannedKind::File { size, .. } => size,
            _ => 0,
        })
        .sum();
    assert_eq!(std::fs::metadata(&files).unwrap().len(), total);
}

#[test]
fn a_damaged_entry_is_rebuilt_never_used() {
    let dir = tempfile::tempdir().unwrap();
    let deb = package(dir.path());
    let pkg = read_control(&deb).unwrap();
    let expected = contents(&deb, &eflow_deb::scan(&pkg).unwrap());
    let store_dir = dir.path().join("store");
    let store = ContentStore::persistent(&store_dir);
    store.scan(&pkg).unwrap();
    let (index, files) = entry_files(&store_dir);
    let good_index = std::fs::read(&index).unwrap();
    let good_files = std::fs::read(&files).unwrap();

    type Damage = fn(&Path, &Path);
    let damages: [(&str, Damage); 7] = [
        ("a flipped byte in the contents", |_, f| flip(f, 100)),
        ("truncated contents", |_, f| truncate(f, 10)),
        ("no contents", |_, f| std::fs::remove_file(f).unwrap()),
        ("a flipped byte in the index", |i, _| flip(i, 120)),
        ("a truncated index", |i, _| truncate(i, 30)),
        ("an empty index", |i, _| std::fs::write(i, b"").unwrap()),
        ("an index of another layout version", |i, _| {
            let t = std::fs::read(i).unwrap();
            std::fs::write(i, [b"eflow-contents 0".as_slice(), &t[16..]].concat()).unwrap()
        }),
    ];
    for (what, damage) in damages {
        damage(&index, &files);
        let again = store.scan(&pkg).unwrap();
        assert_eq!(contents(&deb, &again), expected, "after {what}");
        // The entry is whole again.
        assert_eq!(std::fs::read(&index).unwrap(), good_index, "after {what}");
        assert_eq!(std::fs::read(&files).unwrap(), good_files, "after {what}");
    }
}

#[test]
fn concurrent_scans_into_one_store_agree() {
    let dir = tempfile::tempdir().unwrap();
    let deb = package(dir.path());
    let pkg = Arc::new(read_control(&deb).unwrap());
    let expected = contents(&deb, &eflow_deb::scan(&pkg).unwrap());
    let store = ContentStore::persistent(dir.path().join("store"));
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| store.scan(&pkg).unwrap()))
            .collect();
        for h in handles {
            assert_eq!(contents(&deb, &h.join().unwrap()), expected);
        }
    });
    entry_files(&dir.path().join("store"));
}

#[test]
fn an_unwritable_store_is_an_error_naming_the_package() {
    let dir = tempfile::tempdir().unwrap();
    let deb = package(dir.path());
    let pkg = read_control(&deb).unwrap();
    // A file where the store's directory should be.
    let blocker = dir.path().join("store");
    std::fs::write(&blocker, b"").unwrap();
    let err = ContentStore::persistent(&blocker)
        .scan(&pkg)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("stored.deb") && err.contains("unpacked contents"),
        "{err}"
    );
}

fn flip(path: &Path, at: usize) {
    let mut b = std::fs::read(path).unwrap();
    let at = at.min(b.len() - 1);
    b[at] ^= 0x20;
    std::fs::write(path, b).unwrap();
}

fn truncate(path: &Path, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(b))
}

#[test]
fn leftovers_of_interrupted_builds_are_removed_when_old() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    std::fs::create_dir_all(&store_dir).unwrap();
    let old = store_dir.join(".contents-old");
    let fresh = store_dir.join(".contents-fresh");
    let index = store_dir.join(".index-old");
    for p in [&old, &fresh, &index] {
        std::fs::write(p, b"partial").unwrap();
    }
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    for p in [&old, &index] {
        std::fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(two_hours_ago)
            .unwrap();
    }
    let store = ContentStore::persistent(&store_dir);
    assert_eq!(store.clean_leftovers(), 2);
    assert!(!old.exists() && !index.exists());
    assert!(
        fresh.exists(),
        "a build running now keeps its temporary file"
    );
}
