//! Digests of outputs: BLAKE2b-512 (what minisign signs) and SHA-256 (what the
//! manifest and trusted comments record), computed in one pass with bounded memory.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use blake2::Blake2b512;
use sha2::{Digest, Sha256};

/// Digests and size of a byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    /// BLAKE2b-512: the message minisign's prehashed ("ED") signatures sign.
    pub blake2b512: [u8; 64],
    /// SHA-256, the digest recorded in manifests and trusted comments.
    pub sha256: [u8; 32],
    /// Number of bytes.
    pub size: u64,
}

impl Digests {
    /// SHA-256 in lower-case hex.
    pub fn sha256_hex(&self) -> String {
        hex(&self.sha256)
    }
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A writer that digests what goes through it, so a pipeline stage can hash an output while
/// writing it and sign it without reading it back.
#[derive(Default, Clone)]
pub struct Hasher {
    blake: Blake2b512,
    sha: Sha256,
    size: u64,
}

impl Hasher {
    /// A hasher that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.blake.update(data);
        self.sha.update(data);
        self.size += data.len() as u64;
    }

    /// The digests of everything fed.
    pub fn finish(self) -> Digests {
        Digests {
            blake2b512: self.blake.finalize().into(),
            sha256: self.sha.finalize().into(),
            size: self.size,
        }
    }

    /// Digests a reader to its end, 64 KiB at a time.
    pub fn digest_reader<R: Read>(mut reader: R) -> io::Result<Digests> {
        let mut hasher = Hasher::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            hasher.update(&buf[..n]);
        }
        Ok(hasher.finish())
    }

    /// Digests a file, streaming it.
    pub fn digest_file(path: &Path) -> io::Result<Digests> {
        Hasher::digest_reader(File::open(path)?)
    }
}

impl Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        let d = Hasher::digest_reader(&b"abc"[..]).unwrap();
        assert_eq!(
            d.sha256_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // RFC 7693 appendix A: BLAKE2b-512("abc").
        assert_eq!(hex(&d.blake2b512[..8]), "ba80a53f981c4d0d");
        assert_eq!(d.size, 3);
    }
}
