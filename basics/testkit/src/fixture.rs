//! Fixture files and bytes: made the same on every run, so a failure reproduces.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::Command;

use crate::command::ok;

/// Deterministic pseudo-random bytes (xorshift64*): incompressible fixture data, same every run.
pub fn pseudo_random(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        v.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    v.truncate(len);
    v
}

/// Endless copies of `good`, each with one bit flipped and one byte overwritten: damage to refuse.
pub fn damaged_copies(good: &[u8], seed: u64) -> impl Iterator<Item = Vec<u8>> + '_ {
    assert!(!good.is_empty(), "nothing to damage");
    // xorshift64, so the same seed always damages the same places.
    let mut x = seed | 1;
    std::iter::from_fn(move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut bad = good.to_vec();
        let len = bad.len() as u64;
        bad[(x % len) as usize] ^= 1 << (x >> 61);
        bad[((x >> 20) % len) as usize] = (x >> 40) as u8;
        Some(bad)
    })
}

/// Creates `path` as a sparse file of `size` bytes with the `(offset, bytes)` pieces written in.
pub fn sparse_file<D: AsRef<[u8]>>(path: &Path, size: u64, pieces: &[(u64, D)]) {
    let f = File::create(path).unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
    f.set_len(size).unwrap();
    for (off, data) in pieces {
        f.write_all_at(data.as_ref(), *off)
            .unwrap_or_else(|e| panic!("writing {} at {off}: {e}", path.display()));
    }
}

/// XORs the byte at `at` of a file with `mask`: tampering a checker must notice (twice restores).
pub fn flip_byte(path: &Path, at: u64, mask: u8) {
    let f = File::options()
        .read(true)
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("opening {}: {e}", path.display()));
    let mut b = [0u8];
    f.read_exact_at(&mut b, at)
        .unwrap_or_else(|e| panic!("reading {} at {at}: {e}", path.display()));
    b[0] ^= mask;
    f.write_all_at(&b, at).unwrap();
}

/// A path as `&str`, for the string argument lists of tools (test paths are UTF-8).
pub fn path_str(p: &Path) -> &str {
    p.to_str()
        .unwrap_or_else(|| panic!("{} is not UTF-8", p.display()))
}

/// Lowercase hex SHA-256 of a file by `sha256sum` (a tool we did not write), to compare outputs.
pub fn sha256sum(path: &Path) -> String {
    // On stdin, as sha256sum escapes the line of a name holding a backslash or newline.
    let file = File::open(path).unwrap_or_else(|e| panic!("opening {}: {e}", path.display()));
    let out = ok(Command::new("sha256sum").stdin(file));
    let text = String::from_utf8_lossy(&out.stdout);
    let digest = text.split_whitespace().next().unwrap_or_default();
    assert!(
        digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()),
        "sha256sum {}: {text}",
        path.display()
    );
    digest.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudo_random_is_stable_and_seeded() {
        let a = pseudo_random(7, 1000);
        assert_eq!(a, pseudo_random(7, 1000));
        assert_ne!(a, pseudo_random(8, 1000));
        assert_eq!(&pseudo_random(7, 10)[..], &a[..10]);
        // The first bytes of seed 1: the sequence the VHDX and convert tests' copies produce.
        assert_eq!(pseudo_random(1, 4), [0x7a, 0x48, 0x21, 0x9a]);
    }

    #[test]
    fn damaged_copies_differ_from_the_original_and_repeat() {
        let good = pseudo_random(3, 100);
        let a: Vec<Vec<u8>> = damaged_copies(&good, 9).take(50).collect();
        assert_eq!(a, damaged_copies(&good, 9).take(50).collect::<Vec<_>>());
        assert!(a.iter().all(|b| b.len() == good.len()));
        assert!(a.iter().filter(|b| **b != good).count() >= 45);
        assert_ne!(a, damaged_copies(&good, 10).take(50).collect::<Vec<_>>());
    }

    #[test]
    fn sparse_file_flip_byte_and_sha256sum() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        sparse_file(&p, 1 << 30, &[(5, &b"abc"[..]), ((1 << 30) - 1, &b"z"[..])]);
        let m = std::fs::metadata(&p).unwrap();
        assert_eq!(m.len(), 1 << 30);
        assert!(
            std::os::unix::fs::MetadataExt::blocks(&m) < 1024,
            "not sparse"
        );
        let small = dir.path().join("s");
        sparse_file(&small, 8, &[(2, vec![1u8, 2])]);
        assert_eq!(std::fs::read(&small).unwrap(), [0, 0, 1, 2, 0, 0, 0, 0]);
        flip_byte(&small, 3, 0x40);
        assert_eq!(std::fs::read(&small).unwrap(), [0, 0, 1, 0x42, 0, 0, 0, 0]);
        std::fs::write(&small, b"abc").unwrap();
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(sha256sum(&small), abc);
        // A name that sha256sum would escape on its output line.
        let odd = dir.path().join("a\\x2db");
        std::fs::write(&odd, b"abc").unwrap();
        assert_eq!(sha256sum(&odd), abc);
        assert_eq!(path_str(&small), small.to_str().unwrap());
    }
}
