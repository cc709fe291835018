//! Module metadata from fixture ELF files made here, checked against binutils' readelf and
//! the xz, zstd and gzip tools; and (ignored by default) against a real kernel package and
//! kmod's depmod.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::fixture;
use eflow_kmod::{modinfo, parse_builtin, KmodError, ModuleIndex};
use eflow_testkit::{damaged_copies, ok, ok_with_input};

/// Runs `cmd ARGS` in the C locale with `input` on stdin; requires success, returns stdout.
fn tool(cmd: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
    ok_with_input(Command::new(cmd).args(args).env("LC_ALL", "C"), input).stdout
}

fn blk() -> Vec<u8> {
    fixture::module_elf(&[
        "license=GPL",
        "description=Virtio block driver",
        "depends=virtio,virtio_ring",
        "alias=virtio:d00000002v*",
        "retpoline=Y",
        "intree=Y",
        "name=virtio_blk",
        "vermagic=6.1.0-56-cloud-amd64 SMP preempt mod_unload modversions ",
    ])
}

#[test]
fn readelf_agrees_with_the_fixture_and_the_parser() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("virtio_blk.ko");
    std::fs::write(&p, blk()).unwrap();
    let out = tool(
        "readelf",
        &["-W", "-p", ".modinfo", p.to_str().unwrap()],
        &[],
    );
    let text = String::from_utf8(out).unwrap();
    let m = modinfo(&blk()).unwrap();
    // readelf -p prints each string of the section; every field we parsed must be there.
    for (k, v) in &m.fields {
        let kv = format!("{k}={v}");
        assert!(
            text.contains(kv.trim_end()),
            "readelf does not show {kv:?}:\n{text}"
        );
    }
    assert_eq!(m.fields.len(), 8);
    assert_eq!(m.name.as_deref(), Some("virtio_blk"));
    assert_eq!(m.depends, ["virtio", "virtio_ring"]);
}

#[test]
fn compressed_modules_are_read() {
    let plain = blk();
    let want = modinfo(&plain).unwrap();
    for (cmd, args) in [
        ("xz", &["-c", "--check=crc32"][..]),
        ("zstd", &["-c", "-q"][..]),
        ("gzip", &["-c", "-n"][..]),
    ] {
        let z = tool(cmd, args, &plain);
        assert_ne!(z, plain);
        assert_eq!(modinfo(&z).unwrap(), want, "{cmd}");
        // A truncated compressed module is an error, not a panic.
        assert!(modinfo(&z[..z.len() / 2]).is_err(), "{cmd}");
    }
}

#[test]
fn malformed_modules_are_errors_not_panics() {
    let good = blk();
    for len in 0..good.len() {
        let _ = modinfo(&good[..len]);
    }
    assert!(matches!(modinfo(&good[..10]), Err(KmodError::BadElf(_))));
    for bad in damaged_copies(&good, 0xda942042e4dd58b5).take(20_000) {
        let _ = modinfo(&bad);
    }
    // The symbol table reader too, on a module that has one.
    let with_symbols = fixture::module_elf_with_symbols(
        &["name=x"],
        &fixture::Exports::Crc(&["f", "g"]),
        &["h", "i"],
    );
    for len in 0..with_symbols.len() {
        let _ = eflow_kmod::module(&with_symbols[..len]);
    }
    for bad in damaged_copies(&with_symbols, 0x5eed_0f5b_0155).take(20_000) {
        let _ = eflow_kmod::module(&bad);
    }
    // Section header fields set to extremes.
    for off in [0x28usize, 0x3A, 0x3C, 0x3E] {
        for v in [0u8, 0xFF] {
            let mut bad = good.clone();
            bad[off] = v;
            bad[off + 1] = v;
            let _ = modinfo(&bad);
        }
    }
    let no_modinfo = {
        let mut m = good.clone();
        // Rename .modinfo to .modinfX in the section name table.
        let at = m.windows(8).position(|w| w == b".modinfo").unwrap();
        m[at + 7] = b'X';
        m
    };
    assert!(matches!(modinfo(&no_modinfo), Err(KmodError::NoModinfo)));
    assert!(modinfo(b"\x7fELF").is_err());
    assert!(modinfo(&[0xFD, b'7', b'z', b'X', b'Z', 0, 1, 2]).is_err());
}

