//! OpenPGP cleartext-signed files (`InRelease`), verified with `gpgv`.
//!
//! Only the text `gpgv` itself reports as signed (its `--output`) is returned, so nothing
//! outside the signed part can be trusted by mistake. Before calling `gpgv` the armor structure
//! is checked strictly: the file must be exactly one signed message and one signature, with
//! nothing but whitespace before or after (as apt requires), so that no unsigned text can ride
//! along with a valid signature.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// Why a signed file is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The armor structure is wrong.
    #[error("not a single OpenPGP cleartext-signed message: {0}")]
    Structure(String),
    /// The keyring file doesn't exist or can't be read.
    #[error("keyring {path}: {message}")]
    Keyring {
        /// The keyring path.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// `gpgv` could not be run.
    #[error("cannot run gpgv ({0}): install it (Debian package gpgv) or put it on PATH")]
    Gpgv(String),
    /// `gpgv` ran and did not accept the signature.
    #[error("signature not valid against keyring {keyring}: {detail}")]
    Invalid {
        /// The keyring used.
        keyring: String,
        /// gpgv's status lines and messages, condensed.
        detail: String,
    },
}

const BEGIN_MSG: &str = "-----BEGIN PGP SIGNED MESSAGE-----";
const BEGIN_SIG: &str = "-----BEGIN PGP SIGNATURE-----";
const END_SIG: &str = "-----END PGP SIGNATURE-----";

/// Checks that `data` is exactly one cleartext-signed message (armor lines in order, only
/// `Hash:` armor headers, nothing outside).
pub fn check_structure(data: &[u8]) -> Result<(), SignatureError> {
    let bad = |m: &str| SignatureError::Structure(m.to_string());
    let text = std::str::from_utf8(data).map_err(|_| bad("not UTF-8 text"))?;
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.trim_end_matches(['\r', ' ', '\t']))
        .collect();
    let mut i = 0;
    while i < lines.len() && lines[i].is_empty() {
        i += 1;
    }
    if lines.get(i) != Some(&BEGIN_MSG) {
        return Err(bad("does not start with the BEGIN PGP SIGNED MESSAGE line"));
    }
    i += 1;
    // Armor headers up to the first empty line: only Hash: is allowed.
    while i < lines.len() && !lines[i].is_empty() {
        if !lines[i].starts_with("Hash: ") {
            return Err(bad(&format!(
                "unexpected armor header line {:?}",
                lines[i].chars().take(60).collect::<String>()
            )));
        }
        i += 1;
    }
    if i >= lines.len() {
        return Err(bad("no empty line after the armor headers"));
    }
    let body_start = i + 1;
    let count = |marker: &str| lines.iter().filter(|l| l.starts_with(marker)).count();
    if count("-----BEGIN PGP SIGNED MESSAGE") != 1 {
        return Err(bad("more than one signed message"));
    }
    if count("-----BEGIN PGP SIGNATURE") != 1 || count("-----END PGP SIGNATURE") != 1 {
        return Err(bad("expected exactly one signature block"));
    }
    let sig = lines
        .iter()
        .position(|l| *l == BEGIN_SIG)
        .ok_or_else(|| bad("no BEGIN PGP SIGNATURE line"))?;
    let end = lines
        .iter()
        .position(|l| *l == END_SIG)
        .ok_or_else(|| bad("no END PGP SIGNATURE line"))?;
    if sig < body_start || end < sig {
        return Err(bad("armor lines out of order"));
    }
    if lines[end + 1..].iter().any(|l| !l.is_empty()) {
        return Err(bad("text after the END PGP SIGNATURE line"));
    }
    // Any other armor-looking line inside the body would be dash-escaped by a real signer.
    if lines[body_start..sig]
        .iter()
        .any(|l| l.starts_with("-----"))
    {
        return Err(bad("unescaped armor line inside the signed text"));
    }
    Ok(())
}

