//! The content-addressed cache: every blob stored under its sha256, verified while it streams in.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::FetchError;

/// A directory of verified blobs, `DIR/sha256/ab/abcdef...`, safe to share between builds
/// running at the same time: blobs are written under a temporary name and renamed when
/// verified, so a reader only ever sees complete, correct files.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// A cache rooted at `dir` (created when first written).
    pub fn new(dir: impl Into<PathBuf>) -> Cache {
        Cache { dir: dir.into() }
    }

    /// `$XDG_CACHE_HOME/eflow-image`, else `~/.cache/eflow-image`.
    pub fn default_dir() -> PathBuf {
        if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
            return PathBuf::from(x).join("eflow-image");
        }
        let home = std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into());
        PathBuf::from(home).join(".cache").join("eflow-image")
    }

    /// The cache's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The store of unpacked package contents kept beside the blobs (`DIR/contents`), so
    /// that a package is decompressed once, not once per build.
    pub fn contents(&self) -> eflow_deb::ContentStore {
        eflow_deb::ContentStore::persistent(self.dir.join("contents"))
    }

    /// Where a blob with this digest lives (whether or not it is there).
    pub fn blob_path(&self, sha256: &str) -> PathBuf {
        let prefix = sha256.get(..2).unwrap_or("00");
        self.dir.join("sha256").join(prefix).join(sha256)
    }

    /// The blob's path if the cache has it with the expected size.
    pub fn lookup(&self, sha256: &str, size: Option<u64>) -> Option<PathBuf> {
        let p = self.blob_path(sha256);
        let meta = std::fs::metadata(&p).ok()?;
        (meta.is_file() && size.is_none_or(|s| s == meta.len())).then_some(p)
    }

    /// Streams `reader` into the cache, hashing as it goes; the blob appears under its final
    /// name only when its size and sha256 match. `what` names it in errors.
    pub fn insert(
        &self,
        what: &str,
        reader: &mut dyn Read,
        sha256: &str,
        size: Option<u64>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<PathBuf, FetchError> {
        let final_path = self.blob_path(sha256);
        let dir = final_path.parent().expect("blob paths have a parent");
        std::fs::create_dir_all(dir).map_err(|e| FetchError::io(dir, e))?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".incoming.")
            .tempfile_in(dir)
            .map_err(|e| FetchError::io(dir, e))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 256 * 1024];
        let mut total = 0u64;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(FetchError::Transfer {
                        what: what.to_string(),
                        message: e.to_string(),
                    })
                }
            };
            hasher.update(&buf[..n]);
            tmp.write_all(&buf[..n])
                .map_err(|e| FetchError::io(tmp.path(), e))?;
            total += n as u64;
            progress(n as u64);
            if size.is_some_and(|s| total > s) {
                return Err(FetchError::SizeMismatch {
                    what: what.to_string(),
                    expected: size.unwrap_or_default(),
                    actual: total,
                });
            }
        }
        if let Some(s) = size.filter(|s| *s != total) {
            return Err(FetchError::SizeMismatch {
                what: what.to_string(),
                expected: s,
                actual: total,
            });
        }
        let actual = hex::encode(hasher.finalize());
        if !actual.eq_ignore_ascii_case(sha256) {
            // The temporary file is removed on drop: a bad download never reaches a final name.
            return Err(FetchError::Checksum {
                what: what.to_string(),
                expected: sha256.to_string(),
                actual,
            });
        }
        tmp.as_file()
            .sync_all()
            .map_err(|e| FetchError::io(tmp.path(), e))?;
        tmp.persist(&final_path)
            .map_err(|e| FetchError::io(&final_path, e.error))?;
        Ok(final_path)
    }

    /// Copies a local file into the cache after verifying it.
    pub fn insert_file(
        &self,
        what: &str,
        path: &Path,
        sha256: &str,
        size: Option<u64>,
    ) -> Result<PathBuf, FetchError> {
        let mut f = File::open(path).map_err(|e| FetchError::io(path, e))?;
        self.insert(what, &mut f, sha256, size, &mut |_| {})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    #[test]
    fn concurrent_inserts_of_one_blob_leave_one_good_copy() {
        let d = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..4_000_000u32).map(|i| (i % 251) as u8).collect();
        let sha = hex::encode(Sha256::digest(&data));
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    let c = Cache::new(d.path());
                    // A slow reader, so that the writers overlap.
                    let mut r = std::io::Read::chain(&data[..1000], &data[1000..]);
                    c.insert("blob", &mut r, &sha, Some(data.len() as u64), &mut |_| {})
                        .unwrap();
                    let got = std::fs::read(c.lookup(&sha, Some(data.len() as u64)).unwrap());
                    assert_eq!(got.unwrap(), data);
                });
            }
        });
        let dir = Cache::new(d.path()).blob_path(&sha);
        let names: Vec<_> = std::fs::read_dir(dir.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1, "only the blob remains, no temporary file");
    }

    #[test]
    fn verified_blob_is_stored_bad_one_is_not() {
        let d = tempfile::tempdir().unwrap();
        let c = Cache::new(d.path());
        let p = c
            .insert("hello", &mut &b"hello"[..], HELLO, Some(5), &mut |_| {})
            .unwrap();
        assert_eq!(std::fs::read(p).unwrap(), b"hello");
        assert!(c.lookup(HELLO, Some(5)).is_some());

        let bad = "11".repeat(32);
        let e = c
            .insert("pkg", &mut &b"hellp"[..], &bad, Some(5), &mut |_| {})
            .unwrap_err();
        assert!(matches!(e, FetchError::Checksum { .. }), "{e}");
        assert!(e.to_string().contains(&bad));
        assert!(c.lookup(&bad, None).is_none());
        // Nothing is left behind, not even the temporary file.
        let left: Vec<_> = std::fs::read_dir(c.blob_path(&bad).parent().unwrap())
            .unwrap()
            .collect();
        assert!(left.is_empty());
    }
}
