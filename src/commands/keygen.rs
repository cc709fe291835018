//! `eflow-image keygen --secret-key PATH --public-key PATH [--unencrypted]`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use eflow_signing::KdfLimits;

use super::password::password;
use crate::output::Output;

/// Arguments of `keygen`.
#[derive(Args)]
pub struct KeygenArgs {
    /// Where to write the secret key (created with mode 0600; never overwritten).
    #[arg(long, value_name = "PATH")]
    secret_key: PathBuf,
    /// Where to write the public key (never overwritten).
    #[arg(long, value_name = "PATH")]
    public_key: PathBuf,
    /// Store the secret key without a password (for keys kept in a secret store).
    #[arg(long)]
    unencrypted: bool,
    /// Cost of the password key derivation: `minisign` (minisign's default, 1 GiB of memory
    /// to unlock) or `interactive` (16 MiB, for constrained signers).
    #[arg(long, value_enum, default_value_t = KdfCost::Minisign, value_name = "COST")]
    kdf_cost: KdfCost,
}

/// How expensive unlocking the secret key is.
#[derive(Clone, Copy, ValueEnum)]
enum KdfCost {
    Minisign,
    Interactive,
}

/// Runs `keygen`.
pub fn run(a: KeygenArgs, out: &Output) -> anyhow::Result<ExitCode> {
    // Check both paths before asking for a password or spending time on the KDF.
    for path in [&a.secret_key, &a.public_key] {
        if std::fs::symlink_metadata(path).is_ok() {
            anyhow::bail!(
                "{} already exists: refusing to overwrite a key file; move it away or choose another path",
                path.display()
            );
        }
    }
    let pass = if a.unencrypted {
        None
    } else {
        Some(password("Password for the new secret key: ", true)?)
    };
    let limits = match a.kdf_cost {
        KdfCost::Minisign => KdfLimits::MINISIGN_DEFAULT,
        KdfCost::Interactive => KdfLimits::INTERACTIVE,
    };
    let (sk, pk) = eflow_signing::generate_with(pass.as_ref().map(|p| p.as_str()), limits)
        .context("cannot generate a key pair")?;
    eflow_signing::write_secret_key_file(&a.secret_key, &sk)?;
    if let Err(e) = eflow_signing::write_public_key_file(&a.public_key, &pk) {
        return Err(anyhow::Error::new(e).context(format!(
            "the secret key was written to {}, but not its public key; derive nothing from it, \
             delete it and run keygen again",
            a.secret_key.display()
        )));
    }
    let human = format!(
        "secret key: {} ({})\npublic key: {}\n{}\n\nVerify with: minisign -Vm FILE -P {}",
        a.secret_key.display(),
        if sk.is_encrypted() {
            "password-protected"
        } else {
            "NOT password-protected"
        },
        a.public_key.display(),
        pk.to_base64(),
        pk.to_base64()
    );
    out.result(
        &human,
        serde_json::json!({
            "key_id": pk.key_id().to_string(),
            "public_key": pk.to_base64(),
            "public_key_file": a.public_key,
            "secret_key_file": a.secret_key,
            "encrypted": sk.is_encrypted(),
        }),
    );
    Ok(ExitCode::SUCCESS)
}
