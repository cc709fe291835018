//! Boot benchmark: the reference image, built as a VHDX by the test helpers (the project's
//! GPT, FAT, ext4 and VHDX writers), booted under QEMU + OVMF with TCG. Prints the time of the
//! boot stage, the image sizes and the time from QEMU's start to `EFLOW-READY failed=0`.
//! There is no reference tool to compare against: the figure is the guest's own boot time
//! under software emulation.
//!
//!     cargo bench -p eflow-builder --bench boot
//!
//! Needs what builder/tests/boot_qemu.rs needs (QEMU, OVMF, the image's packages).
//! With EFLOW_BOOT_BENCH_KEEP=DIR the VHDX is kept as DIR/eflow-boot-bench.vhdx.

#[path = "../tests/boot_support/mod.rs"]
mod boot_support;

use std::fs::File;
use std::time::{Duration, Instant};

use eflow_builder::commands::vm::{self, BootRun};

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let t = Instant::now();
    let (mut tree, sde) = boot_support::guest_tree();
    let assemble = t.elapsed();
    let t = Instant::now();
    let files = boot_support::boot_files(&mut tree, sde, "");
    let stage = t.elapsed();
    let initrd = files
        .esp
        .iter()
        .find(|(p, _)| p == "/initrd")
        .map_or(0, |f| f.1.len());
    let kernel = files
        .esp
        .iter()
        .find(|(p, _)| p == "/vmlinuz")
        .map_or(0, |f| f.1.len());

    let dir = tempfile::tempdir().expect("temporary directory");
    let raw = dir.path().join("disk.raw");
    let disk_size = boot_support::write_disk(&tree, &files, sde, 256 << 20, &raw);
    let vhdx = dir.path().join("disk.vhdx");
    let mut src = eflow_extents::RawFile::new(File::open(&raw).expect("reading the raw disk"))
        .expect("reading the raw disk");
    let mut out = File::create(&vhdx).expect("creating the VHDX");
    eflow_vhdx::write(&mut src, &mut out, &eflow_vhdx::Options::default())
        .expect("writing the VHDX");
    let raw_alloc = std::fs::metadata(&raw).map(|m| {
        use std::os::unix::fs::MetadataExt;
        m.blocks() * 512
    });
    let vhdx_len = std::fs::metadata(&vhdx).map(|m| m.len()).unwrap_or(0);

    let mut run = BootRun::new(&vhdx);
    run.timeout = Duration::from_secs(900);
    let out = vm::boot(&run).expect("running QEMU");
    println!(
        "assemble + configure (reference image): {:.1} s",
        assemble.as_secs_f64()
    );
    println!(
        "boot stage (kernel, initramfs, ESP files): {:.2} s; initramfs {} bytes ({} modules), kernel {} bytes",
        stage.as_secs_f64(),
        initrd,
        files.initramfs_modules.len(),
        kernel
    );
    println!(
        "disk: {} bytes virtual, raw {} bytes allocated, VHDX file {} bytes",
        disk_size,
        raw_alloc.unwrap_or(0),
        vhdx_len
    );
    println!(
        "QEMU (TCG) start to ready line: {:.1} s, ready={:?}",
        out.seconds, out.ready
    );
    // EFLOW_BOOT_BENCH_KEEP=DIR keeps the VHDX (to try `eflow-image boot` on it).
    if let Some(keep) = std::env::var_os("EFLOW_BOOT_BENCH_KEEP") {
        let to = std::path::Path::new(&keep).join("eflow-boot-bench.vhdx");
        std::fs::copy(&vhdx, &to).expect("keeping the VHDX");
        println!("kept {}", to.display());
    }
    if !out.ok() {
        eprintln!("{}", out.log);
        std::process::exit(1);
    }
}
