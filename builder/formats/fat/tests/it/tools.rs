//! Checks built images with dosfstools (fsck.vfat) and mtools (mdir, mcopy, minfo),
//! which nobody here wrote.

use std::io::Cursor;
use std::path::Path;
use std::process::Command;

use eflow_fat::{build, info, list, min_size, read_file, FatOptions};

const MIB: u64 = 1 << 20;

/// Runs a dosfstools or mtools tool: success, stdout, and both streams as text.
fn run(name: &str, args: &[&str]) -> (bool, Vec<u8>, String) {
    // mtools refuses images whose geometry it cannot check unless told not to; the locale
    // must not change what it prints.
    let out = eflow_testkit::run(
        Command::new(name)
            .args(args)
            .env("MTOOLS_SKIP_CHECK", "1")
            .env("LC_ALL", "C"),
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), out.stdout, text)
}

/// Makes `img` with mkfs.fat (`mkfs`, then `-C IMG 65536`) and copies a file holding `hello`
/// to `dir/name` in it with mtools: an image made only by the independent tools.
fn mkfs_with_file(tmp: &Path, img: &Path, mkfs: &[&str], dir: &str, name: &str) {
    let ps = img.to_str().unwrap();
    let mut args = mkfs.to_vec();
    args.extend(["-C", ps, "65536"]);
    let (ok, _, text) = run("mkfs.fat", &args);
    assert!(ok, "mkfs.fat: {text}");
    let src = tmp.join(name);
    std::fs::write(&src, b"hello").unwrap();
    let (ok, _, text) = run("mmd", &["-i", ps, &format!("::{dir}")]);
    assert!(ok, "{text}");
    let target = format!("::{dir}/{name}");
    let (ok, _, text) = run("mcopy", &["-i", ps, src.to_str().unwrap(), &target]);
    assert!(ok, "{text}");
}

fn esp_files() -> Vec<(String, Vec<u8>)> {
    let boot: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    vec![
        ("/EFI/BOOT/BOOTX64.EFI".into(), boot),
        (
            "/loader/loader.conf".into(),
            b"timeout 0\ndefault eflow.conf\n".to_vec(),
        ),
        (
            "/loader/entries/eflow.conf".into(),
            b"title EFLOW\nlinux /vmlinuz\ninitrd /initrd\noptions console=ttyS0\n".to_vec(),
        ),
        ("/vmlinuz".into(), vec![0xAB; 70_000]),
        ("/initrd".into(), Vec::new()),
        (
            "/A directory with a Long Name/file name that is clearly longer than 8.3.txt".into(),
            b"long".to_vec(),
        ),
    ]
}

fn opts(size: u64) -> FatOptions {
    FatOptions {
        size,
        volume_id: 0xC0FF_EE42,
        label: "EFLOW-ESP".into(),
        timestamp: 1_700_000_000, // 2023-11-14 22:13:20 UTC
    }
}

