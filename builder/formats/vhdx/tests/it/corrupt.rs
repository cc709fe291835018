//! Corrupt input: truncations at many offsets, bit flips in every structure, garbage, and
//! hand-made inconsistencies. The reader must return an error naming the problem (or, where
//! the damage hits a redundant copy or an ignored field, read the disk correctly), never panic.

use std::fs::File;
use std::io::Cursor;
use std::path::Path;

use crate::common::*;
use eflow_extents::{read_all, Bytes, Layout, Segment, SparseRead};
use eflow_vhdx::{write, Error, Options, Reader};

const MIB: u64 = 1 << 20;
const BAT: usize = 3 << 20;
const META: usize = 2 << 20;

/// A small dynamic VHDX (8 MiB virtual, blocks 1, 2, 5 present) and its virtual content.
fn sample() -> (Vec<u8>, Vec<u8>) {
    let mut l = Layout::new(8 * MIB);
    l.place(MIB, Box::new(Bytes::new(pseudo_random(1, 1 << 20))))
        .unwrap();
    l.place(2 * MIB + 512, Box::new(Bytes::new(pseudo_random(2, 4096))))
        .unwrap();
    l.place(5 * MIB, Box::new(Bytes::new(pseudo_random(3, 100))))
        .unwrap();
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("s.vhdx");
    write(&mut l, &mut File::create(&p).unwrap(), &Options::default()).unwrap();
    let mut l2 = Layout::new(8 * MIB);
    l2.place(MIB, Box::new(Bytes::new(pseudo_random(1, 1 << 20))))
        .unwrap();
    l2.place(2 * MIB + 512, Box::new(Bytes::new(pseudo_random(2, 4096))))
        .unwrap();
    l2.place(5 * MIB, Box::new(Bytes::new(pseudo_random(3, 100))))
        .unwrap();
    (std::fs::read(&p).unwrap(), read_all(&mut l2).unwrap())
}

/// Opens `bytes` as a file and, if it opens, reads the whole virtual disk.
fn open(_dir: &Path, bytes: &[u8]) -> Result<Vec<u8>, Error> {
    let mut r = Reader::open(Cursor::new(bytes))?;
    Ok(read_all(&mut r)?)
}

/// Opens `bytes` and streams the virtual disk, comparing it with `disk` as it goes (slice
/// comparisons only: this runs thousands of times in a debug build).
fn open_and_compare(bytes: &[u8], disk: &[u8]) -> Result<bool, Error> {
    let mut r = Reader::open(Cursor::new(bytes))?;
    let zeros = vec![0u8; 1 << 20];
    let mut buf = vec![0u8; 1 << 20];
    let mut pos = 0usize;
    let mut same = r.size() == disk.len() as u64;
    while let Some(seg) = r.next_segment(&mut buf)? {
        match seg {
            Segment::Data(n) => {
                same &= disk.get(pos..pos + n) == Some(&buf[..n]);
                pos += n;
            }
            Segment::Zero(n) => {
                let mut left = n as usize;
                while left > 0 {
                    let k = left.min(zeros.len());
                    same &= disk.get(pos..pos + k) == Some(&zeros[..k]);
                    pos += k;
                    left -= k;
                }
            }
        }
    }
    Ok(same)
}

/// Recomputes the CRC-32C of a checksummed structure of `len` bytes at `at`.
fn fix_crc(b: &mut [u8], at: usize, len: usize) {
    b[at + 4..at + 8].fill(0);
    let c = crc32c::crc32c(&b[at..at + len]);
    b[at + 4..at + 8].copy_from_slice(&c.to_le_bytes());
}

fn expect_err(dir: &Path, bytes: &[u8], needle: &str) {
    match open(dir, bytes) {
        Ok(_) => panic!("expected an error containing {needle:?}, the file opened"),
        Err(e) => assert!(
            e.to_string().contains(needle),
            "error {e:?} lacks {needle:?}"
        ),
    }
}

