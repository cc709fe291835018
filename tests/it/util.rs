//! What the end-to-end tests share: the built `eflow-image` with one package cache for every
//! test, the reference image and its lockfile, keys, and the release checkers.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use eflow_testkit::{ok, ok_stdout, outcome, path_str as s, Outcome};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The reference image definition.
pub fn minimal() -> PathBuf {
    root().join("recipes/images/minimal.toml")
}

/// The lockfile `recipes/images/NAME.lock`, parsed.
pub fn lockfile(name: &str) -> toml::Table {
    let path = root().join(format!("recipes/images/{name}.lock"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `[[package]]` tables of a parsed lockfile.
pub fn locked_packages(lock: &toml::Table) -> &[toml::Value] {
    lock["package"]
        .as_array()
        .expect("a lockfile has [[package]] tables")
}

/// One package cache for every test (concurrent use is part of the cache's contract).
pub fn cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("eflow-cache")
}

/// A command running the built binary with the shared cache, without a terminal, and without
/// the SOURCE_DATE_EPOCH, signing key and password that the caller's environment may hold.
pub fn eflow() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_eflow-image"));
    c.env("XDG_CACHE_HOME", cache().parent().unwrap().join("xdg"))
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("EFLOW_SIGNING_KEY")
        .env_remove("EFLOW_SIGNING_PASSWORD")
        .stdin(Stdio::null());
    c
}

/// Builds `image` into `out` with the given formats, with the shared cache.
pub fn build(image: &Path, out: &Path, formats: &str) -> Output {
    ok(eflow()
        .arg("--quiet")
        .arg("build")
        .arg(image)
        .args(["--format", formats, "--out"])
        .arg(out)
        .arg("--cache")
        .arg(cache()))
}

/// Builds the reference image into `out` with the given formats.
pub fn build_minimal(out: &Path, formats: &str) -> Output {
    build(&minimal(), out, formats)
}

/// Runs one debugfs request on an ext4 image (`stat PATH`, `cat PATH`, `rdump / DIR`) and
/// returns its standard output.
pub fn debugfs(fs: &Path, request: &str) -> String {
    ok_stdout(Command::new("debugfs").arg("-R").arg(request).arg(fs))
}

/// Makes an unencrypted key pair with `eflow-image keygen` at `secret` and `public`.
pub fn keygen(secret: &Path, public: &Path) {
    ok(eflow().args([
        "keygen",
        "--secret-key",
        s(secret),
        "--public-key",
        s(public),
        "--unencrypted",
    ]));
}

/// The stock `minisign -Vm FILE -p PUBKEY`: whether it accepts our signature of `file`.
pub fn minisign_verify(file: &Path, pubkey: &Path) -> Outcome {
    outcome(
        Command::new("minisign")
            .args(["-Vm", s(file), "-p", s(pubkey)])
            .stdin(Stdio::null()),
    )
}

/// The SPDX validator (`pyspdxtools -i`, or `$PYSPDXTOOLS`) on an SBOM.
pub fn pyspdxtools(sbom: &Path) -> Outcome {
    let tool = std::env::var("PYSPDXTOOLS").unwrap_or_else(|_| "pyspdxtools".into());
    outcome(Command::new(tool).args(["-i", s(sbom)]))
}
