//! The fixed VHD writer judged by qemu-img's vpc driver and libvhdi's vhdiinfo.

use std::fs::File;

use crate::common::*;
use eflow_extents::RawFile;
use eflow_vhdx::{write_vhd_fixed, VhdOptions};

const MIB: u64 = 1 << 20;

#[test]
fn fixed_vhd_read_by_qemu_and_libvhdi() {
    let size = 130 * MIB;
    let (d, raw) = raw_disk(
        "d.raw",
        size,
        &[
            (0, pseudo_random(1, 70_000)),
            (size - 4096, pseudo_random(2, 4096)),
        ],
    );
    let vhd = d.path().join("d.vhd");
    let opts = VhdOptions {
        seed: eflow_id::Seed([3; 32]),
        timestamp: 788_918_400, // 2025-01-01 in seconds since 2000-01-01
        ..VhdOptions::default()
    };
    let mut src = RawFile::new(File::open(&raw).unwrap()).unwrap();
    let s = write_vhd_fixed(&mut src, &mut File::create(&vhd).unwrap(), &opts).unwrap();
    assert_eq!(s.file_size, size + 512);
    let v = vhd.to_str().unwrap();
    let info = tool("qemu-img", &["info", "-f", "vpc", v]);
    assert!(info.contains(&format!("({size} bytes)")), "{info}");
    qemu_img_same("vpc", &vhd, &raw);
    let info = tool("vhdiinfo", &[v]);
    assert!(info.contains("VHD (version 1)"), "{info}");
    assert!(info.contains("Disk type\t\t: Fixed"), "{info}");
    assert!(info.contains(&format!("({size} bytes)")), "{info}");
    // Reproducible.
    let first = std::fs::read(&vhd).unwrap();
    let mut src = RawFile::new(File::open(&raw).unwrap()).unwrap();
    write_vhd_fixed(&mut src, &mut File::create(&vhd).unwrap(), &opts).unwrap();
    assert!(std::fs::read(&vhd).unwrap() == first);
}

#[test]
fn size_not_whole_mib_refused() {
    let (d, raw) = raw_disk("odd.raw", 10 * MIB + 512, &[]);
    let mut src = RawFile::new(File::open(&raw).unwrap()).unwrap();
    let e = write_vhd_fixed(
        &mut src,
        &mut File::create(d.path().join("odd.vhd")).unwrap(),
        &VhdOptions::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("whole number of MiB"), "{e}");
}