fn write(dir: &Path, img: &[u8]) -> String {
    let p = dir.join("esp.img");
    std::fs::write(&p, img).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn fsck_vfat_finds_a_clean_fat32_volume() {
    let dir = tempfile::tempdir().unwrap();
    for size in [64 * MIB, 300 * MIB, min_size(&esp_files())] {
        let img = build(&esp_files(), &opts(size)).unwrap();
        let p = write(dir.path(), &img);
        let (ok, _, text) = run("fsck.vfat", &["-n", "-v", &p]);
        assert!(ok, "fsck.vfat -n failed for {size}:\n{text}");
        // fsck.vfat -n exits 0 even after reporting fixable problems: look for any report.
        for word in [
            "differ",
            "should be",
            "Bad",
            "Moving",
            "Renamed",
            "Deleting",
            "share",
            "Expected",
            "uninitialized",
            "Free cluster",
            "Dirty",
        ] {
            assert!(
                !text.contains(word),
                "fsck.vfat reports a problem ({word}):\n{text}"
            );
        }
        assert!(
            text.contains("2 FATs, 32 bit entries"),
            "fsck.vfat does not see FAT32:\n{text}"
        );
        let (ok, _, text) = run("minfo", &["-i", &p, "::"]);
        assert!(ok, "{text}");
        assert!(text.contains("FAT32"), "minfo:\n{text}");
        assert!(
            text.to_lowercase().contains("c0ffee42"),
            "minfo serial:\n{text}"
        );
    }
}

#[test]
fn mtools_list_and_copy_give_back_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let img = build(&esp_files(), &opts(64 * MIB)).unwrap();
    let p = write(dir.path(), &img);
    let (ok, _, text) = run("mdir", &["-i", &p, "::/EFI/BOOT"]);
    assert!(ok, "{text}");
    assert!(text.contains("BOOTX64  EFI"), "mdir:\n{text}");
    // Every file's timestamp is SOURCE_DATE_EPOCH (mdir prints the modification time).
    assert!(text.contains("2023-11-14  22:13"), "mdir dates:\n{text}");
    let (ok, _, text) = run("mdir", &["-i", &p, "-/", "-b", "::/"]);
    assert!(ok, "{text}");
    for (path, _) in esp_files() {
        assert!(
            text.contains(&format!(":{path}")),
            "{path} missing from mdir -/ -b:\n{text}"
        );
    }
    for (path, data) in esp_files() {
        let (ok, out, text) = run("mcopy", &["-i", &p, &format!("::{path}"), "-"]);
        assert!(ok, "mcopy {path}: {text}");
        assert_eq!(out, data, "{path}");
    }
    // Directories also carry the fixed time.
    let (ok, _, text) = run("mdir", &["-i", &p, "::/"]);
    assert!(ok);
    for line in text.lines().filter(|l| l.contains("<DIR>")) {
        assert!(line.contains("2023-11-14  22:13"), "{line}");
    }
}

#[test]
fn two_builds_are_identical_whatever_the_input_order() {
    let a = build(&esp_files(), &opts(64 * MIB)).unwrap();
    let mut files = esp_files();
    files.reverse();
    let b = build(&files, &opts(64 * MIB)).unwrap();
    assert!(a == b, "two builds differ");
    let mut other = opts(64 * MIB);
    other.volume_id = 1;
    assert!(build(&files, &other).unwrap() != a);
}

#[test]
fn reader_lists_and_reads_what_mkfs_and_mcopy_wrote() {
    // An image made by the independent tools, read by our reader.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ref.img");
    let name = "some long file name.conf";
    mkfs_with_file(dir.path(), &p, &["-F", "32"], "/loader", name);
    let img = std::fs::read(&p).unwrap();
    let l = list(Cursor::new(&img)).unwrap();
    assert!(l.iter().any(|e| e.path == "/loader" && e.is_dir));
    assert!(l
        .iter()
        .any(|e| e.path == "/loader/some long file name.conf" && e.size == 5));
    assert_eq!(
        read_file(Cursor::new(&img), "/loader/some long file name.conf").unwrap(),
        b"hello"
    );
    assert_eq!(info(Cursor::new(&img)).unwrap().fat_type, "FAT32");
}

#[test]
fn reader_round_trip_and_info() {
    let img = build(&esp_files(), &opts(64 * MIB)).unwrap();
    let i = info(Cursor::new(&img)).unwrap();
    assert_eq!(i.fat_type, "FAT32");
    assert_eq!(i.cluster_size, 512);
    assert_eq!(i.volume_id, 0xC0FF_EE42);
    assert_eq!(i.label, "EFLOW-ESP");
    let l = list(Cursor::new(&img)).unwrap();
    for (path, data) in esp_files() {
        let e = l.iter().find(|e| e.path == path).unwrap();
        assert_eq!(e.size, data.len() as u64);
        assert_eq!(read_file(Cursor::new(&img), &path).unwrap(), data);
    }
}

#[test]
fn damaged_images_are_errors_not_panics() {
    let img = build(&esp_files(), &opts(64 * MIB)).unwrap();
    for len in [0usize, 1, 100, 511, 512, 4096, 1 << 20] {
        let _ = list(Cursor::new(&img[..len]));
        let _ = info(Cursor::new(&img[..len]));
    }
    // Flip bits in the boot sector, the FATs and the root directory.
    let mut x: u64 = 0x2545F4914F6CDD1D;
    for _ in 0..300 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut bad = img[..4 << 20].to_vec();
        let i = (x % (1 << 20)) as usize;
        bad[i] ^= 1 << (x >> 60 & 7);
        let _ = list(Cursor::new(&bad));
        let _ = read_file(Cursor::new(&bad), "/EFI/BOOT/BOOTX64.EFI");
    }
    let garbage = vec![0x5Au8; 2 << 20];
    assert!(list(Cursor::new(&garbage)).is_err());
}

