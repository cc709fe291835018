//! The inode tables: the reserved inodes (resize, journal) and one inode per node.

use eflow_tree::Kind;

use super::journal::Journal;
use super::{mem, Build, JOURNAL_INO, RESIZE_INO};
use crate::checksum::inode_seed;
use crate::error::Error;
use crate::extent;
use crate::geometry::{BLOCK_SIZE, FIRST_INO, INODE_SIZE};
use crate::inode::{mode, Inode, FL_EXTENTS, FL_INDEX};
use crate::numbering::ROOT_INO;
use crate::resize;

impl Build<'_> {
    /// Every used inode, encoded into one buffer per group (covering its used inodes in
    /// whole blocks; the rest of each table stays zero on disk and is never materialized).
    /// Also returns the directories per group.
    pub(super) fn inodes(&mut self, journal: &Journal) -> Result<(Vec<Vec<u8>>, Vec<u32>), Error> {
        let (geo, seed, max_ino) = (&self.geo, self.seed, self.max_ino);
        let ipg = geo.inodes_per_group;
        let time = self.opts.timestamp;
        let mut itables: Vec<Vec<u8>> = (0..geo.groups)
            .map(|g| {
                let used = max_ino.saturating_sub(g * ipg).min(ipg) as usize;
                vec![0u8; (used * INODE_SIZE as usize).next_multiple_of(BLOCK_SIZE as usize)]
            })
            .collect();
        let mut put_inode = |ino: u32, inode: &Inode| {
            let g = ((ino - 1) / ipg) as usize;
            let off = ((ino - 1) % ipg) as usize * INODE_SIZE as usize;
            itables[g][off..off + INODE_SIZE as usize].copy_from_slice(&inode.encode(ino, seed));
        };
        for ino in 1..FIRST_INO {
            if ino == ROOT_INO {
                continue;
            }
            let inode = match ino {
                1 => Inode {
                    time,
                    ..Default::default()
                },
                RESIZE_INO => {
                    let (dind_buf, gdt, blocks_512) = resize::build(geo);
                    self.pieces.push(mem(journal.dind, dind_buf));
                    for (b, data) in gdt {
                        self.pieces.push(mem(b, data));
                    }
                    let mut block = [0u8; 60];
                    block[13 * 4..14 * 4].copy_from_slice(&(journal.dind as u32).to_le_bytes());
                    Inode {
                        mode: mode::S_IFREG | 0o600,
                        size: resize::inode_size(),
                        time,
                        links: 1,
                        blocks_512,
                        block,
                        extra: true,
                        ..Default::default()
                    }
                }
                JOURNAL_INO => Inode {
                    mode: mode::S_IFREG | 0o600,
                    size: journal.len * BLOCK_SIZE,
                    time,
                    links: 1,
                    blocks_512: (journal.len + journal.leaves.len() as u64) * 8,
                    flags: FL_EXTENTS,
                    block: journal.root,
                    extra: true,
                    ..Default::default()
                },
                _ => Inode::default(),
            };
            put_inode(ino, &inode);
        }
        let mut used_dirs = vec![0u32; geo.groups as usize];
        for ino in ROOT_INO..=max_ino {
            let Some(n) = &self.num.nodes[ino as usize - 1] else {
                continue;
            };
            let e = n.entry;
            let iseed = inode_seed(seed, ino, 0);
            let mut inode = Inode {
                mode: (e.type_bits() as u16) | (e.mode & 0o7777) as u16,
                uid: e.uid,
                gid: e.gid,
                time: e.mtime,
                links: n.links.min(u16::MAX as u32) as u16,
                file_acl: n.xattr_block,
                extra: true,
                xattr_area: n.xattr_area.clone(),
                ..Default::default()
            };
            let (root, leaves) = extent::encode(&n.extents, &n.leaf_blocks, iseed);
            for (b, data) in n.leaf_blocks.iter().zip(leaves) {
                self.pieces.push(mem(*b, data));
            }
            let mut blocks = n.data_blocks + n.leaf_blocks.len() as u64;
            if n.xattr_block != 0 {
                blocks += 1;
            }
            inode.blocks_512 = blocks * 8;
            match &e.kind {
                Kind::Dir => {
                    inode.size = n.data_blocks * BLOCK_SIZE;
                    inode.flags = FL_EXTENTS | if n.indexed { FL_INDEX } else { 0 };
                    inode.block = root;
                    // dir_nlink: a count that would overflow becomes 1 ("many").
                    if n.links >= 65000 {
                        inode.links = 1;
                    }
                    used_dirs[((ino - 1) / ipg) as usize] += 1;
                }
                Kind::File { size, .. } => {
                    inode.size = *size;
                    inode.flags = FL_EXTENTS;
                    inode.block = root;
                }
                Kind::Symlink { target } => {
                    inode.size = target.len() as u64;
                    if target.len() < 60 {
                        inode.block[..target.len()].copy_from_slice(target.as_bytes());
                    } else {
                        inode.flags = FL_EXTENTS;
                        inode.block = root;
                    }
                }
                Kind::CharDevice { major, minor } | Kind::BlockDevice { major, minor } => {
                    if *major < 256 && *minor < 256 {
                        inode.block[0..4].copy_from_slice(&(major << 8 | minor).to_le_bytes());
                    } else {
                        let new = (minor & 0xFF) | (major << 8) | ((minor & !0xFF) << 12);
                        inode.block[4..8].copy_from_slice(&new.to_le_bytes());
                    }
                }
                Kind::Fifo | Kind::Socket | Kind::HardLink { .. } => {}
            }
            if n.links > u16::MAX as u32 && !e.is_dir() {
                return Err(Error::Unsupported {
                    path: n.path.into(),
                    reason: format!("{} hard links exceed ext4's 65535", n.links),
                });
            }
            put_inode(ino, &inode);
        }
        Ok((itables, used_dirs))
    }
}
