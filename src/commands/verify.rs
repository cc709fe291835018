//! `eflow-image verify FILE --pubkey KEY` and `eflow-image verify --manifest NAME.manifest.json
//! --pubkey KEY`: checks minisign signatures, and for a build manifest every output it lists
//! (signature, size and SHA-256), naming each failed check and its file.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use eflow_signing::{Hasher, Manifest, PublicKey, TrustedComment, VerifyError};

use crate::output::Output;

/// Arguments of `verify`.
#[derive(Args)]
pub struct VerifyArgs {
    /// The file to verify; a `*.manifest.json` is verified as a build manifest (see --manifest).
    #[arg(value_name = "FILE", required_unless_present = "manifest")]
    file: Option<PathBuf>,
    /// Verify a build manifest: its signature, then each output it lists (next to it):
    /// signature, size and SHA-256.
    #[arg(long, value_name = "NAME.manifest.json", conflicts_with = "file")]
    manifest: Option<PathBuf>,
    /// The public key: a .pub file, or its base64 line (`RWQ...`).
    #[arg(long, short = 'p', value_name = "KEY")]
    pubkey: String,
    /// The signature file (default: FILE.minisig).
    #[arg(long, value_name = "PATH", conflicts_with = "manifest")]
    signature: Option<PathBuf>,
}

/// The result of one check on one file.
struct Check {
    file: String,
    /// Which check: `signature`, `sha256`, `size`, `present`.
    check: &'static str,
    /// `ok`, `failed` (exit 3) or `error` (could not check: exit 1).
    status: &'static str,
    detail: String,
}

#[derive(Default)]
struct Report {
    checks: Vec<Check>,
}

impl Report {
    fn push(&mut self, file: &str, check: &'static str, status: &'static str, detail: String) {
        self.checks.push(Check {
            file: file.to_string(),
            check,
            status,
            detail,
        });
    }

    fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.status == "failed")
    }

    fn errors(&self) -> bool {
        self.checks.iter().any(|c| c.status == "error")
    }
}

/// Reads the public key from a file, or parses it as the base64 line.
fn public_key(key: &str) -> anyhow::Result<PublicKey> {
    let path = Path::new(key);
    if path.is_file() {
        return eflow_signing::load_public_key_file(path)
            .with_context(|| format!("public key file {key}"));
    }
    // The value is not echoed: a secret key pasted here by mistake must not be printed.
    key.trim().parse().map_err(|e| {
        anyhow::anyhow!(
            "--pubkey is neither a readable public key file nor a minisign public key line \
             (RWQ..., as in the second line of a .pub file): {e}"
        )
    })
}

fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Checks `file` against its signature and, when the trusted comment is this tool's, the
/// SHA-256 it records; with `expected` also the size and SHA-256 a manifest records.
/// Records the results in `report`; returns whether every check passed.
fn check_file(
    pk: &PublicKey,
    file: &Path,
    sig: &Path,
    name: &str,
    expected: Option<(u64, &str)>,
    report: &mut Report,
) -> bool {
    if !file.is_file() {
        report.push(
            name,
            "present",
            "error",
            format!("{}: no such file", file.display()),
        );
        return false;
    }
    let sig_text = match read_signature(sig) {
        Ok(t) => t,
        Err(e) => {
            report.push(
                name,
                "signature",
                "error",
                format!("cannot read its signature {}: {e}", sig.display()),
            );
            return false;
        }
    };
    let digests = match Hasher::digest_file(file) {
        Ok(d) => d,
        Err(e) => {
            report.push(name, "present", "error", format!("{}: {e}", file.display()));
            return false;
        }
    };
    let actual = digests.sha256_hex();
    let mut all_ok = true;
    match eflow_signing::verify_prehashed(pk, &digests.blake2b512, &sig_text) {
        Ok(comment) => {
            if let Some(detail) = comment_mismatch(&comment, &actual) {
                report.push(name, "signature", "failed", detail);
                all_ok = false;
            } else {
                report.push(
                    name,
                    "signature",
                    "ok",
                    format!("trusted comment: {comment}"),
                );
            }
        }
        Err(e) => {
            report.push(name, "signature", "failed", failure_text(&e, sig));
            all_ok = false;
        }
    }
    if let Some((size, sha256)) = expected {
        if actual != sha256 {
            report.push(
                name,
                "sha256",
                "failed",
                format!("sha256 mismatch: the manifest records {sha256}, the file has {actual}"),
            );
            all_ok = false;
        } else if digests.size != size {
            report.push(
                name,
                "size",
                "failed",
                format!(
                    "size mismatch: the manifest records {size} bytes, the file has {}",
                    digests.size
                ),
            );
            all_ok = false;
        } else {
            report.push(name, "sha256", "ok", format!("{actual} as in the manifest"));
        }
    }
    all_ok
}

