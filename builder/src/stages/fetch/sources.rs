//! Package sources of an image: where each `[source.NAME]`'s suites are fetched from, and the
//! bridge between the apt crate's fetch trait and the builder's HTTP client and cache.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::stages::fetch::{FetchError, Fetcher};
use crate::stages::plan::Image;

/// Environment variable naming the Debian mirror (after `--mirror`, before the apt sources).
pub const MIRROR_ENV: &str = "EFLOW_DEBIAN_MIRROR";

/// Why a source's location is unknown.
#[derive(Debug, thiserror::Error)]
pub enum SourcesError {
    #[error("package source {source_name:?}: {error}")]
    Mirror {
        source_name: String,
        error: eflow_apt::Error,
    },
    #[error("package source {0:?} is not defined in the image ([source.{0}])")]
    Unknown(String),
    #[error("package source {source_name:?} has no suite {suite:?}")]
    NoSuite { source_name: String, suite: String },
}

/// Suite base URIs of every source of an image.
#[derive(Debug, Clone)]
pub struct Mirrors {
    by_source: BTreeMap<String, BTreeMap<String, String>>,
}

impl Mirrors {
    /// Resolves every `[source.NAME]` of the image. The `debian` source takes `cli_mirror`,
    /// then `$EFLOW_DEBIAN_MIRROR`, then the host's apt sources; other sources must name
    /// their `mirror` in the definition.
    pub fn for_image(image: &Image, cli_mirror: Option<&str>) -> Result<Mirrors, SourcesError> {
        let env = std::env::var(MIRROR_ENV).ok();
        let mut by_source = BTreeMap::new();
        for (name, src) in &image.def.source {
            let local = src.mirror.as_deref().and_then(|m| local_mirror(image, m));
            let (cli, env) = match (&src.mirror, name.as_str()) {
                _ if local.is_some() => (local.as_deref(), None),
                (Some(m), _) => (Some(m.as_str()), None),
                (None, "debian") => (cli_mirror, env.as_deref()),
                (None, _) => (None, None),
            };
            let m = eflow_apt::mirrors(cli, env, Path::new("/"), &src.suites).map_err(|error| {
                SourcesError::Mirror {
                    source_name: name.clone(),
                    error,
                }
            })?;
            by_source.insert(name.clone(), m);
        }
        Ok(Mirrors { by_source })
    }

    /// The suites of one source and their base URIs.
    pub fn suites(&self, source: &str) -> Result<&BTreeMap<String, String>, SourcesError> {
        self.by_source
            .get(source)
            .ok_or_else(|| SourcesError::Unknown(source.to_string()))
    }

    /// The URL of an archive path (`pool/...`) in a suite of a source.
    pub fn url(&self, source: &str, suite: &str, path: &str) -> Result<String, SourcesError> {
        let base = self
            .suites(source)?
            .get(suite)
            .ok_or_else(|| SourcesError::NoSuite {
                source_name: source.to_string(),
                suite: suite.to_string(),
            })?;
        Ok(format!("{}/{}", base.trim_end_matches('/'), path))
    }
}

/// A `file:PATH` mirror (no `//`) is a local repository relative to the image definition, so that
/// an image can name a repository kept next to it; it becomes an absolute `file://` URL.
fn local_mirror(image: &Image, mirror: &str) -> Option<String> {
    let rel = mirror.strip_prefix("file:")?;
    if rel.starts_with("//") {
        return None;
    }
    let base = image.path.parent().unwrap_or(Path::new("."));
    let joined = base.join(rel);
    let abs = std::path::absolute(&joined).unwrap_or(joined);
    Some(format!("file://{}", abs.display()))
}

/// The keyring a source's InRelease files are checked against.
pub fn keyring(image: &Image, source: &str) -> PathBuf {
    let given = image.def.source.get(source).and_then(|s| s.keyring.clone());
    // Always an absolute path: gpgv reads a bare file name from its home directory, which
    // would accept a repository signed by a key that is not in the named file.
    let path = match given {
        Some(k) if k.is_absolute() => k,
        Some(k) => image.path.parent().unwrap_or(Path::new(".")).join(k),
        None => PathBuf::from(eflow_apt::DEFAULT_KEYRING),
    };
    std::path::absolute(&path).unwrap_or(path)
}

/// Lets the apt crate fetch through the builder's HTTP client and cache.
pub struct AptFetch<'a>(pub &'a Fetcher);

fn to_apt(url: &str, e: FetchError) -> eflow_apt::FetchError {
    match e {
        FetchError::Gone { .. } => eflow_apt::FetchError::NotFound {
            url: url.to_string(),
        },
        other => eflow_apt::FetchError::Other {
            url: url.to_string(),
            message: other.to_string(),
        },
    }
}

impl eflow_apt::Fetch for AptFetch<'_> {
    fn get(&self, url: &str) -> Result<Vec<u8>, eflow_apt::FetchError> {
        self.0.get_fresh(url, url).map_err(|e| to_apt(url, e))
    }

    fn get_verified(
        &self,
        url: &str,
        size: u64,
        sha256: &str,
    ) -> Result<Vec<u8>, eflow_apt::FetchError> {
        let path = self
            .0
            .get_verified(url, url, None, Some(size), sha256)
            .map_err(|e| to_apt(url, e))?;
        std::fs::read(&path).map_err(|e| eflow_apt::FetchError::Other {
            url: url.to_string(),
            message: format!("{}: {e}", path.display()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyrings_are_absolute_paths_even_when_named_bare() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("x.toml"),
            "[image]\nname = \"x\"\nversion = \"1\"\nrecipes = [\"base\"]\n\n\
             [source.local]\nsuites = [\"bookworm\"]\nkeyring = \"k.gpg\"\n",
        )
        .expect("write");
        let mut image = Image::load(&dir.path().join("x.toml")).expect("a valid image");
        // As `eflow-image build x.toml` names it, from its own directory.
        image.path = PathBuf::from("x.toml");
        let k = keyring(&image, "local");
        assert!(k.is_absolute(), "{}", k.display());
        assert!(k.ends_with("k.gpg"));
    }

    #[test]
    fn file_mirrors_are_relative_to_the_image_or_absolute() {
        let dir = tempfile::tempdir().expect("tempdir");
        let images = dir.path().join("recipes/images");
        std::fs::create_dir_all(&images).expect("mkdir");
        let path = images.join("x.toml");
        std::fs::write(
            &path,
            "[image]\nname = \"x\"\nversion = \"1\"\nrecipes = [\"base\"]\n\n\
             [source.local]\nsuites = [\"bookworm\"]\nmirror = \"file:../../repo\"\n\n\
             [source.abs]\nsuites = [\"bookworm\"]\nmirror = \"file:///srv/repo\"\n",
        )
        .expect("write");
        let image = Image::load(&path).expect("a valid image");
        let m = Mirrors::for_image(&image, None).expect("mirrors");
        let want = format!(
            "file://{}",
            std::path::absolute(images.join("../../repo"))
                .expect("absolute")
                .display()
        );
        assert_eq!(m.suites("local").expect("local")["bookworm"], want);
        assert_eq!(
            m.url("abs", "bookworm", "pool/a.deb").expect("url"),
            "file:///srv/repo/pool/a.deb"
        );
    }
}
