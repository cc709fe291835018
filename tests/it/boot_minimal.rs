//! The reference image, built as a VHDX, boots under QEMU + OVMF (TCG) to the guest's
//! `EFLOW-READY failed=0` line, as `eflow-image boot` checks it.

use crate::util::*;
use eflow_testkit::{ok, require_tools, run};

#[test]
fn built_vhdx_boots_to_ready_with_no_failed_unit() {
    require_tools(&["qemu-system-x86_64", "qemu-img"]);
    assert!(
        std::path::Path::new("/usr/share/OVMF/OVMF_CODE_4M.fd").is_file(),
        "OVMF is needed (apt-get install ovmf)"
    );
    let dir = tempfile::tempdir().unwrap();
    build_minimal(dir.path(), "vhdx");
    let log = dir.path().join("console.log");
    let out = run(eflow()
        .args(["boot", "--timeout", "600", "--keep-log"])
        .arg(&log)
        .arg(dir.path().join("minimal.vhdx")));
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
}

#[test]
fn vhdx_grown_before_first_boot_gets_a_root_filling_the_disk() {
    require_tools(&["qemu-system-x86_64", "qemu-img"]);
    let dir = tempfile::tempdir().unwrap();
    build_minimal(dir.path(), "vhdx");
    // Grow the virtual disk from 2 GiB to 4 GiB, as a user deploying a larger disk would.
    // qemu-img cannot resize a VHDX ("format driver does not support resize"; Hyper-V's
    // Resize-VHD can), so the disk goes through raw: our convert, then qemu-img resize.
    let raw = dir.path().join("grown.raw");
    ok(eflow()
        .arg("--quiet")
        .arg("convert")
        .arg(dir.path().join("minimal.vhdx"))
        .arg(&raw));
    ok(std::process::Command::new("qemu-img")
        .args(["resize", "-f", "raw"])
        .arg(&raw)
        .arg("4G"));
    let vhdx = raw;
    let log = dir.path().join("console.log");
    let out = run(eflow()
        .args(["boot", "--timeout", "600", "--keep-log"])
        .arg(&log)
        .arg(&vhdx));
    let console = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(out.status.success(), "boot failed:\n{console}");
    // The guest prints the size of / (statvfs) before its ready line.
    let root: u64 = console
        .lines()
        .find_map(|l| l.trim().strip_prefix("EFLOW-ROOT-SIZE="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no EFLOW-ROOT-SIZE line:\n{console}"));
    // The root partition starts at 129 MiB; the grown filesystem must use the new space
    // (more than 3.5 GiB of the 4 GiB), not stay near the 1.9 GiB it was built with.
    assert!(
        root > 3_500 << 20,
        "root filesystem is {root} bytes after growing the disk to 4 GiB"
    );
}
