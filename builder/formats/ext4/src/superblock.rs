//! The ext4 superblock (1024 bytes at byte 1024 of the filesystem, copies at the start of
//! the sparse_super backup groups).

use crate::bytes::{get16, get32, put16, put32};
use crate::checksum::crc32c_raw;
use crate::error::Error;

/// The superblock magic number.
pub const MAGIC: u16 = 0xEF53;

/// Byte offset of the magic number in a filesystem: the superblock's 0x38 past its 1024.
const MAGIC_AT: usize = 1024 + 0x38;

/// Whether the first bytes of a partition (at least 1082 of them) carry the ext2/3/4
/// superblock magic: how a partition's filesystem is told before it is read.
pub fn is_ext4(head: &[u8]) -> bool {
    head.len() >= MAGIC_AT + 2 && get16(head, MAGIC_AT) == MAGIC
}

/// compat: has a journal.
pub const COMPAT_HAS_JOURNAL: u32 = 0x4;
/// compat: extended attributes.
pub const COMPAT_EXT_ATTR: u32 = 0x8;
/// compat: reserved GDT blocks for online growth.
pub const COMPAT_RESIZE_INODE: u32 = 0x10;
/// compat: hashed directories may be used.
pub const COMPAT_DIR_INDEX: u32 = 0x20;
/// incompat: directory entries carry a file type.
pub const INCOMPAT_FILETYPE: u32 = 0x2;
/// incompat: the journal needs recovery.
pub const INCOMPAT_RECOVER: u32 = 0x4;
/// incompat: extent-mapped files.
pub const INCOMPAT_EXTENTS: u32 = 0x40;
/// incompat: 64-bit block numbers and 64-byte group descriptors.
pub const INCOMPAT_64BIT: u32 = 0x80;
/// incompat: flexible block groups.
pub const INCOMPAT_FLEX_BG: u32 = 0x200;
/// ro_compat: sparse superblock backups.
pub const RO_COMPAT_SPARSE_SUPER: u32 = 0x1;
/// ro_compat: files over 2 GiB.
pub const RO_COMPAT_LARGE_FILE: u32 = 0x2;
/// ro_compat: i_blocks in filesystem blocks for huge files.
pub const RO_COMPAT_HUGE_FILE: u32 = 0x8;
/// ro_compat: directories may have more than 65000 subdirectories.
pub const RO_COMPAT_DIR_NLINK: u32 = 0x20;
/// ro_compat: inodes have extra space (i_extra_isize).
pub const RO_COMPAT_EXTRA_ISIZE: u32 = 0x40;
/// ro_compat: crc32c checksums on all metadata.
pub const RO_COMPAT_METADATA_CSUM: u32 = 0x400;

/// The superblock fields this crate writes and reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Superblock {
    pub inodes_count: u32,
    /// Block of the primary superblock (0 with 4 KiB blocks, 1 with 1 KiB blocks).
    pub first_data_block: u32,
    pub blocks_count: u64,
    pub r_blocks_count: u64,
    pub free_blocks: u64,
    pub free_inodes: u32,
    pub log_block_size: u32,
    pub blocks_per_group: u32,
    pub inodes_per_group: u32,
    pub wtime: u32,
    pub state: u16,
    pub lastcheck: u32,
    pub rev_level: u32,
    pub first_ino: u32,
    pub inode_size: u16,
    pub block_group_nr: u16,
    pub feature_compat: u32,
    pub feature_incompat: u32,
    pub feature_ro_compat: u32,
    pub uuid: [u8; 16],
    pub volume_name: [u8; 16],
    pub reserved_gdt_blocks: u16,
    pub journal_inum: u32,
    pub hash_seed: [u8; 16],
    pub def_hash_version: u8,
    pub jnl_backup_type: u8,
    pub desc_size: u16,
    pub default_mount_opts: u32,
    pub mkfs_time: u32,
    pub jnl_blocks: [u32; 17],
    pub min_extra_isize: u16,
    pub want_extra_isize: u16,
    pub flags: u32,
    pub log_groups_per_flex: u8,
    pub checksum_type: u8,
    pub overhead_clusters: u32,
    /// Time bits above 32 (s_wtime_hi etc. are not used before 2106; kept for completeness).
    pub checksum: u32,
}

