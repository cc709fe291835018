//! The device-mapper table of a verity device: what the initramfs hands to the kernel
//! (with `dmsetup create` or the `dm-mod.create=` kernel parameter) to map the verified root.
//!
//! The kernel's verity target takes
//! `<version> <data_dev> <hash_dev> <data_block_size> <hash_block_size> <num_data_blocks>
//! <hash_start_block> <algorithm> <root_digest> <salt> [<#opt_params> <opt_params>...]`,
//! where `hash_start_block` counts hash blocks (1: the superblock takes the first one) and
//! the salt is `-` when empty. The table line adds the start and length in 512-byte sectors:
//! `0 <sectors> verity <arguments>`.

use std::fmt;

use crate::params::{to_hex, RootHash};

/// A dm-verity table, field by field. The fields are public so that a caller can adjust
/// what its layout needs (a hash tree placed after the data on the same device starts at a
/// later `hash_start_block`; optional arguments such as `panic_on_corruption`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DmTable {
    /// Hash type (format version): 1 for veritysetup's default.
    pub hash_type: u32,
    /// The data device as the kernel finds it (`/dev/sda3`, `8:3`, `PARTUUID=...`).
    pub data_device: String,
    /// The hash device as the kernel finds it.
    pub hash_device: String,
    /// Bytes per data block.
    pub data_block_size: u32,
    /// Bytes per hash block.
    pub hash_block_size: u32,
    /// Data blocks covered by the tree.
    pub data_blocks: u64,
    /// First hash block of the tree on the hash device, in hash blocks.
    pub hash_start_block: u64,
    /// The kernel crypto API name of the digest algorithm.
    pub algorithm: String,
    /// The root hash.
    pub root_hash: RootHash,
    /// The salt (printed `-` when empty).
    pub salt: Vec<u8>,
    /// Optional arguments, one word each (`restart_on_corruption`, `ignore_zero_blocks`,
    /// `use_fec_from_device`, `/dev/sda4`, ...); their count is written before them.
    pub options: Vec<String>,
}

impl DmTable {
    /// The target's arguments: everything after `verity` in the table line.
    pub fn arguments(&self) -> String {
        let salt = if self.salt.is_empty() {
            "-".to_string()
        } else {
            to_hex(&self.salt)
        };
        let mut s = format!(
            "{} {} {} {} {} {} {} {} {} {}",
            self.hash_type,
            self.data_device,
            self.hash_device,
            self.data_block_size,
            self.hash_block_size,
            self.data_blocks,
            self.hash_start_block,
            self.algorithm,
            self.root_hash,
            salt
        );
        if !self.options.is_empty() {
            s.push_str(&format!(" {}", self.options.len()));
            for o in &self.options {
                s.push(' ');
                s.push_str(o);
            }
        }
        s
    }

    /// Length of the mapped device in 512-byte sectors: the data blocks covered.
    pub fn sectors(&self) -> u64 {
        self.data_blocks
            .saturating_mul(u64::from(self.data_block_size))
            / 512
    }

    /// The table line `dmsetup create --table` takes: `0 <sectors> verity <arguments>`.
    pub fn line(&self) -> String {
        format!("0 {} verity {}", self.sectors(), self.arguments())
    }

    /// The `dm-mod.create=` kernel parameter that maps the device read-only under `name`
    /// at boot without an initramfs tool (Documentation/admin-guide/device-mapper/dm-init.rst).
    pub fn dm_mod_create(&self, name: &str) -> String {
        format!("dm-mod.create=\"{name},,,ro,{}\"", self.line())
    }
}

impl fmt::Display for DmTable {
    /// The table line, as [`DmTable::line`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.line())
    }
}

#[cfg(test)]
mod tests {
    use crate::params::Params;

    #[test]
    fn table_line_has_the_kernels_field_order() {
        let p = Params::new(129 * 4096, &[0xab; 32], eflow_id::Guid::ZERO).unwrap();
        let root = "16c6a1034c95fcc1ef444844faefc029d41de2eaff08ed651cfb30720f9d1a19"
            .parse()
            .unwrap();
        let mut t = p.dm_table(&root, "/dev/sda3", "/dev/sda4");
        assert_eq!(
            t.arguments(),
            format!(
                "1 /dev/sda3 /dev/sda4 4096 4096 129 1 sha256 \
                 16c6a1034c95fcc1ef444844faefc029d41de2eaff08ed651cfb30720f9d1a19 {}",
                "ab".repeat(32)
            )
        );
        assert_eq!(t.sectors(), 129 * 8);
        assert!(t.line().starts_with("0 1032 verity 1 /dev/sda3 "));
        t.options = vec!["panic_on_corruption".into(), "ignore_zero_blocks".into()];
        assert!(t
            .to_string()
            .ends_with(" 2 panic_on_corruption ignore_zero_blocks"));
        assert!(t
            .dm_mod_create("root")
            .starts_with("dm-mod.create=\"root,,,ro,0 1032 verity 1 "));
        t.salt.clear();
        t.options.clear();
        assert!(t.arguments().ends_with(" -"));
    }
}
