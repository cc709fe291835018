//! `eflow-image inspect` and `eflow-image convert`, run as the built binary on disks made here
//! with tools nobody in this project wrote (sgdisk, mkfs.ext4 -d, mkfs.vfat, mtools), and
//! judged by qemu-img (check, compare), sfdisk, blkid and cmp.
//!
//! Needs: gdisk (sgdisk), fdisk (sfdisk), e2fsprogs, dosfstools, mtools, qemu-utils,
//! diffutils (cmp), util-linux (blkid). A missing tool fails the test with a message naming it.

use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use eflow_testkit::{
    flip_byte, ok_outcome, ok_stdout, path_str as s, pseudo_random, qemu_img_same, qemu_img_vhdx,
    run,
};
use serde_json::Value;

use crate::util::eflow;

const MIB: u64 = 1 << 20;
const DISK_SIZE: u64 = 96 * MIB;
const ESP_START: u64 = MIB;
const ESP_SIZE: u64 = 40 * MIB;
const ROOT_START: u64 = ESP_START + ESP_SIZE;
const ROOT_SIZE: u64 = 52 * MIB;
const DISK_GUID: &str = "6a3d2f10-5b7e-4c1a-9d2e-0f1e2d3c4b5a";
const ESP_GUID: &str = "11111111-2222-4333-8444-555555555555";
const ROOT_GUID: &str = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
const EXT4_UUID: &str = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9";
const ROOT_TYPE: &str = "4f68bce3-e8cd-4db1-96e7-fbcaf984b709";

/// Runs an external tool, requiring success; both streams as text.
fn tool(name: &str, args: &[&str]) -> String {
    ok_outcome(Command::new(name).args(args)).all()
}

/// Runs our binary (with the tests' cache, no signing environment).
fn ours(args: &[&str]) -> Output {
    run(eflow().args(args))
}

/// Runs our binary and expects success; returns stdout.
fn ours_ok(args: &[&str]) -> String {
    ok_stdout(eflow().args(args))
}

/// Copies the non-zero 64 KiB pieces of `image` into `disk` at `offset` (keeps it sparse).
fn place(disk: &Path, offset: u64, image: &Path) {
    let data = std::fs::read(image).unwrap();
    let f = File::options().write(true).open(disk).unwrap();
    for (i, chunk) in data.chunks(64 << 10).enumerate() {
        if chunk.iter().any(|b| *b != 0) {
            f.write_all_at(chunk, offset + (i as u64) * (64 << 10))
                .unwrap();
        }
    }
}

/// A 96 MiB sparse raw disk: GPT (sgdisk) with a FAT32 ESP (mkfs.vfat + mtools) holding two
/// files and an ext4 root (mkfs.ext4 -d) holding a 3 MiB file and a small one.
fn make_disk(dir: &Path) -> PathBuf {
    let disk = dir.join("disk.raw");
    File::create(&disk).unwrap().set_len(DISK_SIZE).unwrap();
    let (esp_first, esp_last) = (ESP_START / 512, (ESP_START + ESP_SIZE) / 512 - 1);
    let (root_first, root_last) = (ROOT_START / 512, (ROOT_START + ROOT_SIZE) / 512 - 1);
    tool(
        "sgdisk",
        &[
            "-U",
            DISK_GUID,
            &format!("--new=1:{esp_first}:{esp_last}"),
            "--typecode=1:ef00",
            "--change-name=1:esp",
            &format!("--partition-guid=1:{ESP_GUID}"),
            &format!("--new=2:{root_first}:{root_last}"),
            &format!("--typecode=2:{ROOT_TYPE}"),
            "--change-name=2:root",
            &format!("--partition-guid=2:{ROOT_GUID}"),
            s(&disk),
        ],
    );

    let esp = dir.join("esp.img");
    File::create(&esp).unwrap().set_len(ESP_SIZE).unwrap();
    tool(
        "mkfs.vfat",
        &[
            "-F",
            "32",
            "-S",
            "512",
            "-s",
            "1",
            "-n",
            "TESTESP",
            "-i",
            "1234ABCD",
            s(&esp),
        ],
    );
    let boot = dir.join("BOOTX64.EFI");
    std::fs::write(&boot, pseudo_random(7, 300_000)).unwrap();
    let cfg = dir.join("grub.cfg");
    std::fs::write(&cfg, b"set timeout=0\n").unwrap();
    let img = format!("{}", esp.display());
    tool("mmd", &["-i", &img, "::/EFI", "::/EFI/BOOT"]);
    tool("mcopy", &["-i", &img, s(&boot), "::/EFI/BOOT/BOOTX64.EFI"]);
    tool("mcopy", &["-i", &img, s(&cfg), "::/EFI/BOOT/grub.cfg"]);
    place(&disk, ESP_START, &esp);

    let tree = dir.join("tree");
    std::fs::create_dir_all(tree.join("etc")).unwrap();
    std::fs::write(tree.join("etc/hostname"), b"eflow\n").unwrap();
    std::fs::write(tree.join("big.bin"), pseudo_random(9, 3 << 20)).unwrap();
    let root = dir.join("root.img");
    File::create(&root).unwrap().set_len(ROOT_SIZE).unwrap();
    tool(
        "mkfs.ext4",
        &[
            "-q",
            "-F",
            "-L",
            "testroot",
            "-U",
            EXT4_UUID,
            "-E",
            "root_owner=0:0",
            "-d",
            s(&tree),
            s(&root),
        ],
    );
    place(&disk, ROOT_START, &root);
    tool("sgdisk", &["-v", s(&disk)]);
    disk
}

