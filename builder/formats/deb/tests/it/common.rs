//! Test support: .deb files written byte by byte (for owners, devices and hostile archives that
//! dpkg-deb would not build), .deb files built by dpkg-deb itself, and the directory of
//! real packages that the ignored tests take from $EFLOW_DEB_DIR.

use std::path::{Path, PathBuf};
use std::process::Command;

use eflow_testkit::ok;

/// One tar entry to write.
#[derive(Clone)]
pub struct T {
    pub name: String,
    pub typeflag: u8,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub data: Vec<u8>,
    /// Overrides the size field (to declare more than is there).
    pub declared: Option<u64>,
    pub link: String,
    pub major: u32,
    pub minor: u32,
    pub mtime: u64,
}

impl T {
    pub fn dir(name: &str) -> T {
        T::new(name, b'5', 0o755)
    }
    pub fn file(name: &str, data: &[u8], mode: u32) -> T {
        let mut t = T::new(name, b'0', mode);
        t.data = data.to_vec();
        t
    }
    pub fn symlink(name: &str, target: &str) -> T {
        let mut t = T::new(name, b'2', 0o777);
        t.link = target.into();
        t
    }
    pub fn hardlink(name: &str, target: &str) -> T {
        let mut t = T::new(name, b'1', 0o644);
        t.link = target.into();
        t
    }
    pub fn new(name: &str, typeflag: u8, mode: u32) -> T {
        T {
            name: name.into(),
            typeflag,
            mode,
            uid: 0,
            gid: 0,
            data: Vec::new(),
            declared: None,
            link: String::new(),
            major: 0,
            minor: 0,
            mtime: 1_700_000_000,
        }
    }
    pub fn owned(mut self, uid: u32, gid: u32) -> T {
        self.uid = uid;
        self.gid = gid;
        self
    }
}

fn octal(field: &mut [u8], v: u64) {
    let s = format!("{:0width$o}", v, width = field.len() - 1);
    if s.len() < field.len() {
        field[..s.len()].copy_from_slice(s.as_bytes());
    } else {
        // base-256, as GNU tar writes large numbers
        field.fill(0);
        field[0] = 0x80;
        let n = field.len();
        field[n - 8..].copy_from_slice(&v.to_be_bytes());
    }
}

fn header(name: &[u8], t: &T, typeflag: u8, size: u64) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len().min(100)].copy_from_slice(&name[..name.len().min(100)]);
    octal(&mut h[100..108], u64::from(t.mode));
    octal(&mut h[108..116], u64::from(t.uid));
    octal(&mut h[116..124], u64::from(t.gid));
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], t.mtime);
    h[156] = typeflag;
    let l = t.link.as_bytes();
    h[157..157 + l.len().min(100)].copy_from_slice(&l[..l.len().min(100)]);
    h[257..265].copy_from_slice(b"ustar  \0");
    h[265..269].copy_from_slice(b"root");
    h[297..301].copy_from_slice(b"root");
    octal(&mut h[329..337], u64::from(t.major));
    octal(&mut h[337..345], u64::from(t.minor));
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
    h
}

fn pad(v: &mut Vec<u8>) {
    v.resize(v.len().next_multiple_of(512), 0);
}

/// A GNU-format tar of the entries (long names and links as GNU `L`/`K` records), with the end blocks.
pub fn tar(entries: &[T]) -> Vec<u8> {
    let mut v = Vec::new();
    for t in entries {
        for (flag, long) in [(b'K', &t.link), (b'L', &t.name)] {
            if long.len() >= 100 {
                let mut data = long.as_bytes().to_vec();
                data.push(0);
                v.extend_from_slice(&header(b"././@LongLink", t, flag, data.len() as u64));
                v.extend_from_slice(&data);
                pad(&mut v);
            }
        }
        let size = t.declared.unwrap_or(t.data.len() as u64);
        v.extend_from_slice(&header(t.name.as_bytes(), t, t.typeflag, size));
        v.extend_from_slice(&t.data);
        pad(&mut v);
    }
    v.extend_from_slice(&[0u8; 1024]);
    v
}

/// An ar archive of the members.
pub fn ar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut v = b"!<arch>\n".to_vec();
    for (name, data) in members {
        v.extend_from_slice(
            format!(
                "{name:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
                0,
                0,
                0,
                100644,
                data.len()
            )
            .as_bytes(),
        );
        v.extend_from_slice(data);
        if data.len() & 1 == 1 {
            v.push(b'\n');
        }
    }
    v
}

/// A minimal control file.
pub fn control(name: &str) -> String {
    format!("Package: {name}\nVersion: 1.0\nArchitecture: all\nMaintainer: T <t@example.org>\nDescription: test package\n")
}

/// A .deb with an uncompressed control.tar holding `control_text` (plus extra members) and the given data.tar bytes.
pub fn deb_bytes(control_text: &str, extra_control: &[T], data_tar: &[u8]) -> Vec<u8> {
    let mut c = vec![
        T::dir("./"),
        T::file("./control", control_text.as_bytes(), 0o644),
    ];
    c.extend_from_slice(extra_control);
    let control_tar = tar(&c);
    ar(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar", &control_tar),
        ("data.tar", data_tar),
    ])
}

/// Writes a .deb made of the given data.tar entries into `dir`.
pub fn write_deb(dir: &Path, name: &str, entries: &[T]) -> PathBuf {
    let p = dir.join(format!("{name}.deb"));
    std::fs::write(&p, deb_bytes(&control(name), &[], &tar(entries))).unwrap();
    p
}

/// Builds a package directory with dpkg-deb --build (root owner and group) into `out`.
pub fn dpkg_deb_build(root: &Path, out: &Path, compression: &str) {
    ok(Command::new("dpkg-deb")
        .arg("--root-owner-group")
        .arg(format!("-Z{compression}"))
        .arg("--build")
        .arg(root)
        .arg(out)
        .env("SOURCE_DATE_EPOCH", "1700000000"));
}

/// The .deb files of the directory named by $EFLOW_DEB_DIR, sorted (for the ignored tests
/// that check real packages).
pub fn eflow_deb_dir_debs() -> Vec<PathBuf> {
    let dir =
        std::env::var("EFLOW_DEB_DIR").expect("set EFLOW_DEB_DIR to a directory of .deb files");
    let mut debs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "deb"))
        .collect();
    debs.sort();
    assert!(!debs.is_empty(), "no .deb files in {dir}");
    debs
}
