//! Conversions as a converter composes them from this crate: a disk file opened by its
//! content ([`DiskReader`]), streamed sparsely through a writer, the result judged by
//! qemu-img; and files qemu-img wrote read back through the same container view.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use crate::common::*;
use eflow_extents::{write_raw, Progressed, RawFile};
use eflow_vhdx::{
    detect, write, write_vhd_fixed, Container, DiskFormat, DiskReader, Options, Reader, VhdOptions,
};

const MIB: u64 = 1 << 20;

fn open(p: &std::path::Path) -> DiskReader {
    DiskReader::open(File::open(p).unwrap()).unwrap()
}

#[test]
fn raw_vhdx_raw_with_progress() {
    let (d, raw) = raw_disk("a.raw", 12 * MIB, &[(MIB + 7, pseudo_random(1, 3 << 20))]);
    let vhdx = d.path().join("a.vhdx");

    let disk = open(&raw);
    assert_eq!(disk.format(), DiskFormat::Raw);
    assert_eq!(disk.container(), &Container::Raw);
    let mut src = disk.into_sparse().unwrap();
    let mut last = (0, 0);
    let mut report = |done, total| {
        assert!(done >= last.0 && done <= total);
        last = (done, total);
    };
    let mut src = Progressed::new(&mut src, &mut report);
    let s = write(
        &mut src,
        &mut File::create(&vhdx).unwrap(),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(last, (12 * MIB, 12 * MIB));
    assert_eq!(s.blocks_present, 4);
    check_with_tools(&vhdx, &raw, 12 * MIB, 512);

    // Back through the container view: what it says, and the same bytes, still sparse.
    let disk = open(&vhdx);
    assert_eq!(disk.format(), DiskFormat::Vhdx);
    assert_eq!(disk.size(), 12 * MIB);
    assert_eq!(disk.file_size(), std::fs::metadata(&vhdx).unwrap().len());
    let Container::Vhdx(info) = disk.container() else {
        panic!("not a VHDX: {:?}", disk.container())
    };
    assert_eq!(info.blocks.fully_present, 4);
    let seqs: Vec<_> = info.headers.iter().map(|h| h.sequence_number).collect();
    assert_eq!(seqs, [Some(1), Some(2)]);
    assert_eq!(info.current_header, 2);
    let back = d.path().join("b.raw");
    let mut src = disk.into_sparse().unwrap();
    let written = write_raw(&mut src, &mut File::create(&back).unwrap()).unwrap();
    // Only the 4 KiB pieces holding data are written: 3 MiB not aligned to them, not 12 MiB.
    assert_eq!(written, (3 << 20) + 4096);
    qemu_img_same("raw", &back, &raw);
}

#[test]
fn fixed_vhd_through_the_container_view() {
    let (d, raw) = raw_disk("a.raw", 6 * MIB, &[(5 * MIB - 3, pseudo_random(2, 9000))]);
    let vhd = d.path().join("a.vhd");
    let mut src = open(&raw).into_sparse().unwrap();
    write_vhd_fixed(
        &mut src,
        &mut File::create(&vhd).unwrap(),
        &VhdOptions::default(),
    )
    .unwrap();
    qemu_img_same("vpc", &vhd, &raw);

    assert_eq!(
        detect(&mut File::open(&vhd).unwrap()).unwrap(),
        DiskFormat::VhdFixed
    );
    assert_eq!(
        detect(&mut File::open(&raw).unwrap()).unwrap(),
        DiskFormat::Raw
    );
    let mut disk = open(&vhd);
    let Container::VhdFixed(footer) = disk.container() else {
        panic!("not a fixed VHD: {:?}", disk.container())
    };
    assert_eq!(footer.virtual_size, 6 * MIB);
    assert_eq!(footer.creator_app, "win ");
    // Random access stops at the disk's end: the footer is not part of the disk.
    disk.seek(SeekFrom::End(-4096)).unwrap();
    let mut tail = Vec::new();
    disk.read_to_end(&mut tail).unwrap();
    assert!(tail == std::fs::read(&raw).unwrap()[(6 * MIB - 4096) as usize..]);
    let mut src = disk.into_sparse().unwrap();
    let back = d.path().join("b.raw");
    write_raw(&mut src, &mut File::create(&back).unwrap()).unwrap();
    assert!(std::fs::read(&back).unwrap() == std::fs::read(&raw).unwrap());
}

#[test]
fn vhdx_written_by_qemu_reads_as_its_raw() {
    let (d, raw) = raw_disk(
        "a.raw",
        40 * MIB,
        &[
            (0, pseudo_random(3, 5000)),
            (33 * MIB + 1, pseudo_random(4, MIB as usize)),
        ],
    );
    let want = std::fs::read(&raw).unwrap();
    for (i, opts) in ["subformat=dynamic", "subformat=fixed,block_size=8M"]
        .iter()
        .enumerate()
    {
        // No .vhdx extension: the container is recognized by content.
        let q = d.path().join(format!("q{i}.img"));
        qemu_img_vhdx(&raw, &q, opts);
        let mut disk = open(&q);
        assert_eq!(disk.format(), DiskFormat::Vhdx, "{opts}");
        let mut all = Vec::new();
        disk.read_to_end(&mut all).unwrap();
        assert!(all == want, "{opts}: random access differs");
        let mut src = disk.into_sparse().unwrap();
        assert!(eflow_extents::read_all(&mut src).unwrap() == want, "{opts}");
    }
}

#[test]
fn bad_inputs_are_errors() {
    let (d, raw) = raw_disk("odd.raw", MIB + 100, &[]);
    // Not a whole number of sectors: the writer refuses.
    let mut src = RawFile::new(File::open(&raw).unwrap()).unwrap();
    let out = d.path().join("odd.vhdx");
    assert!(write(
        &mut src,
        &mut File::create(&out).unwrap(),
        &Options::default()
    )
    .is_err());
    // Not a VHDX: the VHDX reader names the problem; the container view takes it as raw.
    let e = Reader::open(File::open(&raw).unwrap()).err().unwrap();
    assert!(e.to_string().contains("not a VHDX file"), "{e}");
    assert_eq!(open(&raw).format(), DiskFormat::Raw);
}