fn inspect_json(path: &Path) -> Value {
    let out = ours_ok(&["inspect", "--json", s(path)]);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("inspect --json: {e}: {out}"))
}

/// The checks every inspection of the test disk must pass, whatever its container.
fn check_table(j: &Value) {
    assert_eq!(j["virtual_size"], DISK_SIZE);
    let t = &j["partition_table"];
    assert_eq!(t["kind"], "gpt");
    assert_eq!(t["disk_guid"], DISK_GUID);
    let parts = t["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 2, "{t}");
    let (esp, root) = (&parts[0], &parts[1]);
    assert_eq!(esp["name"], "esp");
    assert_eq!(esp["type_name"], "esp");
    assert_eq!(esp["type_guid"], "c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
    assert_eq!(esp["partuuid"], ESP_GUID);
    assert_eq!(esp["start"], ESP_START);
    assert_eq!(esp["size"], ESP_SIZE);
    let fat = &esp["filesystem"];
    assert_eq!(fat["type"], "fat", "{fat}");
    assert_eq!(fat["fat_type"], "FAT32");
    assert_eq!(fat["label"], "TESTESP");
    assert_eq!(fat["volume_id"], "1234-ABCD");
    assert_eq!(fat["cluster_size"], 512);
    assert_eq!(fat["files"], 2);
    assert_eq!(fat["directories"], 2);
    assert_eq!(fat["file_bytes"], 300_000 + 14);
    assert_eq!(root["name"], "root");
    assert_eq!(root["type_name"], "linux-root-x86-64");
    assert_eq!(root["partuuid"], ROOT_GUID);
    assert_eq!(root["start"], ROOT_START);
    assert_eq!(root["size"], ROOT_SIZE);
    let e = &root["filesystem"];
    assert_eq!(e["type"], "ext4", "{e}");
    assert_eq!(e["uuid"], EXT4_UUID);
    assert_eq!(e["label"], "testroot");
    assert_eq!(
        e["block_count"].as_u64().unwrap() * e["block_size"].as_u64().unwrap(),
        ROOT_SIZE
    );
    let feats: Vec<&str> = e["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(feats.contains(&"extent"), "{feats:?}");
    assert!(e["free_blocks"].as_u64().unwrap() < e["block_count"].as_u64().unwrap());
    assert!(j["problems"].as_array().unwrap().is_empty());
}

/// Cross-checks the partition offsets with sfdisk's reading of the same raw disk.
fn check_with_sfdisk(raw: &Path, j: &Value) {
    let sf: Value = serde_json::from_str(&tool("sfdisk", &["--json", s(raw)])).unwrap();
    let theirs = sf["partitiontable"]["partitions"].as_array().unwrap();
    let mine = j["partition_table"]["partitions"].as_array().unwrap();
    assert_eq!(theirs.len(), mine.len());
    for (t, m) in theirs.iter().zip(mine) {
        assert_eq!(
            t["start"].as_u64().unwrap() * 512,
            m["start"].as_u64().unwrap()
        );
        assert_eq!(
            t["size"].as_u64().unwrap() * 512,
            m["size"].as_u64().unwrap()
        );
        assert_eq!(
            t["uuid"].as_str().unwrap().to_lowercase(),
            m["partuuid"].as_str().unwrap()
        );
    }
}

fn qemu_check(vhdx: &Path) {
    let out = tool("qemu-img", &["check", "-f", "vhdx", s(vhdx)]);
    assert!(out.contains("No errors were found"), "{out}");
}

fn cmp(a: &Path, b: &Path) {
    tool("cmp", &[s(a), s(b)]);
}

#[test]
fn inspect_raw_vhdx_and_vhd() {
    let d = tempfile::tempdir().unwrap();
    let raw = make_disk(d.path());
    let j = inspect_json(&raw);
    assert_eq!(j["format"], "raw");
    assert!(j["vhdx"].is_null());
    check_table(&j);
    check_with_sfdisk(&raw, &j);

    let vhdx = d.path().join("disk.vhdx");
    ours_ok(&["convert", "-q", s(&raw), s(&vhdx)]);
    qemu_check(&vhdx);
    let jv = inspect_json(&vhdx);
    assert_eq!(jv["format"], "vhdx");
    check_table(&jv);
    assert_eq!(jv["partition_table"], j["partition_table"]);
    let v = &jv["vhdx"];
    assert_eq!(v["kind"], "dynamic");
    assert_eq!(v["block_size"], MIB);
    assert_eq!(v["logical_sector_size"], 512);
    assert_eq!(v["physical_sector_size"], 4096);
    assert_eq!(v["log_guid"], "00000000-0000-0000-0000-000000000000");
    assert_eq!(v["headers"].as_array().unwrap().len(), 2);
    let b = &v["blocks"];
    assert_eq!(
        b["fully_present"].as_u64().unwrap() + b["not_present"].as_u64().unwrap(),
        DISK_SIZE / MIB
    );
    assert_eq!(v["allocated"], b["fully_present"].as_u64().unwrap() * MIB);
    // qemu-img reads the same facts from the header.
    let qi: Value =
        serde_json::from_str(&tool("qemu-img", &["info", "--output=json", s(&vhdx)])).unwrap();
    assert_eq!(qi["virtual-size"], DISK_SIZE);
    assert!(qi["actual-size"].as_u64().unwrap() <= jv["file_size"].as_u64().unwrap());

    // Human output: aligned text naming what was found.
    let text = ours_ok(&["inspect", s(&vhdx)]);
    for want in [
        "vhdx",
        "TESTESP",
        "ext4",
        "testroot",
        ESP_GUID,
        "1234-ABCD",
        "(current)",
    ] {
        assert!(text.contains(want), "{want} missing from:\n{text}");
    }

    // A fixed VHD, recognized by its footer.
    let vhd = d.path().join("disk.vhd");
    ours_ok(&["convert", "-q", s(&raw), s(&vhd)]);
    qemu_img_same("vpc", &vhd, &raw);
    let jh = inspect_json(&vhd);
    assert_eq!(jh["format"], "vhd-fixed");
    assert_eq!(jh["vhd"]["disk_type"], "fixed");
    assert_eq!(jh["vhd"]["virtual_size"], DISK_SIZE);
    check_table(&jh);
}

#[test]
fn round_trips_are_exact_sparse_and_reproducible() {
    let d = tempfile::tempdir().unwrap();
    let raw = make_disk(d.path());
    let p = |n: &str| d.path().join(n);

    // raw -> VHDX -> raw, the same bytes; the raw output is sparse.
    ours_ok(&["convert", "-q", s(&raw), s(&p("a.vhdx"))]);
    qemu_check(&p("a.vhdx"));
    qemu_img_same("vhdx", &p("a.vhdx"), &raw);
    ours_ok(&["convert", "-q", s(&p("a.vhdx")), s(&p("back.raw"))]);
    cmp(&raw, &p("back.raw"));
    let m = std::fs::metadata(p("back.raw")).unwrap();
    assert!(
        m.blocks() * 512 < DISK_SIZE / 4,
        "the raw output is not sparse: {} bytes allocated",
        m.blocks() * 512
    );

    // The same input twice gives the same bytes, whatever the output's name; --seed changes
    // the ids and only them.
    ours_ok(&["convert", "-q", s(&raw), s(&p("other-name.vhdx"))]);
    cmp(&p("a.vhdx"), &p("other-name.vhdx"));
    ours_ok(&[
        "convert",
        "-q",
        "--seed",
        "build 7",
        s(&raw),
        s(&p("seeded.vhdx")),
    ]);
    assert!(std::fs::read(p("a.vhdx")).unwrap() != std::fs::read(p("seeded.vhdx")).unwrap());
    qemu_img_same("vhdx", &p("seeded.vhdx"), &raw);

    // Fixed VHDX with other geometry, to a name without a known extension, JSON summary.
    let out = ours_ok(&[
        "convert",
        "--json",
        "--to",
        "vhdx-fixed",
        "--block-size",
        "8MiB",
        "--physical-sector",
        "512",
        s(&raw),
        s(&p("fixed.bin")),
    ]);
    let j: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["input_format"], "raw");
    assert_eq!(j["output_format"], "vhdx-fixed");
    assert_eq!(j["virtual_size"], DISK_SIZE);
    assert_eq!(j["blocks_present"], DISK_SIZE / (8 * MIB));
    assert_eq!(j["blocks_total"], DISK_SIZE / (8 * MIB));
    qemu_check(&p("fixed.bin"));
    qemu_img_same("vhdx", &p("fixed.bin"), &raw);
    let jf = inspect_json(&p("fixed.bin"));
    assert_eq!(jf["vhdx"]["kind"], "fixed");
    assert_eq!(jf["vhdx"]["block_size"], 8 * MIB);
    assert_eq!(jf["vhdx"]["physical_sector_size"], 512);

    // VHDX -> VHDX with another block size; VHD -> raw.
    ours_ok(&[
        "convert",
        "-q",
        "--block-size",
        "32MiB",
        s(&p("fixed.bin")),
        s(&p("re.vhdx")),
    ]);
    qemu_check(&p("re.vhdx"));
    qemu_img_same("vhdx", &p("re.vhdx"), &raw);
    ours_ok(&["convert", "-q", s(&raw), s(&p("c.vhd"))]);
    ours_ok(&[
        "convert",
        "-q",
        "--to",
        "raw",
        s(&p("c.vhd")),
        s(&p("c.out")),
    ]);
    cmp(&raw, &p("c.out"));

    // No temporary file is left behind.
    for e in std::fs::read_dir(d.path()).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!n.ends_with(".partial"), "left behind: {n}");
    }
}

