//! The reference image as a raw disk and a VHDX, checked by tools nobody here wrote:
//! sgdisk, sfdisk, e2fsck, debugfs, fsck.vfat, qemu-img, vhdiinfo.

use crate::util::*;
use eflow_testkit::{copy_range, ok, ok_stdout, partitions, require_tools, sha256sum};
use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

/// Metadata of every path below `dir`: (mode, uid, gid, size or link target, mtime, content digest).
fn walk(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            let what = if m.file_type().is_symlink() {
                format!("-> {}", std::fs::read_link(&p).unwrap().display())
            } else if m.is_file() {
                sha256sum(&p)
            } else {
                String::new()
            };
            let mtime = if m.file_type().is_symlink() {
                0
            } else {
                m.mtime()
            };
            out.insert(
                rel,
                format!(
                    "{:o} {}:{} {} {} {}",
                    // debugfs rdump drops setuid, setgid and sticky bits: those are
                    // compared through `debugfs stat` below.
                    m.permissions().mode() & !0o7000,
                    m.uid(),
                    m.gid(),
                    if m.is_dir() { 0 } else { m.len() },
                    mtime,
                    what
                ),
            );
            if m.is_dir() {
                stack.push(p);
            }
        }
    }
    out
}

/// Entries with setuid, setgid or sticky bits below `dir`, as "relative/path MODE" (octal).
fn walk_special(dir: &Path) -> Vec<String> {
    ok_stdout(Command::new("find").arg(dir).args([
        "(", "-type", "f", "-o", "-type", "d", ")", "-perm", "/7000", "-printf", "%P %m\\n",
    ]))
    .lines()
    .map(str::to_string)
    .collect()
}

