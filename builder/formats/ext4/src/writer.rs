//! The writer: plans inode numbers and block allocation for a Tree, builds every metadata
//! block in memory, and returns an [`Ext4Image`] that streams the filesystem with file
//! contents read from the Tree on the fly, in content order.

use std::collections::BTreeMap;

use eflow_tree::{Entry, Kind, Tree};

use crate::alloc::Alloc;
use crate::checksum::{crc32c_raw, fs_seed, inode_seed};
use crate::dir::{self, DirEntry};
use crate::error::Error;
use crate::extent::{self, Extent};
use crate::geometry::{
    has_super, Geometry, BLOCKS_PER_GROUP, BLOCK_SIZE, DESC_SIZE, FIRST_INO, FLEX_GROUPS,
    INODE_SIZE,
};
use crate::group_desc::{GroupDesc, BG_INODE_ZEROED};
use crate::image::{Ext4Image, FileSource, Piece};
use crate::inode::{mode, Inode, FL_EXTENTS, FL_INDEX};
use crate::numbering::{
    dir_entries, number, DirItem, Numbering, LOST_FOUND_BLOCKS, LOST_FOUND_INO, ROOT_INO,
};
use crate::reader::Summary;
use crate::sizing::{file_blocks, min_size, needs};
use crate::superblock::*;
use crate::xattr::{self, Attr};
use crate::{htree, journal, resize};

/// What to make: size and the identity of the filesystem.
#[derive(Clone, Debug)]
pub struct Options {
    /// Filesystem size in bytes, a multiple of 4096 (the partition size).
    pub size: u64,
    /// Filesystem UUID.
    pub uuid: [u8; 16],
    /// Seed of the directory hash (htree) function.
    pub hash_seed: [u8; 16],
    /// Volume label, at most 16 bytes.
    pub label: String,
    /// Filesystem-level times (creation, last write, last check): SOURCE_DATE_EPOCH.
    pub timestamp: i64,
}

const RESIZE_INO: u32 = 7;
const JOURNAL_INO: u32 = 8;

/// Turns allocated runs into extents of at most 32768 blocks, starting at file block `first`.
fn runs_to_extents(runs: &[(u64, u64)], first: u32, out: &mut Vec<Extent>) {
    let mut logical = first;
    for (start, len) in runs {
        let mut s = *start;
        let mut l = *len;
        while l > 0 {
            let n = l.min(extent::MAX_LEN as u64);
            // Merge with the previous extent when physically contiguous.
            match out.last_mut() {
                Some(p)
                    if p.start + p.len as u64 == s
                        && p.len as u64 + n <= extent::MAX_LEN as u64 =>
                {
                    p.len += n as u32;
                }
                _ => out.push(Extent {
                    logical,
                    start: s,
                    len: n as u32,
                }),
            }
            logical += n as u32;
            s += n;
            l -= n;
        }
    }
}

fn no_space(tree: &Tree, opts: &Options, alloc: &Alloc) -> Error {
    Error::NoSpace {
        size: opts.size,
        needed: needs(tree).blocks,
        free: alloc.free(),
        min_size: min_size(tree),
    }
}

/// The group whose start the journal goes to, chosen as mke2fs does: the middle group (or
/// its neighbour with the most free blocks), rounded down to a flex group start on large
/// filesystems.
fn journal_group(geo: &Geometry, alloc: &Alloc) -> u32 {
    let free = |g: u32| alloc.free_in(geo.group_start(g), geo.group_len(g));
    let mut group = ((geo.blocks / 2) / BLOCKS_PER_GROUP as u64) as u32;
    let start;
    if group > FLEX_GROUPS {
        group &= !(FLEX_GROUPS - 1);
        while group < geo.groups && free(group) == 0 {
            group += 1;
        }
        if group == geo.groups {
            group = 0;
        }
        start = group;
    } else {
        start = group.saturating_sub(1);
    }
    let end = if group + 1 < geo.groups {
        group + 1
    } else {
        group
    };
    let mut best = start;
    for g in start + 1..=end {
        if free(g) > free(best) {
            best = g;
        }
    }
    best
}

