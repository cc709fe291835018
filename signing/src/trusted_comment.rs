//! The trusted comment this tool signs: `timestamp:<SOURCE_DATE_EPOCH> file:<name> sha256:<hex>`.
//! minisign signs the comment with the file's signature, so the name and digest it carries
//! are authenticated; the timestamp is the build's SOURCE_DATE_EPOCH, never the clock.

use std::fmt;
use std::path::Path;

use crate::error::SignError;
use eflow_outfile::Hasher;

/// The verified trusted comment of a signature, as minisign prints it after "Trusted comment:".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedComment(pub String);

impl TrustedComment {
    /// The comment text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its fields, when it is in this tool's format.
    pub fn fields(&self) -> Option<TrustedFields> {
        TrustedFields::parse(&self.0)
    }
}

impl fmt::Display for TrustedComment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The fields of this tool's trusted comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedFields {
    /// SOURCE_DATE_EPOCH of the build that signed.
    pub timestamp: u64,
    /// Base name of the signed file.
    pub file: String,
    /// SHA-256 of the signed file, lower-case hex.
    pub sha256: String,
}

impl TrustedFields {
    /// The comment text.
    pub fn to_comment(&self) -> String {
        format!(
            "timestamp:{} file:{} sha256:{}",
            self.timestamp, self.file, self.sha256
        )
    }

    /// Parses `timestamp:N file:NAME sha256:HEX` (NAME may contain spaces; the digest is
    /// found from the end).
    pub fn parse(comment: &str) -> Option<TrustedFields> {
        let rest = comment.strip_prefix("timestamp:")?;
        let (timestamp, rest) = rest.split_once(' ')?;
        if timestamp.is_empty() || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let timestamp = timestamp.parse().ok()?;
        let rest = rest.strip_prefix("file:")?;
        let (file, sha256) = rest.rsplit_once(" sha256:")?;
        if file.is_empty()
            || sha256.len() != 64
            || !sha256
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return None;
        }
        Some(TrustedFields {
            timestamp,
            file: file.to_string(),
            sha256: sha256.to_string(),
        })
    }
}

/// The base name of `path` if it can be put in a trusted comment.
pub(crate) fn comment_file_name(path: &Path) -> Result<String, SignError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bad = |detail| SignError::FileName {
        name: name.clone(),
        detail,
    };
    if name.is_empty() {
        return Err(bad("the path has no file name"));
    }
    if path.file_name().and_then(|n| n.to_str()).is_none() {
        return Err(bad("it is not valid UTF-8"));
    }
    if name.chars().any(char::is_control) {
        return Err(bad("it contains control characters"));
    }
    Ok(name)
}

/// The trusted comment for a file: its base name and SHA-256 (streamed), and the build's
/// SOURCE_DATE_EPOCH given by the caller.
pub fn trusted_comment_for(path: &Path, source_date_epoch: u64) -> Result<String, SignError> {
    let file = comment_file_name(path)?;
    let digests = Hasher::digest_file(path).map_err(|source| SignError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(TrustedFields {
        timestamp: source_date_epoch,
        file,
        sha256: digests.sha256_hex(),
    }
    .to_comment())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trip_and_rejects() {
        let f = TrustedFields {
            timestamp: 1_700_000_000,
            file: "eflow 1.0.vhdx".to_string(),
            sha256: "ab".repeat(32),
        };
        assert_eq!(TrustedFields::parse(&f.to_comment()), Some(f.clone()));
        for bad in [
            "",
            "timestamp:",
            "timestamp:x file:a sha256:00",
            "timestamp:1 file: sha256:".to_string().as_str(),
            "timestamp:1\tfile:a\thashed",
            &format!("timestamp:1 file:a sha256:{}", "AB".repeat(32)),
            &format!("timestamp:-1 file:a sha256:{}", "ab".repeat(32)),
            &format!(
                "timestamp:99999999999999999999999 file:a sha256:{}",
                "ab".repeat(32)
            ),
        ] {
            assert_eq!(TrustedFields::parse(bad), None, "{bad:?}");
        }
    }
}
