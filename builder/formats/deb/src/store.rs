//! The content store: where the bytes of scanned packages' regular files are kept, so that a
//! package's data.tar is decompressed once (by [`crate::scan`]) and its files are then read by
//! offset, in any order.
//!
//! A persistent store (a directory, normally inside the build's package cache) keeps each
//! package's contents between builds, so a build with a warm store decompresses nothing.
//! Its entries are content-addressed by the sha256 of the package file and checked on every
//! use: the index carries its own digest and the digest of the contents, and the contents are
//! hashed in full before they are used. A truncated, corrupted or foreign entry is reported
//! nowhere but rebuilt from the package; it is never used. Entries are written under
//! temporary names and renamed into place, so two builds sharing a store at the same time
//! each see a whole entry or none; a reader keeps its open file, so a concurrent rename does
//! not change what it reads. Temporary files an interrupted build left behind are removed by
//! the next scan once they are an hour old.
//!
//! Layout: `<sha256 of the .deb>.files` (the regular files' bytes, in data.tar order) and
//! `<sha256>.index` (a header line `eflow-contents 1 <sha256 of the rest>`, then JSON: the
//! package file's size, the contents' size and sha256, and the scanned entries).

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::package::DebPackage;
use crate::unpack::{hex, scan_entries, Scanned, ScannedEntry};
use crate::Error;

/// The first word and version of an index file's header line.
const INDEX_MAGIC: &str = "eflow-contents 1";

/// Where scanned packages' file contents go: a directory kept between builds, or anonymous
/// temporary files that vanish with the process.
#[derive(Clone, Debug)]
pub struct ContentStore {
    dir: Option<PathBuf>,
}

/// What an index file records besides the entries.
#[derive(serde::Serialize, serde::Deserialize)]
struct Index {
    package_size: u64,
    contents_size: u64,
    contents_sha256: String,
    entries: Vec<ScannedEntry>,
}

impl ContentStore {
    /// A store kept in `dir` (created when needed), reused by later builds.
    pub fn persistent(dir: impl Into<PathBuf>) -> Self {
        ContentStore {
            dir: Some(dir.into()),
        }
    }

    /// Removes what interrupted builds left in the store: temporary files (`.contents-*`,
    /// `.index-*`) older than an hour, so that one running now keeps its own. Returns the
    /// number removed; errors are ignored (the next build tries again).
    pub fn clean_leftovers(&self) -> usize {
        let Some(dir) = &self.dir else { return 0 };
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        let hour = std::time::Duration::from_secs(3600);
        entries
            .flatten()
            .filter(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                (name.starts_with(".contents-") || name.starts_with(".index-"))
                    && e.metadata()
                        .ok()
                        .filter(|m| m.is_file())
                        .and_then(|m| m.modified().ok())
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|age| age > hour)
            })
            .filter(|e| std::fs::remove_file(e.path()).is_ok())
            .count()
    }

    /// A store of anonymous temporary files: nothing outlives the process.
    pub fn temporary() -> Self {
        ContentStore { dir: None }
    }

    /// Scans a package (see [`crate::scan`]), or takes a verified earlier scan of the same
    /// package file from the store. A package with a pinned sha256 is hashed and checked
    /// first.
    pub fn scan(&self, pkg: &DebPackage) -> Result<Scanned, Error> {
        let store_err = |source: io::Error| Error::Store {
            package: pkg.path.clone(),
            source,
        };
        let digest = match (pkg.pinned_sha256, &self.dir) {
            (None, None) => None,
            _ => Some(file_sha256(&pkg.path).map_err(|e| Error::io(&pkg.path, e))?),
        };
        if let (Some(pinned), Some((found, _))) = (pkg.pinned_sha256, digest) {
            if pinned != found {
                return Err(Error::Digest {
                    package: pkg.path.clone(),
                    expected: hex(&pinned),
                    found: hex(&found),
                });
            }
        }
        let (Some(dir), Some((package_sha256, package_size))) = (&self.dir, digest) else {
            let mut file = tempfile::tempfile().map_err(store_err)?;
            let entries = {
                let mut w = BufWriter::with_capacity(1 << 20, &mut file);
                let entries = scan_entries(pkg, &mut w)?;
                w.flush().map_err(store_err)?;
                entries
            };
            return Ok(Scanned {
                entries,
                contents: Arc::new(file),
                package_sha256: digest.map(|d| d.0),
            });
        };
        let key = hex(&package_sha256);
        let index_path = dir.join(format!("{key}.index"));
        let files_path = dir.join(format!("{key}.files"));
        if let Some((entries, contents)) = load(&index_path, &files_path, package_size) {
            return Ok(Scanned {
                entries,
                contents: Arc::new(contents),
                package_sha256: Some(package_sha256),
            });
        }
        std::fs::create_dir_all(dir).map_err(store_err)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".contents-")
            .tempfile_in(dir)
            .map_err(store_err)?;
        let (entries, sha, size) = {
            let mut hashing = HashingWriter {
                inner: BufWriter::with_capacity(1 << 20, tmp.as_file_mut()),
                sha: Sha256::new(),
                size: 0,
            };
            let entries = scan_entries(pkg, &mut hashing)?;
            hashing.inner.flush().map_err(store_err)?;
            (entries, hashing.sha, hashing.size)
        };
        let index = Index {
            package_size,
            contents_size: size,
            contents_sha256: hex(&sha.finalize()),
            entries,
        };
        let body = serde_json::to_vec(&index).map_err(|e| store_err(io::Error::other(e)))?;
        let mut text = format!("{INDEX_MAGIC} {}\n", hex(&Sha256::digest(&body))).into_bytes();
        text.extend_from_slice(&body);
        // The contents first, then the index that vouches for them.
        let contents = tmp.persist(&files_path).map_err(|e| store_err(e.error))?;
        let mut itmp = tempfile::Builder::new()
            .prefix(".index-")
            .tempfile_in(dir)
            .map_err(store_err)?;
        itmp.write_all(&text).map_err(store_err)?;
        itmp.persist(&index_path).map_err(|e| store_err(e.error))?;
        Ok(Scanned {
            entries: index.entries,
            contents: Arc::new(contents),
            package_sha256: Some(package_sha256),
        })
    }
}

