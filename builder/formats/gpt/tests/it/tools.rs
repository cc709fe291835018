//! Checks written disks with sgdisk and sfdisk (gdisk and util-linux), which nobody here wrote.

use std::fs::File;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use eflow_extents::{write_raw, Layout};
use eflow_gpt::{plan, types, Gpt, GptError, PartSpec, Partition, Size};
use eflow_testkit::{ok_outcome, pseudo_random};

const MIB: u64 = 1 << 20;

/// Runs `name ARGS DISK`, requiring success (the test kit shows the streams if not); both
/// streams as text.
fn tool(name: &str, args: &[&str], disk: &Path) -> String {
    ok_outcome(Command::new(name).args(args).arg(disk)).all()
}

fn sample() -> Gpt {
    let planned = plan(
        Some(300 * MIB),
        &[
            PartSpec {
                size: Size::Bytes(64 * MIB),
                min: 33 * MIB,
            },
            PartSpec {
                size: Size::Bytes(8 * MIB),
                min: 0,
            },
            PartSpec {
                size: Size::Rest,
                min: 100 * MIB,
            },
        ],
    )
    .unwrap();
    let seed = eflow_id::Seed::from_text("test image");
    let names = ["esp", "swap", "root"];
    let kinds = [types::ESP, types::SWAP, types::LINUX_ROOT_X86_64];
    let partitions = planned
        .ranges
        .iter()
        .enumerate()
        .map(|(i, (first, last))| Partition {
            type_guid: kinds[i],
            unique_guid: seed.gpt_guid(&format!("partition/{}", names[i])),
            name: names[i].to_string(),
            first_lba: *first,
            last_lba: *last,
            attributes: 0,
        })
        .collect();
    Gpt {
        disk_guid: seed.gpt_guid("disk"),
        disk_size: planned.disk_size,
        partitions,
    }
}

/// The [`sample`] table written by our writer to `dir/disk.raw`.
fn sample_disk(dir: &Path) -> (Gpt, PathBuf) {
    let gpt = sample();
    let path = dir.join("disk.raw");
    let mut layout = Layout::new(gpt.disk_size);
    gpt.place(&mut layout).unwrap();
    let mut f = File::create(&path).unwrap();
    write_raw(&mut layout, &mut f).unwrap();
    (gpt, path)
}

#[test]
fn sgdisk_verify_finds_no_problem() {
    let dir = tempfile::tempdir().unwrap();
    let (_, disk) = sample_disk(dir.path());
    let text = tool("sgdisk", &["-v"], &disk);
    assert!(
        text.contains("No problems found"),
        "sgdisk -v output:\n{text}"
    );
}

