//! Every index file [`eflow_kmod::depmod`] writes, compared byte for byte with kmod's own
//! `depmod` run on the same module directory of fixture modules: symbols exported with and
//! without modversions, dependencies through symbols, two modules exporting one symbol,
//! modules missing from modules.order, aliases with brackets, devname aliases, soft
//! dependencies, built-in modules and their aliases.

use std::path::Path;
use std::process::Command;

use crate::fixture::{module_elf_with_symbols, Exports};
use eflow_kmod::{depmod, module, DepmodInputs, KernelModule, DEPMOD_FILES};
use eflow_testkit::ok;

const RELEASE: &str = "9.9.9-eflow-test";

struct Fixture {
    path: String,
    modinfo: Vec<String>,
    crc: bool,
    exports: Vec<String>,
    needs: Vec<String>,
}

fn fixture(path: &str, modinfo: &[&str], exports: &[&str], needs: &[&str]) -> Fixture {
    Fixture {
        path: path.into(),
        modinfo: modinfo.iter().map(|s| s.to_string()).collect(),
        crc: true,
        exports: exports.iter().map(|s| s.to_string()).collect(),
        needs: needs.iter().map(|s| s.to_string()).collect(),
    }
}

/// A module set that exercises depmod's ordering rules, written under `dir`.
fn modules() -> Vec<Fixture> {
    let mut m = vec![
        fixture(
            "kernel/drivers/base-mod.ko",
            &[
                "alias=pci:v00001234d*sv*sd*bc*sc*i*",
                "alias=char-major-10-200",
                "alias=devname:eflow/base",
                "softdep=pre: mid post: top",
                "license=GPL",
            ],
            &["base_fn", "base_data", "shared_sym"],
            &["printk", "__this_module"],
        ),
        fixture(
            "kernel/drivers/mid.ko",
            &["alias=usb:v[0-9]*-x", "alias=bad[bracket"],
            &["mid_fn"],
            &["base_fn", "printk"],
        ),
        fixture(
            "kernel/fs/top.ko",
            &[
                "alias=fs-top",
                "alias=block-major-250-*",
                "alias=devname:top",
            ],
            &[],
            &["mid_fn", "base_data", "kfree", "shared_sym"],
        ),
        fixture(
            "kernel/fs/dup-exporter.ko",
            &["alias=fs-top"],
            &["shared_sym"],
            &[],
        ),
        fixture("kernel/extra/not-ordered.ko", &[], &["lonely"], &["mid_fn"]),
    ];
    m[1].crc = false;
    // Enough modules for hash buckets to matter: a chain and a tree of dependencies.
    for i in 0..60 {
        let exports = [format!("gen{i}_a"), format!("gen{i}_b")];
        let mut needs = vec![format!("gen{}_a", i / 2)];
        if i % 7 == 3 {
            needs.push(format!("gen{}_b", i / 3));
            needs.push("base_fn".into());
        }
        if i == 0 {
            needs.clear();
        }
        m.push(Fixture {
            path: format!("kernel/gen/g{}/gen-{i}.ko", i % 4),
            modinfo: vec![format!("alias=gen:{i}-*"), format!("alias=gen-any")],
            crc: i % 5 != 0,
            exports: exports.to_vec(),
            needs,
        });
    }
    m
}

fn write(dir: &Path, set: &[Fixture]) -> Vec<KernelModule> {
    set.iter()
        .map(|f| {
            let info: Vec<&str> = f.modinfo.iter().map(String::as_str).collect();
            let exports: Vec<&str> = f.exports.iter().map(String::as_str).collect();
            let needs: Vec<&str> = f.needs.iter().map(String::as_str).collect();
            let how = if f.crc {
                Exports::Crc(&exports)
            } else {
                Exports::Strings(&exports)
            };
            let bytes = module_elf_with_symbols(&info, &how, &needs);
            let p = dir.join(&f.path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, &bytes).unwrap();
            let (info, symbols) = module(&bytes).unwrap();
            KernelModule {
                path: f.path.clone(),
                info,
                symbols,
            }
        })
        .collect()
}

