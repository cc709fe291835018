//! The fetch stage: packages into the content-addressed cache, each verified against its sha256.

pub mod cache;
pub mod http;
pub mod sources;

use std::path::{Path, PathBuf};

pub use cache::Cache;
pub use http::Fetcher;

use crate::stages::plan::lockfile::LockedPackage;
use crate::stages::plan::Plan;
use sources::{Mirrors, SourcesError};

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

/// Why the fetch stage failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchStageError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Sources(#[from] SourcesError),
}

/// Fetches every locked package into the cache (or takes it from there) and returns the
/// verified files in lockfile order.
pub fn run(
    plan: &Plan,
    fetcher: &Fetcher,
    mirror: Option<&str>,
    log: &dyn Fn(&str),
) -> Result<Vec<(LockedPackage, PathBuf)>, FetchStageError> {
    let mut mirrors: Option<Mirrors> = None;
    let mut out = Vec::with_capacity(plan.lock.packages.len());
    let mut downloaded = 0usize;
    for p in &plan.lock.packages {
        let what = format!("{} {}", p.name, p.version);
        if let Some(path) = fetcher.cache().lookup(&p.sha256, Some(p.size)) {
            out.push((p.clone(), path));
            continue;
        }
        if mirrors.is_none() && !fetcher.is_offline() {
            mirrors = Some(Mirrors::for_image(&plan.image, mirror)?);
        }
        let url = match &mirrors {
            Some(m) => m.url(&p.source, &p.suite, &p.path)?,
            None => String::new(),
        };
        let path =
            fetcher.get_verified(&what, &url, Some(p.file_name()), Some(p.size), &p.sha256)?;
        downloaded += 1;
        out.push((p.clone(), path));
    }
    log(&format!(
        "fetch: {} packages ({} downloaded, {} from the cache)",
        out.len(),
        downloaded,
        out.len() - downloaded
    ));
    Ok(out)
}
