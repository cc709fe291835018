//! `eflow-image build` of the minimal image to a VHDX from a warm package cache, against the
//! classic pipeline of image-building tools run on the same .deb files: median wall time,
//! CPU time and peak memory of several interleaved runs, and the ratios ours/classic with
//! the issue's targets (our CPU at most 0.6x the classic pipeline's, our wall at most 0.35x).
//!
//! Run: `cargo bench --bench build_vs_classic` (as root; needs dpkg-deb, e2fsprogs, dosfstools,
//! mtools, gdisk, qemu-utils, and ~2 GiB free in $TMPDIR). It skips, saying what is missing,
//! when a tool is not installed.
//!
//! What is timed, each run in this order:
//! - ours, full build: `eflow-image build recipes/images/minimal.toml --format vhdx --out DIR
//!   --offline` into a fresh DIR;
//! - ours, rebuild: the same command again into the same DIR, nothing changed;
//! - classic: [`CLASSIC`] below, a bash script, on the lockfile's .deb files from the cache.
//!
//! Before the runs, one untimed `eflow-image build` (not offline) fills the package cache
//! (the default one, `$XDG_CACHE_HOME/eflow-image`) with the lockfile's packages, and one
//! untimed classic run warms the page cache for the tools. Each timed program is waited for
//! with `wait4`, so its CPU time (user + system) and peak RSS include every process it waited
//! for (for the script: dpkg-deb, tar, mke2fs, ...); peak RSS is of the largest one process.
//! Both pipelines flush their output: ours fsyncs the VHDX before renaming it into place,
//! the classic one ends with `sync FILE`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use eflow_builder::stages::fetch::cache::Cache;
use eflow_builder::stages::plan::Plan;
use eflow_testkit::{file_sizes, medians};

const RUNS: usize = 5;

/// The classic pipeline, as `bash -c CLASSIC classic WORK DISK_MIB DEB...`: the same disk
/// layout as the minimal image (a GPT disk of DISK_MIB holding a 128 MiB FAT32 ESP, the root
/// ext4 sized to its content, a 256 MiB ext4 log and an ext4 data partition taking the rest),
/// made by the tools that classic image builders run, into WORK/disk.vhdx (a dynamic VHDX with
/// 1 MiB blocks, as ours). WORK must be empty. No maintainer scripts run, as in ours.
///
/// 1. `dpkg-deb -x` of each .deb, in the lockfile's order, into the staging dir WORK/root,
///    then the paths the image's `path-exclude` leaves out deleted from it;
/// 2. `mke2fs -t ext4 -d` of the staging dir into a raw file of its size (`du`) plus a fifth
///    and 64 MiB (journal, inode tables), and of empty log and data filesystems;
/// 3. `mkfs.vfat` of the ESP, and `mcopy` of the kernel (the staging dir's /boot/vmlinuz-*)
///    and its command line into it;
/// 4. `sgdisk` for the partition table of a sparse raw disk, and `dd conv=notrunc,sparse` to
///    place each filesystem at its partition's start;
/// 5. `qemu-img convert -O vhdx`, and `sync` of the VHDX.
const CLASSIC: &str = r#"
set -euo pipefail
work=$1 disk_mib=$2
shift 2
root=$work/root
mkdir -p "$root"
for deb in "$@"; do
    dpkg-deb -x "$deb" "$root"
