//! The image identity: the seed every id (UUIDs, volume ids, hash seeds, GUIDs) derives from,
//! and SOURCE_DATE_EPOCH, so that every output byte is a function of the inputs.

use sha2::{Digest, Sha256};

/// 32 bytes derived from the image name, version and the lockfile's input digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seed(pub [u8; 32]);

impl Seed {
    /// The seed of an image identity.
    pub fn new(name: &str, version: &str, inputs: &str) -> Seed {
        let mut h = Sha256::new();
        for part in ["eflow-image seed v1", name, version, inputs] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        Seed(h.finalize().into())
    }

    /// A sub-seed for one purpose (`"ext4-uuid:root"`, `"vhdx"`, ...).
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.0);
        h.update(purpose.as_bytes());
        h.finalize().into()
    }

    /// A 16-byte id for a purpose, with RFC 4122 version 4 / variant bits set.
    pub fn uuid(&self, purpose: &str) -> [u8; 16] {
        let d = self.derive(purpose);
        let mut u = [0u8; 16];
        u.copy_from_slice(&d[..16]);
        u[6] = (u[6] & 0x0f) | 0x40;
        u[8] = (u[8] & 0x3f) | 0x80;
        u
    }
}

/// SOURCE_DATE_EPOCH from the environment if set and valid, else the lockfile's.
pub fn source_date_epoch(from_lock: i64) -> Result<i64, String> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("SOURCE_DATE_EPOCH={v:?} is not a number of seconds since 1970")),
        _ => Ok(from_lock),
    }
}