#[test]
fn raw_and_vhdx_pass_independent_checks() {
    require_tools(&[
        "sgdisk",
        "sfdisk",
        "e2fsck",
        "debugfs",
        "fsck.vfat",
        "qemu-img",
        "vhdiinfo",
        "tar",
    ]);
    let dir = tempfile::tempdir().unwrap();
    build_minimal(dir.path(), "raw,vhdx,tar");
    let raw = dir.path().join("minimal.raw");
    let vhdx = dir.path().join("minimal.vhdx");

    // GPT: sgdisk finds no problem; sfdisk shows the planned layout.
    let out = ok(Command::new("sgdisk").arg("-v").arg(&raw));
    assert!(String::from_utf8_lossy(&out.stdout).contains("No problems found"));
    // The EFLOW layout: ESP, a content-sized root, the log partition, the data partition
    // taking the rest of the disk.
    let parts = partitions(&raw);
    let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["esp", "root", "log", "data"]);
    assert_eq!(parts[0].type_guid, "C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
    assert_eq!(parts[0].start, 1 << 20);
    assert_eq!(parts[0].size, 128 << 20);
    assert_eq!(parts[1].type_guid, "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709");
    assert_eq!(parts[2].type_guid, "0FC63DAF-8483-4772-8E79-3D69D8477DE4");
    assert_eq!(parts[2].size, 256 << 20);
    assert_eq!(parts[3].type_guid, "4D21B016-B534-45C2-A9FB-5C16E091FD2D");
    assert!(
        parts[3].start + parts[3].size > (2 << 30) - (2 << 20),
        "data takes the rest"
    );
    assert_eq!(std::fs::metadata(&raw).unwrap().len(), 2 << 30);
    for p in &parts {
        assert_eq!(p.start % (1 << 20), 0, "1 MiB aligned");
    }
    // Sparse: allocated size follows the content, not the 2 GiB virtual size.
    let allocated = std::fs::metadata(&raw).unwrap().blocks() * 512;
    assert!(allocated < 1 << 30, "raw disk allocates {allocated} bytes");

    // The manifest lists the same partitions, with where the guest mounts them.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("minimal.manifest.json")).unwrap())
            .unwrap();
    let listed: Vec<(String, u64, u64, String, bool)> = manifest["partitions"]
        .as_array()
        .expect("the manifest lists the partitions")
        .iter()
        .map(|p| {
            (
                p["label"].as_str().unwrap().to_string(),
                p["offset"].as_u64().unwrap(),
                p["size"].as_u64().unwrap(),
                p["mount"].as_str().unwrap_or("-").to_string(),
                p["read_only"].as_bool().unwrap(),
            )
        })
        .collect();
    let expect: Vec<(String, u64, u64, String, bool)> = parts
        .iter()
        .zip(["-", "/", "/var/log", "/var"])
        .map(|(p, m)| (p.name.clone(), p.start, p.size, m.to_string(), m == "/"))
        .collect();
    assert_eq!(listed, expect);

    // The ESP; each ext4 filesystem passes e2fsck and is unpacked at its mount point, so
    // that together they must hold exactly the rootfs tarball's files (both written from one
    // Tree): compared through debugfs rdump and GNU tar, path by path.
    let esp = dir.path().join("esp.img");
    copy_range(&raw, parts[0].start, parts[0].size, &esp);
    ok(Command::new("fsck.vfat").arg("-n").arg(&esp));
    let from_ext4 = dir.path().join("ext4");
    let from_tar = dir.path().join("tar");
    std::fs::create_dir_all(&from_ext4).unwrap();
    std::fs::create_dir_all(&from_tar).unwrap();
    let mut images = Vec::new();
    for (part, mount) in [(&parts[1], ""), (&parts[3], "var"), (&parts[2], "var/log")] {
        let img = dir.path().join(format!("{}.img", part.name));
        copy_range(&raw, part.start, part.size, &img);
        ok(Command::new("e2fsck").arg("-fn").arg(&img));
        debugfs(
            &img,
            &format!("rdump / {}", from_ext4.join(mount).display()),
        );
        images.push((img, mount));
    }
    ok(Command::new("tar")
        .arg("-xpf")
        .arg(dir.path().join("minimal.rootfs.tar"))
        .arg("--numeric-owner")
        .arg("-C")
        .arg(&from_tar));
    let mut a = walk(&from_ext4);
    for (_, mount) in &images {
        a.remove(
            &Path::new(mount)
                .join("lost+found")
                .to_string_lossy()
                .into_owned(),
        );
    }
    let b = walk(&from_tar);
    let only_ext4: Vec<_> = a.keys().filter(|k| !b.contains_key(*k)).collect();
    let only_tar: Vec<_> = b.keys().filter(|k| !a.contains_key(*k)).collect();
    assert!(
        only_ext4.is_empty() && only_tar.is_empty(),
        "ext4 only: {only_ext4:?}\ntar only: {only_tar:?}"
    );
    let special: Vec<String> = walk_special(&from_tar);
    assert!(
        special.iter().any(|s| s.starts_with("tmp ")),
        "the image has setuid, setgid and sticky entries: {special:?}"
    );
    for (path, mode) in special.iter().map(|s| s.split_once(' ').unwrap()) {
        // The filesystem holding the path: the deepest mount point above it.
        let (img, mount) = images
            .iter()
            .filter(|(_, m)| m.is_empty() || path == *m || path.starts_with(&format!("{m}/")))
            .max_by_key(|(_, m)| m.len())
            .unwrap();
        let inside = path
            .strip_prefix(mount)
            .unwrap_or(path)
            .trim_start_matches('/');
        let text = debugfs(img, &format!("stat /{inside}"));
        assert!(
            text.contains(&format!("Mode:  0{mode}")),
            "{path}: tar mode {mode}, debugfs says {}",
            text.lines().next().unwrap_or_default()
        );
    }
    let differ: Vec<String> = a
        .iter()
        .filter(|(k, v)| b[*k] != **v)
        .take(20)
        .map(|(k, v)| format!("{k}: ext4 {v} / tar {}", b[k]))
        .collect();
    assert!(differ.is_empty(), "{}", differ.join("\n"));

    // VHDX: qemu-img's checker and comparison, libvhdi's reader.
    ok(Command::new("qemu-img")
        .args(["check", "-f", "vhdx"])
        .arg(&vhdx));
    let out = ok(Command::new("qemu-img")
        .args(["compare", "-f", "vhdx", "-F", "raw"])
        .arg(&vhdx)
        .arg(&raw));
    assert!(String::from_utf8_lossy(&out.stdout).contains("identical"));
    let out = ok(Command::new("vhdiinfo").arg(&vhdx));
    let info = String::from_utf8_lossy(&out.stdout);
    assert!(info.contains("2147483648 bytes"), "{info}");
    assert!(
        std::fs::metadata(&vhdx).unwrap().len() < 1 << 30,
        "a dynamic VHDX stores only what is written"
    );
}