impl Superblock {
    /// Encodes the superblock with its checksum.
    pub fn encode(&self) -> [u8; 1024] {
        let mut b = [0u8; 1024];
        put32(&mut b, 0x00, self.inodes_count);
        put32(&mut b, 0x04, self.blocks_count as u32);
        put32(&mut b, 0x08, self.r_blocks_count as u32);
        put32(&mut b, 0x0C, self.free_blocks as u32);
        put32(&mut b, 0x10, self.free_inodes);
        put32(&mut b, 0x14, self.first_data_block);
        put32(&mut b, 0x18, self.log_block_size);
        put32(&mut b, 0x1C, self.log_block_size); // s_log_cluster_size
        put32(&mut b, 0x20, self.blocks_per_group);
        put32(&mut b, 0x24, self.blocks_per_group); // s_clusters_per_group
        put32(&mut b, 0x28, self.inodes_per_group);
        put32(&mut b, 0x2C, 0); // s_mtime: never mounted
        put32(&mut b, 0x30, self.wtime);
        put16(&mut b, 0x34, 0); // s_mnt_count
        put16(&mut b, 0x36, 0xFFFF); // s_max_mnt_count = -1
        put16(&mut b, 0x38, MAGIC);
        put16(&mut b, 0x3A, self.state);
        put16(&mut b, 0x3C, 1); // s_errors: continue
        put32(&mut b, 0x40, self.lastcheck);
        put32(&mut b, 0x4C, self.rev_level);
        put32(&mut b, 0x54, self.first_ino);
        put16(&mut b, 0x58, self.inode_size);
        put16(&mut b, 0x5A, self.block_group_nr);
        put32(&mut b, 0x5C, self.feature_compat);
        put32(&mut b, 0x60, self.feature_incompat);
        put32(&mut b, 0x64, self.feature_ro_compat);
        b[0x68..0x78].copy_from_slice(&self.uuid);
        b[0x78..0x88].copy_from_slice(&self.volume_name);
        put16(&mut b, 0xCE, self.reserved_gdt_blocks);
        put32(&mut b, 0xE0, self.journal_inum);
        b[0xEC..0xFC].copy_from_slice(&self.hash_seed);
        b[0xFC] = self.def_hash_version;
        b[0xFD] = self.jnl_backup_type;
        put16(&mut b, 0xFE, self.desc_size);
        put32(&mut b, 0x100, self.default_mount_opts);
        put32(&mut b, 0x108, self.mkfs_time);
        for (i, w) in self.jnl_blocks.iter().enumerate() {
            put32(&mut b, 0x10C + 4 * i, *w);
        }
        put32(&mut b, 0x150, (self.blocks_count >> 32) as u32);
        put32(&mut b, 0x154, (self.r_blocks_count >> 32) as u32);
        put32(&mut b, 0x158, (self.free_blocks >> 32) as u32);
        put16(&mut b, 0x15C, self.min_extra_isize);
        put16(&mut b, 0x15E, self.want_extra_isize);
        put32(&mut b, 0x160, self.flags);
        b[0x174] = self.log_groups_per_flex;
        b[0x175] = self.checksum_type;
        put32(&mut b, 0x248, self.overhead_clusters);
        let c = crc32c_raw(!0, &b[..0x3FC]);
        put32(&mut b, 0x3FC, c);
        b
    }

