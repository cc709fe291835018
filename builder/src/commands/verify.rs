//! `verify`: a signed file, or a signed build manifest and every output it lists, checked
//! against a public key. Each check on each file is a typed [`Check`]; a [`Report`] says
//! whether all passed, some failed (tampering: a different file, a wrong key) or some could
//! not be made (a file missing or unreadable).

use std::io::Read;
use std::path::{Path, PathBuf};

use eflow_signing::{Hasher, Manifest, PublicKey, TrustedComment, VerifyError};
use serde::Serialize;

use crate::stages::sign::minisig_path;

/// What was checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckKind {
    /// The file exists and can be read.
    Present,
    /// Its minisign signature (and the SHA-256 its trusted comment records).
    Signature,
    /// Its SHA-256 against the manifest.
    Sha256,
    /// Its size against the manifest.
    Size,
}

/// How a check ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Passed.
    Ok,
    /// Made and failed: the file is not what was signed.
    Failed,
    /// Could not be made (missing file, unreadable signature, a name outside the directory).
    Error,
}

/// One check on one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    pub file: String,
    pub check: CheckKind,
    pub status: Status,
    pub detail: String,
}

/// Every check made, in order.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    fn push(&mut self, file: &str, check: CheckKind, status: Status, detail: String) {
        self.checks.push(Check {
            file: file.to_string(),
            check,
            status,
            detail,
        });
    }

    /// Whether a check was made and failed.
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.status == Status::Failed)
    }

    /// Whether a check could not be made.
    pub fn errors(&self) -> bool {
        self.checks.iter().any(|c| c.status == Status::Error)
    }

    /// Whether everything was checked and passed.
    pub fn ok(&self) -> bool {
        !self.failed() && !self.errors()
    }
}

/// Why verification could not even start.
#[derive(Debug, thiserror::Error)]
pub enum VerifyCmdError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a build manifest: {source}")]
    NotAManifest {
        path: PathBuf,
        source: eflow_signing::ManifestError,
    },
}

/// Checks one file against its signature (`sig`, default `FILE.minisig`).
pub fn verify_file(pk: &PublicKey, file: &Path, sig: Option<&Path>) -> Report {
    let mut report = Report::default();
    let sig = sig.map_or_else(|| minisig_path(file), Path::to_path_buf);
    check_file(pk, file, &sig, &display_name(file), None, &mut report);
    report
}

/// Checks a build manifest's signature, then every output it lists (next to it): its
/// signature, size and SHA-256. Stops after the manifest when its signature fails: an
/// unauthenticated list of outputs proves nothing.
pub fn verify_manifest(pk: &PublicKey, manifest: &Path) -> Result<Report, VerifyCmdError> {
    let mut report = Report::default();
    let name = display_name(manifest);
    if !check_file(
        pk,
        manifest,
        &minisig_path(manifest),
        &name,
        None,
        &mut report,
    ) {
        return Ok(report);
    }
    let text = std::fs::read_to_string(manifest).map_err(|source| VerifyCmdError::Read {
        path: manifest.to_path_buf(),
        source,
    })?;
    let m = Manifest::from_json(&text).map_err(|source| VerifyCmdError::NotAManifest {
        path: manifest.to_path_buf(),
        source,
    })?;
    let dir = manifest.parent().unwrap_or(Path::new("."));
    for o in &m.outputs {
        if !plain_file_name(&o.name) {
            report.push(
                &o.name,
                CheckKind::Present,
                Status::Error,
                "the manifest names a file outside its directory; refusing to read it".into(),
            );
            continue;
        }
        let file = dir.join(&o.name);
        let sig = minisig_path(&file);
        check_file(
            pk,
            &file,
            &sig,
            &o.name,
            Some((o.size, &o.sha256)),
            &mut report,
        );
    }
    Ok(report)
}

fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Whether an output name from a manifest names a file in the manifest's directory.
fn plain_file_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

/// Checks `file` against its signature and, when the trusted comment is this tool's, the
/// SHA-256 it records; with `expected` also the size and SHA-256 a manifest records.
/// Returns whether every check passed.
fn check_file(
    pk: &PublicKey,
    file: &Path,
    sig: &Path,
    name: &str,
    expected: Option<(u64, &str)>,
    report: &mut Report,
) -> bool {
    use CheckKind::*;
    if !file.is_file() {
        let detail = format!("{}: no such file", file.display());
        report.push(name, Present, Status::Error, detail);
        return false;
    }
    let sig_text = match read_signature(sig) {
        Ok(t) => t,
        Err(e) => {
            let detail = format!("cannot read its signature {}: {e}", sig.display());
            report.push(name, Signature, Status::Error, detail);
            return false;
        }
    };
    let digests = match Hasher::digest_file(file) {
        Ok(d) => d,
        Err(e) => {
            report.push(
                name,
                Present,
                Status::Error,
                format!("{}: {e}", file.display()),
            );
            return false;
        }
    };
    let actual = digests.sha256_hex();
    let mut all_ok = true;
    match eflow_signing::verify_prehashed(pk, &digests.blake2b512, &sig_text) {
        Ok(comment) => match comment_mismatch(&comment, &actual) {
            Some(detail) => {
                report.push(name, Signature, Status::Failed, detail);
                all_ok = false;
            }
            None => {
                let detail = format!("trusted comment: {comment}");
                report.push(name, Signature, Status::Ok, detail);
            }
        },
        Err(e) => {
            report.push(name, Signature, Status::Failed, failure_text(&e, sig));
            all_ok = false;
        }
    }
    if let Some((size, sha256)) = expected {
        if actual != sha256 {
            let detail =
                format!("sha256 mismatch: the manifest records {sha256}, the file has {actual}");
            report.push(name, Sha256, Status::Failed, detail);
            all_ok = false;
        } else if digests.size != size {
            let detail = format!(
                "size mismatch: the manifest records {size} bytes, the file has {}",
                digests.size
            );
            report.push(name, Size, Status::Failed, detail);
            all_ok = false;
        } else {
            report.push(
                name,
                Sha256,
                Status::Ok,
                format!("{actual} as in the manifest"),
            );
        }
    }
    all_ok
}

/// Largest `.minisig` read: real ones are under 1 KiB, minisign's trusted comment limit 8 KiB.
const SIGNATURE_MAX: u64 = 64 * 1024;

/// Reads a `.minisig` file, bounded so a wrong path to a huge file fails cleanly.
fn read_signature(path: &Path) -> std::io::Result<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_are_read() {
        for bad in ["", ".", "..", "../x", "a/b", "a\\b", "a\0b"] {
            assert!(!plain_file_name(bad), "{bad:?}");
        }
        assert!(plain_file_name("minimal.vhdx"));
    }

    #[test]
    fn a_missing_file_is_an_error_not_a_failure() {
        let d = tempfile::tempdir().unwrap();
        let (_, pk) =
            eflow_signing::generate_with(None, eflow_signing::KdfLimits::INTERACTIVE).unwrap();
        let r = verify_file(&pk, &d.path().join("nope"), None);
        assert!(r.errors() && !r.failed() && !r.ok());
        assert_eq!(r.checks[0].check, CheckKind::Present);
    }
}
