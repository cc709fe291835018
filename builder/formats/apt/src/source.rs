//! Loading the package index of the configured suites from their mirrors: signed `InRelease`,
//! then each component's `Packages.xz`, checked against the signed digests.

use crate::fetch::{sha256_hex, Fetch, FetchError};
use crate::index::{Index, IndexError};
use crate::release::{self, Release, ReleaseError};
use crate::signature::{self, SignatureError};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

/// The Debian archive keyring shipped by the `debian-archive-keyring` package.
pub const DEFAULT_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// What to load.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// Suites in priority order (equal versions resolve to the earlier suite).
    pub suites: Vec<String>,
    /// Components (`main`, ...).
    pub components: Vec<String>,
    /// Debian architecture (`amd64`); its `all` packages come with it.
    pub arch: String,
    /// OpenPGP keyring (binary, as gpgv wants) the InRelease files must be signed with.
    pub keyring: PathBuf,
    /// Suite -> mirror base URI (from [`crate::mirrors::mirrors`]).
    pub mirrors: BTreeMap<String, String>,
}

/// Why the index could not be loaded; each names the suite or file concerned.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// No mirror configured for a suite.
    #[error("suite {0:?} has no mirror configured")]
    NoMirror(String),
    /// A download failed.
    #[error("suite {suite:?}: {source}")]
    Fetch {
        /// The suite.
        suite: String,
        /// Why.
        source: FetchError,
    },
    /// The InRelease signature is not acceptable.
    #[error("{url}: {source}")]
    Signature {
        /// The InRelease URL.
        url: String,
        /// Why.
        source: SignatureError,
    },
    /// The signed Release text is malformed.
    #[error("{url}: {source}")]
    Release {
        /// The InRelease URL.
        url: String,
        /// Why.
        source: ReleaseError,
    },
    /// The Release is for another suite than the one asked for (a replay or a mirror mix-up).
    #[error("{url}: signed for suite {suite:?} / codename {codename:?}, but suite {wanted:?} was asked for")]
    WrongSuite {
        /// The InRelease URL.
        url: String,
        /// `Suite` field.
        suite: String,
        /// `Codename` field.
        codename: String,
        /// The suite configured.
        wanted: String,
    },
    /// The Release doesn't list the Packages index needed.
    #[error("{url}: the signed Release lists no {path} (is component/architecture right?)")]
    MissingIndex {
        /// The InRelease URL.
        url: String,
        /// The index path.
        path: String,
    },
    /// A downloaded index differs from its signed size or digest.
    #[error("{file}: expected {expected_size} bytes with sha256 {expected_sha256} (signed Release), got {actual_size} bytes with sha256 {actual_sha256}")]
    Checksum {
        /// The file URL.
        file: String,
        /// Size from the Release.
        expected_size: u64,
        /// Size received.
        actual_size: u64,
        /// Digest from the Release.
        expected_sha256: String,
        /// Digest received.
        actual_sha256: String,
    },
    /// xz decompression failed.
    #[error("{file}: cannot decompress: {message}")]
    Decompress {
        /// The file URL.
        file: String,
        /// Why.
        message: String,
    },
    /// The Packages file doesn't parse.
    #[error(transparent)]
    Index(#[from] IndexError),
}

/// What was read of one suite's Release.
#[derive(Debug, Clone)]
pub struct SuiteInfo {
    /// The suite.
    pub suite: String,
    /// Its mirror base URI.
    pub base_uri: String,
    /// The signed Release fields.
    pub release: Release,
}

/// The loaded index and what the caller should know about it.
#[derive(Debug)]
pub struct Loaded {
    /// All packages of all suites.
    pub index: Index,
    /// One per suite, in configuration order.
    pub suites: Vec<SuiteInfo>,
    /// Non-fatal findings (e.g. an expired Valid-Until on a snapshot mirror).
    pub warnings: Vec<String>,
}

/// Loads and verifies the index of every configured suite and component.
///
/// `now_unix` is the current time for the `Valid-Until` check (None skips it); it only ever
/// produces warnings, because snapshot mirrors serve expired Release files on purpose.
pub fn load_index(
    fetch: &dyn Fetch,
    cfg: &SourceConfig,
    now_unix: Option<i64>,
) -> Result<Loaded, SourceError> {
    let mut index = Index::new(&cfg.arch);
    let (suites, warnings) = load_index_into(fetch, cfg, now_unix, &mut index, "")?;
    Ok(Loaded {
        index,
        suites,
        warnings,
    })
}

