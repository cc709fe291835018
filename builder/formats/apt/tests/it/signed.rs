//! InRelease verification with gpgv and loading signed fixture suites, using throwaway keys
//! made and used by GnuPG's own `gpg` (so the signatures come from a tool nobody here wrote).

use eflow_apt::fetch::sha256_hex;
use eflow_apt::signature::{verify_cleartext, SignatureError};
use eflow_apt::source::{load_index, SourceConfig, SourceError};
use eflow_apt::{Fetch, FetchError};
use eflow_testkit::{ok, ok_with_input, require_tools};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// A GnuPG home with two throwaway signing keys, and binary keyrings of each public key.
///
/// Kept for the whole test binary; since statics are never dropped, every use of `gpg` goes
/// through [`with_agent`], which stops the gpg-agent it started before returning, so no
/// process outlives the tests.
struct Keys {
    home: PathBuf,
    trusted: PathBuf,
    other: PathBuf,
}

fn gpg(home: &Path) -> Command {
    let mut c = Command::new("gpg");
    c.arg("--homedir")
        .arg(home)
        .args([
            "--batch",
            "--quiet",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ])
        .env("LC_ALL", "C");
    c
}

/// Serializes gpg use and stops the agent afterwards.
fn with_agent<T>(home: &Path, f: impl FnOnce() -> T) -> T {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let out = f();
    let _ = Command::new("gpgconf")
        .arg("--homedir")
        .arg(home)
        .args(["--kill", "gpg-agent"])
        .status();
    out
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        require_tools(&["gpg", "gpgv", "gpgconf"]);
        // Statics are never dropped, so a TempDir would leak: use a fixed directory under
        // cargo's per-target scratch space, recreated on each run.
        // One directory per process: nextest runs every test in a process of its own.
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("eflow-apt-gpg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let home = dir.join("h");
        std::fs::create_dir(&home).unwrap();
        std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        with_agent(&home, || {
            for uid in [
                "Trusted Test <trusted@example.invalid>",
                "Other Test <other@example.invalid>",
            ] {
                ok(gpg(&home).args(["--quick-gen-key", uid, "ed25519", "sign", "never"]));
            }
        });
        let trusted = dir.join("trusted.gpg");
        let other = dir.join("other.gpg");
        for (uid, path) in [
            ("trusted@example.invalid", &trusted),
            ("other@example.invalid", &other),
        ] {
            let k = ok(gpg(&home).args(["--export", uid])).stdout;
            assert!(!k.is_empty());
            std::fs::write(path, k).unwrap();
        }
        Keys {
            home,
            trusted,
            other,
        }
    })
}

/// Clear-signs `text` with the key of `uid` (`trusted@...` or `other@...`).
fn clearsign(text: &str, uid: &str) -> Vec<u8> {
    let k = keys();
    let mut c = gpg(&k.home);
    c.args([
        "--local-user",
        uid,
        "--digest-algo",
        "SHA256",
        "--clearsign",
    ]);
    with_agent(&k.home, || ok_with_input(&mut c, text.as_bytes()).stdout)
}

const BODY: &str = "Origin: Test\nSuite: testing\nCodename: fixture\n";

#[test]
fn good_signature_returns_only_the_signed_text() {
    let signed = clearsign(BODY, "trusted@example.invalid");
    let text = verify_cleartext(&signed, &keys().trusted).unwrap();
    assert_eq!(String::from_utf8(text).unwrap().trim_end(), BODY.trim_end());
}

#[test]
fn tampered_body_is_rejected() {
    let signed = String::from_utf8(clearsign(BODY, "trusted@example.invalid")).unwrap();
    let tampered = signed.replace("Suite: testing", "Suite: tasting");
    let e = verify_cleartext(tampered.as_bytes(), &keys().trusted).unwrap_err();
    assert!(matches!(e, SignatureError::Invalid { .. }), "{e}");
    assert!(e.to_string().contains("BADSIG"), "{e}");
}

