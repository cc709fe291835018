//! The image seed: 32 bytes from the image's identity, and the one way ids derive from it.

use sha2::{Digest, Sha256};

use crate::Guid;

/// 32 bytes that identify an image build (name, version, the lockfile's input digest);
/// every UUID, GUID, volume id and hash seed of the outputs derives from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
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

    /// A seed for tests and tools from any text (hashed, so any length works).
    pub fn from_text(text: &str) -> Seed {
        Seed(Sha256::digest(text.as_bytes()).into())
    }

    /// The derivation: 32 bytes for one purpose (`"ext4-uuid:root"`, `"vhdx"`, ...),
    /// SHA-256 of the seed followed by the purpose.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.0);
        h.update(purpose.as_bytes());
        h.finalize().into()
    }

    /// A sub-seed handed to a format crate, which derives its own ids from it.
    pub fn sub(&self, purpose: &str) -> Seed {
        Seed(self.derive(purpose))
    }

    /// A version-4 GUID for one purpose.
    pub fn guid(&self, purpose: &str) -> Guid {
        Guid::v4_from_digest(&self.derive(purpose))
    }

    /// A GPT GUID (disk or partition) for one purpose. The GPT writer has always hashed its
    /// ids under a domain prefix of its own; that prefix is kept so that images built before
    /// and after ids moved into this crate are byte-identical.
    pub fn gpt_guid(&self, purpose: &str) -> Guid {
        let mut h = Sha256::new();
        h.update(b"eflow-gpt guid\0");
        h.update((self.0.len() as u64).to_le_bytes());
        h.update(self.0);
        h.update(purpose.as_bytes());
        Guid::v4_from_digest(&h.finalize().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins the derivations (values computed independently, in Python, from the formulas the
    /// VHDX and GPT crates used before): a change here changes every image's bytes.
    #[test]
    fn derivations_are_pinned() {
        let seed = Seed::new("minimal", "0.1.0", "sha256:00");
        assert_eq!(
            seed.guid("partition:root").to_string(),
            Guid::v4_from_digest(&seed.derive("partition:root")).to_string()
        );
        assert_eq!(
            Seed([7; 32]).guid("vhdx file write guid").to_string(),
            "e41259b7-f838-42b8-b297-c7191fb70840"
        );
        assert_eq!(
            Seed([7; 32]).gpt_guid("disk").to_string(),
            "e89bb4d6-f321-481f-af08-85eb9e27d5be"
        );
    }

    #[test]
    fn guids_are_v4_deterministic_and_distinct() {
        let s = Seed::from_text("image");
        let a = s.guid("disk");
        assert_eq!(a, s.guid("disk"));
        assert_ne!(a, s.guid("root"));
        assert_ne!(a, s.gpt_guid("disk"));
        for g in [a, s.gpt_guid("disk")] {
            assert_eq!(g.0[6] >> 4, 4);
            assert_eq!(g.0[8] >> 6, 0b10);
        }
    }
}
