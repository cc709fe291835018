//! Build script: `EFLOW_TOOL_DIGEST`, a SHA-256 of the sources that decide what a build
//! writes. The manifest records it next to the tool's version, so that `build` skips its
//! work only when the outputs were made by the very same code: the version number alone
//! stays the same across every change made while developing.
//!
//! It covers every library crate under `builder/`, `basics/`, `signing/` and `guest-agent/`
//! (their `Cargo.toml` and `src/`; tests, benches and fuzz targets do not shape outputs),
//! `Cargo.lock` (the versions of every dependency), the file the builder embeds with
//! `include_str!` from outside a `src/` folder (`guest-rootfs/initramfs/init`), and the
//! compiler's version. It is a digest of sources, not of the binary: two machines building
//! the same sources agree, so the manifest stays reproducible. The CLI crate (`src/`) only
//! turns flags into options and is left out, so editing it does not rebuild this crate.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// Folders whose crates make up the builder library.
const CRATE_ROOTS: &[&str] = &["builder", "basics", "signing", "guest-agent"];
/// Files the builder embeds from outside a crate's `src/`.
const EMBEDDED: &[&str] = &["Cargo.lock", "guest-rootfs/initramfs/init"];

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest_dir
        .parent()
        .expect("the builder crate sits in the workspace root")
        .to_path_buf();

    let mut files: Vec<PathBuf> = EMBEDDED.iter().map(|f| root.join(f)).collect();
    let mut crates = Vec::new();
    for r in CRATE_ROOTS {
        find_crates(&root.join(r), &mut crates);
    }
    for c in &crates {
        files.push(c.join("Cargo.toml"));
        collect_files(&c.join("src"), &mut files);
        println!("cargo:rerun-if-changed={}", c.join("Cargo.toml").display());
        println!("cargo:rerun-if-changed={}", c.join("src").display());
    }
    for f in EMBEDDED {
        println!("cargo:rerun-if-changed={}", root.join(f).display());
    }
    files.sort();
    files.dedup();

    let mut hash = Sha256::new();
    for f in &files {
        let Ok(bytes) = std::fs::read(f) else {
            continue;
        };
        // Name and length frame each file, so moving bytes between files changes the digest.
        let rel = f.strip_prefix(&root).unwrap_or(f);
        hash.update(rel.to_string_lossy().replace('\\', "/").as_bytes());
        hash.update([0]);
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(&bytes);
    }
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    if let Ok(out) = Command::new(rustc).arg("-vV").output() {
        hash.update(&out.stdout);
    }
    let digest: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    println!("cargo:rustc-env=EFLOW_TOOL_DIGEST={digest}");
}

/// Every folder under `dir` holding a `Cargo.toml`, leaving out fuzz targets and build output.
fn find_crates(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.join("Cargo.toml").is_file() {
        out.push(dir.to_path_buf());
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let skip = matches!(
            name.to_str(),
            Some("fuzz" | "target" | "tests" | "benches" | "src" | "examples")
        ) || name.to_string_lossy().starts_with('.');
        if !skip && e.file_type().is_ok_and(|t| t.is_dir()) {
            find_crates(&e.path(), out);
        }
    }
}

/// Every regular file under `dir`, recursively.
fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        match e.file_type() {
            Ok(t) if t.is_dir() => collect_files(&e.path(), out),
            Ok(t) if t.is_file() => out.push(e.path()),
            _ => {}
        }
    }
}
