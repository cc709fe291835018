//! Hash tree of a 300 MiB data file: eflow-verity against `veritysetup format`.
//!
//! Run: `cargo bench -p eflow-verity` (needs veritysetup from cryptsetup-bin; uses ~300 MiB
//! of /tmp or $TMPDIR). Input: the regular files under /usr/lib in path order, each padded
//! to a 4 KiB boundary as a filesystem stores them, until 300 MiB (pseudo-random data with
//! zero runs makes up the rest if /usr/lib is smaller). Both tools run as child processes
//! on the same warm file and write the hash device to a file, flushed to disk (veritysetup
//! fsyncs it); wall time, CPU time and peak memory (maxrss) come from each child's rusage.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use eflow_extents::RawFile;
use eflow_verity::{build, Params};

const MIB: u64 = 1 << 20;
const SIZE: u64 = 300 * MIB;
const RUNS: usize = 7;
const SALT: &str = "5e1f0c6b0d9a4a6e8c3f2b1a09d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0";
const UUID: &str = "8f3a1c2e-5b6d-4e7f-9a0b-1c2d3e4f5a6b";

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = rd.filter_map(|e| e.ok()).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            files_under(&e.path(), out);
        } else if t.is_file() {
            out.push(e.path());
        }
    }
}

fn make_input(path: &Path) {
    let mut w = BufWriter::with_capacity(4 << 20, File::create(path).unwrap());
    let mut written = 0u64;
    let mut files = Vec::new();
    files_under(Path::new("/usr/lib"), &mut files);
    for f in files {
        if written >= SIZE {
            break;
        }
        let Ok(bytes) = fs::read(&f) else { continue };
        let take = (bytes.len() as u64).min(SIZE - written) as usize;
        w.write_all(&bytes[..take]).unwrap();
        written += take as u64;
        let pad = written.next_multiple_of(4096).min(SIZE) - written;
        w.write_all(&vec![0; pad as usize]).unwrap();
        written += pad;
    }
    // Pseudo-random data with 64 KiB zero runs, if /usr/lib was not enough.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    while written < SIZE {
        let mut chunk = vec![0u8; MIB as usize];
        for (i, c) in chunk.chunks_exact_mut(8).enumerate() {
            if (i / 8192) % 4 != 3 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                c.copy_from_slice(&x.to_le_bytes());
            }
        }
        let take = (SIZE - written).min(MIB) as usize;
        w.write_all(&chunk[..take]).unwrap();
        written += take as u64;
    }
    w.into_inner().unwrap().sync_all().unwrap();
}

/// One timed run of a child process: wall time, CPU time (user + system), peak RSS.
struct Run {
    wall: Duration,
    cpu: Duration,
    maxrss_kib: u64,
}

// The child is reaped by wait4 (for its own rusage), not by Child::wait.
#[allow(clippy::zombie_processes)]
fn run(cmd: &mut Command) -> Run {
    let t = Instant::now();
    let child = cmd.spawn().expect("cannot start the command");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: all-zero is a valid rusage; wait4 fills it for the child we spawned.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; status and rusage point to live locals.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut u) };
    let wall = t.elapsed();
    assert_eq!(r, pid, "wait4 failed");
    let st = std::process::ExitStatus::from_raw(status);
    assert!(st.success(), "{cmd:?} failed: {st}");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Run {
        wall,
        cpu: tv(u.ru_utime) + tv(u.ru_stime),
        maxrss_kib: u.ru_maxrss as u64,
    }
}

fn median<T: Ord + Copy>(mut v: Vec<T>) -> T {
    v.sort();
    v[v.len() / 2]
}

/// The child side: build the tree of `input`, write the hash device to `out`, flushed.
fn ours(input: &str, out: &str) {
    let file = File::open(input).unwrap();
    let size = file.metadata().unwrap().len();
    let mut src = RawFile::new(file).unwrap();
    let params = Params::new(
        size,
        &(0..32)
            .map(|i| u8::from_str_radix(&SALT[2 * i..2 * i + 2], 16).unwrap())
            .collect::<Vec<_>>(),
        UUID.parse().unwrap(),
    )
    .unwrap();
    let tree = build(params, &mut src).unwrap();
    let mut f = File::create(out).unwrap();
    tree.write_hash_device(&mut f).unwrap();
    f.sync_all().unwrap();
    println!("{}", tree.root_hash());
}