/// Largest `.minisig` read: real ones are under 1 KiB, minisign's trusted comment limit 8 KiB.
const SIGNATURE_MAX: u64 = 64 * 1024;

/// Reads a `.minisig` file, bounded so a wrong path to a huge file fails cleanly.
fn read_signature(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(SIGNATURE_MAX + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > SIGNATURE_MAX {
        return Err(std::io::Error::other(format!(
            "larger than {SIGNATURE_MAX} bytes: not a minisign signature"
        )));
    }
    Ok(text)
}

/// A verified trusted comment in this tool's format must record the file's SHA-256.
fn comment_mismatch(comment: &TrustedComment, actual: &str) -> Option<String> {
    let fields = comment.fields()?;
    (fields.sha256 != actual).then(|| {
        VerifyError::DigestMismatch {
            recorded: fields.sha256,
            actual: actual.to_string(),
        }
        .to_string()
    })
}

fn failure_text(e: &VerifyError, sig: &Path) -> String {
    match e {
        VerifyError::Malformed(_) | VerifyError::UnsupportedAlgorithm(_) => {
            format!("{} : {e}", sig.display())
        }
        _ => e.to_string(),
    }
}

fn verify_single(pk: &PublicKey, file: &Path, sig: Option<PathBuf>, report: &mut Report) {
    let sig = sig.unwrap_or_else(|| eflow_builder::release::minisig_path(file));
    check_file(pk, file, &sig, &display_name(file), None, report);
}

/// Whether an output name from a manifest names a file in the manifest's directory.
fn plain_file_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

fn verify_manifest(pk: &PublicKey, manifest: &Path, report: &mut Report) -> anyhow::Result<()> {
    let name = display_name(manifest);
    let sig = eflow_builder::release::minisig_path(manifest);
    if !check_file(pk, manifest, &sig, &name, None, report) {
        // An unauthenticated list of outputs proves nothing: stop here.
        return Ok(());
    }
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    let m = Manifest::from_json(&text)
        .with_context(|| format!("{} is not a build manifest", manifest.display()))?;
    let dir = manifest.parent().unwrap_or(Path::new("."));
    for o in &m.outputs {
        if !plain_file_name(&o.name) {
            report.push(
                &o.name,
                "present",
                "error",
                "the manifest names a file outside its directory; refusing to read it".into(),
            );
            continue;
        }
        let file = dir.join(&o.name);
        let sig = eflow_builder::release::minisig_path(&file);
        check_file(pk, &file, &sig, &o.name, Some((o.size, &o.sha256)), report);
    }
    Ok(())
}

/// Runs `verify`; the exit status says whether every check passed.
pub fn run(a: VerifyArgs, out: &Output) -> anyhow::Result<ExitCode> {
    let pk = public_key(&a.pubkey)?;
    let mut report = Report::default();
    match (&a.manifest, &a.file) {
        (Some(m), _) => verify_manifest(&pk, m, &mut report)?,
        (None, Some(f))
            if a.signature.is_none()
                && f.file_name()
                    .is_some_and(|n| n.to_string_lossy().ends_with(".manifest.json")) =>
        {
            verify_manifest(&pk, f, &mut report)?
        }
        (None, Some(f)) => verify_single(&pk, f, a.signature.clone(), &mut report),
        (None, None) => bail!("give a FILE or --manifest NAME.manifest.json"),
    }
    let mut human = String::new();
    for c in &report.checks {
        let tag = match c.status {
            "ok" => "OK    ",
            "failed" => "FAILED",
            _ => "ERROR ",
        };
        human.push_str(&format!("{tag} {}: {}: {}\n", c.file, c.check, c.detail));
    }
    let verdict = if report.failed() {
        "verification FAILED"
    } else if report.errors() {
        "verification incomplete: some files could not be checked"
    } else {
        "verification OK"
    };
    human.push_str(verdict);
    out.result(
        &human,
        serde_json::json!({
            "key_id": pk.key_id().to_string(),
            "ok": !report.failed() && !report.errors(),
            "checks": report.checks.iter().map(|c| serde_json::json!({
                "file": c.file,
                "check": c.check,
                "status": c.status,
                "detail": c.detail,
            })).collect::<Vec<_>>(),
        }),
    );
    if report.failed() {
        for c in report.checks.iter().filter(|c| c.status == "failed") {
            eprintln!("error: {} failed for {}: {}", c.check, c.file, c.detail);
        }
        return Ok(ExitCode::from(crate::EXIT_CHECK_FAILED));
    }
    if report.errors() {
        for c in report.checks.iter().filter(|c| c.status == "error") {
            eprintln!("error: {}: {}", c.file, c.detail);
        }
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
