//! The reader on files written by QEMU (`qemu-img convert -O vhdx`, `qemu-io` writes): it must
//! yield the same bytes as qemu-img's own conversion to raw.

mod common;

use std::fs::File;
use std::path::Path;

use common::*;
use eflow_extents::write_raw;
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
    let (v, t, o) = (
        vhdx.to_str().unwrap(),
        theirs.to_str().unwrap(),
        ours.to_str().unwrap(),
    );
    run("qemu-img", &["convert", "-f", "vhdx", "-O", "raw", v, t]);
    assert_eq!(
        std::fs::metadata(&ours).unwrap().len(),
        std::fs::metadata(&theirs).unwrap().len()
    );
    assert!(
        std::fs::read(&ours).unwrap() == std::fs::read(&theirs).unwrap(),
        "{v}: bytes differ"
    );
    let cmp = run("qemu-img", &["compare", "-f", "raw", "-F", "raw", o, t]);
    assert!(cmp.contains("identical"), "{cmp}");
    info
}

fn source(dir: &Path) -> std::path::PathBuf {
    let raw = dir.join("src.raw");
    make_raw(
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
            run(
                "qemu-img",
                &[
                    "convert",
                    "-f",
                    "raw",
                    "-O",
                    "vhdx",
                    "-o",
                    &format!("subformat={sub},block_size={bs}"),
                    raw.to_str().unwrap(),
                    v.to_str().unwrap(),
                ],
            );
            let info = read_and_compare(d.path(), &v);
            assert_eq!(info.virtual_size, 70 * MIB + 512);
            assert_eq!(
                info.block_size as u64,
                bs.trim_end_matches('M').parse::<u64>().unwrap() * MIB
            );
            assert_eq!(info.fixed, sub == "fixed");
            // And the bytes equal the original.
            let cmp = run(
                "qemu-img",
                &[
                    "compare",
                    "-f",
                    "raw",
                    "-F",
                    "raw",
                    d.path().join("ours.raw").to_str().unwrap(),
                    raw.to_str().unwrap(),
                ],
            );
            assert!(cmp.contains("identical"), "{cmp}");
        }
    }
}

#[test]
fn reads_qemu_img_create_and_qemu_io_writes() {
    let d = tempfile::tempdir().unwrap();
    let v = d.path().join("c.vhdx");
    let vs = v.to_str().unwrap();
    run("qemu-img", &["create", "-f", "vhdx", vs, "100M"]);
    let info = read_and_compare(d.path(), &v);
    assert_eq!(info.blocks.fully_present, 0);
    // qemu-io opens read-write: its BAT updates go through the log, then get flushed.
    run(
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
    run(
        "qemu-img",
        &[
            "convert",
            "-f",
            "raw",
            "-O",
            "vhdx",
            "-o",
            "block_size=1M",
            raw.to_str().unwrap(),
            v.to_str().unwrap(),
        ],
    );
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