/// Verifies cleartext-signed `data` with `gpgv` against `keyring` and returns the signed text.
///
/// Accepted when gpgv reports at least one good signature (`GOODSIG` and `VALIDSIG`) made with
/// a SHA-2 digest, and no bad one; signatures by keys missing from the keyring are ignored, as
/// apt does (Debian signs with several keys).
pub fn verify_cleartext(data: &[u8], keyring: &Path) -> Result<Vec<u8>, SignatureError> {
    check_structure(data)?;
    // gpgv looks a keyring named without a slash up in its home directory: always name the
    // file meant, by its absolute path.
    let absolute = std::path::absolute(keyring).unwrap_or_else(|_| keyring.to_path_buf());
    let keyring = absolute.as_path();
    let kr = keyring.display().to_string();
    match std::fs::metadata(keyring) {
        Ok(m) if m.is_file() => {}
        Ok(_) => {
            return Err(SignatureError::Keyring {
                path: kr,
                message: "not a file".into(),
            })
        }
        Err(e) => {
            return Err(SignatureError::Keyring {
                path: kr,
                message: format!(
                "{e} (pass the archive keyring path, e.g. from the debian-archive-keyring package)"
            ),
            })
        }
    }
    let mut child = Command::new("gpgv")
        .arg("--status-fd")
        .arg("2")
        .arg("--keyring")
        .arg(keyring)
        .arg("--output")
        .arg("-")
        .arg("-")
        .env("LC_ALL", "C")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| SignatureError::Gpgv(e.to_string()))?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| SignatureError::Gpgv("no stdin pipe".into()))?;
    let input = data.to_vec();
    // Feed stdin from a thread: gpgv writes output while reading, so a single thread could
    // deadlock on full pipes.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child
        .wait_with_output()
        .map_err(|e| SignatureError::Gpgv(e.to_string()))?;
    let _ = writer.join();
    let status = String::from_utf8_lossy(&out.stderr);
    let mut good = false;
    let mut valid_sha2 = false;
    let mut bad = Vec::new();
    for line in status.lines() {
        let Some(rest) = line.strip_prefix("[GNUPG:] ") else {
            continue;
        };
        let mut words = rest.split(' ');
        match words.next() {
            Some("GOODSIG") => good = true,
            Some("VALIDSIG") => {
                // VALIDSIG fpr date ts expire version reserved pubkey-algo hash-algo ...
                let hash_algo = rest.split(' ').nth(8).unwrap_or("");
                if matches!(hash_algo, "8" | "9" | "10" | "11") {
                    valid_sha2 = true;
                } else {
                    bad.push(format!("signature uses weak digest algorithm {hash_algo}"));
                }
            }
            Some("BADSIG" | "EXPSIG" | "EXPKEYSIG" | "REVKEYSIG") => bad.push(rest.to_string()),
            _ => {}
        }
    }
    if good && valid_sha2 && bad.is_empty() {
        return Ok(out.stdout);
    }
    let mut detail: Vec<String> = bad;
    if !good {
        detail.push("no good signature".into());
    }
    let msgs: Vec<&str> = status
        .lines()
        .filter(|l| {
            l.starts_with("gpgv:") && !l.contains("Signature made") && !l.contains("using ")
        })
        .collect();
    if !msgs.is_empty() {
        detail.push(msgs.join("; "));
    }
    Err(SignatureError::Invalid {
        keyring: kr,
        detail: detail.join("; "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrap(body: &str) -> String {
        format!("{BEGIN_MSG}\nHash: SHA256\n\n{body}\n{BEGIN_SIG}\n\nabc\n{END_SIG}\n")
    }

    #[test]
    fn structure() {
        assert!(check_structure(wrap("Origin: x").as_bytes()).is_ok());
        assert!(check_structure(format!("\n{}\n\n", wrap("A: b")).as_bytes()).is_ok());
        let bad = [
            format!("junk\n{}", wrap("A: b")),
            format!("{}junk\n", wrap("A: b")),
            format!("{}{}", wrap("A: b"), wrap("C: d")),
            wrap("A: b").replace("Hash: SHA256", "Comment: hi"),
            format!("{BEGIN_MSG}\nHash: SHA256"),
            wrap("A: b\n-----BEGIN FOO-----"),
            wrap("A: b").replace(END_SIG, ""),
            "Origin: x\n".to_string(),
            String::new(),
        ];
        for b in bad {
            assert!(check_structure(b.as_bytes()).is_err(), "{b:?}");
        }
        assert!(check_structure(&[0xff, 0xfe]).is_err());
    }

    #[test]
    fn garbage_never_panics() {
        let base = wrap("Origin: x\nSuite: y");
        let b = base.as_bytes();
        for n in 0..=b.len() {
            let r = check_structure(&b[..n]);
            // Only the complete message (and cuts inside the trailing newline) passes.
            if r.is_ok() {
                assert!(n >= b.len() - 1, "accepted a truncation at {n}");
            }
        }
        for i in 0..b.len() {
            for bit in 0..8 {
                let mut m = b.to_vec();
                m[i] ^= 1 << bit;
                let _ = check_structure(&m);
            }
        }
    }
}