#[test]
fn fixture_index_orders_virtio() {
    let m = |name: &str, deps: &str| {
        fixture::module_elf(&[&format!("name={name}"), &format!("depends={deps}")])
    };
    let files = [
        ("kernel/drivers/virtio/virtio_ring.ko", m("virtio_ring", "")),
        (
            "kernel/drivers/virtio/virtio.ko",
            m("virtio", "virtio_ring"),
        ),
        (
            "kernel/drivers/block/virtio_blk.ko",
            m("virtio_blk", "virtio,virtio_ring"),
        ),
        (
            "kernel/drivers/virtio/virtio_pci_modern_dev.ko",
            m("virtio_pci_modern_dev", ""),
        ),
        (
            "kernel/drivers/virtio/virtio_pci_legacy_dev.ko",
            m("virtio_pci_legacy_dev", ""),
        ),
        (
            "kernel/drivers/virtio/virtio_pci.ko",
            m(
                "virtio_pci",
                "virtio_ring,virtio_pci_modern_dev,virtio_pci_legacy_dev,virtio",
            ),
        ),
        ("kernel/fs/jbd2/jbd2.ko", m("jbd2", "crc16")),
    ];
    let idx = ModuleIndex::new(
        files
            .iter()
            .map(|(p, b)| (p.to_string(), modinfo(b).unwrap())),
        parse_builtin("kernel/lib/crc16.ko\n"),
    )
    .unwrap();
    let order = idx
        .load_order(&["virtio_pci", "virtio-blk", "jbd2"])
        .unwrap();
    assert_eq!(
        order,
        [
            "kernel/drivers/virtio/virtio_ring.ko",
            "kernel/drivers/virtio/virtio.ko",
            "kernel/drivers/virtio/virtio_pci_legacy_dev.ko",
            "kernel/drivers/virtio/virtio_pci_modern_dev.ko",
            "kernel/drivers/virtio/virtio_pci.ko",
            "kernel/drivers/block/virtio_blk.ko",
            "kernel/fs/jbd2/jbd2.ko",
        ]
    );
}

/// Every .ko / .ko.xz / .ko.zst below `dir`, as (path relative to dir, bytes).
fn walk(dir: &Path, rel: &str, out: &mut Vec<(String, PathBuf)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let r = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            walk(&e.path(), &r, out);
        } else if [".ko", ".ko.xz", ".ko.zst", ".ko.gz"]
            .iter()
            .any(|s| name.ends_with(s))
        {
            out.push((r, e.path()));
        }
    }
}

