//! Shared by the boot tests: the reference image's guest Tree (from its lockfile, through the
//! real assemble and configure stages) and a raw GPT disk (ESP + ext4 root) made from it with
//! the project's own writers, the way the disk stage will. Also compiled into
//! builder/benches/boot.rs.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use eflow_builder::commands::build;
use eflow_builder::stages::boot::{self, BootFiles, BootOptions};
use eflow_builder::stages::fetch::{Cache, Fetcher};
use eflow_builder::stages::plan::Plan;
use eflow_gpt::{Gpt, Guid, PartSpec, Partition, Size};
use eflow_tree::Tree;

/// The repository root (builder/..).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The reference image's guest Tree and its SOURCE_DATE_EPOCH. Packages come from the user's
/// cache, else from the mirror of the host's apt sources.
pub fn guest_tree() -> (Tree, i64) {
    let mut plan = Plan::load(&repo().join("recipes/images/minimal.toml"))
        .unwrap_or_else(|e| panic!("loading recipes/images/minimal.toml: {e}"));
    // These tests boot the simple layout: the ESP and one read-write root that grows.
    let parts = &mut plan.image.def.partitions;
    parts.retain(|p| p.mount.as_deref() == Some("/") || p.filesystem.as_deref() == Some("vfat"));
    let root = parts
        .last_mut()
        .expect("the reference image has a root partition");
    root.read_only = false;
    root.size = eflow_builder::stages::plan::Size::Rest;
    root.margin = None;
    root.grow = true;
    let fetcher = Fetcher::new(Cache::new(Cache::default_dir()), false, None, false);
    let tree = build::guest_tree(&plan, &fetcher, None, &|_| {})
        .unwrap_or_else(|e| panic!("the reference image's guest tree: {e}"));
    let sde = plan.source_date_epoch;
    (tree, sde)
}

/// The root partition GUID the tests use.
pub fn root_guid() -> Guid {
    eflow_id::Seed::from_text("eflow boot test").gpt_guid("root")
}

/// The reference image's kernel command line plus `extra`.
pub fn cmdline(extra: &str) -> String {
    format!("console=tty0 console=ttyS0,115200 eflow.panic=poweroff {extra}")
}

/// Runs the boot stage on `tree` for the test disk.
pub fn boot_files(tree: &mut Tree, sde: i64, extra_cmdline: &str) -> BootFiles {
    let opts = BootOptions::new(&cmdline(extra_cmdline), &root_guid().to_string(), sde);
    boot::prepare(tree, &opts).unwrap_or_else(|e| panic!("boot stage: {e}"))
}

const MIB: u64 = 1 << 20;

/// Writes a raw GPT disk to `out`: a 64 MiB FAT32 ESP with `files`, and an ext4 root
/// partition holding `tree` with `slack` bytes to spare. Returns the disk size.
pub fn write_disk(tree: &Tree, files: &BootFiles, sde: i64, slack: u64, out: &Path) -> u64 {
    let esp_size = 64 * MIB;
    let root_size = (eflow_ext4::min_size(tree) + slack).div_ceil(MIB) * MIB;
    let planned = eflow_gpt::plan(
        None,
        &[
            PartSpec {
                size: Size::Bytes(esp_size),
                min: 0,
            },
            PartSpec {
                size: Size::Bytes(root_size),
                min: 0,
            },
        ],
    )
    .expect("planning the partitions");
    let gpt = Gpt {
        disk_guid: eflow_id::Seed::from_text("eflow boot test").gpt_guid("disk"),
        disk_size: planned.disk_size,
        partitions: vec![
            Partition {
                type_guid: eflow_gpt::types::ESP,
                unique_guid: eflow_id::Seed::from_text("eflow boot test").gpt_guid("esp"),
                name: "esp".into(),
                first_lba: planned.ranges[0].0,
                last_lba: planned.ranges[0].1,
                attributes: 0,
            },
            Partition {
                type_guid: eflow_gpt::types::LINUX_ROOT_X86_64,
                unique_guid: root_guid(),
                name: "root".into(),
                first_lba: planned.ranges[1].0,
                last_lba: planned.ranges[1].1,
                attributes: 0,
            },
        ],
    };
    let mut layout = eflow_extents::Layout::new(gpt.disk_size);
    gpt.place(&mut layout).expect("placing the GPT");
    let esp = eflow_fat::build_image(
        &files.esp,
        &eflow_fat::FatOptions {
            size: gpt.partitions[0].size(),
            volume_id: 0x1234_5678,
            label: "ESP".into(),
            timestamp: sde,
        },
    )
    .expect("building the ESP");
    layout
        .place(gpt.partitions[0].offset(), Box::new(esp))
        .expect("placing the ESP");
    let root = eflow_ext4::write(
        tree,
        &eflow_ext4::Options {
            size: gpt.partitions[1].size(),
            uuid: *b"eflow-boot-test1",
            hash_seed: *b"eflow-boot-hash1",
            label: "root".into(),
            timestamp: sde,
        },
    )
    .expect("writing the root ext4");
    layout
        .place(gpt.partitions[1].offset(), Box::new(root))
        .expect("placing the root filesystem");
    let mut f = std::fs::File::create(out).expect("creating the disk file");
    eflow_extents::write_raw(&mut layout, &mut f).expect("writing the disk");
    gpt.disk_size
}
