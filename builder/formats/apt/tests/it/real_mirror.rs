//! Resolves a real base system against the real Debian mirror named by the host's apt sources
//! (or `EFLOW_DEBIAN_MIRROR`). Needs the network, curl, gpgv and the debian-archive-keyring
//! package, so it is ignored by default. Run it with:
//!
//!     cargo test -p eflow-apt --release --test it -- --ignored --nocapture real_mirror
//!
//! It prints the timings, warnings and the closure. `EFLOW_APT_EXTRA=a,b` adds requests.
//!
//! Independent check: the closure's package names must equal what apt itself would install
//! for the same requests on an empty system (`apt-get -s` with an empty dpkg status file and
//! no Recommends), using the host's apt lists, so run `apt-get update` first (same sources). Downloads of signed indexes are cached by
//! SHA-256 under cargo's target tmp directory.

use eflow_apt::fetch::sha256_hex;
use eflow_apt::mirrors::mirrors;
use eflow_apt::source::{load_index, SourceConfig, DEFAULT_KEYRING};
use eflow_apt::{resolve, Fetch, FetchError, Request};
use eflow_testkit::ok_stdout;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Fetch through the curl command line tool, with a small content-addressed cache.
struct Curl {
    cache: PathBuf,
}

impl Fetch for Curl {
    fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let out = Command::new("curl")
            .args(["-fsSL", "--retry", "3", url])
            .output()
            .map_err(|e| FetchError::Other {
                url: url.into(),
                message: format!("cannot run curl: {e}"),
            })?;
        if !out.status.success() {
            return Err(FetchError::Other {
                url: url.into(),
                message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(out.stdout)
    }

    fn get_verified(&self, url: &str, size: u64, sha256: &str) -> Result<Vec<u8>, FetchError> {
        let path = self.cache.join(sha256);
        if let Ok(d) = std::fs::read(&path) {
            if sha256_hex(&d) == sha256 {
                return Ok(d);
            }
        }
        let d = self.get(url)?;
        let actual = sha256_hex(&d);
        if d.len() as u64 != size || actual != sha256 {
            return Err(FetchError::Mismatch {
                url: url.into(),
                expected_size: size,
                actual_size: d.len() as u64,
                expected_sha256: sha256.into(),
                actual_sha256: actual,
            });
        }
        let tmp = path.with_extension("part");
        if std::fs::write(&tmp, &d).is_ok() {
            let _ = std::fs::rename(&tmp, &path);
        }
        Ok(d)
    }
}

#[test]
#[ignore = "needs the network: see the module documentation for the command"]
fn resolve_base_system_against_the_real_mirror() {
    let suites: Vec<String> = ["bookworm", "bookworm-updates", "bookworm-security"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let env = std::env::var("EFLOW_DEBIAN_MIRROR").ok();
    let m = mirrors(None, env.as_deref(), Path::new("/"), &suites).unwrap();
    println!("mirrors: {m:?}");
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("eflow-apt-cache");
    std::fs::create_dir_all(&cache).unwrap();
    let cfg = SourceConfig {
        suites,
        components: vec!["main".into()],
        arch: "amd64".into(),
        keyring: DEFAULT_KEYRING.into(),
        mirrors: m,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .ok();
    let t = Instant::now();
    let loaded = load_index(&Curl { cache }, &cfg, now).unwrap();
    println!(
        "loaded {} packages in {:.2?} (download/cache + gpgv + xz + parse)",
        loaded.index.len(),
        t.elapsed()
    );
    for w in &loaded.warnings {
        println!("warning: {w}");
    }
    let wanted = [
        "systemd",
        "udev",
        "bash",
        "coreutils",
        "util-linux",
        "iproute2",
        "ca-certificates",
        "openssh-server",
        "linux-image-cloud-amd64",
    ];
    let mut requests: Vec<Request> = wanted
        .iter()
        .map(|p| Request {
            package: p.to_string(),
            recipe: "base".into(),
        })
        .collect();
    // More requests to try, comma-separated, e.g. EFLOW_APT_EXTRA="docker.io,containerd".
    if let Ok(extra) = std::env::var("EFLOW_APT_EXTRA") {
        requests.extend(
            extra
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|p| Request {
                    package: p.trim().to_string(),
                    recipe: "extra".into(),
                }),
        );
    }
    let t = Instant::now();
    let closure = match resolve(&loaded.index, &requests) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    println!("resolved in {:.2?}", t.elapsed());
    let mut total = 0u64;
    for p in &closure {
        total += p.size;
        println!(
            "{:<32} {:<28} {:<6} {:<18} <- {}",
            p.name,
            p.version,
            p.architecture,
            p.suite,
            p.required_by.join(", ")
        );
    }
    println!(
        "{} packages, {:.1} MiB of .debs",
        closure.len(),
        total as f64 / 1048576.0
    );
    for w in wanted {
        assert!(closure.iter().any(|p| p.name == w), "{w} missing");
    }

    let ours: BTreeSet<String> = closure.iter().map(|p| p.name.clone()).collect();
    let apt = apt_simulation(&requests);
    let only_ours: Vec<&String> = ours.difference(&apt).collect();
    let only_apt: Vec<&String> = apt.difference(&ours).collect();
    println!(
        "apt-get -s installs {} packages; only ours: {only_ours:?}; only apt's: {only_apt:?}",
        apt.len()
    );
    assert!(
        only_ours.is_empty() && only_apt.is_empty(),
        "the closure differs from apt's choice (is the host's apt list current? run apt-get update)"
    );
}

/// The packages apt would install on an empty system for `requests`, without Recommends.
fn apt_simulation(requests: &[Request]) -> BTreeSet<String> {
    let status = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("empty-dpkg-status");
    std::fs::write(&status, "").unwrap();
    ok_stdout(
        Command::new("apt-get")
            .arg("-s")
            .arg(format!("-oDir::State::status={}", status.display()))
            .args([
                "-oAPT::Install-Recommends=false",
                "-oDebug::NoLocking=1",
                "install",
            ])
            .args(requests.iter().map(|r| r.package.as_str()))
            .env("LC_ALL", "C"),
    )
    .lines()
    .filter_map(|l| l.strip_prefix("Inst "))
    .filter_map(|l| l.split_whitespace().next())
    .map(str::to_string)
    .collect()
}