/// Runs against a real kernel's module directory (`/lib/modules/<release>` of an unpacked
/// linux-image package) and compares with kmod's depmod. Run with:
///
///     apt-get download linux-image-6.1.0-NN-cloud-amd64 && dpkg-deb -x linux-image-*.deb root
///     apt-get install kmod   # for depmod
///     EFLOW_KMOD_DIR=$PWD/root/lib/modules/6.1.0-NN-cloud-amd64 \
///         cargo test -p eflow-kmod --release --test it -- --ignored real_kernel
#[test]
#[ignore = "needs EFLOW_KMOD_DIR (an unpacked kernel package) and depmod; see the doc comment"]
fn real_kernel_package() {
    let dir = PathBuf::from(
        std::env::var("EFLOW_KMOD_DIR")
            .expect("set EFLOW_KMOD_DIR to /lib/modules/<release> of an unpacked kernel package"),
    );
    let release = dir.file_name().unwrap().to_str().unwrap().to_string();
    let mut files = Vec::new();
    walk(&dir.join("kernel"), "kernel", &mut files);
    assert!(
        files.len() > 100,
        "only {} modules under {}",
        files.len(),
        dir.display()
    );
    let mods: Vec<(String, eflow_kmod::ModInfo)> = files
        .iter()
        .map(|(rel, p)| {
            let info = modinfo(&std::fs::read(p).unwrap()).unwrap_or_else(|e| panic!("{rel}: {e}"));
            (rel.clone(), info)
        })
        .collect();
    let builtin = std::fs::read_to_string(dir.join("modules.builtin")).unwrap();
    let idx = ModuleIndex::new(mods, parse_builtin(&builtin)).unwrap();

    let order = idx.load_order(&["virtio_blk", "virtio_pci"]).unwrap();
    let pos = |n: &str| {
        order
            .iter()
            .position(|p| p.ends_with(&format!("/{n}.ko")))
            .unwrap_or_else(|| panic!("{n} not in {order:?}"))
    };
    assert!(pos("virtio_ring") < pos("virtio"));
    assert!(pos("virtio") < pos("virtio_pci"));
    assert!(pos("virtio") < pos("virtio_blk"));
    for m in ["hv_storvsc", "hv_netvsc", "hv_vmbus", "hv_sock"] {
        let o = idx.load_order(&[m]).unwrap_or_else(|e| panic!("{m}: {e}"));
        assert!(o.last().unwrap().ends_with(&format!("/{m}.ko")), "{o:?}");
    }
    let o = idx.load_order(&["hv_storvsc"]).unwrap();
    assert!(o.iter().any(|p| p.ends_with("/hv_vmbus.ko")));
    assert!(idx.is_builtin("ext4"));

    // depmod on the same directory (through a symlink farm, so nothing is written there).
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("lib/modules").join(&release);
    std::fs::create_dir_all(&base).unwrap();
    for f in [
        "kernel",
        "modules.builtin",
        "modules.order",
        "modules.builtin.modinfo",
    ] {
        if dir.join(f).exists() {
            std::os::unix::fs::symlink(dir.join(f), base.join(f)).unwrap();
        }
    }
    ok(Command::new("depmod").args(["-b", tmp.path().to_str().unwrap(), &release]));
    let parse = |text: &str| -> BTreeMap<String, BTreeSet<String>> {
        text.lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(m, deps)| {
                (
                    m.to_string(),
                    deps.split_whitespace().map(str::to_string).collect(),
                )
            })
            .collect()
    };
    let theirs = parse(&std::fs::read_to_string(base.join("modules.dep")).unwrap());
    let ours_text = idx.modules_dep_text();
    let ours = parse(&ours_text);
    assert_eq!(ours.len(), theirs.len());
    for (m, deps) in &theirs {
        assert_eq!(
            ours.get(m),
            Some(deps),
            "dependencies of {m} differ from depmod's"
        );
    }
    // Our order is a valid load order under depmod's dependencies, for every module.
    for m in theirs.keys() {
        let name = eflow_kmod::name_from_path(m);
        let order = idx.load_order(&[&name]).unwrap();
        for (i, p) in order.iter().enumerate() {
            for d in &theirs[*p] {
                let j = order.iter().position(|q| q == d).unwrap();
                assert!(j < i, "{d} must load before {p}");
            }
        }
    }
    // Every file depmod writes, byte for byte.
    let with_symbols: Vec<eflow_kmod::KernelModule> = files
        .iter()
        .map(|(rel, p)| {
            let (info, symbols) = eflow_kmod::module(&std::fs::read(p).unwrap()).unwrap();
            eflow_kmod::KernelModule {
                path: rel.clone(),
                info,
                symbols,
            }
        })
        .collect();
    let read = |f: &str| std::fs::read(dir.join(f)).ok();
    let (order, builtin, builtin_modinfo) = (
        read("modules.order"),
        read("modules.builtin"),
        read("modules.builtin.modinfo"),
    );
    let ours = eflow_kmod::depmod(
        &with_symbols,
        eflow_kmod::DepmodInputs {
            order: order.as_deref(),
            builtin: builtin.as_deref(),
            builtin_modinfo: builtin_modinfo.as_deref(),
        },
    )
    .unwrap();
    let mut differ = Vec::new();
    for (name, bytes) in &ours {
        let theirs = std::fs::read(base.join(name)).unwrap();
        if &theirs != bytes {
            std::fs::write(tmp.path().join(format!("ours.{name}")), bytes).unwrap();
            differ.push(*name);
        }
    }
    if !differ.is_empty() {
        let keep = tmp.keep();
        panic!(
            "differ from depmod's: {differ:?} (both in {})",
            keep.display()
        );
    }
    let alias_set = |t: &str| -> BTreeSet<String> {
        t.lines()
            .filter(|l| l.starts_with("alias "))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        alias_set(&idx.modules_alias_text()),
        alias_set(&std::fs::read_to_string(base.join("modules.alias")).unwrap())
    );
}
