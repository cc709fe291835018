//! Directory blocks: linear for one block, hash-indexed (htree) beyond.

use super::{at_path, mem, runs_to_extents, take, Build};
use crate::checksum::inode_seed;
use crate::dir::{self, DirEntry};
use crate::error::Error;
use crate::geometry::BLOCK_SIZE;
use crate::htree;
use crate::numbering::{dir_entries, DirItem, LOST_FOUND_BLOCKS, LOST_FOUND_INO, ROOT_INO};

impl Build<'_> {
    /// Directory blocks, in inode order: linear for one block, hash-indexed beyond.
    pub(super) fn directories(&mut self) -> Result<(), Error> {
        let (tree, opts, seed) = (self.tree, self.opts, self.seed);
        let mut dir_lists: Vec<(u32, Vec<DirItem>)> = Vec::new();
        for ino in 1..=self.max_ino {
            let Some(n) = &self.num.nodes[ino as usize - 1] else {
                continue;
            };
            if n.entry.is_dir() {
                dir_lists.push((ino, dir_entries(tree, n.path, &self.num)?));
            }
        }
        for (ino, list) in &dir_lists {
            let path = self.num.nodes[*ino as usize - 1]
                .as_ref()
                .expect("directory node")
                .path;
            let parent = if *ino == ROOT_INO || *ino == LOST_FOUND_INO {
                ROOT_INO
            } else {
                self.num.ino_of[eflow_tree::parent(path)]
            };
            let entries: Vec<DirEntry> = list
                .iter()
                .map(|(n, i, t)| DirEntry {
                    name: n.as_bytes(),
                    ino: *i,
                    ftype: *t,
                })
                .collect();
            let iseed = inode_seed(seed, *ino, 0);
            let linear_blocks = dir::blocks_needed(list.iter().map(|(n, _, _)| n.as_bytes()));
            // Directories of more than one block get a hash index, as the kernel gives them
            // when they grow; lost+found stays linear and pre-sized for e2fsck, as mke2fs makes it.
            let indexed = linear_blocks > 1 && *ino != LOST_FOUND_INO;
            let bytes = if indexed {
                htree::encode(*ino, parent, &entries, &opts.hash_seed, iseed)
                    .map_err(at_path(path))?
            } else {
                let min = if *ino == LOST_FOUND_INO {
                    LOST_FOUND_BLOCKS
                } else {
                    1
                };
                dir::encode(*ino, parent, &entries, min, iseed)
            };
            let nb = bytes.len() as u64 / BLOCK_SIZE;
            let runs = take(&mut self.alloc, tree, opts, nb)?;
            let subdirs = list
                .iter()
                .filter(|(_, _, t)| *t == dir::ftype::DIR)
                .count() as u32;
            let node = self.num.nodes[*ino as usize - 1]
                .as_mut()
                .expect("directory node");
            runs_to_extents(&runs, 0, &mut node.extents);
            node.data_blocks = nb;
            node.links = 2 + subdirs;
            node.indexed = indexed;
            let mut off = 0usize;
            for e in &node.extents {
                let len = e.len as usize * BLOCK_SIZE as usize;
                self.pieces
                    .push(mem(e.start, bytes[off..off + len].to_vec()));
                off += len;
            }
        }
        Ok(())
    }
}
