//! `eflow-image convert` raw -> VHDX against `qemu-img convert -O vhdx`, both run as
//! programs on the same 4 GiB sparse raw disk holding 1 GiB of data: median wall time and
//! child CPU time of several runs, their ratio (target at most 1.0), and the output sizes.
//!
//! Run: `cargo bench --bench convert_cli` (needs qemu-img and ~3 GiB free in $TMPDIR).
//!
//! `eflow-image convert` flushes its output to disk before renaming it into place (an
//! atomic, durable result); `qemu-img convert` does not flush by default. Both are shown:
//! qemu-img as it is by default, followed by `sync FILE` (an fsync of its output: the
//! like-for-like comparison), and with `-t writeback`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use eflow_testkit::{bench_disk, file_sizes, medians};

const RUNS: usize = 5;

/// CPU time (user + system) of this process's waited-for children, from /proc/self/stat
/// (fields cutime and cstime, in clock ticks).
fn children_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // cutime and cstime are fields 16 and 17 of the whole line: 13 and 14 after the name.
    let ticks: u64 = f[13].parse::<u64>().unwrap() + f[14].parse::<u64>().unwrap();
    let hz: u64 = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100);
    Duration::from_secs_f64(ticks as f64 / hz as f64)
}

type Timing = (Duration, Duration);

fn timed(out: &Path, cmd: &mut Command) -> Timing {
    timed_then(out, cmd, false)
}

/// Times `cmd`, then (when `fsync`) `sync FILE` on its output, inside the timing.
fn timed_then(out: &Path, cmd: &mut Command, fsync: bool) -> Timing {
    let _ = std::fs::remove_file(out);
    // No dirty pages of earlier runs waiting to be written back during this one.
    assert!(Command::new("sync").status().unwrap().success());
    let c0 = children_cpu();
    let t = Instant::now();
    let st = cmd.status().expect("the program runs");
    assert!(st.success(), "{cmd:?} failed");
    if fsync {
        assert!(Command::new("sync").arg(out).status().unwrap().success());
    }
    let wall = t.elapsed();
    (wall, children_cpu() - c0)
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.raw");
    eprintln!("making a 4 GiB sparse raw disk holding 1 GiB of data...");
    bench_disk(&input);
    let ours_p = dir.path().join("ours.vhdx");
    let q_p = dir.path().join("qemu.vhdx");
    let qw_p = dir.path().join("qemu-wb.vhdx");
    let ours = |out: &Path| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_eflow-image"));
        c.args(["convert", "--quiet"]).arg(&input).arg(out);
        c
    };
    let qemu = |out: &Path, extra: &[&str]| {
        let mut c = Command::new("qemu-img");
        c.args(["convert", "-f", "raw", "-O", "vhdx"])
            .args(extra)
            .arg(&input)
            .arg(out);
        c
    };
    // Warm the page cache for everyone alike.
    timed(&q_p, &mut qemu(&q_p, &[]));
    let qs_p = dir.path().join("qemu-sync.vhdx");
    let (mut o, mut q, mut qs, mut qw) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        o.push(timed(&ours_p, &mut ours(&ours_p)));
        q.push(timed(&q_p, &mut qemu(&q_p, &[])));
        qs.push(timed_then(&qs_p, &mut qemu(&qs_p, &[]), true));
        qw.push(timed(&qw_p, &mut qemu(&qw_p, &["-t", "writeback"])));
    }
    for p in [&ours_p, &q_p] {
        eflow_testkit::qemu_img_same("vhdx", p, &input);
    }
    let (om, qm, qsm, qwm) = (medians(&o), medians(&q), medians(&qs), medians(&qw));
    let (os, qs) = (file_sizes(&ours_p), file_sizes(&q_p));
    println!(
        "raw -> VHDX, 4 GiB virtual, 1 GiB data, median of {RUNS} runs (programs, end to end)"
    );
    let line = |name: &str, t: Timing| {
        println!(
            "  {name:<40} wall {:>7.3} s  cpu {:>7.3} s",
            t.0.as_secs_f64(),
            t.1.as_secs_f64()
        )
    };
    line("eflow-image convert (1 MiB blocks, fsync)", om);
    line("qemu-img convert -O vhdx (no flush)", qm);
    line("qemu-img convert -O vhdx; sync FILE", qsm);
    line("qemu-img convert -O vhdx -t writeback", qwm);
    let r = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!(
        "  time ratio eflow-image/qemu-img: wall {:.3} (qemu no flush), {:.3} (qemu + sync FILE), \
         {:.3} (qemu -t writeback); cpu {:.3} (no flush); target <= 1.0",
        r(om.0, qm.0),
        r(om.0, qsm.0),
        r(om.0, qwm.0),
        r(om.1, qm.1)
    );
    println!(
        "  output sizes: eflow-image {} bytes ({} allocated), qemu-img {} bytes ({} allocated); ratio {:.3}",
        os.0,
        os.1,
        qs.0,
        qs.1,
        os.0 as f64 / qs.0 as f64
    );
}
