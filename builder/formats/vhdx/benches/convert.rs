//! Raw -> VHDX conversion speed and output size against `qemu-img convert -O vhdx`.
//!
//! Run: `cargo bench -p eflow-vhdx --bench convert` (needs qemu-img; uses ~4 GiB of /tmp or
//! $TMPDIR). Input: a 4 GiB sparse raw disk holding 1 GiB of pseudo-random data in 1 MiB
//! runs, half of them block aligned, half straddling two blocks.

use std::fs::File;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use eflow_testkit::{bench_disk, file_sizes, medians};

use eflow_extents::RawFile;
use eflow_vhdx::{write, Options};

const RUNS: usize = 5;
/// Whether outputs are flushed to disk inside the timing. qemu-img convert's default output
/// cache mode is `unsafe` (no flush), so the default comparison flushes neither; set
/// EFLOW_BENCH_SYNC=1 to flush both (ours with fsync, qemu-img with `-t writeback`).
static SYNC: std::sync::LazyLock<bool> =
    std::sync::LazyLock::new(|| std::env::var_os("EFLOW_BENCH_SYNC").is_some());

/// CPU time (user + system) used so far by this process (`who` = RUSAGE_SELF) or by its
/// waited-for children (RUSAGE_CHILDREN). The host is shared by many jobs, so wall time
/// varies with load; CPU time shows the work each tool does.
fn cpu(who: libc::c_int) -> Duration {
    // SAFETY: getrusage fills the struct we pass; all-zero is a valid initial value.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe { libc::getrusage(who, &mut u) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// One timed run: (wall time, CPU time).
type Timing = (Duration, Duration);

/// Starts every timed run alike: no old output to delete, no dirty pages of earlier runs
/// waiting to be written back (the host is shared; writeback would land on whoever runs next).
fn settle(out: &Path) {
    let _ = std::fs::remove_file(out);
    let st = Command::new("sync").status().expect("sync");
    assert!(st.success());
}

/// Converts in a child process (this same binary with `--ours IN OUT`), so that both tools
/// are measured alike: process start included, CPU time from RUSAGE_CHILDREN.
fn time_ours(input: &Path, out: &Path) -> Timing {
    settle(out);
    let c0 = cpu(libc::RUSAGE_CHILDREN);
    let t = Instant::now();
    let st = Command::new(std::env::current_exe().unwrap())
        .arg("--ours")
        .arg(input)
        .arg(out)
        .status()
        .unwrap();
    assert!(st.success(), "our conversion failed");
    (t.elapsed(), cpu(libc::RUSAGE_CHILDREN) - c0)
}

/// The child side of [`time_ours`].
fn convert_ours(input: &str, out: &str) {
    let mut src = RawFile::new(File::open(input).unwrap()).unwrap();
    let mut f = File::create(out).unwrap();
    write(&mut src, &mut f, &Options::default()).unwrap();
    if *SYNC {
        f.sync_all().unwrap();
    }
}

fn time_qemu(input: &Path, out: &Path, opts: &[&str]) -> Timing {
    settle(out);
    let c0 = cpu(libc::RUSAGE_CHILDREN);
    let t = Instant::now();
    let mut c = Command::new("qemu-img");
    c.args(["convert", "-f", "raw", "-O", "vhdx"]).args(opts);
    if *SYNC {
        c.args(["-t", "writeback"]);
    }
    c.arg(input).arg(out);
    let st = c.status().expect("qemu-img is needed for this benchmark");
    assert!(st.success(), "qemu-img convert failed");
    (t.elapsed(), cpu(libc::RUSAGE_CHILDREN) - c0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 4 && args[1] == "--ours" {
        convert_ours(&args[2], &args[3]);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.raw");
    eprintln!("making a 4 GiB sparse raw disk with 1 GiB of data...");
    bench_disk(&input);
    let ours_p = dir.path().join("ours.vhdx");
    let q_p = dir.path().join("qemu.vhdx");
    let q1_p = dir.path().join("qemu-1m.vhdx");
    // Warm the page cache for everyone alike.
    time_qemu(&input, &q_p, &[]);
    let mut ours = Vec::new();
    let mut q = Vec::new();
    let mut q1 = Vec::new();
    // Rotate who goes first, so that load from other jobs on a shared host spreads evenly.
    for i in 0..RUNS {
        for j in 0..3 {
            match (i + j) % 3 {
                0 => ours.push(time_ours(&input, &ours_p)),
                1 => q.push(time_qemu(&input, &q_p, &[])),
                _ => q1.push(time_qemu(&input, &q1_p, &["-o", "block_size=1M"])),
            }
        }
    }
    let (o, qd, q1d) = (medians(&ours), medians(&q), medians(&q1));
    let (os, qs, q1s) = (file_sizes(&ours_p), file_sizes(&q_p), file_sizes(&q1_p));
    // Sanity: qemu-img agrees the outputs hold the input.
    for p in [&ours_p, &q1_p] {
        eflow_testkit::qemu_img_same("vhdx", p, &input);
    }
    println!(
        "raw -> VHDX, 4 GiB virtual, 1 GiB data, median of {RUNS} runs, outputs {}",
        if *SYNC {
            "flushed to disk"
        } else {
            "left in the page cache (qemu-img's default)"
        }
    );
    let line = |name: &str, t: Timing, sz: (u64, u64)| {
        println!(
            "  {name:<28} wall {:>7.3} s  cpu {:>7.3} s  file {:>11} bytes, {:>11} allocated",
            t.0.as_secs_f64(),
            t.1.as_secs_f64(),
            sz.0,
            sz.1
        )
    };
    line("eflow-vhdx (1 MiB blocks)", o, os);
    line("qemu-img (default blocks)", qd, qs);
    line("qemu-img -o block_size=1M", q1d, q1s);
    let r = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!(
        "  time ratio ours/qemu: wall {:.3} (default), {:.3} (1M blocks); cpu {:.3} (default), {:.3} (1M blocks); target <= 1.0",
        r(o.0, qd.0),
        r(o.0, q1d.0),
        r(o.1, qd.1),
        r(o.1, q1d.1)
    );
    println!(
        "  size ratio ours/qemu: {:.3} (default), {:.3} (1M blocks); target <= 1.0",
        os.0 as f64 / qs.0 as f64,
        os.0 as f64 / q1s.0 as f64
    );
}