#[test]
fn qemu_written_vhdx_converts_to_the_same_raw() {
    let d = tempfile::tempdir().unwrap();
    let raw = make_disk(d.path());
    for (i, opts) in [
        "subformat=dynamic",
        "subformat=fixed,block_size=1M",
        "block_size=32M",
    ]
    .iter()
    .enumerate()
    {
        // No .vhdx extension: the format is recognized by content.
        let q = d.path().join(format!("q{i}.img"));
        qemu_img_vhdx(&raw, &q, opts);
        let out = d.path().join(format!("q{i}.raw"));
        ours_ok(&["convert", "-q", s(&q), s(&out)]);
        cmp(&raw, &out);
        let j = inspect_json(&q);
        assert_eq!(j["format"], "vhdx", "{opts}");
        check_table(&j);
    }
}

/// Expects a clean failure: exit status 1, an `error:` line, no panic.
fn fails_cleanly(args: &[&str], want: &str) {
    let o = ours(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(1),
        "eflow-image {}: status {:?}, stderr {err}",
        args.join(" "),
        o.status
    );
    assert!(err.contains("error:"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.to_lowercase().contains(&want.to_lowercase()),
        "eflow-image {}: expected {want:?} in {err}",
        args.join(" ")
    );
}

#[test]
fn damaged_inputs_fail_cleanly_and_leave_no_output() {
    let d = tempfile::tempdir().unwrap();
    let raw = make_disk(d.path());
    let good = d.path().join("good.vhdx");
    ours_ok(&["convert", "-q", s(&raw), s(&good)]);
    let vhd = d.path().join("good.vhd");
    ours_ok(&["convert", "-q", s(&raw), s(&vhd)]);
    let len = std::fs::metadata(&good).unwrap().len();

    let variant = |name: &str, from: &Path, damage: &dyn Fn(&Path)| {
        let p = d.path().join(name);
        std::fs::copy(from, &p).unwrap();
        damage(&p);
        p
    };
    let cases: Vec<(PathBuf, &str)> = vec![
        (
            variant("truncated.vhdx", &good, &|p| {
                File::options()
                    .write(true)
                    .open(p)
                    .unwrap()
                    .set_len(len / 2)
                    .unwrap()
            }),
            "end of the file",
        ),
        (
            variant("headers.vhdx", &good, &|p| {
                flip_byte(p, 64 * 1024 + 20, 0x40);
                flip_byte(p, 128 * 1024 + 20, 0x40);
            }),
            "neither header is valid",
        ),
        (
            variant("regions.vhdx", &good, &|p| {
                flip_byte(p, 192 * 1024 + 40, 0x40);
                flip_byte(p, 256 * 1024 + 40, 0x40);
            }),
            "region tables",
        ),
        (
            variant("bat.vhdx", &good, &|p| {
                // The BAT of our files is at 3 MiB: payload block 0 becomes state 5.
                let f = File::options().write(true).open(p).unwrap();
                f.write_all_at(&[5, 0, 0, 0, 0, 0, 0, 0], 3 * MIB).unwrap();
            }),
            "BAT entry 0",
        ),
        (
            variant("garbage.vhdx", &raw, &|p| {
                let f = File::options().write(true).open(p).unwrap();
                f.write_all_at(b"vhdxfile", 0).unwrap();
            }),
            "corrupt VHDX",
        ),
        (
            variant("footer.vhd", &vhd, &|p| flip_byte(p, DISK_SIZE + 30, 0x40)),
            "corrupt VHD footer",
        ),
        (
            variant("short.vhd", &vhd, &|p| {
                let f = File::options().read(true).write(true).open(p).unwrap();
                let mut foot = [0u8; 512];
                f.read_exact_at(&mut foot, DISK_SIZE).unwrap();
                f.set_len(DISK_SIZE - MIB).unwrap();
                f.write_all_at(&foot, DISK_SIZE - MIB).unwrap();
            }),
            "truncated or padded",
        ),
    ];
    for (bad, want) in &cases {
        fails_cleanly(&["inspect", s(bad)], want);
        fails_cleanly(&["inspect", "--json", s(bad)], want);
        let out = d.path().join("out.raw");
        fails_cleanly(&["convert", s(bad), s(&out)], want);
        assert!(
            !out.exists(),
            "{}: output left under its final name",
            bad.display()
        );
        // An existing output is kept as it was.
        std::fs::write(&out, b"previous").unwrap();
        fails_cleanly(&["convert", s(bad), s(&out)], want);
        assert_eq!(std::fs::read(&out).unwrap(), b"previous");
        std::fs::remove_file(&out).unwrap();
    }

    // A damaged GPT: inspect fails naming the partition table.
    let gpt = variant("gpt.raw", &raw, &|p| flip_byte(p, 512 + 40, 0x40));
    fails_cleanly(&["inspect", s(&gpt)], "partition table");
    // A damaged ext4 superblock (magic kept): the report is printed, the exit status is 1.
    let ext = variant("ext.raw", &raw, &|p| {
        let f = File::options().write(true).open(p).unwrap();
        // s_inodes_per_group = 0.
        f.write_all_at(&[0, 0, 0, 0], ROOT_START + 1024 + 40)
            .unwrap();
    });
    let o = ours(&["inspect", "--json", s(&ext)]);
    assert_eq!(o.status.code(), Some(1));
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    let fs = &j["partition_table"]["partitions"][1]["filesystem"];
    assert_eq!(fs["type"], "error", "{fs}");
    assert_eq!(fs["filesystem"], "ext4");
    assert!(String::from_utf8_lossy(&o.stderr).contains("partition 2"));

    // Bad usage: an unknown output format, a bad block size.
    fails_cleanly(
        &["convert", s(&raw), s(&d.path().join("x.qcow2"))],
        "cannot tell the output format",
    );
    fails_cleanly(
        &[
            "convert",
            "--block-size",
            "3MiB",
            s(&raw),
            s(&d.path().join("x.vhdx")),
        ],
        "power of two",
    );
    for e in std::fs::read_dir(d.path()).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            !n.ends_with(".partial") && !n.starts_with("x."),
            "left behind: {n}"
        );
    }
}

