//! The lockfile (`recipes/images/NAME.lock`): every package pinned, so builds never re-resolve.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::toml_error::{self, DefinitionError};
use super::{Image, RecipeSet};

/// The lockfile format version this tool writes and reads.
pub const LOCK_VERSION: u32 = 1;

/// A lockfile as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Lockfile {
    pub version: u32,
    pub image: String,
    /// Digest of everything that decides the package set (requests, sources); a mismatch
    /// means the definitions changed after the lock was made.
    pub inputs: String,
    /// Default SOURCE_DATE_EPOCH for builds from this lock: the newest release date of the
    /// resolved suites, so a rebuild of the same lock gets the same timestamps.
    pub source_date_epoch: i64,
    #[serde(default, rename = "package")]
    pub packages: Vec<LockedPackage>,
}

/// One pinned package.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LockedPackage {
    pub name: String,
    pub version: String,
    pub architecture: String,
    /// The `[source.NAME]` it comes from.
    pub source: String,
    pub suite: String,
    /// Path inside the repository (`pool/main/...`), joined to the mirror at fetch time.
    pub path: String,
    pub size: u64,
    pub sha256: String,
    /// The recipe that pulled it in.
    pub recipe: String,
}

/// Whether `s` is a sha256 as lockfiles and the cache spell it: 64 lower-case hex digits.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl LockedPackage {
    /// The file name the package has in a `--packages DIR` or the archive.
    pub fn file_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

/// Why a lockfile cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{0}")]
    Definition(#[from] DefinitionError),
    #[error("there is no lockfile {path}: run `eflow-image lock {image}` first")]
    Missing { path: PathBuf, image: PathBuf },
    #[error(
        "the lockfile {path} is older than its image definition or recipes (their package \
         requests changed): run `eflow-image lock --update {image}`"
    )]
    Stale { path: PathBuf, image: PathBuf },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Digest of the inputs that decide the package set.
pub fn inputs_digest(image: &Image, recipes: &RecipeSet) -> String {
    let mut h = Sha256::new();
    let mut line = |s: String| {
        h.update(s.as_bytes());
        h.update(b"\n");
    };
    line(format!("lock-version {LOCK_VERSION}"));
    for (name, s) in &image.def.source {
        line(format!(
            "source {name} suites={} components={} arch={}",
            s.suites.join(","),
            s.components.join(","),
            s.architecture
        ));
    }
    for r in &recipes.recipes {
        let src = r.source();
        for p in &r.def.recipe.packages {
            line(format!("package {} {src} {p}", r.name()));
        }
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

impl Lockfile {
    /// Reads the image's lockfile and checks it still matches the definitions.
    pub fn load_for(image: &Image, recipes: &RecipeSet) -> Result<Lockfile, LockError> {
        let path = image.lock_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(LockError::Missing {
                    path,
                    image: image.path.clone(),
                })
            }
            Err(e) => return Err(DefinitionError::whole(&path, format!("cannot read: {e}")).into()),
        };
        let lock = Self::parse(&path, &text)?;
        if lock.inputs != inputs_digest(image, recipes) {
            return Err(LockError::Stale {
                path,
                image: image.path.clone(),
            });
        }
        Ok(lock)
    }

    /// Parses lockfile text.
    pub fn parse(path: &Path, text: &str) -> Result<Lockfile, DefinitionError> {
        let lock: Lockfile = toml_error::parse(path, text)?;
        if lock.version != LOCK_VERSION {
            return Err(DefinitionError::at(
                path,
                text,
                toml_error::find_key(text, "version", None),
                format!(
                    "key `version`: lockfile version {} is not supported (this tool reads {LOCK_VERSION})",
                    lock.version
                ),
            ));
        }
        // Digests name cache files: anything but 64 lower-case hex digits could reach
        // outside the cache (`../`), so it is refused before any use.
        if let Some((i, p)) = lock
            .packages
            .iter()
            .enumerate()
            .find(|(_, p)| !is_sha256_hex(&p.sha256))
        {
            return Err(DefinitionError::at(
                path,
                text,
                toml_error::find_in_array(text, "package", i, "sha256"),
                format!(
                    "key `sha256` of package {}: {:?} is not a sha256 (64 lower-case hex digits)",
                    p.name, p.sha256
                ),
            ));
        }
        Ok(lock)
    }

    /// The canonical text: packages sorted, one key per line, stable across runs.
    pub fn to_text(&self) -> String {
        let mut sorted = self.clone();
        sorted.packages.sort();
        let body = toml::to_string(&sorted).expect("a lockfile always serializes");
        format!(
            "# Written by `eflow-image lock`; refresh with `eflow-image lock --update`.\n\
             # Every package the image installs, pinned by version and sha256.\n{body}"
        )
    }

    /// Writes the lockfile atomically (temporary name, then rename).
    pub fn write(&self, path: &Path) -> Result<(), LockError> {
        eflow_outfile::write(path, self.to_text().as_bytes(), 0o644)
            .map(drop)
            .map_err(|source| LockError::Write {
                path: path.to_path_buf(),
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_and_sorts() {
        let p = |n: &str| LockedPackage {
            name: n.into(),
            version: "1.0-1".into(),
            architecture: "amd64".into(),
            source: "debian".into(),
            suite: "bookworm".into(),
            path: format!("pool/main/{n}_1.0-1_amd64.deb"),
            size: 10,
            sha256: "00".repeat(32),
            recipe: "base".into(),
        };
        let lock = Lockfile {
            version: 1,
            image: "x".into(),
            inputs: "sha256:ab".into(),
            source_date_epoch: 1,
            packages: vec![p("zlib"), p("bash")],
        };
        let text = lock.to_text();
        assert!(text.find("bash").unwrap() < text.find("zlib").unwrap());
        let back = Lockfile::parse(Path::new("x.lock"), &text).unwrap();
        assert_eq!(back.packages[0].name, "bash");
        assert_eq!(back.to_text(), text);
    }
}
