//! The writer judged by tools nobody here wrote: qemu-img (check, compare, convert) and
//! libvhdi's vhdiinfo, on disks made in the test from sparse raw files.

use std::fs::File;
use std::path::Path;

use crate::common::*;
use eflow_extents::RawFile;
use eflow_vhdx::{write, Kind, Options, Reader, Summary};

const MIB: u64 = 1 << 20;

fn opts(kind: Kind, block_size: u32, logical: u32, physical: u32) -> Options {
    Options {
        kind,
        block_size,
        logical_sector: logical,
        physical_sector: physical,
        seed: eflow_id::Seed([7; 32]),
        creator: "eflow-vhdx tests".into(),
    }
}

/// Writes `raw` as VHDX with `o`, checks it with the tools and with our reader.
fn convert_and_check(dir: &Path, name: &str, raw: &Path, size: u64, o: &Options) -> Summary {
    let vhdx = dir.join(format!("{name}.vhdx"));
    let mut src = RawFile::new(File::open(raw).unwrap()).unwrap();
    let mut out = File::create(&vhdx).unwrap();
    let s = write(&mut src, &mut out, o).unwrap();
    drop(out);
    assert_eq!(s.virtual_size, size);
    assert_eq!(s.file_size, std::fs::metadata(&vhdx).unwrap().len());
    check_with_tools(&vhdx, raw, size, o.logical_sector);
    // Our own reader agrees on the layout.
    let r = Reader::open(File::open(&vhdx).unwrap()).unwrap();
    assert_eq!(r.info().virtual_size, size);
    assert_eq!(r.info().blocks.fully_present, s.blocks_present);
    assert_eq!(r.info().fixed, o.kind == Kind::Fixed);
    s
}

#[test]
fn empty_disk() {
    let (d, raw) = raw_disk("empty.raw", 64 * MIB, &[]);
    let s = convert_and_check(d.path(), "empty", &raw, 64 * MIB, &Options::default());
    assert_eq!(s.blocks_present, 0);
    assert_eq!(s.file_size, 4 * MIB, "only the fixed structures");
}

#[test]
fn all_data() {
    let (d, raw) = raw_disk("full.raw", 8 * MIB, &[(0, pseudo_random(1, 8 << 20))]);
    let s = convert_and_check(d.path(), "full", &raw, 8 * MIB, &Options::default());
    assert_eq!(s.blocks_present, 8);
}

#[test]
fn alternating_data_and_zero_blocks() {
    let d = tempfile::tempdir().unwrap();
    let raw = d.path().join("alt.raw");
    let mut pieces = Vec::new();
    for k in 0..16u64 {
        if k % 2 == 0 {
            pieces.push((k * MIB, pseudo_random(k, 1 << 20)));
        } else if k % 4 == 1 {
            // Explicit zeros (data on the host, not a hole): must still be left out.
            pieces.push((k * MIB, vec![0u8; 1 << 20]));
        }
    }
    // A block with just a few bytes of data at its end.
    pieces.push((17 * MIB - 3, vec![1, 2, 3]));
    sparse_file(&raw, 20 * MIB, &pieces);
    let s = convert_and_check(d.path(), "alt", &raw, 20 * MIB, &Options::default());
    assert_eq!(s.blocks_present, 9);
}

#[test]
fn size_not_a_multiple_of_the_block_size() {
    let size = 9 * MIB + 3 * 512;
    let (d, raw) = raw_disk(
        "odd.raw",
        size,
        &[
            (0, pseudo_random(3, 4096)),
            (size - 1000, pseudo_random(4, 1000)),
        ],
    );
    let o = opts(Kind::Dynamic, 4 << 20, 512, 4096);
    let s = convert_and_check(d.path(), "odd", &raw, size, &o);
    assert_eq!(s.blocks_present, 2);
    let o = opts(Kind::Fixed, 4 << 20, 512, 4096);
    let s = convert_and_check(d.path(), "oddfixed", &raw, size, &o);
    assert_eq!(s.blocks_present, 3);
}

#[test]
fn size_not_a_multiple_of_the_logical_sector_is_refused() {
    let (d, raw) = raw_disk("bad.raw", MIB + 512, &[]);
    let mut src = RawFile::new(File::open(&raw).unwrap()).unwrap();
    let mut out = File::create(d.path().join("bad.vhdx")).unwrap();
    let e = write(
        &mut src,
        &mut out,
        &opts(Kind::Dynamic, 1 << 20, 4096, 4096),
    )
    .unwrap_err();
    assert!(e.to_string().contains("logical sector"), "{e}");
}

#[test]
fn more_than_4_gib_mostly_sparse() {
    let size = 5 * 1024 * MIB + 512;
    let (d, raw) = raw_disk(
        "big.raw",
        size,
        &[
            (0, pseudo_random(5, 64 << 10)),
            ((4 << 30) - 4096, pseudo_random(6, 8192)),
            (size - 512, pseudo_random(7, 512)),
        ],
    );
    let s = convert_and_check(d.path(), "big", &raw, size, &Options::default());
    assert_eq!(s.blocks_present, 4);
}

