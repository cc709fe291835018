//! Helpers the VHDX tests share beyond the test kit: the independent tools (qemu-img,
//! vhdiinfo) judging a VHDX file against its raw original.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

pub use eflow_testkit::{pseudo_random, qemu_img_raw, qemu_img_same, qemu_img_vhdx, sparse_file};

/// A sparse raw disk `name` of `size` bytes with `pieces` (offset, bytes) written in, in a new
/// temporary directory (kept while the returned handle lives).
pub fn raw_disk(name: &str, size: u64, pieces: &[(u64, Vec<u8>)]) -> (TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let raw = d.path().join(name);
    sparse_file(&raw, size, pieces);
    (d, raw)
}

/// Runs `name` with `args`, requiring success; both streams as text (qemu-img answers on either).
pub fn tool(name: &str, args: &[&str]) -> String {
    eflow_testkit::ok_outcome(Command::new(name).args(args)).all()
}

/// Checks a VHDX file against its raw original with qemu-img and vhdiinfo.
pub fn check_with_tools(vhdx: &Path, raw: &Path, size: u64, logical_sector: u32) {
    check_with_tools_opt(vhdx, raw, size, logical_sector, true)
}

/// As [`check_with_tools`]; `direct_compare` false skips `qemu-img compare -f vhdx -F raw`,
/// which reads every zero byte of the raw side (minutes for a 100+ GiB disk); the
/// conversion back to raw and a sparse-aware raw/raw compare still check every byte.
pub fn check_with_tools_opt(
    vhdx: &Path,
    raw: &Path,
    size: u64,
    logical_sector: u32,
    direct_compare: bool,
) {
    let v = vhdx.to_str().unwrap();
    let check = tool("qemu-img", &["check", "-f", "vhdx", v]);
    assert!(
        check.contains("No errors were found"),
        "qemu-img check: {check}"
    );
    if direct_compare {
        qemu_img_same("vhdx", vhdx, raw);
    }
    let info = tool("vhdiinfo", &[v]);
    assert!(
        info.contains(&format!("({size} bytes)")),
        "vhdiinfo media size, expected {size}: {info}"
    );
    assert!(
        info.contains(&format!("Bytes per sector\t: {logical_sector} bytes")),
        "vhdiinfo sector size, expected {logical_sector}: {info}"
    );
    // QEMU's reader reads it back: convert to raw, compare with the original.
    let back = vhdx.with_extension("qemu.raw");
    qemu_img_raw("vhdx", vhdx, &back);
    qemu_img_same("raw", &back, raw);
    std::fs::remove_file(back).unwrap();
}
