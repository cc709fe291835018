//! The reader on files written by QEMU (`qemu-img convert -O vhdx`, `qemu-io` writes): it must
//! yield the same bytes as qemu-img's own conversion to raw.

use std::fs::File;
use std::path::Path;

use crate::common::*;
use eflow_extents::{write_raw, SparseRead};
use eflow_vhdx::Reader;

const MIB: u64 = 1 << 20;

/// Reads `vhdx` with our reader into a raw file, and checks it equals qemu-img's conversion.
fn read_and_compare(dir: &Path, vhdx: &Path) -> eflow_vhdx::Info {
    let mut r = Reader::open(File::open(vhdx).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", vhdx.display()));
    let info = r.info().clone();
    let ours = dir.join("ours.raw");
    write_raw(&mut r, &mut File::create(&ours).unwrap()).unwrap();
    let theirs = dir.join("theirs.raw");
    qemu_img_raw("vhdx", vhdx, &theirs);
    assert_eq!(
        std::fs::metadata(&ours).unwrap().len(),
        std::fs::metadata(&theirs).unwrap().len()
    );
    assert!(
        std::fs::read(&ours).unwrap() == std::fs::read(&theirs).unwrap(),
        "{}: bytes differ",
        vhdx.display()
    );
    qemu_img_same("raw", &ours, &theirs);
    info
}

fn source(dir: &Path) -> std::path::PathBuf {
    let raw = dir.join("src.raw");
    sparse_file(
        &raw,
        70 * MIB + 512,
        &[
            (3 * MIB, pseudo_random(1, 5 << 20)),
            (20 * MIB, vec![0u8; 2 << 20]),
            (33 * MIB + 100, pseudo_random(2, 300)),
            (70 * MIB - 4096, pseudo_random(3, 4096 + 512)),
        ],
    );
    raw
}

#[test]
fn reads_qemu_img_convert_output() {
    let d = tempfile::tempdir().unwrap();
    let raw = source(d.path());
    for sub in ["dynamic", "fixed"] {
        for bs in ["1M", "8M", "32M"] {
            let v = d.path().join(format!("q-{sub}-{bs}.vhdx"));
            qemu_img_vhdx(&raw, &v, &format!("subformat={sub},block_size={bs}"));
            let info = read_and_compare(d.path(), &v);
            assert_eq!(info.virtual_size, 70 * MIB + 512);
            assert_eq!(
                info.block_size as u64,
                bs.trim_end_matches('M').parse::<u64>().unwrap() * MIB
            );
            assert_eq!(info.fixed, sub == "fixed");
            // And the bytes equal the original.
            qemu_img_same("raw", &d.path().join("ours.raw"), &raw);
        }
    }
}

#[test]
fn reads_qemu_img_create_and_qemu_io_writes() {
    let d = tempfile::tempdir().unwrap();
    let v = d.path().join("c.vhdx");
    let vs = v.to_str().unwrap();
    tool("qemu-img", &["create", "-f", "vhdx", vs, "100M"]);
    let info = read_and_compare(d.path(), &v);
    assert_eq!(info.blocks.fully_present, 0);
    // qemu-io opens read-write: its BAT updates go through the log, then get flushed.
    tool(
        "qemu-io",
        &[
            "-f",
            "vhdx",
            "-c",
            "write -P 0x5a 1M 64k",
            "-c",
            "write -P 0xa5 50M 3M",
            "-c",
            "write -z 51M 1M",
            vs,
        ],
    );
    let info = read_and_compare(d.path(), &v);
    assert!(info.blocks.fully_present >= 2);
}

/// Random access (`read_at`, `Read + Seek`) over a qemu-img-written VHDX: every probe must
/// equal the same range of the original raw disk, across block edges, holes and the end.
#[test]
fn random_access_matches_the_raw_disk() {
    use std::io::{Read, Seek, SeekFrom};
    let d = tempfile::tempdir().unwrap();
    let raw = source(d.path());
    let original = std::fs::read(&raw).unwrap();
    let v = d.path().join("q.vhdx");
    qemu_img_vhdx(&raw, &v, "block_size=1M");
    let mut r = Reader::open(File::open(&v).unwrap()).unwrap();
    let size = original.len() as u64;
    let probes: &[(u64, usize)] = &[
        (0, 4096),
        (3 * MIB - 100, 300),
        (4 * MIB - 7, 2 * MIB as usize + 14),
        (20 * MIB, MIB as usize),
        (33 * MIB + 50, 400),
        (size - 5000, 5000),
        (size - 10, 100),
    ];
    for &(off, len) in probes {
        let mut buf = vec![0xEEu8; len];
        let n = r.read_at(off, &mut buf).unwrap();
        let end = (off + len as u64).min(size);
        assert_eq!(n as u64, end - off, "length at {off}");
        assert!(
            buf[..n] == original[off as usize..end as usize],
            "bytes at {off}"
        );
        // The same through Seek + Read.
        assert_eq!(r.seek(SeekFrom::Start(off)).unwrap(), off);
        let mut via = Vec::new();
        (&mut r).take(len as u64).read_to_end(&mut via).unwrap();
        assert!(via == original[off as usize..end as usize], "Read at {off}");
    }
    assert_eq!(r.read_at(size, &mut [0u8; 16]).unwrap(), 0);
    assert_eq!(r.seek(SeekFrom::End(-512)).unwrap(), size - 512);
    assert!(r.seek(SeekFrom::Current(-(size as i64))).is_err());
}

/// Makes a VHDX whose log needs replaying, from a real crash of QEMU's writer: qemu-io
/// allocates blocks (journaling each BAT update in the log) and aborts; then the BAT is put
/// back to its state before those updates and the headers' LogGuid set to the last entry's,
/// which is the state a crash between journaling and applying leaves.
#[test]
fn replays_the_log_of_a_crashed_writer() {
    let d = tempfile::tempdir().unwrap();
    let v = d.path().join("a.vhdx");
    let vs = v.to_str().unwrap();
    tool(
        "qemu-img",
        &["create", "-f", "vhdx", "-o", "block_size=1M", vs, "64M"],
    );
    let before = std::fs::read(&v).unwrap();
    let st = std::process::Command::new("qemu-io")
        .args([
            "-f",
            "vhdx",
            "-c",
            "write -P 0x5a 1M 64k",
            "-c",
            "write -P 0x33 40M 1M",
            "-c",
            "abort",
            vs,
        ])
        .output()
        .expect("qemu-io is needed (qemu-utils)");
    assert!(!st.status.success(), "qemu-io was asked to abort");
    let after = std::fs::read(&v).unwrap();
    let info = Reader::open(File::open(&v).unwrap())
        .unwrap()
        .info()
        .clone();
    let bat = info.bat_offset as usize;
    let log = info.header.log_offset as usize;
    let log_len = info.header.log_length as usize;
    // The newest log entry's GUID.
    let newest = (log..log + log_len)
        .step_by(4096)
        .filter(|at| &after[*at..*at + 4] == b"loge")
        .max_by_key(|at| u64::from_le_bytes(after[at + 16..at + 24].try_into().unwrap()))
        .expect("qemu-io left log entries");
    let guid: [u8; 16] = after[newest + 32..newest + 48].try_into().unwrap();
    let mut crashed = after.clone();
    crashed[bat..bat + (1 << 20)].copy_from_slice(&before[bat..bat + (1 << 20)]);
    assert!(crashed != after, "the BAT must differ before replay");
    for h in [64usize << 10, 128 << 10] {
        crashed[h + 48..h + 64].copy_from_slice(&guid);
        crashed[h + 4..h + 8].fill(0);
        let c = crc32c::crc32c(&crashed[h..h + 4096]);
        crashed[h + 4..h + 8].copy_from_slice(&c.to_le_bytes());
    }
    let c = d.path().join("crashed.vhdx");
    std::fs::write(&c, &crashed).unwrap();
    // QEMU agrees the file needs replay: it refuses to read it without writing.
    let ro = std::process::Command::new("qemu-img")
        .args([
            "convert",
            "-f",
            "vhdx",
            "-O",
            "raw",
            c.to_str().unwrap(),
            "/dev/null",
        ])
        .output()
        .unwrap();
    assert!(
        !ro.status.success(),
        "qemu-img read a file needing replay read-only"
    );
    // Our reader replays it in memory and reads what qemu-img reads once it has replayed
    // the log itself (check -r all opens read-write).
    let r = Reader::open(File::open(&c).unwrap()).unwrap();
    assert!(r.info().log_entries_replayed >= 1);
    assert_eq!(
        std::fs::read(&c).unwrap(),
        crashed,
        "the reader must not write"
    );
    let q = d.path().join("qemu-replayed.vhdx");
    std::fs::write(&q, &crashed).unwrap();
    tool(
        "qemu-img",
        &["check", "-r", "all", "-f", "vhdx", q.to_str().unwrap()],
    );
    let info = read_and_compare(d.path(), &q);
    assert_eq!(info.log_entries_replayed, 0);
    let ours = d.path().join("ours-crashed.raw");
    let mut r = Reader::open(File::open(&c).unwrap()).unwrap();
    write_raw(&mut r, &mut File::create(&ours).unwrap()).unwrap();
    assert!(std::fs::read(&ours).unwrap() == std::fs::read(d.path().join("theirs.raw")).unwrap());
    // Damage anywhere in the log entries gives an error or a consistent disk, never a panic.
    let used = (log..log + log_len)
        .step_by(4096)
        .filter(|at| crashed[*at..*at + 4096].iter().any(|b| *b != 0))
        .max()
        .unwrap()
        + 4096;
    let mut damaged = crashed.clone();
    for at in (log..used).step_by(7) {
        damaged[at] ^= 0x21;
        if let Ok(mut r) = Reader::open(std::io::Cursor::new(&damaged)) {
            let mut buf = vec![0u8; 1 << 20];
            while r.next_segment(&mut buf).unwrap().is_some() {}
        }
        damaged[at] ^= 0x21;
    }
    // And that is the data qemu-io wrote.
    let data = std::fs::read(&ours).unwrap();
    assert!(data[1 << 20..(1 << 20) + 65536].iter().all(|b| *b == 0x5a));
    assert!(data[40 << 20..41 << 20].iter().all(|b| *b == 0x33));
}
