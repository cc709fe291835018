//! Helpers shared by the end-to-end tests: run the built `eflow-image`, locate the reference
//! image, share one package cache between tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The reference image definition.
pub fn minimal() -> PathBuf {
    root().join("recipes/images/minimal.toml")
}

/// One package cache for every test (concurrent use is part of the cache's contract).
pub fn cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("eflow-cache")
}

/// A command running the built binary with the shared cache.
pub fn eflow() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_eflow-image"));
    c.env("XDG_CACHE_HOME", cache().parent().unwrap().join("xdg"));
    c.env_remove("SOURCE_DATE_EPOCH");
    c
}

/// Runs a command, returning its output; panics with both streams if it could not start.
pub fn run(c: &mut Command) -> Output {
    c.output()
        .unwrap_or_else(|e| panic!("cannot run {c:?}: {e}"))
}

/// Runs and requires success.
pub fn ok(c: &mut Command) -> Output {
    let out = run(c);
    assert!(
        out.status.success(),
        "{c:?} failed with {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Requires that an external checking tool exists: tests never skip silently.
pub fn require_tool(tool: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "{tool} is needed by this test and is not installed (.ci/run installs it)"
    );
}

/// Builds the reference image into `out` with the given formats.
pub fn build_minimal(out: &Path, formats: &str) -> Output {
    ok(eflow()
        .arg("--quiet")
        .arg("build")
        .arg(minimal())
        .args(["--format", formats, "--out"])
        .arg(out)
        .arg("--cache")
        .arg(cache()))
}

/// Lowercase hex sha256 of a file, by `sha256sum` (a tool we did not write).
pub fn sha256sum(path: &Path) -> String {
    let out = ok(Command::new("sha256sum").arg(path));
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}