    /// Decodes and checks a superblock (magic, checksum when metadata_csum is on).
    pub fn decode(b: &[u8]) -> Result<Superblock, Error> {
        if b.len() < 1024 {
            return Err(Error::Corrupt("superblock truncated".into()));
        }
        if get16(b, 0x38) != MAGIC {
            return Err(Error::Corrupt("bad superblock magic".into()));
        }
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(&b[0x68..0x78]);
        let mut volume_name = [0u8; 16];
        volume_name.copy_from_slice(&b[0x78..0x88]);
        let mut hash_seed = [0u8; 16];
        hash_seed.copy_from_slice(&b[0xEC..0xFC]);
        let mut jnl_blocks = [0u32; 17];
        for (i, w) in jnl_blocks.iter_mut().enumerate() {
            *w = get32(b, 0x10C + 4 * i);
        }
        let sb = Superblock {
            inodes_count: get32(b, 0x00),
            first_data_block: get32(b, 0x14),
            blocks_count: get32(b, 0x04) as u64 | (get32(b, 0x150) as u64) << 32,
            r_blocks_count: get32(b, 0x08) as u64 | (get32(b, 0x154) as u64) << 32,
            free_blocks: get32(b, 0x0C) as u64 | (get32(b, 0x158) as u64) << 32,
            free_inodes: get32(b, 0x10),
            log_block_size: get32(b, 0x18),
            blocks_per_group: get32(b, 0x20),
            inodes_per_group: get32(b, 0x28),
            wtime: get32(b, 0x30),
            state: get16(b, 0x3A),
            lastcheck: get32(b, 0x40),
            rev_level: get32(b, 0x4C),
            first_ino: get32(b, 0x54),
            inode_size: get16(b, 0x58),
            block_group_nr: get16(b, 0x5A),
            feature_compat: get32(b, 0x5C),
            feature_incompat: get32(b, 0x60),
            feature_ro_compat: get32(b, 0x64),
            uuid,
            volume_name,
            reserved_gdt_blocks: get16(b, 0xCE),
            journal_inum: get32(b, 0xE0),
            hash_seed,
            def_hash_version: b[0xFC],
            jnl_backup_type: b[0xFD],
            desc_size: get16(b, 0xFE),
            default_mount_opts: get32(b, 0x100),
            mkfs_time: get32(b, 0x108),
            jnl_blocks,
            min_extra_isize: get16(b, 0x15C),
            want_extra_isize: get16(b, 0x15E),
            flags: get32(b, 0x160),
            log_groups_per_flex: b[0x174],
            checksum_type: b[0x175],
            overhead_clusters: get32(b, 0x248),
            checksum: get32(b, 0x3FC),
        };
        if sb.feature_ro_compat & RO_COMPAT_METADATA_CSUM != 0
            && crc32c_raw(!0, &b[..0x3FC]) != sb.checksum
        {
            return Err(Error::Corrupt("superblock checksum mismatch".into()));
        }
        Ok(sb)
    }

    /// Feature names, as dumpe2fs spells them, for summaries.
    pub fn feature_names(&self) -> Vec<&'static str> {
        let table: [(u32, u32, &str); 18] = [
            (0, COMPAT_HAS_JOURNAL, "has_journal"),
            (0, COMPAT_EXT_ATTR, "ext_attr"),
            (0, COMPAT_RESIZE_INODE, "resize_inode"),
            (0, COMPAT_DIR_INDEX, "dir_index"),
            (1, INCOMPAT_FILETYPE, "filetype"),
            (1, INCOMPAT_RECOVER, "needs_recovery"),
            (1, INCOMPAT_EXTENTS, "extent"),
            (1, INCOMPAT_64BIT, "64bit"),
            (1, INCOMPAT_FLEX_BG, "flex_bg"),
            (1, 0x8000, "inline_data"),
            (2, RO_COMPAT_SPARSE_SUPER, "sparse_super"),
            (2, RO_COMPAT_LARGE_FILE, "large_file"),
            (2, RO_COMPAT_HUGE_FILE, "huge_file"),
            (2, RO_COMPAT_DIR_NLINK, "dir_nlink"),
            (2, RO_COMPAT_EXTRA_ISIZE, "extra_isize"),
            (2, RO_COMPAT_METADATA_CSUM, "metadata_csum"),
            (2, 0x10, "gdt_csum"),
            (2, 0x200, "bigalloc"),
        ];
        table
            .iter()
            .filter(|(set, bit, _)| {
                let v = match set {
                    0 => self.feature_compat,
                    1 => self.feature_incompat,
                    _ => self.feature_ro_compat,
                };
                v & bit != 0
            })
            .map(|(_, _, n)| *n)
            .collect()
    }
}
