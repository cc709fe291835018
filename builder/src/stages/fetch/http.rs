//! Downloads over HTTP(S) into the cache, with a progress bar when stderr is a terminal.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};

use super::{Cache, FetchError};

/// Gets files from mirrors, the cache, or a local package directory.
pub struct Fetcher {
    cache: Cache,
    agent: ureq::Agent,
    offline: bool,
    packages_dir: Option<PathBuf>,
    progress: bool,
}

impl Fetcher {
    /// A fetcher over `cache`. `offline` forbids the network; `packages_dir` is searched for
    /// `.deb` files by name before the cache (air-gapped pipelines); `progress` allows bars
    /// (they are drawn only when stderr is a terminal).
    pub fn new(
        cache: Cache,
        offline: bool,
        packages_dir: Option<PathBuf>,
        progress: bool,
    ) -> Fetcher {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(std::time::Duration::from_secs(30))
            .timeout_read(std::time::Duration::from_secs(120))
            .user_agent(concat!("eflow-image/", env!("CARGO_PKG_VERSION")))
            .build();
        Fetcher {
            cache,
            agent,
            offline,
            packages_dir,
            progress: progress && std::io::stderr().is_terminal(),
        }
    }

    /// Whether the network is off limits.
    pub fn is_offline(&self) -> bool {
        self.offline
    }

    /// The cache.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// Gets a URL's bytes without caching (for InRelease files, which change).
    pub fn get_fresh(&self, what: &str, url: &str) -> Result<Vec<u8>, FetchError> {
        if let Some(path) = local_path(url) {
            return read_local(what, url, path);
        }
        if self.offline {
            return Err(FetchError::Offline {
                what: what.to_string(),
            });
        }
        let resp = self.request(what, url)?;
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut resp.into_reader(), &mut out).map_err(|e| {
            FetchError::Transfer {
                what: what.to_string(),
                message: e.to_string(),
            }
        })?;
        Ok(out)
    }

    /// Gets a blob by digest: from `--packages DIR` (by `file_name`), the cache, or `url`.
    /// Whatever the origin, the bytes are verified against `sha256` and `size`.
    pub fn get_verified(
        &self,
        what: &str,
        url: &str,
        file_name: Option<&str>,
        size: Option<u64>,
        sha256: &str,
    ) -> Result<PathBuf, FetchError> {
        if let Some(p) = self.cache.lookup(sha256, size) {
            return Ok(p);
        }
        if let (Some(dir), Some(name)) = (&self.packages_dir, file_name) {
            let local = dir.join(name);
            if local.is_file() {
                return self.cache.insert_file(what, &local, sha256, size);
            }
        }
        if let Some(path) = local_path(url) {
            if !path.is_file() {
                return Err(FetchError::Gone {
                    what: what.to_string(),
                    url: url.to_string(),
                });
            }
            return self.cache.insert_file(what, path, sha256, size);
        }
        if self.offline {
            return Err(FetchError::Offline {
                what: what.to_string(),
            });
        }
        let resp = self.request(what, url)?;
        let total = size.or_else(|| resp.header("content-length").and_then(|v| v.parse().ok()));
        let bar = self.bar(what, total);
        let mut reader = resp.into_reader();
        let r = self
            .cache
            .insert(what, &mut reader, sha256, size, &mut |n| bar.inc(n));
        bar.finish_and_clear();
        r
    }

    fn request(&self, what: &str, url: &str) -> Result<ureq::Response, FetchError> {
        match self.agent.get(url).call() {
            Ok(r) => Ok(r),
            Err(ureq::Error::Status(404 | 410, _)) => Err(FetchError::Gone {
                what: what.to_string(),
                url: url.to_string(),
            }),
            Err(e) => Err(FetchError::Http {
                what: what.to_string(),
                url: url.to_string(),
                message: e.to_string(),
            }),
        }
    }

    fn bar(&self, what: &str, total: Option<u64>) -> ProgressBar {
        if !self.progress {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(total.unwrap_or(0));
        bar.set_style(
            ProgressStyle::with_template(
                "{msg:30!} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .expect("a valid template"),
        );
        bar.set_message(what.to_string());
        bar
    }
}

/// The host path of a `file://` URL: a repository on the local filesystem (a test repository, or
/// a mirror copied onto an air-gapped machine). Local reads are allowed offline.
fn local_path(url: &str) -> Option<&Path> {
    url.strip_prefix("file://").map(Path::new)
}

fn read_local(what: &str, url: &str, path: &Path) -> Result<Vec<u8>, FetchError> {
    std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => FetchError::Gone {
            what: what.to_string(),
            url: url.to_string(),
        },
        _ => FetchError::Transfer {
            what: what.to_string(),
            message: format!("{}: {e}", path.display()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    #[test]
    fn file_urls_are_read_from_the_local_filesystem() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("Packages.xz");
        std::fs::write(&file, b"local bytes").expect("write");
        let url = format!("file://{}", file.display());
        // Offline: a local repository needs no network.
        let f = Fetcher::new(Cache::new(dir.path().join("cache")), true, None, false);
        assert_eq!(f.get_fresh("x", &url).expect("read"), b"local bytes");
        let sha = hex::encode(sha2::Sha256::digest(b"local bytes"));
        let p = f
            .get_verified("x", &url, None, Some(11), &sha)
            .expect("verified");
        assert!(p.starts_with(f.cache().dir()));
        let bad = "0".repeat(64);
        let fresh = Fetcher::new(Cache::new(dir.path().join("cache2")), true, None, false);
        assert!(matches!(
            fresh.get_verified("x", &url, None, Some(11), &bad),
            Err(FetchError::Checksum { .. })
        ));
        let missing = format!("file://{}/nope", dir.path().display());
        assert!(matches!(
            f.get_fresh("x", &missing),
            Err(FetchError::Gone { .. })
        ));
        assert!(matches!(
            f.get_verified("x", &missing, None, None, &bad),
            Err(FetchError::Gone { .. })
        ));
    }
}