#[test]
fn sample_reads_back() {
    let d = tempfile::tempdir().unwrap();
    let (file, disk) = sample();
    assert!(open(d.path(), &file).unwrap() == disk);
}

#[test]
fn truncated_at_many_offsets() {
    let d = tempfile::tempdir().unwrap();
    let (file, _) = sample();
    let mut cuts: Vec<usize> = (0..file.len()).step_by(32 * 1024 + 7).collect();
    cuts.extend([
        0, 7, 8, 520, 65536, 65537, 69632, 131072, 196608, 262144, 327680,
    ]);
    cuts.extend([
        MIB as usize,
        META,
        META + 65536,
        BAT,
        BAT + 8,
        file.len() - 1,
    ]);
    for cut in cuts {
        match open(d.path(), &file[..cut]) {
            Ok(_) => panic!("a file cut at {cut} of {} opened", file.len()),
            Err(Error::Corrupt { .. }) => {}
            Err(e) => panic!("cut at {cut}: unexpected error kind {e:?}"),
        }
    }
}

#[test]
fn bit_flips_in_every_structure() {
    let (mut b, disk) = sample();
    // (name, start, length, step): every structure the reader depends on.
    let areas = [
        ("identifier", 0, 16, 1),
        ("header 1", 64 << 10, 4096, 31),
        ("header 2", 128 << 10, 4096, 31),
        ("region table 1", 192 << 10, 96, 1),
        ("region table 2", 256 << 10, 96, 1),
        ("metadata table", META, 32 + 5 * 32, 1),
        ("metadata items", META + 65536, 5 * 4096, 97),
        ("BAT", BAT, 8 * 8, 1),
    ];
    let mut errors = 0;
    let mut fine = 0;
    for (name, start, len, step) in areas {
        for at in (start..start + len).step_by(step) {
            for bit in [0u8, 3, 7] {
                b[at] ^= 1 << bit;
                let result = open_and_compare(&b, &disk);
                b[at] ^= 1 << bit;
                match result {
                    Err(Error::Corrupt { .. }) | Err(Error::Unsupported(_)) => errors += 1,
                    Err(e) => panic!("{name} byte {at} bit {bit}: unexpected error {e:?}"),
                    Ok(same) => {
                        // Only damage the reader may legitimately survive: a redundant copy,
                        // an ignored or reserved field, or payload offsets it cannot check.
                        fine += 1;
                        // Metadata items and BAT offsets carry no checksum: a flip there can
                        // yield another valid disk, so only the checksummed parts must read
                        // back unchanged.
                        if !name.starts_with("BAT") && !name.starts_with("metadata") {
                            assert!(same, "{name} byte {at} bit {bit}: content changed");
                        }
                    }
                }
            }
        }
    }
    assert!(
        errors > 300 && fine > 100,
        "errors {errors}, survived {fine}"
    );
}

#[test]
fn both_headers_bad() {
    let d = tempfile::tempdir().unwrap();
    let (mut file, _) = sample();
    file[(64 << 10) + 20] ^= 1;
    file[(128 << 10) + 20] ^= 1;
    expect_err(d.path(), &file, "neither header is valid");
}

#[test]
fn both_region_tables_bad() {
    let d = tempfile::tempdir().unwrap();
    let (mut file, _) = sample();
    file[(192 << 10) + 20] ^= 1;
    file[(256 << 10) + 20] ^= 1;
    expect_err(d.path(), &file, "neither copy is valid");
}

#[test]
fn garbage() {
    let d = tempfile::tempdir().unwrap();
    for seed in 0..8 {
        let g = pseudo_random(seed, 2 << 20);
        expect_err(d.path(), &g, "vhdxfile");
    }
    // Garbage after a correct signature.
    let mut g = pseudo_random(99, 5 << 20);
    g[..8].copy_from_slice(b"vhdxfile");
    expect_err(d.path(), &g, "neither header is valid");
}