#[test]
fn sfdisk_json_shows_the_planned_layout() {
    let dir = tempfile::tempdir().unwrap();
    let (gpt, disk) = sample_disk(dir.path());
    let text = tool("sfdisk", &["--json"], &disk);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let t = &v["partitiontable"];
    assert_eq!(t["label"], "gpt");
    assert_eq!(t["sectorsize"], 512);
    assert_eq!(
        t["id"].as_str().unwrap().to_lowercase(),
        gpt.disk_guid.to_string()
    );
    assert_eq!(t["firstlba"], 34);
    assert_eq!(t["lastlba"], gpt.disk_size / 512 - 34);
    let parts = t["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 3);
    for (p, want) in parts.iter().zip(&gpt.partitions) {
        assert_eq!(p["start"], want.first_lba, "{p}");
        assert_eq!(p["size"], want.last_lba - want.first_lba + 1, "{p}");
        assert_eq!(
            p["type"].as_str().unwrap().to_lowercase(),
            want.type_guid.to_string()
        );
        assert_eq!(
            p["uuid"].as_str().unwrap().to_lowercase(),
            want.unique_guid.to_string()
        );
        assert_eq!(p["name"], want.name.as_str());
    }
    // The ESP starts at 1 MiB and every start is 1 MiB aligned.
    assert_eq!(parts[0]["start"], 2048);
    for p in parts {
        assert_eq!(p["start"].as_u64().unwrap() % 2048, 0);
    }
}

#[test]
fn reader_round_trips_the_written_disk() {
    let dir = tempfile::tempdir().unwrap();
    let (gpt, disk) = sample_disk(dir.path());
    let back = Gpt::read(&mut File::open(&disk).unwrap()).unwrap();
    assert_eq!(back, gpt);
}

#[test]
fn reader_reads_a_table_sgdisk_wrote() {
    // A table made by an independent tool, so the reader is not only checked against our writer.
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("disk.raw");
    File::create(&disk).unwrap().set_len(40 * MIB).unwrap();
    tool(
        "sgdisk",
        &[
            "-n",
            "1:2048:+8M",
            "-t",
            "1:C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
            "-c",
            "1:EFI system",
            "-u",
            "1:11111111-2222-4333-8444-555555555555",
            "-n",
            "2:0:0",
            "-t",
            "2:8300",
        ],
        &disk,
    );
    let back = Gpt::read(&mut File::open(&disk).unwrap()).unwrap();
    assert_eq!(back.partitions.len(), 2);
    assert_eq!(back.partitions[0].type_guid, types::ESP);
    assert_eq!(back.partitions[0].name, "EFI system");
    assert_eq!(
        back.partitions[0].unique_guid.to_string(),
        "11111111-2222-4333-8444-555555555555"
    );
    assert_eq!(back.partitions[0].first_lba, 2048);
    assert_eq!(back.partitions[0].size(), 8 * MIB);
    assert_eq!(back.partitions[1].type_guid, types::LINUX_DATA);
}

fn disk_bytes(gpt: &Gpt) -> Vec<u8> {
    let mut layout = Layout::new(gpt.disk_size);
    gpt.place(&mut layout).unwrap();
    eflow_extents::read_all(&mut layout).unwrap()
}

#[test]
fn corrupt_disks_are_errors_not_panics() {
    let mut gpt = sample();
    gpt.disk_size = 4 * MIB;
    gpt.partitions.truncate(1);
    gpt.partitions[0].first_lba = 2048;
    gpt.partitions[0].last_lba = 4 * 2048 - 34;
    let good = disk_bytes(&gpt);
    assert!(Gpt::read(&mut Cursor::new(&good)).is_ok());
    let hot: Vec<usize> = (0..34 * 512)
        .chain(good.len() - 33 * 512..good.len())
        .collect();
    // Flip every bit of the MBR signature, both headers and a sample of entry bytes.
    let mut flipped = 0;
    for &i in hot.iter().filter(|i| {
        let i = **i;
        (440..512).contains(&i)
            || (512..604).contains(&i)
            || (1024..1024 + 256).contains(&i)
            || i >= good.len() - 512 && i < good.len() - 512 + 92
            || i % 97 == 0
    }) {
        for bit in 0..8 {
            let mut bad = good.clone();
            bad[i] ^= 1 << bit;
            if let Ok(back) = Gpt::read(&mut Cursor::new(&bad)) {
                // Only bytes no check covers may pass: the MBR apart from its signature and the
                // 0xEE type byte, and the reserved rest of each header sector after 92 bytes.
                let n = good.len();
                let unchecked = (i < 510 && i != 450)
                    || (512 + 92..1024).contains(&i)
                    || (n - 512 + 92..n).contains(&i);
                assert!(unchecked, "byte {i} bit {bit} passed: {back:?}");
            } else {
                flipped += 1;
            }
        }
    }
    assert!(flipped > 1000);
    // Truncations and garbage.
    for len in [0, 1, 511, 512, 1024, 17408, 34816, good.len() - 1] {
        assert!(
            Gpt::read(&mut Cursor::new(&good[..len])).is_err(),
            "len {len}"
        );
    }
    let garbage = pseudo_random(0x9E37_79B9_7F4A_7C15, 1 << 20);
    assert!(Gpt::read(&mut Cursor::new(&garbage)).is_err());
    // A header whose CRC is right but whose fields are absurd.
    let mut bad = good.clone();
    bad[512 + 80..512 + 84].copy_from_slice(&u32::MAX.to_le_bytes());
    bad[512 + 16..512 + 20].fill(0);
    let crc = crc32(&bad[512..604]);
    bad[512 + 16..512 + 20].copy_from_slice(&crc.to_le_bytes());
    let e = Gpt::read(&mut Cursor::new(&bad)).unwrap_err();
    assert!(matches!(e, GptError::Corrupt { .. }), "{e}");
}

fn crc32(b: &[u8]) -> u32 {
    // Bitwise CRC-32 (IEEE), independent of crc32fast, for building test inputs.
    let mut c = !0u32;
    for &x in b {
        c ^= x as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

#[test]
fn invalid_tables_are_refused() {
    let mut g = sample();
    g.partitions[1].first_lba = g.partitions[0].last_lba;
    assert!(g.validate().unwrap_err().to_string().contains("overlaps"));
    let mut g = sample();
    g.partitions[0].name = "x".repeat(37);
    assert!(g.validate().is_err());
    let mut g = sample();
    g.partitions[2].last_lba = g.disk_size / 512 - 33;
    assert!(g.validate().is_err());
    let mut g = sample();
    g.disk_size += 1;
    assert!(g.validate().is_err());
    let mut l = Layout::new(g.disk_size);
    assert!(g.place(&mut l).is_err());
}
