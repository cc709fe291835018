//! The reference image, built as a VHDX and grown by 2 GiB before its first boot (as a user
//! deploying a larger disk would), boots under QEMU + OVMF (TCG) to the guest's
//! `EFLOW-READY failed=0` line, as `eflow-image boot` checks it, with the EFLOW layout
//! mounted and the data partition grown. One boot checks it all: each costs minutes.

use crate::util::*;
use eflow_builder::commands::vm;
use eflow_testkit::{ok, ok_stdout, require_tools, run};

/// (first, last) sector of partition `n` of a raw disk, from sgdisk.
fn sectors(disk: &std::path::Path, n: u32) -> (u64, u64) {
    let info = ok_stdout(
        std::process::Command::new("sgdisk")
            .arg("-i")
            .arg(n.to_string())
            .arg(disk),
    );
    let field = |name: &str| -> u64 {
        info.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("sgdisk -i {n}: no {name}\n{info}"))
    };
    (field("First sector: "), field("Last sector: "))
}

#[test]
fn grown_vhdx_boots_to_ready_with_the_eflow_layout() {
    require_tools(&["qemu-system-x86_64", "qemu-img", "sgdisk"]);
    assert!(
        std::path::Path::new("/usr/share/OVMF/OVMF_CODE_4M.fd").is_file(),
        "OVMF is needed (apt-get install ovmf)"
    );
    let dir = tempfile::tempdir().unwrap();
    build_minimal(dir.path(), "vhdx");
    // qemu-img cannot resize a VHDX ("format driver does not support resize"; Hyper-V's
    // Resize-VHD can), so the disk goes through raw: our convert, then qemu-img resize.
    let raw = dir.path().join("grown.raw");
    ok(eflow()
        .arg("--quiet")
        .arg("convert")
        .arg(dir.path().join("minimal.vhdx"))
        .arg(&raw));
    let built: Vec<(u64, u64)> = (1..=4).map(|n| sectors(&raw, n)).collect();
    ok(std::process::Command::new("qemu-img")
        .args(["resize", "-f", "raw"])
        .arg(&raw)
        .arg("4G"));

    let log = dir.path().join("console.log");
    let out = run(eflow()
        .args(["boot", "--writable", "--timeout", "600", "--keep-log"])
        .arg(&log)
        .arg(&raw));
    let console = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        out.status.success(),
        "boot failed ({}): {}\nconsole:\n{console}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(console.contains("EFLOW-READY failed=0"), "{console}");
    assert!(
        !console.to_lowercase().contains("unknown symbol"),
        "a module failed to load:\n{console}"
    );

    // The layout: a read-only root, /var and /var/log on their own ext4, overlays.
    let fs = vm::parse_filesystems(&console);
    let get = |target: &str| {
        fs.iter()
            .find(|m| m.target == target)
            .unwrap_or_else(|| panic!("{target} is not mounted: {fs:?}\n{console}"))
    };
    assert!(get("/").read_only && get("/").fstype == "ext4", "{fs:?}");
    for target in ["/var", "/var/log"] {
        let m = get(target);
        assert!(!m.read_only && m.fstype == "ext4", "{m:?}");
    }
    for target in ["/etc", "/home", "/root"] {
        let m = get(target);
        assert!(!m.read_only && m.fstype == "overlay", "{m:?}");
    }

    // The data partition (the last) grew to the end of the 4 GiB disk, and its filesystem
    // with it; the root and log partitions kept their places and sizes.
    let after: Vec<(u64, u64)> = (1..=4).map(|n| sectors(&raw, n)).collect();
    assert_eq!(after[..3], built[..3], "only the data partition may change");
    assert_eq!(after[3].0, built[3].0);
    let disk_sectors = (4u64 << 30) / 512;
    assert!(
        after[3].1 + 2048 >= disk_sectors - 34,
        "the data partition ends at sector {} of {disk_sectors}",
        after[3].1
    );
    let data_bytes = (after[3].1 - after[3].0 + 1) * 512;
    assert!(
        get("/var").size > data_bytes - (data_bytes / 20),
        "/var is {} bytes on a {data_bytes}-byte partition",
        get("/var").size
    );
    let root_bytes = (built[1].1 - built[1].0 + 1) * 512;
    assert!(get("/").size <= root_bytes, "{:?}", get("/"));
}
