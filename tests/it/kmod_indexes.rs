//! The kernel module indexes the build writes into the reference image, checked against
//! kmod itself: Debian 12's `depmod` run on the image's own modules must write the same files,
//! byte for byte, and kmod's `modprobe` must resolve modules, aliases, symbols and built-in
//! modules through the image's indexes. The image's modules are zstd-compressed (`.ko.zst`):
//! depmod and modprobe read them as the guest's kmod does.

use std::path::Path;
use std::process::Command;

use crate::util::*;
use eflow_testkit::{ok, ok_stdout, path_str as s};

/// What depmod (kmod 30) writes into /lib/modules/<release>.
const INDEXES: [&str; 10] = [
    "modules.alias",
    "modules.alias.bin",
    "modules.builtin.alias.bin",
    "modules.builtin.bin",
    "modules.dep",
    "modules.dep.bin",
    "modules.devname",
    "modules.softdep",
    "modules.symbols",
    "modules.symbols.bin",
];

/// What depmod reads besides the modules, as the kernel package ships it.
const INPUTS: [&str; 4] = [
    "kernel",
    "modules.builtin",
    "modules.builtin.modinfo",
    "modules.order",
];

fn copy_dir(from: &Path, to: &Path) {
    ok(Command::new("cp").arg("-a").arg(from).arg(to));
}

/// `modprobe --show-depends` (no loading) of `what` with the image's indexes under `root`.
fn show_depends(root: &Path, release: &str, what: &str) -> String {
    ok_stdout(
        Command::new("modprobe")
            .args(["-C", "/dev/null", "--show-depends", "-d", s(root), "-S"])
            .arg(release)
            .arg(what),
    )
}

#[test]
fn module_indexes_are_depmods() {
    let dir = tempfile::tempdir().unwrap();
    build_minimal(&dir.path().join("out"), "tar");
    let ours = dir.path().join("ours");
    std::fs::create_dir(&ours).unwrap();
    ok(Command::new("tar")
        .arg("-xf")
        .arg(dir.path().join("out/minimal.rootfs.tar"))
        .arg("-C")
        .arg(&ours)
        .arg("usr/lib/modules"));
    let modules = ours.join("usr/lib/modules");
    let releases: Vec<String> = std::fs::read_dir(&modules)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let [release] = releases.as_slice() else {
        panic!("one kernel expected, found {releases:?}");
    };
    let ours_dir = modules.join(release);

    // depmod on a copy of the kernel package's files alone.
    let theirs = dir.path().join("theirs");
    let theirs_dir = theirs.join("lib/modules").join(release);
    std::fs::create_dir_all(&theirs_dir).unwrap();
    for f in INPUTS {
        copy_dir(&ours_dir.join(f), &theirs_dir.join(f));
    }
    ok(Command::new("depmod").arg("-b").arg(&theirs).arg(release));

    let listing = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| !INPUTS.contains(&n.as_str()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(listing(&theirs_dir), INDEXES, "what depmod writes");
    assert_eq!(listing(&ours_dir), INDEXES, "what the image holds");
    for f in INDEXES {
        let a = std::fs::read(ours_dir.join(f)).unwrap();
        let b = std::fs::read(theirs_dir.join(f)).unwrap();
        assert!(
            a == b,
            "{f} differs from depmod's ({} bytes against {})",
            a.len(),
            b.len()
        );
    }
    // Large enough to be the whole kernel, not an empty tree.
    let dep = std::fs::read_to_string(ours_dir.join("modules.dep")).unwrap();
    assert!(
        dep.lines().count() > 1000,
        "{} modules",
        dep.lines().count()
    );

    // kmod's modprobe reading the image's binary indexes.
    let root = ours.join("usr");
    let insmods = |what: &str| -> Vec<String> {
        show_depends(&root, release, what)
            .lines()
            .map(|l| {
                let p = l.trim().strip_prefix("insmod ").unwrap_or(l);
                p.rsplit('/').next().unwrap().to_string()
            })
            .collect()
    };
    assert_eq!(insmods("overlay"), ["overlay.ko.zst"]);
    let verity = insmods("dm-verity");
    assert_eq!(verity.last().map(String::as_str), Some("dm-verity.ko.zst"));
    for dep in ["dm-mod.ko.zst", "dm-bufio.ko.zst"] {
        assert!(verity.contains(&dep.to_string()), "{verity:?}");
    }
    // A PCI device's modalias (virtio), through modules.alias.bin.
    let pci = insmods("pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00");
    assert_eq!(
        pci.last().map(String::as_str),
        Some("virtio_pci.ko.zst"),
        "{pci:?}"
    );
    assert!(pci.contains(&"virtio_ring.ko.zst".to_string()), "{pci:?}");
    // An exported symbol, through modules.symbols.bin.
    let sym = insmods("symbol:dm_bufio_new");
    assert_eq!(
        sym.last().map(String::as_str),
        Some("dm-bufio.ko.zst"),
        "{sym:?}"
    );
    // Built-in modules, by name (modules.builtin.bin) and by alias
    // (modules.builtin.alias.bin).
    assert_eq!(show_depends(&root, release, "ext4").trim(), "builtin ext4");
    assert_eq!(
        show_depends(&root, release, "fs-ext4").trim(),
        "builtin ext4"
    );
}