#[test]
fn corrupted_signature_is_rejected() {
    let signed = String::from_utf8(clearsign(BODY, "trusted@example.invalid")).unwrap();
    let lines: Vec<&str> = signed.lines().collect();
    let sig = lines
        .iter()
        .position(|l| *l == "-----BEGIN PGP SIGNATURE-----")
        .unwrap();
    // Flip a character in the middle of the base64 signature body.
    let mut out: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
    let target = &mut out[sig + 2];
    let mid = target.len() / 2;
    let c = target.as_bytes()[mid];
    let repl = if c == b'A' { 'B' } else { 'A' };
    target.replace_range(mid..mid + 1, &repl.to_string());
    let bad = out.join("\n") + "\n";
    assert!(verify_cleartext(bad.as_bytes(), &keys().trusted).is_err());
}

#[test]
fn unknown_key_and_unsigned_text_are_rejected() {
    let signed = clearsign(BODY, "other@example.invalid");
    let e = verify_cleartext(&signed, &keys().trusted).unwrap_err();
    assert!(matches!(e, SignatureError::Invalid { .. }), "{e}");
    // The same file is fine against the other keyring.
    verify_cleartext(&signed, &keys().other).unwrap();

    // Text outside the signed part is refused even though the signature is good.
    let good = clearsign(BODY, "trusted@example.invalid");
    let mut extra = good.clone();
    extra.extend_from_slice(b"Suite: evil\n");
    let e = verify_cleartext(&extra, &keys().trusted).unwrap_err();
    assert!(matches!(e, SignatureError::Structure(_)), "{e}");
    let mut before = b"Suite: evil\n\n".to_vec();
    before.extend_from_slice(&good);
    assert!(verify_cleartext(&before, &keys().trusted).is_err());
    // Not signed at all.
    assert!(verify_cleartext(BODY.as_bytes(), &keys().trusted).is_err());
    // Missing keyring.
    let e = verify_cleartext(&good, Path::new("/nonexistent/keyring.gpg")).unwrap_err();
    assert!(matches!(e, SignatureError::Keyring { .. }), "{e}");
}

/// Serves files from memory; counts requests.
struct MemFetch {
    files: HashMap<String, Vec<u8>>,
    log: Mutex<Vec<String>>,
}

impl Fetch for MemFetch {
    fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        self.log.lock().unwrap().push(url.to_string());
        self.files.get(url).cloned().ok_or(FetchError::NotFound {
            url: url.to_string(),
        })
    }
    fn get_verified(&self, url: &str, _size: u64, _sha256: &str) -> Result<Vec<u8>, FetchError> {
        // Deliberately does not verify: the loader must check on its own.
        self.get(url)
    }
}