/// Runs depmod on `root` and compares each file with ours.
fn compare(root: &Path, ours: Vec<(&'static str, Vec<u8>)>) {
    ok(Command::new("depmod").arg("-b").arg(root).arg(RELEASE));
    let dir = root.join("lib/modules").join(RELEASE);
    assert_eq!(
        ours.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        DEPMOD_FILES
    );
    for (name, bytes) in ours {
        let theirs = std::fs::read(dir.join(name)).unwrap();
        assert!(
            theirs == bytes,
            "{name} differs from depmod's:\n--- depmod\n{}\n--- ours\n{}",
            String::from_utf8_lossy(&theirs),
            String::from_utf8_lossy(&bytes)
        );
    }
}

#[test]
fn every_index_matches_depmod() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("lib/modules").join(RELEASE);
    let set = modules();
    let mods = write(&dir, &set);
    // modules.order lists all but the "not-ordered" module and every third generated one,
    // not in path order.
    let mut order = String::new();
    for f in set.iter().rev() {
        let skip =
            f.path.contains("not-ordered") || f.path.ends_with("0.ko") && f.path.contains("gen-");
        if !skip {
            order.push_str(&f.path);
            order.push('\n');
        }
    }
    let builtin = "kernel/fs/ext4/ext4.ko\nkernel/lib/crc16.ko\nkernel/arch/x86/amd-uncore.ko\n";
    let builtin_modinfo =
        b"ext4.alias=fs-ext4\0ext4.license=GPL\0crc16.license=GPL\0ext4.alias=ext3\0amd_uncore.alias=cpu:type:x86,ven0002*\0";
    std::fs::write(dir.join("modules.order"), &order).unwrap();
    std::fs::write(dir.join("modules.builtin"), builtin).unwrap();
    std::fs::write(dir.join("modules.builtin.modinfo"), builtin_modinfo).unwrap();
    let ours = depmod(
        &mods,
        DepmodInputs {
            order: Some(order.as_bytes()),
            builtin: Some(builtin.as_bytes()),
            builtin_modinfo: Some(builtin_modinfo),
        },
    )
    .unwrap();
    // The set is not trivial: dependencies, symbols and devname entries are there.
    let text =
        |n: &str| String::from_utf8(ours.iter().find(|(f, _)| *f == n).unwrap().1.clone()).unwrap();
    let dep = text("modules.dep");
    let top = dep
        .lines()
        .find(|l| l.starts_with("kernel/fs/top.ko:"))
        .unwrap();
    // shared_sym is base-mod's: the later of its two exporters in modules.order.
    assert!(
        top.contains("mid.ko") && top.contains("base-mod.ko"),
        "{top}"
    );
    assert!(!top.contains("dup-exporter.ko"), "{top}");
    assert!(text("modules.symbols").contains("alias symbol:shared_sym base_mod\n"));
    assert!(text("modules.devname").contains("base_mod eflow/base c10:200\n"));
    compare(tmp.path(), ours);
}

#[test]
fn without_order_and_builtin_files_matches_depmod() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("lib/modules").join(RELEASE);
    let mods = write(&dir, &modules());
    let ours = depmod(&mods, DepmodInputs::default()).unwrap();
    compare(tmp.path(), ours);
}

#[test]
fn cycles_and_duplicates_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let mods = write(
        tmp.path(),
        &[
            fixture("kernel/a.ko", &[], &["a_fn"], &["b_fn"]),
            fixture("kernel/b.ko", &[], &["b_fn"], &["a_fn"]),
        ],
    );
    let e = depmod(&mods, DepmodInputs::default()).unwrap_err();
    assert!(e.to_string().contains("cycle"), "{e}");
    let mods = write(
        tmp.path(),
        &[
            fixture("kernel/x/a.ko", &[], &[], &[]),
            fixture("kernel/y/a.ko", &[], &[], &[]),
        ],
    );
    assert!(depmod(&mods, DepmodInputs::default()).is_err());
}
