//! Benchmark: eflow-ext4 (write + write_raw) against `mke2fs -t ext4 -d DIR` on the same
//! generated rootfs-like content (~30k files, ~800 MiB, same filesystem size), comparing wall
//! time and peak memory (VmHWM of a child process for ours, getrusage of mke2fs's child).
//!
//! Run: `cargo bench -p eflow-ext4 --bench write` (set EXT4_BENCH_DIR to choose the scratch
//! directory, default the system temp dir; it needs ~2.5 GiB free).

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use eflow_tree::{Content, ContentSource, Entry, Kind, Tree};

/// Deterministic content: member `index` is `size` bytes derived from the index.
struct Generated {
    sizes: Vec<u64>,
}

struct GenReader {
    state: u64,
    left: u64,
}

impl Read for GenReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (self.left.min(buf.len() as u64) as usize) & !7;
        let n = if n == 0 {
            self.left.min(buf.len() as u64) as usize
        } else {
            n
        };
        for chunk in buf[..n].chunks_mut(8) {
            // splitmix64
            self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
        self.left -= n as u64;
        Ok(n)
    }
}

impl ContentSource for Generated {
    fn describe(&self, _stream: u32) -> String {
        "generated".into()
    }
    fn open(&self, _stream: u32, index: u64) -> io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(GenReader {
            state: index.wrapping_mul(0x2545_F491_4F6C_DD1D),
            left: self.sizes[index as usize],
        }))
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// A rootfs-like tree: 2000 directories, 30000 files, 3000 symlinks.
fn build_tree() -> Tree {
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    let mut sizes = Vec::new();
    for _ in 0..30_000 {
        let size = match rng.next() % 100 {
            0..=59 => rng.range(0, 4096),
            60..=89 => rng.range(4096, 32 << 10),
            90..=98 => rng.range(32 << 10, 256 << 10),
            _ => rng.range(256 << 10, 1 << 20),
        };
        sizes.push(size);
    }
    let source = Arc::new(Generated {
        sizes: sizes.clone(),
    });
    let mut t = Tree::new();
    let mut dirs = vec!["/usr".to_string()];
    t.mkdir_p("/usr").unwrap();
    for d in 0..2000 {
        let parent = dirs[(rng.next() % dirs.len() as u64) as usize].clone();
        let p = format!("{parent}/dir{d}");
        t.mkdir_p(&p).unwrap();
        dirs.push(p);
    }
    for (i, size) in sizes.iter().enumerate() {
        let d = &dirs[(rng.next() % dirs.len() as u64) as usize];
        let e = Entry::new(
            Kind::File {
                content: Content::Source {
                    source: source.clone(),
                    stream: 0,
                    index: i as u64,
                    digest: None,
                },
                size: *size,
            },
            0o644,
        )
        .at(1_700_000_000);
        t.insert(&format!("{d}/file-{i}.so"), e).unwrap();
    }
    for i in 0..3000 {
        let d = &dirs[(rng.next() % dirs.len() as u64) as usize];
        t.insert(
            &format!("{d}/link{i}"),
            Entry::symlink(format!("file-{i}.so")),
        )
        .unwrap();
    }
    t
}

fn total_bytes(t: &Tree) -> u64 {
    t.iter()
        .map(|(_, e)| match &e.kind {
            Kind::File { size, .. } => *size,
            _ => 0,
        })
        .sum()
}

/// Child mode: write the image, print "SECONDS PEAK_KIB".
fn child(out: &Path, size: u64) {
    let tree = build_tree();
    let base = eflow_testkit::peak_rss_kib();
    let start = Instant::now();
    let opts = eflow_ext4::Options {
        size,
        uuid: [7; 16],
        hash_seed: [9; 16],
        label: "bench".into(),
        timestamp: 1_700_000_000,
    };
    let mut img = eflow_ext4::write(&tree, &opts).expect("write");
    let meta = img.metadata_bytes();
    let mut f = File::create(out).unwrap();
    eflow_extents::write_raw(&mut img, &mut f).expect("write_raw");
    f.sync_all().unwrap();
    let secs = start.elapsed().as_secs_f64();
    println!("{secs} {} {base} {meta}", eflow_testkit::peak_rss_kib());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let out = PathBuf::from(&args[i + 1]);
        let size: u64 = args[i + 2].parse().unwrap();
        child(&out, size);
        return;
    }
    let scratch = tempfile::Builder::new()
        .prefix("ext4-bench")
        .tempdir_in(
            std::env::var_os("EXT4_BENCH_DIR")
                .unwrap_or_else(|| std::env::temp_dir().into_os_string()),
        )
        .unwrap();
    let tree = build_tree();
    let bytes = total_bytes(&tree);
    let size = (eflow_ext4::min_size(&tree) * 13 / 10).next_multiple_of(1 << 20);
    println!(
        "tree: {} entries, {:.0} MiB of file data; filesystem size {} MiB",
        tree.len(),
        bytes as f64 / (1 << 20) as f64,
        size >> 20
    );

    // Ours, in a child process so its peak memory is its own.
    let ours_img = scratch.path().join("ours.img");
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(&exe)
        .args(["--child", ours_img.to_str().unwrap(), &size.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout);
    let v: Vec<f64> = line
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    let (ours_s, ours_kib, base_kib, meta) = (v[0], v[1], v[2], v[3]);

    // mke2fs on the same content extracted to a directory (extraction not timed).
    let src = scratch.path().join("src");
    eflow_testkit::extract_tree(&tree, &src);
    drop(tree);
    let ref_img = scratch.path().join("mke2fs.img");
    File::create(&ref_img).unwrap().set_len(size).unwrap();
    let start = Instant::now();
    let rss_file = scratch.path().join("mke2fs.rss");
    // /usr/bin/time reports mke2fs's own peak RSS (getrusage of children would mix in ours).
    let st = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&rss_file)
        .args(["mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-d"])
        .arg(&src)
        .arg(&ref_img)
        .status()
        .expect("/usr/bin/time and mke2fs (e2fsprogs) are needed for the benchmark");
    let ref_s = start.elapsed().as_secs_f64();
    assert!(st.success());
    let ref_kib: f64 = std::fs::read_to_string(&rss_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();

    let fsck = Command::new("e2fsck")
        .args(["-fn"])
        .arg(&ours_img)
        .output()
        .unwrap();
    println!(
        "eflow-ext4: {:.2} s, peak RSS {:.1} MiB (tree alone {:.1} MiB, metadata in memory {:.1} MiB), e2fsck -fn exit {}",
        ours_s,
        ours_kib / 1024.0,
        base_kib / 1024.0,
        meta / (1 << 20) as f64,
        fsck.status.code().unwrap_or(-1)
    );
    println!(
        "mke2fs -d:  {:.2} s, peak RSS {:.1} MiB",
        ref_s,
        ref_kib / 1024.0
    );
    println!(
        "ratio (ours / mke2fs): time {:.2}, peak memory {:.2}",
        ours_s / ref_s,
        ours_kib / ref_kib
    );
}
