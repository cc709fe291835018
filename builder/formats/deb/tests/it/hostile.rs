//! Hostile and broken packages, written byte by byte: each must give an error naming the
//! package and the entry, never a panic and never an entry outside its place.

use std::path::Path;

use crate::common::*;
use eflow_deb::{read_control, unpack_into, DebSource, Error, Owners};
use eflow_tree::{Entry, Kind, Tree};

/// Reads and unpacks a package file into `tree`.
fn unpack(tree: &mut Tree, deb: &Path) -> Result<Vec<String>, Error> {
    let pkg = read_control(deb)?;
    let source = DebSource::new();
    let stream = source.add(deb.to_path_buf());
    let mut owners = Owners::new();
    unpack_into(tree, &pkg, &source, stream, &mut owners, &|_, _| false).map(|i| i.paths)
}

fn expect_entry_error(entries: &[T], entry: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let deb = write_deb(dir.path(), "evil", entries);
    let mut tree = Tree::new();
    tree.mkdir_p("/etc").unwrap();
    let err = unpack(&mut tree, &deb)
        .expect_err("hostile package was accepted")
        .to_string();
    assert!(
        err.contains("evil"),
        "error does not name the package: {err}"
    );
    assert!(
        err.contains(entry),
        "error does not name the entry {entry}: {err}"
    );
    // Nothing was written below /etc.
    assert!(tree.get("/etc/passwd").is_none(), "{err}");
    err
}

#[test]
fn dotdot_paths_are_rejected() {
    expect_entry_error(
        &[T::dir("./"), T::file("./../etc/passwd", b"x", 0o644)],
        "../etc/passwd",
    );
    expect_entry_error(
        &[
            T::dir("./"),
            T::dir("./usr"),
            T::file("./usr/../../x", b"x", 0o644),
        ],
        "./usr/../../x",
    );
    expect_entry_error(
        &[T::file("../../../../etc/passwd", b"x", 0o644)],
        "etc/passwd",
    );
}

#[test]
fn absolute_paths_stay_below_the_root() {
    // dpkg skips leading slashes: /etc/passwd in a package is the guest's /etc/passwd, never the host's.
    let dir = tempfile::tempdir().unwrap();
    let deb = write_deb(dir.path(), "abs", &[T::file("/etc/abs-file", b"x", 0o644)]);
    let mut tree = Tree::new();
    let paths = unpack(&mut tree, &deb).unwrap();
    assert_eq!(paths, vec!["/etc/abs-file"]);
    assert!(tree.get("/etc/abs-file").is_some());
    assert!(!Path::new("/etc/abs-file").exists());
}

#[test]
fn files_through_the_package_own_symlinks_are_rejected() {
    for target in ["/etc", "../../..", "../../../etc", "."] {
        let err = expect_entry_error(
            &[
                T::dir("./"),
                T::dir("./usr"),
                T::dir("./usr/lib"),
                T::symlink("./usr/lib/escape", target),
                T::file("./usr/lib/escape/passwd", b"root::0:0::/:/bin/sh\n", 0o644),
            ],
            "./usr/lib/escape/passwd",
        );
        assert!(err.contains("symlink"), "{err}");
    }
    // Also when the file comes first in the archive, and through a symlinked parent of a parent.
    expect_entry_error(
        &[
            T::dir("./"),
            T::file("./a/b/passwd", b"x", 0o644),
            T::symlink("./a", "/etc"),
        ],
        "./a/b/passwd",
    );
}

#[test]
fn symlinks_of_earlier_packages_are_followed_inside_the_root() {
    // A symlink to ../../.. from /usr/lib leads to the guest root, never above it.
    let dir = tempfile::tempdir().unwrap();
    let first = write_deb(
        dir.path(),
        "first",
        &[
            T::dir("./usr"),
            T::dir("./usr/lib"),
            T::symlink("./usr/lib/up", "../../../../.."),
        ],
    );
    let second = write_deb(
        dir.path(),
        "second",
        &[
            T::dir("./usr/lib/up/srv"),
            T::file("./usr/lib/up/srv/f", b"x", 0o644),
        ],
    );
    let mut tree = Tree::new();
    unpack(&mut tree, &first).unwrap();
    unpack(&mut tree, &second).unwrap();
    assert!(tree.get("/srv/f").is_some());
    // A dangling symlink as a parent is an error, not a directory made somewhere.
    let third = write_deb(dir.path(), "third", &[T::symlink("./opt", "/nowhere")]);
    let fourth = write_deb(dir.path(), "fourth", &[T::file("./opt/f", b"x", 0o644)]);
    unpack(&mut tree, &third).unwrap();
    let err = unpack(&mut tree, &fourth).unwrap_err().to_string();
    assert!(
        err.contains("fourth")
            && err.contains("./opt/f")
            && err.contains("does not lead to a directory"),
        "{err}"
    );
}

#[test]
fn huge_declared_sizes_and_truncation_are_errors() {
    let mut big = T::file("./big", b"only a few bytes", 0o644);
    big.declared = Some(1 << 40);
    let err = expect_entry_error(&[T::dir("./"), big], "./big");
    assert!(err.contains("truncated"), "{err}");

    // A member declaring more than the file holds.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("evil.deb");
    let mut bytes = deb_bytes(&control("evil"), &[], &tar(&[T::file("./f", b"x", 0o644)]));
    let at = bytes.len() - tar(&[T::file("./f", b"x", 0o644)]).len() - 60 + 48;
    bytes[at..at + 10].copy_from_slice(b"9999999999");
    std::fs::write(&p, &bytes).unwrap();
    let err = read_control(&p).unwrap_err().to_string();
    assert!(
        err.contains("evil.deb") && err.contains("data.tar"),
        "{err}"
    );
}