/// Writes `tree` as an ext4 filesystem of `opts.size` bytes. Metadata is built now; file
/// contents are read from the tree when the returned image is read.
pub fn write(tree: &Tree, opts: &Options) -> Result<Ext4Image, Error> {
    if opts.label.len() > 16 {
        return Err(Error::InvalidSize {
            size: opts.size,
            reason: format!("label {:?} is longer than 16 bytes", opts.label),
        });
    }
    let lost_found = Entry {
        kind: Kind::Dir,
        mode: 0o700,
        uid: 0,
        gid: 0,
        mtime: opts.timestamp,
        xattrs: BTreeMap::new(),
    };
    let num = number(tree, &lost_found)?;
    let geo = Geometry::new(opts.size, num.nodes.len() as u64)?;
    let mut alloc = Alloc::new(geo.blocks);
    for (s, l) in geo.fixed_ranges() {
        alloc.mark(s, l);
    }
    // Like mke2fs, allocate after the first flex group's tables: the unused bitmap slots
    // before them stay free for the groups a later resize adds.
    let flex0_last = geo.meta[(FLEX_GROUPS.min(geo.groups) - 1) as usize];
    alloc.set_cursor(flex0_last.inode_table + geo.itable_blocks as u64);
    let mut b = Build {
        tree,
        opts,
        seed: fs_seed(&opts.uuid),
        max_ino: num.nodes.len() as u32,
        geo,
        alloc,
        num,
        pieces: Vec::new(),
    };
    // Allocation order is layout order: resize and journal blocks, directories, symlink and
    // xattr blocks, file data in content order, extent tree blocks.
    let journal = b.journal()?;
    b.directories()?;
    b.symlinks_and_xattrs()?;
    let sources = b.file_data()?;
    b.extent_blocks()?;
    let (itables, used_dirs) = b.inodes(&journal)?;
    let (descs, free_blocks, free_inodes) = b.groups(itables, &used_dirs);
    let sb = b.superblocks(&journal, &descs, free_blocks, free_inodes);
    let summary = Summary::of(&sb, BLOCK_SIZE);
    Ext4Image::new(opts.size, b.pieces, sources, summary)
}

/// Where the resize inode's block and the journal went.
struct Journal {
    dind: u64,
    len: u64,
    leaves: Vec<u64>,
    root: [u8; 60],
}

/// The state of one write: the plan so far and the metadata blocks built.
struct Build<'a> {
    tree: &'a Tree,
    opts: &'a Options,
    seed: u32,
    max_ino: u32,
    geo: Geometry,
    alloc: Alloc,
    num: Numbering<'a>,
    pieces: Vec<Piece>,
}

/// `n` blocks from the allocator, or the error that says how large the filesystem must be.
fn take(alloc: &mut Alloc, tree: &Tree, opts: &Options, n: u64) -> Result<Vec<(u64, u64)>, Error> {
    match alloc.alloc_runs(n) {
        Some(r) => Ok(r),
        None => Err(no_space(tree, opts, alloc)),
    }
}

/// Puts the path of the entry into an error raised without one.
fn at_path(path: &str) -> impl Fn(Error) -> Error + '_ {
    move |e| match e {
        Error::Unsupported { reason, .. } => Error::Unsupported {
            path: path.into(),
            reason,
        },
        e => e,
    }
}

fn mem(block: u64, data: Vec<u8>) -> Piece {
    Piece::mem(block * BLOCK_SIZE, data)
}

impl<'a> Build<'a> {
    /// The resize inode's double-indirect block, then the journal in the middle of the disk.
    fn journal(&mut self) -> Result<Journal, Error> {
        let (tree, opts) = (self.tree, self.opts);
        let dind = take(&mut self.alloc, tree, opts, 1)?[0].0;
        let jgroup = journal_group(&self.geo, &self.alloc);
        let len = self.geo.journal_blocks as u64;
        let start = self
            .alloc
            .alloc_contiguous(self.geo.group_start(jgroup), len)
            .or_else(|| self.alloc.alloc_contiguous(0, len))
            .ok_or_else(|| no_space(tree, opts, &self.alloc))?;
        self.pieces.push(mem(
            start,
            journal::superblock(self.geo.journal_blocks, &opts.uuid),
        ));
        let mut ext = Vec::new();
        runs_to_extents(&[(start, len)], 0, &mut ext);
        // A 1 GiB journal (filesystems of 128 GiB and more) has 8 extents: one leaf block.
        let mut leaves = Vec::new();
        for _ in 0..extent::leaf_blocks_needed(ext.len())? {
            leaves.push(take(&mut self.alloc, tree, opts, 1)?[0].0);
        }
        let (root, blocks) = extent::encode(&ext, &leaves, inode_seed(self.seed, JOURNAL_INO, 0));
        for (b, data) in leaves.iter().zip(blocks) {
            self.pieces.push(mem(*b, data));
        }
        Ok(Journal {
            dind,
            len,
            leaves,
            root,
        })
    }

