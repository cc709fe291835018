//! Unpacking every .deb of $EFLOW_DEB_DIR into one Tree, against `dpkg-deb -x` of the same
//! packages into a fresh directory. Prints both times and the ratio.
//!
//!     EFLOW_DEB_DIR=/path/to/debs cargo bench -p eflow-deb --features testing --bench unpack

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use eflow_deb::{apply, merged_usr, read_control, scan_all, DebSource, Owners};
use eflow_tree::{Kind, Tree};

/// CPU seconds used so far by this process (user + system) and by its waited-for children,
/// from /proc/self/stat (clock ticks of 1/100 s on Linux).
fn cpu() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, a)| a);
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // After the command name: state is field 3, utime 14, stime 15, cutime 16, cstime 17.
    let get = |i: usize| f.get(i - 3).copied().unwrap_or(0.0) / 100.0;
    (get(14) + get(15), get(16) + get(17))
}

fn ours(debs: &[PathBuf], threads: usize) -> (Duration, usize, u64) {
    let start = Instant::now();
    let pkgs: Vec<_> = debs
        .iter()
        .map(|d| read_control(d).expect("read_control"))
        .collect();
    // Scanning (decompress + hash) needs no Tree: spread it over threads, apply in order.
    let scanned = scan_all(&pkgs, &eflow_deb::ContentStore::temporary(), threads);
    let mut tree = Tree::new();
    merged_usr(&mut tree, "amd64", 0).unwrap();
    let source = DebSource::new();
    let mut owners = Owners::new();
    for (pkg, sc) in pkgs.iter().zip(&scanned) {
        let stream = source.add(pkg.path.clone());
        let sc = sc.as_ref().expect("scan");
        apply(&mut tree, pkg, sc, &source, stream, &mut owners, &|_, _| {
            true
        })
        .expect("apply");
    }
    let elapsed = start.elapsed();
    let bytes = tree
        .iter()
        .map(|(_, e)| match &e.kind {
            Kind::File { size, .. } => *size,
            _ => 0,
        })
        .sum();
    (elapsed, tree.len(), bytes)
}

fn dpkg_deb(debs: &[PathBuf]) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let start = Instant::now();
    for d in debs {
        let st = Command::new("dpkg-deb")
            .arg("-x")
            .arg(d)
            .arg(dir.path())
            .status()
            .expect("dpkg-deb is needed for this benchmark");
        assert!(st.success(), "dpkg-deb -x {} failed", d.display());
    }
    start.elapsed()
}

fn main() {
    let Ok(dir) = std::env::var("EFLOW_DEB_DIR") else {
        eprintln!("set EFLOW_DEB_DIR to a directory of .deb files");
        std::process::exit(2);
    };
    let mut debs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "deb"))
        .collect();
    debs.sort();
    let deb_bytes: u64 = debs
        .iter()
        .map(|d| std::fs::metadata(d).unwrap().len())
        .sum();
    // Warm the page cache so both sides read the packages from memory.
    let _ = dpkg_deb(&debs);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut best_seq = Duration::MAX;
    let mut best_par = Duration::MAX;
    let mut best_dpkg = Duration::MAX;
    let mut entries = 0;
    let mut bytes = 0;
    // CPU time of one run each (the machine may be shared: CPU time is steadier than wall time).
    let c0 = cpu();
    let _ = ours(&debs, 1);
    let c1 = cpu();
    let _ = dpkg_deb(&debs);
    let c2 = cpu();
    let ours_cpu = c1.0 - c0.0;
    let dpkg_cpu = c2.1 - c1.1;
    for _ in 0..3 {
        let (t, n, b) = ours(&debs, 1);
        best_seq = best_seq.min(t);
        (entries, bytes) = (n, b);
        best_par = best_par.min(ours(&debs, threads).0);
        best_dpkg = best_dpkg.min(dpkg_deb(&debs));
    }
    println!(
        "{} packages, {:.1} MiB of .deb, {} Tree entries, {:.1} MiB of file content",
        debs.len(),
        deb_bytes as f64 / 1048576.0,
        entries,
        bytes as f64 / 1048576.0
    );
    println!("eflow-deb, 1 thread:     {:.3} s", best_seq.as_secs_f64());
    println!(
        "eflow-deb, {threads} threads:    {:.3} s",
        best_par.as_secs_f64()
    );
    println!("dpkg-deb -x (sequential): {:.3} s", best_dpkg.as_secs_f64());
    println!(
        "CPU time (user+system), 1 thread: eflow-deb {ours_cpu:.2} s, dpkg-deb -x (with its tar) {dpkg_cpu:.2} s, ratio {:.2}x",
        dpkg_cpu / ours_cpu
    );
    println!(
        "ratio dpkg-deb / eflow-deb: {:.2}x (1 thread), {:.2}x ({threads} threads)",
        best_dpkg.as_secs_f64() / best_seq.as_secs_f64(),
        best_dpkg.as_secs_f64() / best_par.as_secs_f64()
    );
}