/// An earlier scan from the store, when its index is whole and the contents match it byte
/// for byte; `None` means "scan again" (missing, truncated, corrupted or another version).
fn load(
    index_path: &Path,
    files_path: &Path,
    package_size: u64,
) -> Option<(Vec<ScannedEntry>, File)> {
    let index = parse_index(&std::fs::read(index_path).ok()?)?;
    if index.package_size != package_size {
        return None;
    }
    let mut contents = File::open(files_path).ok()?;
    let (sha, size) = reader_sha256(&mut contents).ok()?;
    if size != index.contents_size || hex(&sha) != index.contents_sha256 {
        return None;
    }
    contents.seek(SeekFrom::Start(0)).ok()?;
    Some((index.entries, contents))
}

/// An index file's bytes, when they are a whole index of this layout version (its digest
/// matches); `None` otherwise.
fn parse_index(text: &[u8]) -> Option<Index> {
    let newline = text.iter().position(|&b| b == b'\n')?;
    let header = std::str::from_utf8(&text[..newline]).ok()?;
    let digest = header.strip_prefix(INDEX_MAGIC)?.strip_prefix(' ')?;
    let body = &text[newline + 1..];
    if hex(&Sha256::digest(body)) != digest {
        return None;
    }
    serde_json::from_slice(body).ok()
}

/// The number of entries of an index file's bytes, or `None` when they are not a whole index
/// (what a store does with a damaged entry); the fuzzer's way in.
pub fn index_entries(text: &[u8]) -> Option<usize> {
    parse_index(text).map(|i| i.entries.len())
}

/// Writes through to `inner`, hashing and counting what passes.
struct HashingWriter<W> {
    inner: W,
    sha: Sha256,
    size: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The sha256 and size of a file.
fn file_sha256(path: &Path) -> io::Result<([u8; 32], u64)> {
    reader_sha256(&mut File::open(path)?)
}

/// The sha256 and length of everything `r` yields.
pub(crate) fn reader_sha256(r: &mut impl Read) -> io::Result<([u8; 32], u64)> {
    let mut sha = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok((sha.finalize().into(), size)),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        sha.update(&buf[..n]);
        size += n as u64;
    }
}
