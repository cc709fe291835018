//! The verity superblock: 512 bytes at the start of the hash device, little-endian, as
//! cryptsetup defines it (`struct verity_sb`). Writing zeroes every reserved byte; reading
//! checks every field and that the reserved bytes are zero.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | signature `verity\0\0` |
//! | 8 | 4 | superblock version, 1 |
//! | 12 | 4 | hash type (0 Chrome OS, 1 normal) |
//! | 16 | 16 | UUID, RFC 4122 byte order |
//! | 32 | 32 | algorithm name, NUL-padded |
//! | 64 | 4 | data block size |
//! | 68 | 4 | hash block size |
//! | 72 | 8 | data blocks |
//! | 80 | 2 | salt size |
//! | 82 | 6 | reserved |
//! | 88 | 256 | salt, zero-padded |
//! | 344 | 168 | reserved |

use eflow_id::Guid;

use crate::error::VerityError;
use crate::params::{Algorithm, HashType, Params, MAX_SALT_SIZE};

/// Bytes of the superblock (it sits in the first hash block, the rest of which is zero).
pub const SUPERBLOCK_SIZE: usize = 512;

const SIGNATURE: &[u8; 8] = b"verity\0\0";
const VERSION: u32 = 1;
const ALGORITHM_LEN: usize = 32;
const SALT_AT: usize = 88;

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

fn zero_or_err(b: &[u8], from: usize, to: usize, field: &'static str) -> Result<(), VerityError> {
    match b[from..to].iter().position(|x| *x != 0) {
        None => Ok(()),
        Some(i) => Err(VerityError::sb(
            field,
            format!("byte {} is {:#04x}, must be zero", from + i, b[from + i]),
        )),
    }
}

impl Params {
    /// The 512-byte superblock veritysetup writes for these parameters.
    pub fn superblock(&self) -> [u8; SUPERBLOCK_SIZE] {
        let mut b = [0u8; SUPERBLOCK_SIZE];
        b[0..8].copy_from_slice(SIGNATURE);
        b[8..12].copy_from_slice(&VERSION.to_le_bytes());
        b[12..16].copy_from_slice(&self.hash_type.number().to_le_bytes());
        b[16..32].copy_from_slice(&self.uuid.0);
        let name = self.algorithm.name().as_bytes();
        b[32..32 + name.len()].copy_from_slice(name);
        b[64..68].copy_from_slice(&self.data_block_size.to_le_bytes());
        b[68..72].copy_from_slice(&self.hash_block_size.to_le_bytes());
        b[72..80].copy_from_slice(&self.data_blocks.to_le_bytes());
        // Params keep the salt within MAX_SALT_SIZE when validated; never write past it.
        let salt = &self.salt[..self.salt.len().min(MAX_SALT_SIZE)];
        b[80..82].copy_from_slice(&(salt.len() as u16).to_le_bytes());
        b[SALT_AT..SALT_AT + salt.len()].copy_from_slice(salt);
        b
    }