    /// Directory blocks, in inode order: linear for one block, hash-indexed beyond.
    fn directories(&mut self) -> Result<(), Error> {
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
                htree::encode(*ino, parent, &entries, &opts.hash_seed, iseed).map_err(
                    |e| match e {
                        Error::Unsupported { reason, .. } => Error::Unsupported {
                            path: path.into(),
                            reason,
                        },
                        e => e,
                    },
                )?
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

    /// Blocks of slow symlinks, and extended attributes (in the inode when they fit, else in
    /// an xattr block shared between identical sets).
    fn symlinks_and_xattrs(&mut self) -> Result<(), Error> {
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
    fn file_data(&mut self) -> Result<Vec<FileSource>, Error> {
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
    fn extent_blocks(&mut self) -> Result<(), Error> {
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

    /// Every used inode, encoded into one buffer per group (covering its used inodes in
    /// whole blocks; the rest of each table stays zero on disk and is never materialized).
    /// Also returns the directories per group.
    fn inodes(&mut self, journal: &Journal) -> Result<(Vec<Vec<u8>>, Vec<u32>), Error> {
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

    /// Block and inode bitmaps and the group descriptor table; returns the table and the
    /// free block and inode totals.
    fn groups(&mut self, mut itables: Vec<Vec<u8>>, used_dirs: &[u32]) -> (Vec<u8>, u64, u64) {
        let (geo, seed, max_ino) = (&self.geo, self.seed, self.max_ino);
        let ipg = geo.inodes_per_group;
        let mut descs = vec![0u8; geo.desc_blocks as usize * BLOCK_SIZE as usize];
        let mut total_free_blocks = 0u64;
        let mut total_free_inodes = 0u64;
        for g in 0..geo.groups {
            let m = geo.meta[g as usize];
            let (bb, free_blocks) = self.alloc.bitmap(geo.group_start(g), geo.group_len(g));
            let first = g * ipg + 1;
            let used_inodes = max_ino.saturating_sub(first - 1).min(ipg);
            let mut ib = vec![0xFFu8; BLOCK_SIZE as usize];
            ib[..(ipg / 8) as usize].fill(0);
            for i in 0..used_inodes {
                ib[(i / 8) as usize] |= 1 << (i % 8);
            }
            let d = GroupDesc {
                block_bitmap: m.block_bitmap,
                inode_bitmap: m.inode_bitmap,
                inode_table: m.inode_table,
                free_blocks: free_blocks as u32,
                free_inodes: ipg - used_inodes,
                used_dirs: used_dirs[g as usize],
                flags: BG_INODE_ZEROED,
                block_bitmap_csum: crc32c_raw(seed, &bb[..(BLOCKS_PER_GROUP / 8) as usize]),
                inode_bitmap_csum: crc32c_raw(seed, &ib[..(ipg / 8) as usize]),
                itable_unused: ipg - used_inodes,
            };
            d.encode(g, seed, &mut descs[g as usize * DESC_SIZE..]);
            total_free_blocks += free_blocks;
            total_free_inodes += (ipg - used_inodes) as u64;
            self.pieces.push(mem(m.block_bitmap, bb));
            self.pieces.push(mem(m.inode_bitmap, ib));
            let t = std::mem::take(&mut itables[g as usize]);
            if !t.is_empty() {
                self.pieces.push(mem(m.inode_table, t));
            }
        }
        (descs, total_free_blocks, total_free_inodes)
    }

    /// The superblock, its backups and the GDT copies.
    fn superblocks(
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
