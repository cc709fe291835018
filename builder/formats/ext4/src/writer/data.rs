//! The other blocks files own: slow symlink targets, shared xattr blocks, file data in
//! content order, and extent tree leaves.

use std::collections::BTreeMap;

use eflow_tree::Kind;

use super::{at_path, mem, runs_to_extents, take, Build};
use crate::error::Error;
use crate::extent;
use crate::geometry::BLOCK_SIZE;
use crate::image::{FileSource, Piece};
use crate::sizing::file_blocks;
use crate::xattr::{self, Attr};

impl Build<'_> {
    /// Blocks of slow symlinks, and extended attributes (in the inode when they fit, else in
    /// an xattr block shared between identical sets).
    pub(super) fn symlinks_and_xattrs(&mut self) -> Result<(), Error> {
        let (tree, opts, seed) = (self.tree, self.opts, self.seed);
        let mut xblocks: BTreeMap<Vec<Attr>, (u64, u32)> = BTreeMap::new();
        for ino in 1..=self.max_ino {
            let Some(n) = self.num.nodes[ino as usize - 1].as_mut() else {
                continue;
            };
            if let Kind::Symlink { target } = &n.entry.kind {
                if target.len() >= 4096 || target.is_empty() {
                    return Err(Error::Unsupported {
                        path: n.path.into(),
                        reason: "symlink target must be 1 to 4095 bytes".into(),
                    });
                }
                if target.len() >= 60 {
                    let runs = take(&mut self.alloc, tree, opts, 1)?;
                    let mut b = target.as_bytes().to_vec();
                    b.resize(BLOCK_SIZE as usize, 0);
                    self.pieces.push(mem(runs[0].0, b));
                    runs_to_extents(&runs, 0, &mut n.extents);
                    n.data_blocks = 1;
                }
            }
            if !n.entry.xattrs.is_empty() {
                let attrs = xattr::to_attrs(n.entry.xattrs.iter()).map_err(|reason| {
                    Error::Unsupported {
                        path: n.path.into(),
                        reason,
                    }
                })?;
                if let Some(area) = xattr::encode_in_inode(&attrs) {
                    n.xattr_area = area;
                } else if let Some((b, refs)) = xblocks.get_mut(&attrs) {
                    *refs += 1;
                    n.xattr_block = *b;
                } else {
                    if xattr::encode_block(&attrs, 1, 0, 0).is_none() {
                        return Err(Error::Unsupported {
                            path: n.path.into(),
                            reason: "extended attributes do not fit in one 4 KiB block".into(),
                        });
                    }
                    let runs = take(&mut self.alloc, tree, opts, 1)?;
                    n.xattr_block = runs[0].0;
                    xblocks.insert(attrs, (runs[0].0, 1));
                }
            }
        }
        for (attrs, (b, refs)) in &xblocks {
            let data = xattr::encode_block(attrs, *refs, *b, seed).expect("size checked above");
            self.pieces.push(mem(*b, data));
        }
        Ok(())
    }

    /// File data, in content order, front to back; returns the contents in that order.
    pub(super) fn file_data(&mut self) -> Result<Vec<FileSource>, Error> {
        let (tree, opts) = (self.tree, self.opts);
        let mut sources = Vec::new();
        for (path, e) in tree.files_in_content_order() {
            let Kind::File { content, size } = &e.kind else {
                continue;
            };
            let nb = file_blocks(*size);
            if nb > u32::MAX as u64 {
                return Err(Error::Unsupported {
                    path: path.into(),
                    reason: "file larger than 16 TiB".into(),
                });
            }
            let ino = self.num.ino_of[path];
            let runs = take(&mut self.alloc, tree, opts, nb)?;
            for (s, l) in &runs {
                self.pieces
                    .push(Piece::data(s * BLOCK_SIZE, l * BLOCK_SIZE));
            }
            let node = self.num.nodes[ino as usize - 1]
                .as_mut()
                .expect("file node");
            runs_to_extents(&runs, 0, &mut node.extents);
            node.data_blocks = nb;
            sources.push(FileSource {
                path: path.to_string(),
                content: content.clone(),
                size: *size,
            });
        }
        Ok(sources)
    }

    /// Extent tree blocks of inodes with more than 4 extents.
    pub(super) fn extent_blocks(&mut self) -> Result<(), Error> {
        let (tree, opts) = (self.tree, self.opts);
        for ino in 1..=self.max_ino {
            let Some(n) = self.num.nodes[ino as usize - 1].as_mut() else {
                continue;
            };
            let need = extent::leaf_blocks_needed(n.extents.len()).map_err(at_path(n.path))?;
            if need > 0 {
                for (s, l) in take(&mut self.alloc, tree, opts, need as u64)? {
                    n.leaf_blocks.extend(s..s + l);
                }
            }
        }
        Ok(())
    }
}