/// Like [`load_index`], but adds the packages to an existing index, their suite named
/// `label` + suite (say `microsoft/bookworm`). Several sources loaded into one index resolve
/// together: a package of one source may depend on packages of another. Returns the suites
/// read and the warnings.
pub fn load_index_into(
    fetch: &dyn Fetch,
    cfg: &SourceConfig,
    now_unix: Option<i64>,
    index: &mut Index,
    label: &str,
) -> Result<(Vec<SuiteInfo>, Vec<String>), SourceError> {
    let mut suites = Vec::new();
    let mut warnings = Vec::new();
    for suite in &cfg.suites {
        let base = cfg
            .mirrors
            .get(suite)
            .ok_or_else(|| SourceError::NoMirror(suite.clone()))?
            .trim_end_matches('/')
            .to_string();
        let dist = format!("{base}/dists/{suite}");
        let url = format!("{dist}/InRelease");
        let signed = fetch.get(&url).map_err(|source| SourceError::Fetch {
            suite: suite.clone(),
            source,
        })?;
        let text = signature::verify_cleartext(&signed, &cfg.keyring).map_err(|source| {
            SourceError::Signature {
                url: url.clone(),
                source,
            }
        })?;
        let text = String::from_utf8(text).map_err(|_| SourceError::Release {
            url: url.clone(),
            source: ReleaseError::Stanzas(0),
        })?;
        let rel = Release::parse(&text).map_err(|source| SourceError::Release {
            url: url.clone(),
            source,
        })?;
        if rel.suite != *suite && rel.codename != *suite {
            return Err(SourceError::WrongSuite {
                url,
                suite: rel.suite,
                codename: rel.codename,
                wanted: suite.clone(),
            });
        }
        if let Some(vu) = &rel.valid_until {
            match (release::parse_date(vu), now_unix) {
                (Some(t), Some(now)) if t < now => warnings.push(format!(
                    "{url}: Valid-Until {vu} has passed (normal for a snapshot mirror; a live mirror serving it may be stale or replayed)"
                )),
                (None, _) => warnings.push(format!("{url}: cannot parse Valid-Until {vu:?}")),
                _ => {}
            }
        }
        for component in &cfg.components {
            let path = format!("{component}/binary-{}/Packages.xz", cfg.arch);
            let entry = rel
                .file(&path)
                .ok_or_else(|| SourceError::MissingIndex {
                    url: url.clone(),
                    path: path.clone(),
                })?
                .clone();
            // By-hash paths never change under a reader while the mirror updates.
            let file_url = if rel.acquire_by_hash {
                let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
                format!("{dist}/{dir}/by-hash/SHA256/{}", entry.sha256)
            } else {
                format!("{dist}/{path}")
            };
            let data = fetch
                .get_verified(&file_url, entry.size, &entry.sha256)
                .map_err(|source| match source {
                    FetchError::Mismatch {
                        url,
                        expected_size,
                        actual_size,
                        expected_sha256,
                        actual_sha256,
                    } => SourceError::Checksum {
                        file: url,
                        expected_size,
                        actual_size,
                        expected_sha256,
                        actual_sha256,
                    },
                    source => SourceError::Fetch {
                        suite: suite.clone(),
                        source,
                    },
                })?;
            // Checked here too: the Fetch implementation is not trusted with the security of
            // the chain signed Release -> index.
            let actual = sha256_hex(&data);
            if data.len() as u64 != entry.size || actual != entry.sha256 {
                return Err(SourceError::Checksum {
                    file: file_url,
                    expected_size: entry.size,
                    actual_size: data.len() as u64,
                    expected_sha256: entry.sha256,
                    actual_sha256: actual,
                });
            }
            // The uncompressed index, when the Release lists it, is checked against its signed
            // size and digest; either way it may not inflate past MAX_PACKAGES_INDEX (a small
            // signed file must not take gigabytes of memory).
            let plain_entry = rel
                .file(&format!("{component}/binary-{}/Packages", cfg.arch))
                .cloned();
            let limit = plain_entry
                .as_ref()
                .map_or(MAX_PACKAGES_INDEX, |e| e.size.min(MAX_PACKAGES_INDEX));
            let plain = inflate_index(&data, limit).map_err(|message| SourceError::Decompress {
                file: file_url.clone(),
                message,
            })?;
            if let Some(e) = &plain_entry {
                let actual = sha256_hex(plain.as_bytes());
                if plain.len() as u64 != e.size || actual != e.sha256 {
                    return Err(SourceError::Checksum {
                        file: format!("{file_url} (decompressed)"),
                        expected_size: e.size,
                        actual_size: plain.len() as u64,
                        expected_sha256: e.sha256.clone(),
                        actual_sha256: actual,
                    });
                }
            }
            index.add_packages(
                &format!("{label}{suite}"),
                component,
                &format!("{dist}/{path}"),
                &plain,
            )?;
        }
        suites.push(SuiteInfo {
            suite: suite.clone(),
            base_uri: base,
            release: rel,
        });
    }
    Ok((suites, warnings))
}

/// The most a Packages index may inflate to: Debian 12's main/binary-amd64 index is 46 MiB.
pub const MAX_PACKAGES_INDEX: u64 = 256 << 20;

/// The memory the xz decoder may use for an index (its dictionary, declared by the stream).
const MAX_INDEX_DECODER_MEMORY: u64 = 256 << 20;

/// Decompresses a Packages.xz of at most `limit` bytes as text.
fn inflate_index(data: &[u8], limit: u64) -> Result<String, String> {
    let stream = xz2::stream::Stream::new_stream_decoder(
        MAX_INDEX_DECODER_MEMORY,
        xz2::stream::CONCATENATED,
    )
    .map_err(|e| e.to_string())?;
    let mut plain = Vec::new();
    xz2::read::XzDecoder::new_stream(data, stream)
        .take(limit + 1)
        .read_to_end(&mut plain)
        .map_err(|e| e.to_string())?;
    if plain.len() as u64 > limit {
        return Err(format!(
            "inflates past {limit} bytes (the most this index may hold); refusing it"
        ));
    }
    String::from_utf8(plain).map_err(|_| "the index is not UTF-8 text".to_string())
}