done
# The image's path-exclude, as a classic pipeline's clean-up step: documentation (but the
# copyright files), manual and info pages, lintian overrides, message catalogs.
find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright ! -type l -delete
rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/lintian/*
find "$root/usr/share/locale" -path '*/LC_MESSAGES/*.mo' -delete

esp_mib=128 log_mib=256
used_kib=$(du -sk "$root" | cut -f1)
root_mib=$(( used_kib * 6 / 5 / 1024 + 64 ))
# 1 MiB before the first partition for the GPT, 1 MiB at the end for its backup.
data_mib=$(( disk_mib - 2 - esp_mib - root_mib - log_mib ))
if [ "$data_mib" -lt 64 ]; then
    data_mib=64
    disk_mib=$(( 2 + esp_mib + root_mib + log_mib + data_mib ))
fi

truncate -s "${root_mib}M" "$work/root.img"
truncate -s "${log_mib}M" "$work/log.img"
truncate -s "${data_mib}M" "$work/data.img"
mke2fs -q -t ext4 -L root -d "$root" "$work/root.img" "${root_mib}M"
mke2fs -q -t ext4 -L log "$work/log.img" "${log_mib}M"
mke2fs -q -t ext4 -L data "$work/data.img" "${data_mib}M"

kernels=("$root"/boot/vmlinuz-*)
echo "console=tty0 console=ttyS0,115200" > "$work/cmdline"
mkfs.vfat -F 32 -n ESP -C "$work/esp.img" $(( esp_mib * 1024 )) > /dev/null
export MTOOLS_SKIP_CHECK=1
mcopy -i "$work/esp.img" "${kernels[0]}" ::/vmlinuz
mcopy -i "$work/esp.img" "$work/cmdline" ::/cmdline

truncate -s "${disk_mib}M" "$work/disk.raw"
start=1 args=()
n=1
for part in esp:ef00:$esp_mib root:8304:$root_mib log:8300:$log_mib data:8310:$data_mib; do
    IFS=: read -r label type mib <<< "$part"
    args+=(-n "$n:$(( start * 2048 )):$(( (start + mib) * 2048 - 1 ))" -t "$n:$type" -c "$n:$label")
    starts[$n]=$start
    start=$(( start + mib ))
    n=$(( n + 1 ))
done
sgdisk -o "${args[@]}" "$work/disk.raw" > /dev/null
n=1
for img in esp root log data; do
    dd if="$work/$img.img" of="$work/disk.raw" bs=1M seek="${starts[$n]}" conv=notrunc,sparse status=none
    n=$(( n + 1 ))
done

qemu-img convert -f raw -O vhdx -o subformat=dynamic,block_size=1M "$work/disk.raw" "$work/disk.vhdx"
sync "$work/disk.vhdx"
"#;

/// The tools the benchmark runs, and the Debian package of each.
const TOOLS: &[(&str, &str)] = &[
    ("bash", "bash"),
    ("dpkg-deb", "dpkg"),
    ("du", "coreutils"),
    ("dd", "coreutils"),
    ("truncate", "coreutils"),
    ("sync", "coreutils"),
    ("mke2fs", "e2fsprogs"),
    ("mkfs.vfat", "dosfstools"),
    ("mcopy", "mtools"),
    ("sgdisk", "gdisk"),
    ("qemu-img", "qemu-utils"),
];

/// One timed run of a program.
#[derive(Clone, Copy)]
struct Run {
    wall: Duration,
    /// User + system time of the program and of every process it waited for.
    cpu: Duration,
    /// The peak resident memory of the largest of those processes, in KiB.
    max_rss_kib: u64,
}

fn tv(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
}

/// Runs `cmd` to its successful end (after a `sync`, so that no writeback of an earlier run
/// lands in this one), and measures it.
fn timed(cmd: &mut Command) -> Run {
    assert!(Command::new("sync").status().unwrap().success());
    let t = Instant::now();
    // Reaped by the wait4 below, which also gives its resource use (std's wait does not).
    #[allow(clippy::zombie_processes)]
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value; wait4 fills it and `status`.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child, not yet waited for (std's Child only reaps it when told
    // to); both pointers are to live locals.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    let wall = t.elapsed();
    assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{cmd:?} failed (wait status {status:#x})"
    );
    Run {
        wall,
        cpu: tv(ru.ru_utime) + tv(ru.ru_stime),
        max_rss_kib: ru.ru_maxrss as u64,
    }
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

fn main() {
    let missing: Vec<String> = TOOLS
        .iter()
        .filter(|(t, _)| !on_path(t))
        .map(|(t, p)| format!("{t} (apt-get install {p})"))
        .collect();
    if !missing.is_empty() {
        println!(
            "build_vs_classic: SKIPPED, the classic pipeline's tools are missing: {}",
            missing.join(", ")
        );
        return;
    }

    let ws = Path::new(env!("CARGO_MANIFEST_DIR"));
    let image = ws.join("recipes/images/minimal.toml");
    let bin = env!("CARGO_BIN_EXE_eflow-image");
    let cache = Cache::new(Cache::default_dir());
    let dir = tempfile::tempdir().unwrap();
    let ours = |out: &Path, offline: bool| {
        let mut c = Command::new(bin);
        c.arg("--quiet")
            .arg("build")
            .arg(&image)
            .args(["--format", "vhdx", "--out"])
            .arg(out)
            .arg("--cache")
            .arg(cache.dir());
        if offline {
            c.arg("--offline");
        }
        c
    };

    eprintln!(
        "filling the package cache {} (one untimed build)...",
        cache.dir().display()
    );
    let out = dir.path().join("out");
    timed(&mut ours(&out, false));

    let plan = Plan::load(&image).expect("the minimal image's plan");
    let debs: Vec<PathBuf> = plan
        .lock
        .packages
        .iter()
        .map(|p| {
            cache
                .lookup(&p.sha256, Some(p.size))
                .unwrap_or_else(|| panic!("{} {} is not in the cache", p.name, p.version))
        })
        .collect();
    let deb_bytes: u64 = plan.lock.packages.iter().map(|p| p.size).sum();
    let disk_mib = plan
        .image
        .def
        .image
        .disk_size
        .and_then(|s| s.bytes())
        .map_or(2048, |b| b >> 20);
    let work = dir.path().join("classic");
    let classic = || {
        if work.exists() {
            std::fs::remove_dir_all(&work).unwrap();
        }
        let mut c = Command::new("bash");
        c.args(["-c", CLASSIC, "classic"])
            .arg(&work)
            .arg(disk_mib.to_string())
            .args(&debs)
            .stdout(Stdio::null());
        c
    };
    eprintln!("warming up the classic pipeline (one untimed run)...");
    timed(&mut classic());

    // A cache holding the same package files (hard links) but an empty content store: every
    // package is decompressed again, as on a machine that has only downloaded them.
    let cold_cache = dir.path().join("cold-cache");
    let cold = |out: &Path| {
        if cold_cache.exists() {
            std::fs::remove_dir_all(&cold_cache).unwrap();
        }
        std::fs::create_dir_all(&cold_cache).unwrap();
        let st = Command::new("cp")
            .arg("-al")
            .arg(cache.dir().join("sha256"))
            .arg(&cold_cache)
            .status()
            .unwrap();
        assert!(st.success());
        let mut c = Command::new(bin);
        c.args(["--quiet", "build"])
            .arg(&image)
            .args(["--format", "vhdx", "--offline", "--out"])
            .arg(out)
            .arg("--cache")
            .arg(&cold_cache);
        c
    };
    // A copy of the project's recipes and guest files, where each run changes the file one
    // recipe's `[[file]]` installs (sshd_config of the base recipe).
    let project = dir.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    for d in ["recipes", "guest-rootfs"] {
        let st = Command::new("cp")
            .arg("-r")
            .arg(ws.join(d))
            .arg(project.join(d))
            .status()
            .unwrap();
        assert!(st.success());
    }
    let changed_file = project.join("guest-rootfs/etc/ssh/sshd_config");
    let changed_out = dir.path().join("changed-out");
    let changed = |run: usize| {
        let mut text = std::fs::read_to_string(&changed_file).unwrap();
        text.push_str(&format!("# benchmark run {run}\n"));
        std::fs::write(&changed_file, text).unwrap();
        let mut c = Command::new(bin);
        c.args(["--quiet", "build"])
            .arg(project.join("recipes/images/minimal.toml"))
            .args(["--format", "vhdx", "--offline", "--out"])
            .arg(&changed_out)
            .arg("--cache")
            .arg(cache.dir());
        c
    };
    timed(&mut changed(0));

    let (mut full, mut rebuild, mut cl) = (Vec::new(), Vec::new(), Vec::new());
    let (mut cold_runs, mut changed_runs) = (Vec::new(), Vec::new());
    for run in 1..=RUNS {
        eprintln!(
            "run {run} of {RUNS}: ours (full, rebuild, cold store, one file changed), classic..."
        );
        std::fs::remove_dir_all(&out).unwrap();
        full.push(timed(&mut ours(&out, true)));
        rebuild.push(timed(&mut ours(&out, true)));
        let cold_out = dir.path().join("cold-out");
        let _ = std::fs::remove_dir_all(&cold_out);
        cold_runs.push(timed(&mut cold(&cold_out)));
        changed_runs.push(timed(&mut changed(run)));
        cl.push(timed(&mut classic()));
    }

    let ours_vhdx = out.join(format!("{}.vhdx", plan.image.def.image.name));
    let classic_vhdx = work.join("disk.vhdx");
    let (os, cs) = (file_sizes(&ours_vhdx), file_sizes(&classic_vhdx));
    let staged_kib: u64 = String::from_utf8(
        Command::new("du")
            .arg("-sk")
            .arg(work.join("root"))
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .split_whitespace()
    .next()
    .unwrap()
    .parse()
    .unwrap();

    let med = |v: &[Run]| medians(&v.iter().map(|r| (r.wall, r.cpu)).collect::<Vec<_>>());
    let peak = |v: &[Run]| v.iter().map(|r| r.max_rss_kib).max().unwrap();
    let (fm, rm, cm) = (med(&full), med(&rebuild), med(&cl));
    let (coldm, chm) = (med(&cold_runs), med(&changed_runs));
    let r = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    let met = |ratio: f64, target: f64| if ratio <= target { "met" } else { "NOT met" };

    println!(
        "minimal image -> VHDX from a warm package cache: {} packages ({:.1} MiB of .deb, {:.1} MiB \
         unpacked), median of {RUNS} interleaved runs (programs, end to end)",
        debs.len(),
        deb_bytes as f64 / (1 << 20) as f64,
        staged_kib as f64 / 1024.0
    );
    let line = |name: &str, t: (Duration, Duration), rss: u64| {
        println!(
            "  {name:<56} wall {:>7.3} s  cpu {:>7.3} s  peak RSS {:>6.1} MiB",
            t.0.as_secs_f64(),
            t.1.as_secs_f64(),
            rss as f64 / 1024.0
        )
    };
    line("eflow-image build (fresh out dir)", fm, peak(&full));
    line(
        "eflow-image build (rebuild, same out dir)",
        rm,
        peak(&rebuild),
    );
    line(
        "eflow-image build (empty content store: decompresses all)",
        coldm,
        peak(&cold_runs),
    );
    line(
        "eflow-image build (one recipe's [[file]] changed)",
        chm,
        peak(&changed_runs),
    );
    line(
        "classic (dpkg-deb, mke2fs, mkfs.vfat, sgdisk, qemu-img)",
        cm,
        peak(&cl),
    );
    let (cpu, wall) = (r(fm.1, cm.1), r(fm.0, cm.0));
    println!(
        "  ratio ours/classic: cpu {cpu:.3} (target <= 0.6: {}), wall {wall:.3} (target <= 0.35: {})",
        met(cpu, 0.6),
        met(wall, 0.35)
    );
    let (cpu, wall) = (r(coldm.1, cm.1), r(coldm.0, cm.0));
    println!(
        "  ratio ours with an empty content store/classic: cpu {cpu:.3} (target <= 0.6: {}), wall {wall:.3} (target <= 0.35: {})",
        met(cpu, 0.6),
        met(wall, 0.35)
    );
    println!(
        "  ratio rebuild/full build (ours): wall {:.3}, cpu {:.3}",
        r(rm.0, fm.0),
        r(rm.1, fm.1)
    );
    let changed_ratio = r(chm.0, fm.0);
    println!(
        "  ratio one-file change/full build (ours): wall {changed_ratio:.3} (target <= 0.3: {}); against a build with an empty content store: wall {:.3}",
        met(changed_ratio, 0.3),
        r(chm.0, coldm.0)
    );
    println!(
        "  output sizes: ours {} bytes ({} allocated), classic {} bytes ({} allocated)",
        os.0, os.1, cs.0, cs.1
    );
}