fn xz(data: &[u8]) -> Vec<u8> {
    let mut e = xz2::write::XzEncoder::new(Vec::new(), 6);
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn packages(list: &[(&str, &str)]) -> String {
    list.iter()
        .map(|(n, v)| {
            format!(
                "Package: {n}\nVersion: {v}\nArchitecture: amd64\nFilename: pool/main/{n}.deb\nSize: 10\nSHA256: {}\n\n",
                "1".repeat(64)
            )
        })
        .collect()
}

/// A mirror with one suite: InRelease (signed by `uid`) and main/binary-amd64/Packages.xz.
fn suite_files(
    base: &str,
    suite: &str,
    pkgs: &str,
    by_hash: bool,
    valid_until: &str,
    uid: &str,
) -> HashMap<String, Vec<u8>> {
    let xzd = xz(pkgs.as_bytes());
    let sha = sha256_hex(&xzd);
    let release = format!(
        "Origin: Test\nSuite: {suite}\nCodename: {suite}\nDate: Tue, 20 May 2025 00:00:00 UTC\nValid-Until: {valid_until}\n{}Components: main\nArchitectures: amd64\nSHA256:\n {} {} main/binary-amd64/Packages\n {sha} {} main/binary-amd64/Packages.xz\n",
        if by_hash { "Acquire-By-Hash: yes\n" } else { "" },
        sha256_hex(pkgs.as_bytes()),
        pkgs.len(),
        xzd.len()
    );
    let mut files = HashMap::new();
    files.insert(
        format!("{base}/dists/{suite}/InRelease"),
        clearsign(&release, uid),
    );
    let path = if by_hash {
        format!("{base}/dists/{suite}/main/binary-amd64/by-hash/SHA256/{sha}")
    } else {
        format!("{base}/dists/{suite}/main/binary-amd64/Packages.xz")
    };
    files.insert(path, xzd);
    files
}

fn config(suites: &[&str], base: &str, keyring: &Path) -> SourceConfig {
    SourceConfig {
        suites: suites.iter().map(|s| s.to_string()).collect(),
        components: vec!["main".into()],
        arch: "amd64".into(),
        keyring: keyring.to_path_buf(),
        mirrors: suites
            .iter()
            .map(|s| (s.to_string(), format!("{base}/")))
            .collect::<BTreeMap<_, _>>(),
    }
}

const BASE: &str = "http://mirror.example/debian";
const T: &str = "trusted@example.invalid";

#[test]
fn loads_two_signed_suites() {
    let mut files = suite_files(
        BASE,
        "fixture",
        &packages(&[("libssl3", "3.0.11-1~deb12u2"), ("bash", "5.2")]),
        true,
        "Tue, 27 May 2025 00:00:00 UTC",
        T,
    );
    files.extend(suite_files(
        BASE,
        "fixture-security",
        &packages(&[("libssl3", "3.0.15-1~deb12u1")]),
        false,
        "Tue, 27 May 2099 00:00:00 UTC",
        T,
    ));
    let f = MemFetch {
        files,
        log: Mutex::new(Vec::new()),
    };
    let cfg = config(&["fixture", "fixture-security"], BASE, &keys().trusted);
    // "now" = 2026: the first suite's Valid-Until has passed: a warning, not an error.
    let loaded = load_index(&f, &cfg, Some(1_780_000_000)).unwrap();
    assert_eq!(loaded.index.len(), 3);
    assert_eq!(
        &*loaded.index.candidate("libssl3").unwrap().suite,
        "fixture-security"
    );
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    assert!(loaded.warnings[0].contains("dists/fixture/InRelease"));
    assert_eq!(loaded.suites[1].base_uri, BASE);
    let log = f.log.lock().unwrap();
    assert!(
        log.iter().any(|u| u.contains("/by-hash/SHA256/")),
        "{log:?}"
    );
    // The real resolver on top of the loaded index.
    let r = eflow_apt::resolve(
        &loaded.index,
        &[eflow_apt::Request {
            package: "libssl3 (>= 3.0.13)".into(),
            recipe: "base".into(),
        }],
    )
    .unwrap();
    assert_eq!(r[0].version, "3.0.15-1~deb12u1");
}

#[test]
fn loader_rejects_bad_digests_keys_and_suites() {
    let pk = packages(&[("a", "1")]);
    let vu = "Tue, 27 May 2099 00:00:00 UTC";
    let kr = &keys().trusted;

    // Packages.xz replaced after signing: the error names the file and both digests.
    let mut files = suite_files(BASE, "s", &pk, false, vu, T);
    let url = format!("{BASE}/dists/s/main/binary-amd64/Packages.xz");
    let evil = xz(packages(&[("a", "2")]).as_bytes());
    let (good_sha, evil_sha) = (sha256_hex(&files[&url]), sha256_hex(&evil));
    files.insert(url.clone(), evil);
    let f = MemFetch {
        files,
        log: Mutex::new(Vec::new()),
    };
    let e = load_index(&f, &config(&["s"], BASE, kr), None).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, SourceError::Checksum { .. }), "{msg}");
    assert!(
        msg.contains(&url) && msg.contains(&good_sha) && msg.contains(&evil_sha),
        "{msg}"
    );

    // Signed by a key outside the keyring.
    let files = suite_files(BASE, "s", &pk, false, vu, "other@example.invalid");
    let f = MemFetch {
        files,
        log: Mutex::new(Vec::new()),
    };
    let e = load_index(&f, &config(&["s"], BASE, kr), None).unwrap_err();
    assert!(matches!(e, SourceError::Signature { .. }), "{e}");

    // A validly signed Release of another suite served under this suite's path.
    let mut files = suite_files(BASE, "other", &pk, false, vu, T);
    let moved = files
        .remove(&format!("{BASE}/dists/other/InRelease"))
        .unwrap();
    files.insert(format!("{BASE}/dists/s/InRelease"), moved);
    let f = MemFetch {
        files,
        log: Mutex::new(Vec::new()),
    };
    let e = load_index(&f, &config(&["s"], BASE, kr), None).unwrap_err();
    assert!(matches!(e, SourceError::WrongSuite { .. }), "{e}");

    // A component the Release doesn't list.
    let files = suite_files(BASE, "s", &pk, false, vu, T);
    let f = MemFetch {
        files,
        log: Mutex::new(Vec::new()),
    };
    let mut cfg = config(&["s"], BASE, kr);
    cfg.components.push("contrib".into());
    let e = load_index(&f, &cfg, None).unwrap_err();
    assert!(
        e.to_string().contains("contrib/binary-amd64/Packages.xz"),
        "{e}"
    );

    // No InRelease at all.
    let f = MemFetch {
        files: HashMap::new(),
        log: Mutex::new(Vec::new()),
    };
    let e = load_index(&f, &config(&["s"], BASE, kr), None).unwrap_err();
    assert!(e.to_string().contains("not found"), "{e}");
}

