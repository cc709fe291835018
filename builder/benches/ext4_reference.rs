//! The reference rootfs written as ext4 by eflow-ext4 against `mke2fs -t ext4 -d DIR` on the
//! same content extracted to a directory, same filesystem size: time and peak memory of both,
//! and their ratios, from one run.
//!
//!     cargo bench -p eflow-builder --bench ext4_reference
//!
//! Needs the reference image's packages in the cache (any build of minimal.toml fetches
//! them), GNU tar, mke2fs and /usr/bin/time; runs as root so the extracted tree keeps owners.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use eflow_builder::commands::build::guest_tree;
use eflow_builder::stages::fetch::{Cache, Fetcher};
use eflow_builder::stages::plan::Plan;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let plan = Plan::load(&root.join("recipes/images/minimal.toml")).expect("plan");
    let fetcher = Fetcher::new(Cache::new(Cache::default_dir()), false, None, false);
    let sde = plan.source_date_epoch;
    let tree = guest_tree(&plan, &fetcher, None, &|_| {}).expect("guest tree");
    let content: u64 = tree
        .iter()
        .filter_map(|(_, e)| match &e.kind {
            eflow_tree::Kind::File { size, .. } => Some(*size),
            _ => None,
        })
        .sum();
    // A size with room to spare, so neither tool runs near full: twice the minimum.
    let size = eflow_ext4::min_size(&tree) * 2;
    let dir = tempfile::tempdir().expect("tempdir");

    // Ours: peak memory from here on only (the Tree and assembly are not the writer's).
    let before = eflow_testkit::peak_rss_kib();
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak RSS counter");
    let ours_img = dir.path().join("ours.img");
    let start = Instant::now();
    let opts = eflow_ext4::Options {
        size,
        uuid: [7; 16],
        hash_seed: [9; 16],
        label: "root".into(),
        timestamp: sde,
    };
    let mut image = eflow_ext4::write(&tree, &opts).expect("ext4 write");
    let mut out = std::fs::File::create(&ours_img).unwrap();
    eflow_extents::write_raw(&mut image, &mut out).expect("write_raw");
    out.sync_all().unwrap();
    let ours_secs = start.elapsed().as_secs_f64();
    let ours_peak = eflow_testkit::peak_rss_kib();

    // The writer alone: the same Tree with every content already in memory, so that the time
    // excludes decompressing the packages' data.tar streams (which mke2fs -d does not do: it
    // reads files already extracted, from the page cache).
    let mut in_memory = tree.clone();
    for (_, e) in in_memory.iter_mut() {
        if let eflow_tree::Kind::File { content, .. } = &mut e.kind {
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut content.open().unwrap(), &mut data).unwrap();
            *content = eflow_tree::Content::bytes(data);
        }
    }
    let start = Instant::now();
    let mut image = eflow_ext4::write(&in_memory, &opts).expect("ext4 write");
    let mut out = std::fs::File::create(&ours_img).unwrap();
    eflow_extents::write_raw(&mut image, &mut out).expect("write_raw");
    out.sync_all().unwrap();
    let writer_secs = start.elapsed().as_secs_f64();
    drop(in_memory);

    // mke2fs: the same Tree as files on disk (via our tar, extracted by GNU tar).
    let tar = dir.path().join("rootfs.tar");
    let f = std::fs::File::create(&tar).unwrap();
    eflow_builder::stages::package::tar::write_tar(&tree, sde, std::io::BufWriter::new(f))
        .expect("tar")
        .into_inner()
        .expect("flush");
    let extracted = dir.path().join("rootfs");
    std::fs::create_dir(&extracted).unwrap();
    let st = Command::new("tar")
        .arg("-xpf")
        .arg(&tar)
        .arg("--numeric-owner")
        .arg("-C")
        .arg(&extracted)
        .status()
        .expect("tar");
    assert!(st.success());
    let theirs_img = dir.path().join("mke2fs.img");
    let start = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .args(["mke2fs", "-q", "-F", "-t", "ext4", "-d"])
        .arg(&extracted)
        .arg(&theirs_img)
        .arg(format!("{}k", size / 1024))
        .output()
        .expect("mke2fs under /usr/bin/time");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let st = Command::new("sync").arg(&theirs_img).status().unwrap();
    assert!(st.success());
    let theirs_secs = start.elapsed().as_secs_f64();
    let theirs_peak: u64 = String::from_utf8_lossy(&out.stderr)
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);

    println!(
        "reference rootfs: {} entries, {:.0} MiB of file content, ext4 of {} MiB",
        tree.len(),
        content as f64 / 1048576.0,
        size >> 20
    );
    println!(
        "eflow-ext4 write + raw:  {ours_secs:.2} s, peak {:.1} MiB (process peak before writing {:.1} MiB)",
        ours_peak as f64 / 1024.0,
        before as f64 / 1024.0
    );
    println!("eflow-ext4, contents already in memory: {writer_secs:.2} s");
    println!(
        "mke2fs -t ext4 -d DIR:   {theirs_secs:.2} s, peak {:.1} MiB",
        theirs_peak as f64 / 1024.0
    );
    println!(
        "ratio ours / mke2fs: time {:.2} (streaming from the packages), {:.2} (contents in memory); peak memory {:.2}",
        ours_secs / theirs_secs,
        writer_secs / theirs_secs,
        ours_peak as f64 / theirs_peak.max(1) as f64
    );
}
