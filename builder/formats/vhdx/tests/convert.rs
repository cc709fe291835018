//! The file-to-file helpers the command line uses: progress reaches the total, the output
//! appears only when complete, and the result is what qemu-img reads.

mod common;

use common::*;
use std::fs::File;

use eflow_vhdx::{detect, raw_to_vhd, raw_to_vhdx, vhdx_to_raw, DiskFormat, Options, VhdOptions};

const MIB: u64 = 1 << 20;

#[test]
fn raw_vhdx_raw_with_progress() {
    let d = tempfile::tempdir().unwrap();
    let raw = d.path().join("a.raw");
    make_raw(&raw, 12 * MIB, &[(MIB + 7, pseudo_random(1, 3 << 20))]);
    let vhdx = d.path().join("a.vhdx");
    let mut last = (0, 0);
    let s = raw_to_vhdx(&raw, &vhdx, &Options::default(), &mut |done, total| {
        assert!(done >= last.0 && done <= total);
        last = (done, total);
    })
    .unwrap();
    assert_eq!(last, (12 * MIB, 12 * MIB));
    assert_eq!(s.blocks_present, 4);
    assert!(!d.path().join("a.vhdx.partial").exists());
    check_with_tools(&vhdx, &raw, 12 * MIB, 512);

    let back = d.path().join("b.raw");
    let mut calls = 0;
    let info = vhdx_to_raw(&vhdx, &back, &mut |_, _| calls += 1).unwrap();
    assert!(calls > 0);
    assert_eq!(info.virtual_size, 12 * MIB);
    let cmp = run(
        "qemu-img",
        &[
            "compare",
            "-f",
            "raw",
            "-F",
            "raw",
            back.to_str().unwrap(),
            raw.to_str().unwrap(),
        ],
    );
    assert!(cmp.contains("identical"), "{cmp}");

    let vhd = d.path().join("a.vhd");
    raw_to_vhd(&raw, &vhd, &VhdOptions::default(), &mut |_, _| {}).unwrap();
    let format = |p: &std::path::Path| detect(&mut File::open(p).unwrap()).unwrap();
    assert_eq!(format(&vhdx), DiskFormat::Vhdx);
    assert_eq!(format(&vhd), DiskFormat::VhdFixed);
    assert_eq!(format(&raw), DiskFormat::Raw);
    let cmp = run(
        "qemu-img",
        &[
            "compare",
            "-f",
            "vpc",
            "-F",
            "raw",
            vhd.to_str().unwrap(),
            raw.to_str().unwrap(),
        ],
    );
    assert!(cmp.contains("identical"), "{cmp}");
}

#[test]
fn failed_conversion_leaves_nothing() {
    let d = tempfile::tempdir().unwrap();
    let raw = d.path().join("odd.raw");
    make_raw(&raw, MIB + 100, &[]);
    let out = d.path().join("odd.vhdx");
    assert!(raw_to_vhdx(&raw, &out, &Options::default(), &mut |_, _| {}).is_err());
    assert!(!out.exists());
    assert!(!d.path().join("odd.vhdx.partial").exists());
    // Not a VHDX: an error naming the problem, no output.
    let out = d.path().join("x.raw");
    let e = vhdx_to_raw(&raw, &out, &mut |_, _| {}).unwrap_err();
    assert!(e.to_string().contains("not a VHDX file"), "{e}");
    assert!(!out.exists());
}
