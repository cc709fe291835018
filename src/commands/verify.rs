//! `eflow-image verify FILE --pubkey KEY` and `eflow-image verify --manifest NAME.manifest.json
//! --pubkey KEY`: checks minisign signatures, and for a build manifest every output it lists
//! (signature, size and SHA-256), naming each failed check and its file.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use eflow_builder::commands::verify::{verify_file, verify_manifest, Status};
use eflow_signing::PublicKey;

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

/// Runs `verify`; the exit status says whether every check passed.
pub fn run(a: VerifyArgs, out: &Output) -> anyhow::Result<ExitCode> {
    let pk = public_key(&a.pubkey)?;
    let report = match (&a.manifest, &a.file) {
        (Some(m), _) => verify_manifest(&pk, m)?,
        (None, Some(f))
            if a.signature.is_none()
                && f.file_name()
                    .is_some_and(|n| n.to_string_lossy().ends_with(".manifest.json")) =>
        {
            verify_manifest(&pk, f)?
        }
        (None, Some(f)) => verify_file(&pk, f, a.signature.as_deref()),
        (None, None) => bail!("give a FILE or --manifest NAME.manifest.json"),
    };
    let mut human = String::new();
    for c in &report.checks {
        let tag = match c.status {
            Status::Ok => "OK    ",
            Status::Failed => "FAILED",
            Status::Error => "ERROR ",
        };
        human.push_str(&format!(
            "{tag} {}: {}: {}\n",
            c.file,
            check_name(c),
            c.detail
        ));
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
            "ok": report.ok(),
            "checks": report.checks,
        }),
    );
    if report.failed() {
        for c in report.checks.iter().filter(|c| c.status == Status::Failed) {
            eprintln!(
                "error: {} failed for {}: {}",
                check_name(c),
                c.file,
                c.detail
            );
        }
        return Ok(ExitCode::from(crate::EXIT_CHECK_FAILED));
    }
    if report.errors() {
        for c in report.checks.iter().filter(|c| c.status == Status::Error) {
            eprintln!("error: {}: {}", c.file, c.detail);
        }
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// The check's name as JSON spells it (`signature`, `sha256`, ...).
fn check_name(c: &eflow_builder::commands::verify::Check) -> String {
    serde_json::to_value(c.check)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