#[test]
fn bat_larger_than_one_mib() {
    // 130 GiB with 1 MiB blocks: 133120 payload entries plus 32 sector bitmap entries, a BAT
    // of 2 MiB; data in the last block and on both sides of a chunk boundary.
    let size = 130u64 << 30;
    let (d, raw) = raw_disk(
        "huge.raw",
        size,
        &[
            ((128u64 << 30) - 512, pseudo_random(14, 1024)),
            (size - 4096, pseudo_random(15, 4096)),
        ],
    );
    let vhdx = d.path().join("huge.vhdx");
    let mut src = RawFile::new(File::open(&raw).unwrap()).unwrap();
    let s = write(
        &mut src,
        &mut File::create(&vhdx).unwrap(),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(s.blocks_present, 3);
    assert_eq!(s.file_size, 5 * MIB + 3 * MIB, "BAT of 2 MiB, three blocks");
    check_with_tools_opt(&vhdx, &raw, size, 512, false);
    let r = Reader::open(File::open(&vhdx).unwrap()).unwrap();
    assert_eq!(r.info().bat_entries, 133120 + 32);
}

#[test]
fn several_block_sizes() {
    let size = 300 * MIB;
    let (d, raw) = raw_disk(
        "bs.raw",
        size,
        &[
            (MIB, pseudo_random(8, 100_000)),
            (40 * MIB, pseudo_random(9, 3 << 20)),
            (299 * MIB, pseudo_random(10, 1 << 20)),
        ],
    );
    for bs in [1u32 << 20, 2 << 20, 8 << 20, 32 << 20, 256 << 20] {
        convert_and_check(
            d.path(),
            &format!("bs{bs}"),
            &raw,
            size,
            &opts(Kind::Dynamic, bs, 512, 4096),
        );
    }
}

#[test]
fn sectors_4096() {
    // QEMU reads only 512-byte logical sectors ("Operation not supported"), so vhdiinfo
    // judges the metadata, and qemu-img judges the BAT and payload of a copy whose logical
    // sector item is patched to 512 (metadata items carry no checksum; with 32 blocks the
    // BAT layout is the same for both chunk ratios).
    let (d, raw) = raw_disk(
        "4k.raw",
        32 * MIB,
        &[(5 * MIB + 4096, pseudo_random(11, 1 << 20))],
    );
    let vhdx = d.path().join("4k.vhdx");
    let mut src = RawFile::new(File::open(&raw).unwrap()).unwrap();
    let o = opts(Kind::Dynamic, 1 << 20, 4096, 4096);
    let s = write(&mut src, &mut File::create(&vhdx).unwrap(), &o).unwrap();
    assert_eq!(s.blocks_present, 2);
    let info = tool("vhdiinfo", &[vhdx.to_str().unwrap()]);
    assert!(info.contains("(33554432 bytes)"), "{info}");
    assert!(info.contains("Bytes per sector\t: 4096 bytes"), "{info}");
    let mut bytes = std::fs::read(&vhdx).unwrap();
    let meta = 2 * MIB as usize;
    let logical_guid = [
        0x1D, 0xBF, 0x41, 0x81, 0x6F, 0xA9, 0x09, 0x47, 0xBA, 0x47, 0xF2, 0x33, 0xA8, 0xFA, 0xAB,
        0x5F,
    ];
    let entry = (0..2047)
        .map(|i| meta + 32 + 32 * i)
        .find(|at| bytes[*at..*at + 16] == logical_guid)
        .expect("logical sector size item");
    let off = u32::from_le_bytes(bytes[entry + 16..entry + 20].try_into().unwrap()) as usize;
    assert_eq!(&bytes[meta + off..meta + off + 4], &4096u32.to_le_bytes());
    bytes[meta + off..meta + off + 4].copy_from_slice(&512u32.to_le_bytes());
    let patched = d.path().join("4k-as-512.vhdx");
    std::fs::write(&patched, bytes).unwrap();
    check_with_tools(&patched, &raw, 32 * MIB, 512);
    let r = Reader::open(File::open(&vhdx).unwrap()).unwrap();
    assert_eq!(r.info().logical_sector, 4096);
    assert_eq!(r.info().physical_sector, 4096);
}

#[test]
fn fixed_disk() {
    let (d, raw) = raw_disk(
        "fixed.raw",
        24 * MIB,
        &[(3 * MIB, pseudo_random(12, 5 << 20))],
    );
    let s = convert_and_check(
        d.path(),
        "fixed",
        &raw,
        24 * MIB,
        &opts(Kind::Fixed, 8 << 20, 512, 4096),
    );
    assert_eq!(s.blocks_present, 3);
    let info = tool("vhdiinfo", &[d.path().join("fixed.vhdx").to_str().unwrap()]);
    assert!(info.contains("Disk type\t\t: Fixed"), "{info}");
}

#[test]
fn reproducible() {
    let (d, raw) = raw_disk("r.raw", 16 * MIB, &[(2 * MIB, pseudo_random(13, 3 << 20))]);
    for kind in [Kind::Dynamic, Kind::Fixed] {
        let mut outs = Vec::new();
        for i in 0..2 {
            let p = d.path().join(format!("r{i}.vhdx"));
            let mut src = RawFile::new(File::open(&raw).unwrap()).unwrap();
            let o = opts(kind, 1 << 20, 512, 4096);
            write(&mut src, &mut File::create(&p).unwrap(), &o).unwrap();
            outs.push(std::fs::read(&p).unwrap());
        }
        assert!(outs[0] == outs[1], "two writes differ");
        // A different seed changes the GUIDs only.
        let p = d.path().join("r2.vhdx");
        let mut src = RawFile::new(File::open(&raw).unwrap()).unwrap();
        let mut o = opts(kind, 1 << 20, 512, 4096);
        o.seed = eflow_id::Seed([8; 32]);
        write(&mut src, &mut File::create(&p).unwrap(), &o).unwrap();
        assert!(std::fs::read(&p).unwrap() != outs[0]);
    }
}
