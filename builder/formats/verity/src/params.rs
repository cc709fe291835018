//! The parameters of a verity device, as the superblock stores them and the kernel's table
//! takes them, and the root hash.

use std::fmt;
use std::str::FromStr;

use eflow_id::Guid;

use crate::error::VerityError;
use crate::geometry::Geometry;
use crate::superblock::SUPERBLOCK_SIZE;
use crate::table::DmTable;

/// The longest salt the superblock holds (cryptsetup's limit too).
pub const MAX_SALT_SIZE: usize = 256;

/// veritysetup's default data and hash block size, and the only one the EFLOW image uses.
const DEFAULT_BLOCK_SIZE: u32 = 4096;
/// Smallest block size dm-verity and cryptsetup accept.
const MIN_BLOCK_SIZE: u32 = 512;
/// Largest block size cryptsetup accepts (the kernel further needs data blocks <= page size).
const MAX_BLOCK_SIZE: u32 = 512 * 1024;

/// How blocks are hashed: the superblock's `hash_type` and the table's first field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashType {
    /// Type 0, the original Chrome OS format: the salt after the block.
    ChromeOs,
    /// Type 1, veritysetup's default: the salt before the block.
    Normal,
}

impl HashType {
    /// The number the superblock and the dm table use.
    pub fn number(self) -> u32 {
        match self {
            HashType::ChromeOs => 0,
            HashType::Normal => 1,
        }
    }

    /// The type of a superblock or table number, if known.
    pub fn from_number(n: u32) -> Option<HashType> {
        match n {
            0 => Some(HashType::ChromeOs),
            1 => Some(HashType::Normal),
            _ => None,
        }
    }
}

/// The digest algorithm of the tree. Only SHA-256, veritysetup's default, is implemented.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// SHA-256: 32-byte digests.
    Sha256,
}

impl Algorithm {
    /// The kernel crypto API name, as the superblock and the table spell it.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
        }
    }

    /// Bytes of one digest.
    pub fn digest_size(self) -> usize {
        match self {
            Algorithm::Sha256 => 32,
        }
    }

    /// The algorithm of a name (as spelled in a superblock), if implemented.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        match name {
            "sha256" => Some(Algorithm::Sha256),
            _ => None,
        }
    }
}

/// Everything that defines a verity device besides its contents: what the superblock stores,
/// and with the root hash, what the kernel needs to map it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
    /// How blocks are hashed (salt before or after the block).
    pub hash_type: HashType,
    /// The digest algorithm.
    pub algorithm: Algorithm,
    /// Bytes per data block (a power of two, 512 to 512 KiB).
    pub data_block_size: u32,
    /// Bytes per hash block (a power of two, 512 to 512 KiB).
    pub hash_block_size: u32,
    /// Number of data blocks covered by the tree (at least 1).
    pub data_blocks: u64,
    /// Salt hashed with every block, at most [`MAX_SALT_SIZE`] bytes (may be empty).
    pub salt: Vec<u8>,
    /// The UUID stored in the superblock (`veritysetup dump` shows it).
    pub uuid: Guid,
}

impl Params {
    /// veritysetup's defaults (hash type 1, SHA-256, 4 KiB blocks) for `data_size` bytes of
    /// data (a whole number of 4 KiB blocks), with the caller's salt and UUID.
    pub fn new(data_size: u64, salt: &[u8], uuid: Guid) -> Result<Params, VerityError> {
        let bs = u64::from(DEFAULT_BLOCK_SIZE);
        if data_size % bs != 0 {
            return Err(VerityError::params(format!(
                "the data size {data_size} is not a whole number of {bs}-byte blocks"
            )));
        }
        let p = Params {
            hash_type: HashType::Normal,
            algorithm: Algorithm::Sha256,
            data_block_size: DEFAULT_BLOCK_SIZE,
            hash_block_size: DEFAULT_BLOCK_SIZE,
            data_blocks: data_size / bs,
            salt: salt.to_vec(),
            uuid,
        };
        p.validate()?;
        Ok(p)
    }

    /// Checks that the parameters describe a device veritysetup and the kernel accept:
    /// block sizes, at least one data block, a data size that fits in 63 bits, the salt's
    /// length, and a tree of at most 63 levels.
    pub fn validate(&self) -> Result<(), VerityError> {
        for (what, size) in [
            ("data block size", self.data_block_size),
            ("hash block size", self.hash_block_size),
        ] {
            if !size.is_power_of_two() || !(MIN_BLOCK_SIZE..=MAX_BLOCK_SIZE).contains(&size) {
                return Err(VerityError::params(format!(
                    "the {what} {size} is not a power of two from {MIN_BLOCK_SIZE} to {MAX_BLOCK_SIZE}"
                )));
            }
        }
        if self.data_blocks == 0 {
            return Err(VerityError::params("the data device has no blocks"));
        }
        let size = self
            .data_blocks
            .checked_mul(u64::from(self.data_block_size));
        if !matches!(size, Some(s) if s <= i64::MAX as u64) {
            return Err(VerityError::params(format!(
                "{} blocks of {} bytes overflow a device size",
                self.data_blocks, self.data_block_size
            )));
        }
        if self.salt.len() > MAX_SALT_SIZE {
            return Err(VerityError::params(format!(
                "the salt is {} bytes, longer than {MAX_SALT_SIZE}",
                self.salt.len()
            )));
        }
        Geometry::new(self).map(|_| ())
    }