    /// Parses and checks a superblock (the first 512 bytes of `bytes`): signature, version,
    /// hash type, algorithm, block sizes, data blocks, salt size, reserved bytes, and that
    /// the parameters make a valid tree.
    pub fn from_superblock(bytes: &[u8]) -> Result<Params, VerityError> {
        let b = bytes.get(..SUPERBLOCK_SIZE).ok_or_else(|| {
            VerityError::sb(
                "size",
                format!("{} bytes, a superblock has {SUPERBLOCK_SIZE}", bytes.len()),
            )
        })?;
        if &b[0..8] != SIGNATURE {
            return Err(VerityError::sb(
                "signature",
                format!(
                    "{:02x?} is not \"verity\\0\\0\": not a verity hash device",
                    &b[0..8]
                ),
            ));
        }
        let version = u32_at(b, 8);
        if version != VERSION {
            return Err(VerityError::sb(
                "version",
                format!("{version} is not supported (only {VERSION})"),
            ));
        }
        let ht = u32_at(b, 12);
        let hash_type = HashType::from_number(ht).ok_or_else(|| {
            VerityError::sb("hash type", format!("{ht} is not 0 (Chrome OS) or 1"))
        })?;
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(&b[16..32]);
        let name_field = &b[32..32 + ALGORITHM_LEN];
        let len = name_field.iter().position(|c| *c == 0).ok_or_else(|| {
            VerityError::sb(
                "algorithm",
                "the name is not NUL-terminated within 32 bytes",
            )
        })?;
        zero_or_err(b, 32 + len, 32 + ALGORITHM_LEN, "algorithm")?;
        let name = String::from_utf8_lossy(&name_field[..len]).into_owned();
        let algorithm = Algorithm::from_name(&name).ok_or_else(|| {
            VerityError::sb(
                "algorithm",
                format!("{name:?} is not supported (only sha256)"),
            )
        })?;
        let salt_size = usize::from(u16_at(b, 80));
        if salt_size > MAX_SALT_SIZE {
            return Err(VerityError::sb(
                "salt size",
                format!("{salt_size} is more than {MAX_SALT_SIZE}"),
            ));
        }
        zero_or_err(b, 82, SALT_AT, "reserved bytes after the salt size")?;
        zero_or_err(
            b,
            SALT_AT + salt_size,
            SALT_AT + MAX_SALT_SIZE,
            "salt padding",
        )?;
        zero_or_err(b, SALT_AT + MAX_SALT_SIZE, SUPERBLOCK_SIZE, "reserved tail")?;
        let params = Params {
            hash_type,
            algorithm,
            data_block_size: u32_at(b, 64),
            hash_block_size: u32_at(b, 68),
            data_blocks: u64_at(b, 72),
            salt: b[SALT_AT..SALT_AT + salt_size].to_vec(),
            uuid: Guid(uuid),
        };
        params.validate().map_err(|e| match e {
            VerityError::InvalidParams(d) => VerityError::sb("sizes", d),
            other => other,
        })?;
        Ok(params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Params {
        Params::new(
            129 * 4096,
            &[0x5a; 32],
            "12345678-1234-4234-8234-123456789abc".parse().unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn layout_is_cryptsetups() {
        let sb = sample().superblock();
        assert_eq!(&sb[0..8], b"verity\0\0");
        assert_eq!(&sb[8..16], &[1, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(&sb[16..20], &[0x12, 0x34, 0x56, 0x78]);
        assert_eq!(&sb[32..39], b"sha256\0");
        assert_eq!(&sb[64..72], &[0, 0x10, 0, 0, 0, 0x10, 0, 0]);
        assert_eq!(&sb[72..80], &129u64.to_le_bytes());
        assert_eq!(&sb[80..82], &[32, 0]);
        assert_eq!(&sb[88..120], &[0x5a; 32]);
        assert!(sb[120..].iter().all(|b| *b == 0));
    }

    #[test]
    fn round_trips() {
        let p = sample();
        assert_eq!(Params::from_superblock(&p.superblock()).unwrap(), p);
        let no_salt = Params {
            salt: vec![],
            ..p.clone()
        };
        assert_eq!(
            Params::from_superblock(&no_salt.superblock()).unwrap(),
            no_salt
        );
        let v0 = Params {
            hash_type: HashType::ChromeOs,
            salt: vec![1; 256],
            ..p
        };
        assert_eq!(Params::from_superblock(&v0.superblock()).unwrap(), v0);
    }

    #[test]
    fn every_field_is_checked() {
        let good = sample().superblock();
        type Damage = dyn Fn(&mut [u8; 512]);
        let cases: &[(&str, &Damage)] = &[
            ("signature", &|b| b[0] = b'V'),
            ("version", &|b| b[8] = 2),
            ("hash type", &|b| b[12] = 2),
            ("algorithm", &|b| b[32..64].fill(b'a')),
            ("algorithm", &|b| b[32..39].copy_from_slice(b"sha512\0")),
            ("algorithm", &|b| b[40] = 1),
            ("sizes", &|b| {
                b[64..68].copy_from_slice(&4095u32.to_le_bytes())
            }),
            ("sizes", &|b| {
                b[68..72].copy_from_slice(&256u32.to_le_bytes())
            }),
            ("sizes", &|b| b[72..80].fill(0)),
            ("sizes", &|b| b[72..80].fill(0xff)),
            ("salt size", &|b| {
                b[80..82].copy_from_slice(&257u16.to_le_bytes())
            }),
            ("reserved bytes after the salt size", &|b| b[85] = 1),
            ("salt padding", &|b| b[88 + 32] = 1),
            ("reserved tail", &|b| b[511] = 1),
        ];
        for (field, damage) in cases {
            let mut b = good;
            damage(&mut b);
            match Params::from_superblock(&b) {
                Err(VerityError::Superblock { field: f, .. }) => assert_eq!(f, *field),
                other => panic!("{field}: {other:?}"),
            }
        }
        assert!(matches!(
            Params::from_superblock(&good[..511]),
            Err(VerityError::Superblock { field: "size", .. })
        ));
    }
}
