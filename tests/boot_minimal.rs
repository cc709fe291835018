//! The reference image, built as a VHDX, boots under QEMU + OVMF (TCG) to the guest's
//! `EFLOW-READY failed=0` line, as `eflow-image boot` checks it.

mod common;

use common::*;

#[test]
fn built_vhdx_boots_to_ready_with_no_failed_unit() {
    for t in ["qemu-system-x86_64", "qemu-img"] {
        require_tool(t);
    }
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
