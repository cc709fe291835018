//! The superblock, written with the group descriptor table to group 0 and to every group
//! that keeps a backup (sparse_super).

use super::journal::Journal;
use super::{mem, Build, JOURNAL_INO};
use crate::geometry::{has_super, BLOCKS_PER_GROUP, BLOCK_SIZE, DESC_SIZE, FIRST_INO, INODE_SIZE};
use crate::superblock::*;

impl Build<'_> {
    /// The superblock, its backups and the GDT copies.
    pub(super) fn superblocks(
        &mut self,
        journal: &Journal,
        descs: &[u8],
        free_blocks: u64,
        free_inodes: u64,
    ) -> Superblock {
        let (geo, opts) = (&self.geo, self.opts);
        let time = opts.timestamp;
        let jlen = journal.len;
        let journal_root = journal.root;
        let total_free_blocks = free_blocks;
        let total_free_inodes = free_inodes;
        let ipg = geo.inodes_per_group;
        let mut volume_name = [0u8; 16];
        volume_name[..opts.label.len()].copy_from_slice(opts.label.as_bytes());
        let mut jnl_blocks = [0u32; 17];
        for (i, w) in jnl_blocks.iter_mut().take(15).enumerate() {
            *w = u32::from_le_bytes([
                journal_root[4 * i],
                journal_root[4 * i + 1],
                journal_root[4 * i + 2],
                journal_root[4 * i + 3],
            ]);
        }
        jnl_blocks[15] = ((jlen * BLOCK_SIZE) >> 32) as u32;
        jnl_blocks[16] = (jlen * BLOCK_SIZE) as u32;
        let fixed: u64 = geo.fixed_ranges().iter().map(|(_, l)| l).sum();
        let mut sb = Superblock {
            inodes_count: geo.inodes() as u32,
            first_data_block: 0,
            blocks_count: geo.blocks,
            r_blocks_count: geo.reserved_blocks(),
            free_blocks: total_free_blocks,
            free_inodes: total_free_inodes as u32,
            log_block_size: 2,
            blocks_per_group: BLOCKS_PER_GROUP,
            inodes_per_group: ipg,
            wtime: time as u32,
            state: 1,
            lastcheck: time as u32,
            rev_level: 1,
            first_ino: FIRST_INO,
            inode_size: INODE_SIZE as u16,
            block_group_nr: 0,
            feature_compat: COMPAT_HAS_JOURNAL
                | COMPAT_EXT_ATTR
                | COMPAT_RESIZE_INODE
                | COMPAT_DIR_INDEX,
            feature_incompat: INCOMPAT_FILETYPE
                | INCOMPAT_EXTENTS
                | INCOMPAT_64BIT
                | INCOMPAT_FLEX_BG,
            feature_ro_compat: RO_COMPAT_SPARSE_SUPER
                | RO_COMPAT_LARGE_FILE
                | RO_COMPAT_HUGE_FILE
                | RO_COMPAT_DIR_NLINK
                | RO_COMPAT_EXTRA_ISIZE
                | RO_COMPAT_METADATA_CSUM,
            uuid: opts.uuid,
            volume_name,
            reserved_gdt_blocks: geo.reserved_gdt as u16,
            journal_inum: JOURNAL_INO,
            hash_seed: opts.hash_seed,
            def_hash_version: 1, // half_md4
            jnl_backup_type: 1,  // s_jnl_blocks holds the journal inode's i_block
            desc_size: DESC_SIZE as u16,
            default_mount_opts: 0x4 | 0x8, // user_xattr, acl (mke2fs.conf defaults)
            mkfs_time: time as u32,
            jnl_blocks,
            min_extra_isize: 32,
            want_extra_isize: 32,
            flags: 0x1, // signed directory hash, as mke2fs on x86 (fixed for reproducibility)
            log_groups_per_flex: 4,
            checksum_type: 1,
            overhead_clusters: (fixed + jlen) as u32,
            checksum: 0,
        };
        for g in 0..geo.groups {
            if !has_super(g) {
                continue;
            }
            sb.block_group_nr = g as u16;
            let start = geo.group_start(g);
            let mut first = vec![0u8; BLOCK_SIZE as usize];
            let (off, data) = if g == 0 {
                (1024, sb.encode())
            } else {
                (0, sb.encode())
            };
            first[off..off + 1024].copy_from_slice(&data);
            self.pieces.push(mem(start, first));
            self.pieces.push(mem(start + 1, descs.to_vec()));
        }
        sb.block_group_nr = 0;
        sb
    }
}