#[test]
fn overlapping_payload_blocks() {
    let d = tempfile::tempdir().unwrap();
    let (mut file, _) = sample();
    let e1: [u8; 8] = file[BAT + 8..BAT + 16].try_into().unwrap();
    file[BAT + 16..BAT + 24].copy_from_slice(&e1);
    expect_err(d.path(), &file, "overlaps the block of BAT entry");
}

#[test]
fn payload_block_over_the_bat_or_past_eof() {
    let d = tempfile::tempdir().unwrap();
    // Block 1's BAT entry pointing at 3 MiB (the BAT) or at 1000 MiB, state FULLY_PRESENT.
    for (mib, want) in [
        (3u64, "overlaps the BAT region"),
        (1000, "passes the end of the file"),
    ] {
        let (mut file, _) = sample();
        file[BAT + 8..BAT + 16].copy_from_slice(&((mib << 20) | 6).to_le_bytes());
        expect_err(d.path(), &file, want);
    }
}

#[test]
fn bad_block_states() {
    let d = tempfile::tempdir().unwrap();
    let (mut file, _) = sample();
    file[BAT + 8] = (file[BAT + 8] & !7) | 7;
    expect_err(d.path(), &file, "PARTIALLY_PRESENT");
    let (mut file, _) = sample();
    file[BAT + 8] = (file[BAT + 8] & !7) | 4;
    expect_err(d.path(), &file, "not a payload block state");
}

#[test]
fn regions_overlap_or_pass_eof() {
    let d = tempfile::tempdir().unwrap();
    // Metadata region moved onto the BAT, in both copies, checksums fixed.
    let (mut file, _) = sample();
    for rt in [192usize << 10, 256 << 10] {
        let e = rt + 16 + 32; // second entry: metadata
        file[e + 16..e + 24].copy_from_slice(&(3u64 << 20).to_le_bytes());
        fix_crc(&mut file, rt, 65536);
    }
    expect_err(d.path(), &file, "overlaps");
    let (mut file, _) = sample();
    for rt in [192usize << 10, 256 << 10] {
        let e = rt + 16 + 32;
        file[e + 16..e + 24].copy_from_slice(&(900u64 << 20).to_le_bytes());
        fix_crc(&mut file, rt, 65536);
    }
    expect_err(d.path(), &file, "past the end of the file");
    // An unknown region marked required.
    let (mut file, _) = sample();
    for rt in [192usize << 10, 256 << 10] {
        file[rt + 16] ^= 0xff;
        fix_crc(&mut file, rt, 65536);
    }
    expect_err(d.path(), &file, "unknown");
}

#[test]
fn metadata_values_checked() {
    let d = tempfile::tempdir().unwrap();
    // Items are at 64 KiB + 4 KiB * i in the order: file parameters, size, page 83,
    // logical sector, physical sector.
    let item = |i: usize| META + 65536 + 4096 * i;
    let (mut file, _) = sample();
    file[item(0)..item(0) + 4].copy_from_slice(&(3u32 << 20).to_le_bytes());
    expect_err(d.path(), &file, "block size");
    let (mut file, _) = sample();
    file[item(0) + 4] = 2;
    expect_err(d.path(), &file, "differencing");
    let (mut file, _) = sample();
    file[item(1)..item(1) + 8].copy_from_slice(&(8u64 * MIB + 100).to_le_bytes());
    expect_err(d.path(), &file, "multiple of the logical sector");
    let (mut file, _) = sample();
    file[item(3)..item(3) + 4].copy_from_slice(&1024u32.to_le_bytes());
    expect_err(d.path(), &file, "logical sector size 1024");
    // A required item missing: its GUID changed to an unknown, non-required one.
    let (mut file, _) = sample();
    file[META + 32 + 32] ^= 0x55;
    file[META + 32 + 32 + 24] = 0;
    expect_err(d.path(), &file, "Virtual Disk Size missing");
}