/// The reference image built by eflow-image itself (packages from the cache at
/// ~/.cache/eflow-image, or from the Debian mirror of the host's apt sources on the first
/// run: about 70 MB), then inspected and converted back and forth.
#[test]
fn built_minimal_image_inspects_and_converts() {
    let d = tempfile::tempdir().unwrap();
    let image = Path::new(env!("CARGO_MANIFEST_DIR")).join("recipes/images/minimal.toml");
    let out = ours_ok(&[
        "--quiet",
        "--json",
        "build",
        s(&image),
        "--format",
        "raw,vhdx",
        "--out",
        s(d.path()),
    ]);
    let built: Value = serde_json::from_str(&out).unwrap();
    let path_of = |ext: &str| -> PathBuf {
        built["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| PathBuf::from(o["path"].as_str().unwrap()))
            .find(|p| p.extension().is_some_and(|e| e == ext))
            .unwrap_or_else(|| panic!("no .{ext} output in {built}"))
    };
    let (raw, vhdx) = (path_of("raw"), path_of("vhdx"));

    let jr = inspect_json(&raw);
    let jv = inspect_json(&vhdx);
    check_with_sfdisk(&raw, &jr);
    assert_eq!(jr["partition_table"], jv["partition_table"]);
    assert!(jr["problems"].as_array().unwrap().is_empty(), "{jr}");
    let parts = jr["partition_table"]["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 4);
    assert_eq!(parts[0]["filesystem"]["fat_type"], "FAT32");
    // (The ESP's contents depend on the boot stage; only its format is checked here.)
    let types: Vec<&str> = parts
        .iter()
        .map(|p| p["type_name"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["esp", "linux-root-x86-64", "linux-data", "var"]);
    for p in &parts[1..] {
        assert_eq!(p["filesystem"]["type"], "ext4");
    }
    // Where the guest mounts each partition, read back from the root's fstab.
    let mounts: Vec<&str> = parts
        .iter()
        .map(|p| p["mount"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(mounts, ["-", "/", "/var/log", "/var"]);
    // blkid reads the same filesystem ids at the same offsets.
    for p in parts {
        let off = p["start"].as_u64().unwrap().to_string();
        let fs = &p["filesystem"];
        // ext4: the filesystem UUID; FAT: the volume id as XXXX-XXXX.
        let id = if fs["type"] == "ext4" {
            "uuid"
        } else {
            "volume_id"
        };
        let want = fs[id].as_str().unwrap();
        let got = tool(
            "blkid",
            &["-p", "-O", &off, "-o", "value", "-s", "UUID", s(&raw)],
        );
        assert_eq!(got.trim(), want, "partition {}", p["number"]);
    }
    assert_eq!(jv["vhdx"]["block_size"], MIB);

    // VHDX -> raw gives the build's raw output; raw -> VHDX holds the same disk.
    let back = d.path().join("back.raw");
    ours_ok(&["convert", "-q", s(&vhdx), s(&back)]);
    cmp(&raw, &back);
    let again = d.path().join("again.vhdx");
    ours_ok(&["convert", "-q", s(&raw), s(&again)]);
    qemu_check(&again);
    qemu_img_same("vhdx", &again, &raw);
    qemu_img_same("vhdx", &vhdx, &raw);
}