    /// Bytes of data the tree covers.
    pub fn data_size(&self) -> u64 {
        // Saturating: unvalidated parameters must not panic here; validate() rejects them.
        self.data_blocks
            .saturating_mul(u64::from(self.data_block_size))
    }

    /// Where the tree starts on the hash device, in hash blocks: right after the block(s)
    /// the 512-byte superblock occupies (1 for any hash block size veritysetup accepts).
    /// The table's `hash_start_block`.
    pub fn hash_start_block(&self) -> u64 {
        (SUPERBLOCK_SIZE as u64).div_ceil(u64::from(self.hash_block_size.max(1)))
    }

    /// The tree's layout on the hash device.
    pub fn geometry(&self) -> Result<Geometry, VerityError> {
        Geometry::new(self)
    }

    /// The salt in hexadecimal, as veritysetup prints and takes it, `-` when empty (as the
    /// kernel's table spells no salt).
    pub fn salt_hex(&self) -> String {
        if self.salt.is_empty() {
            "-".to_string()
        } else {
            to_hex(&self.salt)
        }
    }

    /// The device-mapper table for these parameters and a root hash, with the data and hash
    /// devices named as the kernel should find them (`/dev/sda2`, `8:2`, ...), the tree
    /// starting at [`Params::hash_start_block`] of the hash device.
    pub fn dm_table(&self, root: &RootHash, data_device: &str, hash_device: &str) -> DmTable {
        DmTable {
            hash_type: self.hash_type.number(),
            data_device: data_device.to_string(),
            hash_device: hash_device.to_string(),
            data_block_size: self.data_block_size,
            hash_block_size: self.hash_block_size,
            data_blocks: self.data_blocks,
            hash_start_block: self.hash_start_block(),
            algorithm: self.algorithm.name().to_string(),
            root_hash: *root,
            salt: self.salt.clone(),
            options: Vec::new(),
        }
    }
}

/// The digest at the top of the tree: what the kernel command line carries and what
/// everything on the data device is verified against.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RootHash(pub [u8; 32]);

impl RootHash {
    /// The raw digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hexadecimal, as veritysetup prints it and the table takes it.
    pub fn to_hex(&self) -> String {
        to_hex(&self.0)
    }
}

impl fmt::Display for RootHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for RootHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RootHash({self})")
    }
}

impl FromStr for RootHash {
    type Err = VerityError;

    /// Parses 64 hexadecimal digits (either case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = from_hex(s)
            .filter(|b| b.len() == 32)
            .ok_or_else(|| VerityError::params(format!("{s:?} is not 64 hexadecimal digits")))?;
        let mut out = [0u8; 32];
        out.copy_from_slice(&bytes);
        Ok(RootHash(out))
    }
}

/// Lower-case hexadecimal of bytes.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Bytes of a hexadecimal string (an even number of digits, either case).
pub(crate) fn from_hex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if b.len() % 2 != 0 {
        return None;
    }
    b.chunks_exact(2)
        .map(|p| {
            let hi = (p[0] as char).to_digit(16)?;
            let lo = (p[1] as char).to_digit(16)?;
            Some((hi * 16 + lo) as u8)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uuid() -> Guid {
        "12345678-1234-4234-8234-123456789abc".parse().unwrap()
    }

    #[test]
    fn defaults_are_veritysetups() {
        let p = Params::new(129 * 4096, &[7; 32], uuid()).unwrap();
        assert_eq!(p.hash_type, HashType::Normal);
        assert_eq!(p.algorithm.name(), "sha256");
        assert_eq!((p.data_block_size, p.hash_block_size), (4096, 4096));
        assert_eq!(p.data_blocks, 129);
        assert_eq!(p.data_size(), 129 * 4096);
        assert_eq!(p.hash_start_block(), 1);
        assert_eq!(p.salt_hex(), "07".repeat(32));
    }

    #[test]
    fn bad_params_are_errors() {
        assert!(Params::new(4095, &[], uuid()).is_err());
        assert!(Params::new(0, &[], uuid()).is_err());
        assert!(Params::new(4096, &[0; 257], uuid()).is_err());
        let ok = Params::new(4096, &[], uuid()).unwrap();
        for bad in [
            Params {
                data_block_size: 256,
                ..ok.clone()
            },
            Params {
                hash_block_size: 4097,
                ..ok.clone()
            },
            Params {
                hash_block_size: 1 << 20,
                ..ok.clone()
            },
            Params {
                data_blocks: u64::MAX / 2,
                ..ok.clone()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        // The smallest hash blocks still give a tree of few levels.
        let small = Params {
            hash_block_size: 512,
            data_block_size: 512,
            data_blocks: 1 << 40,
            ..ok
        };
        small.validate().unwrap();
    }

    #[test]
    fn root_hash_text_round_trips() {
        let text = "e9b11199b262d3464d70e900940beb050e0dfa9d6584fe5476c68d7507f4f6c2";
        let r: RootHash = text.parse().unwrap();
        assert_eq!(r.to_string(), text);
        assert_eq!(r, text.to_uppercase().parse().unwrap());
        for bad in [
            "",
            "e9",
            &text[1..],
            &format!("{}x", &text[1..]),
            "é".repeat(32).as_str(),
        ] {
            assert!(bad.parse::<RootHash>().is_err(), "{bad}");
        }
        assert_eq!(from_hex("0aFf"), Some(vec![0x0a, 0xff]));
        assert_eq!(to_hex(&[0x0a, 0xff]), "0aff");
    }
}