#[test]
fn sparse_image_streams_the_same_bytes_with_little_memory() {
    let files = esp_files();
    let mut img = eflow_fat::build_image(&files, &opts(512 * MIB)).unwrap();
    // 512 MiB volume, well under 1 MiB of files: only FATs, directories and data are resident.
    assert!(img.resident() < 8 * MIB, "resident {}", img.resident());
    let streamed = eflow_extents::read_all(&mut img).unwrap();
    assert!(streamed == build(&files, &opts(512 * MIB)).unwrap());
}

#[test]
fn esp_inside_a_gpt_disk_is_readable_by_mtools() {
    use eflow_gpt::{plan, types, Gpt, PartSpec, Partition, Size};
    let files = esp_files();
    let planned = plan(
        None,
        &[PartSpec {
            size: Size::Bytes(64 * MIB),
            min: min_size(&files),
        }],
    )
    .unwrap();
    let (first, last) = planned.ranges[0];
    let gpt = Gpt {
        disk_guid: eflow_id::Seed::from_text("t").gpt_guid("disk"),
        disk_size: planned.disk_size,
        partitions: vec![Partition {
            type_guid: types::ESP,
            unique_guid: eflow_id::Seed::from_text("t").gpt_guid("esp"),
            name: "esp".into(),
            first_lba: first,
            last_lba: last,
            attributes: 0,
        }],
    };
    let esp = eflow_fat::build_image(&files, &opts((last + 1 - first) * 512)).unwrap();
    let mut layout = eflow_extents::Layout::new(gpt.disk_size);
    gpt.place(&mut layout).unwrap();
    layout.place(first * 512, Box::new(esp)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("disk.raw");
    let mut f = std::fs::File::create(&disk).unwrap();
    eflow_extents::write_raw(&mut layout, &mut f).unwrap();
    drop(f);
    let target = format!("{}@@{}", disk.display(), first * 512);
    let (ok, out, text) = run("mcopy", &["-i", &target, "::/EFI/BOOT/BOOTX64.EFI", "-"]);
    assert!(ok, "mcopy from the ESP partition: {text}");
    assert_eq!(out, files[0].1);
    let (ok, _, text) = run("sgdisk", &["-v", disk.to_str().unwrap()]);
    assert!(ok && text.contains("No problems found"), "{text}");
}

#[test]
fn probe_tells_and_summarizes_what_mkfs_wrote() {
    let dir = tempfile::tempdir().unwrap();
    for (bits, want) in [("32", "FAT32"), ("16", "FAT16")] {
        let p = dir.path().join(format!("fat{bits}.img"));
        let mkfs = ["-F", bits, "-n", "PROBED", "-i", "1234ABCD"];
        mkfs_with_file(dir.path(), &p, &mkfs, "/EFI", "grub.cfg");
        let img = std::fs::read(&p).unwrap();
        assert!(eflow_fat::is_fat(&img[..512]), "FAT{bits}");
        assert!(
            !eflow_fat::is_fat(&img[..511]),
            "too short for a boot sector"
        );
        let s = eflow_fat::probe(Cursor::new(&img)).unwrap();
        assert_eq!(s.volume.fat_type, want);
        assert_eq!(s.volume.label, "PROBED");
        // blkid shows the volume id the same way.
        let (ok, out, text) = run(
            "blkid",
            &["-p", "-o", "value", "-s", "UUID", p.to_str().unwrap()],
        );
        assert!(ok, "blkid: {text}");
        assert_eq!(String::from_utf8_lossy(&out).trim(), "1234-ABCD");
        assert_eq!(s.volume.volume_id_text(), "1234-ABCD");
        assert_eq!((s.files, s.directories, s.file_bytes), (1, 1, 5));
        let paths: Vec<_> = s.entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["/EFI", "/EFI/grub.cfg"]);
    }
    assert!(!eflow_fat::is_fat(&[0u8; 512]));
    assert!(eflow_fat::probe(Cursor::new(vec![0x5Au8; 1 << 20])).is_err());
}