fn time_ours(input: &Path, out: &Path) -> Run {
    let _ = fs::remove_file(out);
    run(Command::new(std::env::current_exe().unwrap())
        .arg("--ours")
        .arg(input)
        .arg(out)
        .stdout(std::process::Stdio::null()))
}

fn time_veritysetup(input: &Path, out: &Path) -> Run {
    let _ = fs::remove_file(out);
    run(Command::new("veritysetup")
        .arg("format")
        .arg(format!("--salt={SALT}"))
        .arg(format!("--uuid={UUID}"))
        .arg(input)
        .arg(out)
        .stdout(std::process::Stdio::null()))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 4 && args[1] == "--ours" {
        ours(&args[2], &args[3]);
        return;
    }
    if args.len() == 3 && args[1] == "--make-input" {
        make_input(Path::new(&args[2]));
        return;
    }
    if Command::new("veritysetup")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("veritysetup is needed for this benchmark (apt-get install cryptsetup-bin)");
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("data");
    eprintln!("making a {} MiB data file from /usr/lib...", SIZE / MIB);
    // In a child: a child's maxrss counts the memory of the process it was spawned from, so
    // this process stays small for the measurements to be the tools' own.
    run(Command::new(std::env::current_exe().unwrap())
        .arg("--make-input")
        .arg(&input));
    let own_rss = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:").map(|v| v.trim().to_string()))
        })
        .unwrap_or_default();
    let ours_p = dir.path().join("ours.hash");
    let theirs_p = dir.path().join("veritysetup.hash");
    // Warm the page cache for both alike.
    time_veritysetup(&input, &theirs_p);
    time_ours(&input, &ours_p);
    let (mut o, mut v) = (Vec::new(), Vec::new());
    for i in 0..RUNS {
        // Alternate who goes first, so load from other jobs spreads evenly.
        if i % 2 == 0 {
            o.push(time_ours(&input, &ours_p));
            v.push(time_veritysetup(&input, &theirs_p));
        } else {
            v.push(time_veritysetup(&input, &theirs_p));
            o.push(time_ours(&input, &ours_p));
        }
    }
    assert!(
        fs::read(&ours_p).unwrap() == fs::read(&theirs_p).unwrap(),
        "the hash devices differ"
    );
    let wall = |r: &[Run]| median(r.iter().map(|x| x.wall).collect());
    let cpu = |r: &[Run]| median(r.iter().map(|x| x.cpu).collect());
    let rss = |r: &[Run]| r.iter().map(|x| x.maxrss_kib).max().unwrap_or(0);

    let hash_size = fs::metadata(&ours_p).unwrap().len();
    println!(
        "dm-verity tree of {} MiB (hash device {} bytes, identical), median of {RUNS} runs",
        SIZE / MIB,
        hash_size
    );
    for (name, r) in [("eflow-verity", &o), ("veritysetup format", &v)] {
        println!(
            "  {name:<20} wall {:>7.3} s  cpu {:>7.3} s  peak memory {:>6} KiB",
            wall(r).as_secs_f64(),
            cpu(r).as_secs_f64(),
            rss(r)
        );
    }
    println!(
        "  (peak memory is each child's maxrss, which counts at least this parent's {own_rss})"
    );
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!(
        "  ratio ours/veritysetup: wall {:.3}, cpu {:.3} (target <= 1.0); all runs, wall s: ours {:?}, veritysetup {:?}",
        ratio(wall(&o), wall(&v)),
        ratio(cpu(&o), cpu(&v)),
        o.iter().map(|r| (r.wall.as_secs_f64() * 1000.0).round() / 1000.0).collect::<Vec<_>>(),
        v.iter().map(|r| (r.wall.as_secs_f64() * 1000.0).round() / 1000.0).collect::<Vec<_>>(),
    );
}
