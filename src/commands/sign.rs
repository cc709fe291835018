//! `eflow-image sign FILE... [--secret-key PATH]`: writes `FILE.minisig` next to each file,
//! a minisign prehashed signature whose trusted comment carries the file's name and SHA-256.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use eflow_signing::SecretKey;
use zeroize::Zeroizing;

use super::password::password;
use crate::output::Output;

/// The environment variable that may hold the secret key file's text (for CI secret stores).
pub const KEY_ENV: &str = "EFLOW_SIGNING_KEY";

/// Arguments of `sign`.
#[derive(Args)]
pub struct SignArgs {
    /// Files to sign.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// The secret key file (mode 0600). Default: the key text in $EFLOW_SIGNING_KEY.
    /// Its password comes from $EFLOW_SIGNING_PASSWORD or the terminal.
    #[arg(long, value_name = "PATH")]
    secret_key: Option<PathBuf>,
}

/// Loads the signing key from `path`, else from the text in `$EFLOW_SIGNING_KEY`; asks for
/// the password (`$EFLOW_SIGNING_PASSWORD` or the terminal) only when the key has one.
/// Shared by `sign` and `build --sign`.
pub fn load_secret_key(path: Option<&Path>) -> anyhow::Result<SecretKey> {
    match path {
        Some(path) => {
            let encrypted = eflow_signing::secret_key_file_is_encrypted(path)?;
            let pass = if encrypted {
                Some(password(
                    &format!("Password for {}: ", path.display()),
                    false,
                )?)
            } else {
                None
            };
            Ok(eflow_signing::load_secret_key_file(
                path,
                pass.as_ref().map(|p| p.as_str()),
            )?)
        }
        None => {
            let text = match std::env::var_os(KEY_ENV) {
                Some(v) => Zeroizing::new(
                    v.into_string()
                        .map_err(|_| anyhow::anyhow!("{KEY_ENV} is not valid UTF-8"))?,
                ),
                None => bail!(
                    "no signing key: pass --secret-key PATH or put the secret key file's text in {KEY_ENV}"
                ),
            };
            let encrypted = SecretKey::text_is_encrypted(&text)
                .with_context(|| format!("the key in {KEY_ENV}"))?;
            let pass = if encrypted {
                Some(password(
                    "Password for the key in EFLOW_SIGNING_KEY: ",
                    false,
                )?)
            } else {
                None
            };
            SecretKey::from_str(&text, pass.as_ref().map(|p| p.as_str()))
                .with_context(|| format!("the key in {KEY_ENV}"))
        }
    }
}

/// The timestamp of the trusted comment: $SOURCE_DATE_EPOCH, else the file's modification
/// time (a property of the file, never the clock, so re-signing gives the same bytes).
fn timestamp(path: &Path) -> anyhow::Result<u64> {
    if let Some(v) = std::env::var_os("SOURCE_DATE_EPOCH") {
        let v = v.to_string_lossy();
        return v
            .trim()
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH={v:?} is not a number of seconds"));
    }
    let modified = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .with_context(|| format!("{}", path.display()))?;
    Ok(modified
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0))
}

/// Runs `sign`.
pub fn run(a: SignArgs, out: &Output) -> anyhow::Result<ExitCode> {
    // Every file must exist before anything is signed: no half-signed set.
    for f in &a.files {
        if !f.is_file() {
            bail!("{}: not a file (nothing was signed)", f.display());
        }
    }
    let sk = load_secret_key(a.secret_key.as_deref())?;
    let mut human = String::new();
    let mut json = Vec::new();
    for f in &a.files {
        let signed = eflow_signing::sign_file_described(&sk, f, timestamp(f)?)?;
        let sig = eflow_builder::stages::sign::minisig_path(f);
        eflow_outfile::write(&sig, signed.minisig.as_bytes(), 0o644)
            .with_context(|| format!("cannot write {}", sig.display()))?;
        human.push_str(&format!(
            "{}  (signs {}, sha256 {})\n",
            sig.display(),
            f.display(),
            signed.sha256
        ));
        json.push(serde_json::json!({
            "file": f,
            "signature": sig,
            "sha256": signed.sha256,
            "size": signed.size,
            "trusted_comment": signed.trusted_comment,
        }));
    }
    human.push_str(&format!(
        "key id {}; verify with: eflow-image verify FILE --pubkey {}",
        sk.key_id(),
        sk.public_key().to_base64()
    ));
    out.result(&human, serde_json::json!({ "signed": json }));
    Ok(ExitCode::SUCCESS)
}