/// A suite whose signed Release lists `Packages.xz` (and, when given, the uncompressed
/// `Packages` with a declared size and digest) and serves `xzd` for it.
fn suite_with_index(
    suite: &str,
    xzd: Vec<u8>,
    plain: Option<(u64, String)>,
) -> HashMap<String, Vec<u8>> {
    let mut listed = String::new();
    if let Some((size, sha)) = plain {
        listed.push_str(&format!(" {sha} {size} main/binary-amd64/Packages\n"));
    }
    listed.push_str(&format!(
        " {} {} main/binary-amd64/Packages.xz\n",
        sha256_hex(&xzd),
        xzd.len()
    ));
    let release = format!(
        "Origin: Test\nSuite: {suite}\nCodename: {suite}\nDate: Tue, 20 May 2025 00:00:00 UTC\nComponents: main\nArchitectures: amd64\nSHA256:\n{listed}"
    );
    HashMap::from([
        (
            format!("{BASE}/dists/{suite}/InRelease"),
            clearsign(&release, T),
        ),
        (
            format!("{BASE}/dists/{suite}/main/binary-amd64/Packages.xz"),
            xzd,
        ),
    ])
}

/// A small signed Packages.xz that inflates to more than an index can hold is refused as it
/// inflates (bounded memory), and one that inflates to other bytes than the Release's signed
/// uncompressed `Packages` entry is a checksum error.
#[test]
fn packages_indexes_inflate_within_bounds_and_match_the_release() {
    let kr = &keys().trusted;
    let load = |files: HashMap<String, Vec<u8>>| {
        let f = MemFetch {
            files,
            log: Mutex::new(Vec::new()),
        };
        load_index(&f, &config(&["s"], BASE, kr), None)
    };

    // 300 MiB of zeros in a few hundred KB of xz, no uncompressed size listed.
    let mut e = xz2::write::XzEncoder::new(Vec::new(), 0);
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..300 {
        e.write_all(&zeros).unwrap();
    }
    let bomb = e.finish().unwrap();
    assert!(bomb.len() < 1 << 20, "{}", bomb.len());
    let err = load(suite_with_index("s", bomb, None)).unwrap_err();
    assert!(matches!(err, SourceError::Decompress { .. }), "{err}");
    assert!(
        err.to_string().contains("inflates past 268435456 bytes"),
        "{err}"
    );

    // The Release says the index is 10 bytes: it may not inflate past that.
    let pk = packages(&[("a", "1")]);
    let err = load(suite_with_index(
        "s",
        xz(pk.as_bytes()),
        Some((10, sha256_hex(pk.as_bytes()))),
    ))
    .unwrap_err();
    assert!(err.to_string().contains("inflates past 10 bytes"), "{err}");

    // Right size, other bytes than the Release signed.
    let other = packages(&[("b", "1")]);
    let err = load(suite_with_index(
        "s",
        xz(other.as_bytes()),
        Some((other.len() as u64, sha256_hex(pk.as_bytes()))),
    ))
    .unwrap_err();
    assert!(matches!(err, SourceError::Checksum { .. }), "{err}");
    assert!(err.to_string().contains("(decompressed)"), "{err}");

    // And the honest index loads.
    let loaded = load(suite_with_index(
        "s",
        xz(pk.as_bytes()),
        Some((pk.len() as u64, sha256_hex(pk.as_bytes()))),
    ))
    .unwrap();
    assert_eq!(loaded.index.len(), 1);
}
