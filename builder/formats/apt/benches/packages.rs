//! Parse speed on a real Packages file, against GNU grep scanning the same bytes as a floor.
//!
//! Input: the file named by `EFLOW_APT_BENCH_PACKAGES` (plain or .xz), else the largest index
//! cached by the real-mirror test (run that first:
//! `cargo test -p eflow-apt --release --test real_mirror -- --ignored`).
//! Run: `cargo bench -p eflow-apt --bench packages`.

use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn input() -> Option<(PathBuf, String)> {
    let path = match std::env::var_os("EFLOW_APT_BENCH_PACKAGES") {
        Some(p) => PathBuf::from(p),
        None => {
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../../target/tmp/eflow-apt-cache");
            std::fs::read_dir(&dir)
                .ok()?
                .filter_map(Result::ok)
                .max_by_key(|e| e.metadata().map(|m| m.len()).unwrap_or(0))?
                .path()
        }
    };
    let raw = std::fs::read(&path).ok()?;
    let text = if raw.starts_with(b"\xfd7zXZ") {
        let mut s = String::new();
        xz2::read::XzDecoder::new_multi_decoder(&raw[..])
            .read_to_string(&mut s)
            .ok()?;
        s
    } else {
        String::from_utf8(raw).ok()?
    };
    Some((path, text))
}

fn best<T>(n: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..n {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed());
        out = Some(r);
    }
    (best, out.expect("n > 0"))
}

fn main() {
    let Some((path, text)) = input() else {
        eprintln!(
            "no Packages file: set EFLOW_APT_BENCH_PACKAGES or run the real_mirror test first"
        );
        std::process::exit(1);
    };
    let mb = text.len() as f64 / 1e6;
    println!("input: {} ({mb:.1} MB uncompressed)", path.display());

    let (t_parse, (stanzas, fields)) = best(5, || {
        let mut s = 0usize;
        let mut f = 0usize;
        for st in eflow_apt::deb822::parse(&text) {
            let st = st.expect("valid Packages file");
            s += 1;
            f += st.fields.len();
        }
        (s, f)
    });
    println!(
        "deb822::parse      {stanzas} stanzas, {fields} fields: {:>8.1} ms  {:>7.1} MB/s",
        t_parse.as_secs_f64() * 1e3,
        mb / t_parse.as_secs_f64()
    );
    let (t_index, n) = best(3, || {
        let mut idx = eflow_apt::Index::new("amd64");
        idx.add_packages("bench", "main", "bench", &text)
            .expect("indexes")
    });
    println!(
        "Index::add_packages {n} packages:        {:>8.1} ms  {:>7.1} MB/s",
        t_index.as_secs_f64() * 1e3,
        mb / t_index.as_secs_f64()
    );

    // Reference: grep counting stanzas over the same bytes (from the page cache).
    let tmp = std::env::temp_dir().join(format!("eflow-apt-bench-{}", std::process::id()));
    std::fs::write(&tmp, &text).expect("write temp copy");
    let (t_grep, out) = best(5, || {
        std::process::Command::new("grep")
            .args(["-c", "^Package: "])
            .arg(&tmp)
            .env("LC_ALL", "C")
            .output()
            .expect("run grep")
    });
    let _ = std::fs::remove_file(&tmp);
    let grep_count = String::from_utf8_lossy(&out.stdout).trim().to_string();
    println!(
        "grep -c '^Package: ' ({grep_count}):            {:>8.1} ms  {:>7.1} MB/s",
        t_grep.as_secs_f64() * 1e3,
        mb / t_grep.as_secs_f64()
    );
    println!(
        "ratio parse/grep: {:.2}x, index/grep: {:.2}x",
        t_parse.as_secs_f64() / t_grep.as_secs_f64(),
        t_index.as_secs_f64() / t_grep.as_secs_f64()
    );
}