#[test]
fn every_truncation_and_corruption_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let good = deb_bytes(
        &control("cut"),
        &[T::file("./md5sums", b"x  y\n", 0o644)],
        &tar(&[
            T::dir("./"),
            T::dir("./usr"),
            T::file("./usr/f", &[1u8; 700], 0o644),
            T::symlink("./usr/l", "f"),
        ]),
    );
    let p = dir.path().join("cut.deb");
    let mut errors = 0;
    for cut in (0..good.len()).step_by(11) {
        std::fs::write(&p, &good[..cut]).unwrap();
        let mut tree = Tree::new();
        if let Err(e) = unpack(&mut tree, &p) {
            errors += 1;
            assert!(e.to_string().contains("cut"), "{e}");
        }
    }
    assert!(errors > 0);
    for i in (0..good.len()).step_by(5) {
        let mut bad = good.clone();
        bad[i] ^= 0x5a;
        std::fs::write(&p, &bad).unwrap();
        let mut tree = Tree::new();
        let _ = unpack(&mut tree, &p);
    }
    for garbage in [
        &b""[..],
        b"!<arch>\n",
        b"not an archive at all",
        &[0u8; 4096],
    ] {
        std::fs::write(&p, garbage).unwrap();
        let err = read_control(&p).unwrap_err().to_string();
        assert!(err.contains("cut.deb"), "{err}");
    }
}

#[test]
fn unsupported_entries_are_errors() {
    // pax headers (dpkg refuses them), unknown types, newlines, empty symlink targets.
    let mut pax = T::new("./PaxHeaders/x", b'x', 0o644);
    pax.data = b"30 SCHILY.xattr.user.a=b\n".to_vec();
    let err = expect_entry_error(
        &[T::dir("./"), pax, T::file("./x", b"x", 0o644)],
        "PaxHeaders",
    );
    assert!(err.contains("unknown tar entry type"), "{err}");
    expect_entry_error(&[T::dir("./"), T::file("./a\nb", b"x", 0o644)], "a\\nb");
    expect_entry_error(&[T::dir("./"), T::symlink("./empty", "")], "./empty");
    expect_entry_error(&[T::dir("./"), T::hardlink("./h", "./missing")], "./h");
    expect_entry_error(
        &[T::dir("./"), T::dir("./d"), T::hardlink("./h", "./d")],
        "./h",
    );
    let mut dir_with_data = T::dir("./d");
    dir_with_data.declared = Some(10);
    expect_entry_error(&[dir_with_data], "./d");
}

#[test]
fn directories_are_not_replaced_by_files() {
    let dir = tempfile::tempdir().unwrap();
    let deb = write_deb(dir.path(), "overdir", &[T::file("./etc", b"x", 0o644)]);
    let mut tree = Tree::new();
    tree.mkdir_p("/etc/x").unwrap();
    let err = unpack(&mut tree, &deb).unwrap_err().to_string();
    assert!(err.contains("overdir") && err.contains("./etc"), "{err}");
    assert!(tree.get("/etc/x").is_some_and(Entry::is_dir));
    assert!(matches!(tree.get("/etc").map(|e| &e.kind), Some(Kind::Dir)));
}

/// Compressed members whose headers ask the decoder for gigabytes of dictionary (liblzma
/// allocates it before reading any data): refused, naming the package. The .lzma case is what
/// the deb_file fuzzer found (fuzz/regressions/deb_file/oom-*).
#[test]
fn compressed_members_cannot_claim_gigabytes_of_memory() {
    let dir = tempfile::tempdir().unwrap();
    let control_tar = tar(&[T::file("./control", control("greedy").as_bytes(), 0o644)]);
    // lzma_alone: properties, a 4 GiB - 1 dictionary, an unknown size, then (any) data.
    let mut lzma = vec![0x5d];
    lzma.extend_from_slice(&u32::MAX.to_le_bytes());
    lzma.extend_from_slice(&u64::MAX.to_le_bytes());
    lzma.extend_from_slice(&[0u8; 32]);
    // xz: a real stream whose LZMA2 filter then declares a 4 GiB - 1 dictionary (property 40),
    // with its block header's CRC32 made right again.
    let mut xz = Vec::new();
    {
        use std::io::Write;
        let mut e = xz2::write::XzEncoder::new(&mut xz, 6);
        e.write_all(&control_tar).unwrap();
        e.finish().unwrap();
    }
    let header_len = (usize::from(xz[12]) + 1) * 4;
    let header = 12..12 + header_len;
    assert_eq!(
        &xz[14..16],
        [0x21, 0x01],
        "one LZMA2 filter with one property byte"
    );
    xz[16] = 40;
    let mut crc = flate2::Crc::new();
    crc.update(&xz[header.start..header.end - 4]);
    xz[header.end - 4..header.end].copy_from_slice(&crc.sum().to_le_bytes());
    for (member, data) in [("control.tar.lzma", lzma), ("control.tar.xz", xz)] {
        let p = dir.path().join("greedy.deb");
        let data_tar = tar(&[T::dir("./")]);
        std::fs::write(
            &p,
            ar(&[
                ("debian-binary", b"2.0\n"),
                (member, &data),
                ("data.tar", &data_tar),
            ]),
        )
        .unwrap();
        let err = read_control(&p)
            .expect_err("a member asking for 4 GiB was decoded")
            .to_string();
        assert!(err.contains("greedy.deb"), "{member}: {err}");
        assert!(err.contains("memory limit"), "{member}: {err}");
    }
}
