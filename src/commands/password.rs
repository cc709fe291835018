//! Secret key passwords: from `EFLOW_SIGNING_PASSWORD` (pipelines) or typed on the terminal
//! without echo (people). Never from a command-line argument, which other users can see.

use std::io::IsTerminal;

use anyhow::{bail, Context};
use zeroize::Zeroizing;

/// The environment variable holding the secret key's password.
pub const PASSWORD_ENV: &str = "EFLOW_SIGNING_PASSWORD";

/// The password from the environment, else asked on the terminal (twice when `confirm`, for a
/// new key). Without either, an error that says how to give one.
pub fn password(prompt: &str, confirm: bool) -> anyhow::Result<Zeroizing<String>> {
    if let Some(value) = std::env::var_os(PASSWORD_ENV) {
        let value = value
            .into_string()
            .map_err(|_| anyhow::anyhow!("{PASSWORD_ENV} is not valid UTF-8"))?;
        if value.is_empty() {
            bail!("{PASSWORD_ENV} is set but empty: set it to the key's password");
        }
        return Ok(Zeroizing::new(value));
    }
    // rpassword reads the terminal device; requiring stdin to be a terminal too means a
    // pipeline without the variable fails at once instead of waiting on a terminal nobody
    // watches.
    if !std::io::stdin().is_terminal() {
        bail!(
            "a password is needed and there is no terminal to ask it on: set {PASSWORD_ENV} \
             (or, for keygen, pass --unencrypted)"
        );
    }
    let first = Zeroizing::new(
        rpassword::prompt_password(prompt).context("cannot read the password from the terminal")?,
    );
    if first.is_empty() {
        bail!(
            "empty password refused (for a key without a password, pass --unencrypted to keygen)"
        );
    }
    if confirm {
        let second = Zeroizing::new(
            rpassword::prompt_password("Password (again): ")
                .context("cannot read the password from the terminal")?,
        );
        if *first != *second {
            bail!("the two passwords differ; nothing was written");
        }
    }
    Ok(first)
}
