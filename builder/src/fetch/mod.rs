//! The fetch stage: packages into the content-addressed cache, each verified against its sha256.

pub mod cache;
pub mod http;

use std::path::{Path, PathBuf};

pub use cache::Cache;
pub use http::Fetcher;

/// Why something could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("checksum mismatch for {what}: expected sha256 {expected}, got {actual}; the download was discarded")]
    Checksum {
        what: String,
        expected: String,
        actual: String,
    },
    #[error("size mismatch for {what}: expected {expected} bytes, got {actual}; the download was discarded")]
    SizeMismatch {
        what: String,
        expected: u64,
        actual: u64,
    },
    #[error("{what} is no longer on the mirror ({url} answered 404): the mirror has dropped this version; run `eflow-image lock --update IMAGE` to pin the current one")]
    Gone { what: String, url: String },
    #[error("cannot download {what} from {url}: {message}")]
    Http {
        what: String,
        url: String,
        message: String,
    },
    #[error("download of {what} broke off: {message}")]
    Transfer { what: String, message: String },
    #[error("{what} is not in the cache and --offline forbids downloading it")]
    Offline { what: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl FetchError {
    fn io(path: &Path, source: std::io::Error) -> FetchError {
        FetchError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
