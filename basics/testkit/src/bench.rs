//! What the benchmarks share: the disk they convert, and the measures they report.

use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::time::Duration;

const MIB: u64 = 1 << 20;

/// A 4 GiB sparse raw disk holding 1 GiB of pseudo-random data: 1024 distinct 1 MiB runs out
/// of the first 4094 MiB, half of them aligned to 1 MiB, half straddling two MiB. Synced, so
/// that writeback does not land on the first timed run.
pub fn bench_disk(path: &Path) {
    let f = File::create(path).unwrap();
    f.set_len(4096 * MIB).unwrap();
    let mut x: u64 = 0x1234_5678_9abc_def1;
    let mut next = move || {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let mut slots: Vec<u64> = (0..4094).collect();
    for i in (1..slots.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        slots.swap(i, j);
    }
    let mut picked = slots[..1024].to_vec();
    picked.sort_unstable();
    let mut buf = vec![0u8; MIB as usize];
    for (n, slot) in picked.iter().enumerate() {
        for c in buf.chunks_exact_mut(8) {
            c.copy_from_slice(&next().to_le_bytes());
        }
        let off = slot * MIB + if n % 2 == 1 { MIB / 2 } else { 0 };
        f.write_all_at(&buf, off).unwrap();
    }
    f.sync_all().unwrap();
}

/// The median of some durations (the upper one of an even count).
pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// A file's length and the bytes it occupies on disk (less when sparse).
pub fn file_sizes(p: &Path) -> (u64, u64) {
    let m = std::fs::metadata(p).unwrap();
    (m.len(), m.blocks() * 512)
}

/// The medians of (wall time, CPU time) pairs, each taken alone.
pub fn medians(v: &[(Duration, Duration)]) -> (Duration, Duration) {
    (
        median(v.iter().map(|t| t.0).collect()),
        median(v.iter().map(|t| t.1).collect()),
    )
}

/// Peak resident memory of this process (Linux `VmHWM`), in KiB.
pub fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status (Linux)");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}
