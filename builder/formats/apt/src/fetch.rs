//! How this crate gets bytes from the mirror: a trait the builder implements (HTTP client and
//! content-addressed cache live there), so this crate never opens a socket itself.

/// Why a download failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The server answered that the file does not exist (HTTP 404/410).
    #[error("{url}: not found on the mirror")]
    NotFound {
        /// The URL asked for.
        url: String,
    },
    /// The file arrived but its size or SHA-256 differs from what the signed index says.
    #[error("{url}: expected {expected_size} bytes with sha256 {expected_sha256}, got {actual_size} bytes with sha256 {actual_sha256}")]
    Mismatch {
        /// The URL asked for.
        url: String,
        /// Size from the signed index.
        expected_size: u64,
        /// Size received.
        actual_size: u64,
        /// SHA-256 from the signed index.
        expected_sha256: String,
        /// SHA-256 of what was received.
        actual_sha256: String,
    },
    /// Anything else: network, HTTP status, cache I/O.
    #[error("{url}: {message}")]
    Other {
        /// The URL asked for.
        url: String,
        /// What went wrong.
        message: String,
    },
}

/// A source of mirror files.
pub trait Fetch {
    /// Downloads `url` fresh (never from a cache): used for `InRelease`, which changes in place.
    fn get(&self, url: &str) -> Result<Vec<u8>, FetchError>;
    /// Downloads `url`, or takes it from a cache keyed by `sha256`; the bytes returned must have
    /// this size and SHA-256 (lowercase hex). The caller checks again.
    fn get_verified(&self, url: &str, size: u64, sha256: &str) -> Result<Vec<u8>, FetchError>;
}

/// Lowercase hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(data);
    let mut s = String::with_capacity(64);
    for b in d {
        s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn sha256_of_abc() {
        assert_eq!(
            super::sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
