//! Inode numbers and directory contents for a Tree: which entry gets which inode, how many
//! links each inode has, and the (name, inode, type) lists the directories hold.

use std::collections::HashMap;

use eflow_tree::{Entry, Kind, Tree};

use crate::dir;
use crate::error::Error;
use crate::extent::Extent;
use crate::geometry::FIRST_INO;

/// Inode of the root directory.
pub const ROOT_INO: u32 = 2;
/// Inode of lost+found.
pub const LOST_FOUND_INO: u32 = 11;
/// Blocks lost+found gets, as mke2fs makes it (16 KiB), so fsck can use it without allocating.
pub const LOST_FOUND_BLOCKS: u64 = 4;

/// One inode-bearing entry of the tree.
pub struct Node<'a> {
    /// Its (first) path in the tree.
    pub path: &'a str,
    /// The tree entry (for hard links, the target's).
    pub entry: &'a Entry,
    /// Link count (names, or 2 + subdirectories for directories).
    pub links: u32,
    /// Data / directory / symlink extents.
    pub extents: Vec<Extent>,
    /// Blocks of data (file contents, directory blocks, slow symlink target).
    pub data_blocks: u64,
    /// Extent tree blocks, when more than 4 extents.
    pub leaf_blocks: Vec<u64>,
    /// Block of its extended attributes, 0 if none or in the inode.
    pub xattr_block: u64,
    /// In-inode extended attribute area, empty if none.
    pub xattr_area: Vec<u8>,
    /// A directory with a hash index.
    pub indexed: bool,
}

impl<'a> Node<'a> {
    /// A node with one link and nothing allocated yet.
    pub fn new(path: &'a str, entry: &'a Entry) -> Self {
        Node {
            path,
            entry,
            links: 1,
            extents: Vec::new(),
            data_blocks: 0,
            leaf_blocks: Vec::new(),
            xattr_block: 0,
            xattr_area: Vec::new(),
            indexed: false,
        }
    }
}

/// Inode numbers for every path: non-link entries in path order from 12 on (the root is 2,
/// lost+found 11), hard links sharing their target's number.
pub struct Numbering<'a> {
    /// Index = inode number - 1; None for reserved inodes.
    pub nodes: Vec<Option<Node<'a>>>,
    /// Inode number of every path (hard links included).
    pub ino_of: HashMap<&'a str, u32>,
}

/// Numbers the tree's inodes; `lost_found` is used when the tree has no /lost+found.
pub fn number<'a>(tree: &'a Tree, lost_found: &'a Entry) -> Result<Numbering<'a>, Error> {
    let mut nodes: Vec<Option<Node<'a>>> = (0..FIRST_INO).map(|_| None).collect();
    let mut ino_of: HashMap<&'a str, u32> = HashMap::with_capacity(tree.len());
    let mut links = Vec::new();
    let mut lf = Node::new("/lost+found", lost_found);
    for (path, e) in tree.iter() {
        match (&e.kind, path) {
            (_, "/") => {
                nodes[ROOT_INO as usize - 1] = Some(Node::new(path, e));
                ino_of.insert(path, ROOT_INO);
            }
            (Kind::Dir, "/lost+found") => lf = Node::new(path, e),
            (_, "/lost+found") => {
                return Err(Error::Unsupported {
                    path: path.into(),
                    reason: "/lost+found must be a directory in ext4".into(),
                })
            }
            (Kind::HardLink { target }, _) => links.push((path, target)),
            _ => {
                nodes.push(Some(Node::new(path, e)));
                ino_of.insert(path, nodes.len() as u32);
            }
        }
    }
    nodes[LOST_FOUND_INO as usize - 1] = Some(lf);
    ino_of.insert("/lost+found", LOST_FOUND_INO);
    for (path, target) in links {
        let t = eflow_tree::normalize(target).ok();
        let ino = t.as_deref().and_then(|t| ino_of.get(t).copied());
        let Some(ino) = ino.filter(|i| *i > LOST_FOUND_INO) else {
            return Err(Error::Unsupported {
                path: path.into(),
                reason: format!("hard link target {target} is not a file of the tree"),
            });
        };
        if let Some(n) = nodes[ino as usize - 1].as_mut() {
            n.links += 1;
        }
        ino_of.insert(path, ino);
    }
    Ok(Numbering { nodes, ino_of })
}

/// The path of `name` inside directory `dir`.
pub fn child_path(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// The directory entry file type of an entry.
pub fn ftype_of(e: &Entry) -> u8 {
    match e.kind {
        Kind::File { .. } | Kind::HardLink { .. } => dir::ftype::REG,
        Kind::Dir => dir::ftype::DIR,
        Kind::Symlink { .. } => dir::ftype::LNK,
        Kind::CharDevice { .. } => dir::ftype::CHR,
        Kind::BlockDevice { .. } => dir::ftype::BLK,
        Kind::Fifo => dir::ftype::FIFO,
        Kind::Socket => dir::ftype::SOCK,
    }
}

/// A directory entry to write: name, inode number, file type.
pub type DirItem<'a> = (&'a str, u32, u8);

/// A directory's entries (without `.` and `..`): (name, inode, file type) in name order.
pub fn dir_entries<'a>(
    tree: &'a Tree,
    path: &'a str,
    num: &Numbering<'a>,
) -> Result<Vec<DirItem<'a>>, Error> {
    let mut out = Vec::new();
    let mut has_lf = false;
    for (name, e) in tree.children(path) {
        let full = child_path(path, name);
        let ino = *num
            .ino_of
            .get(full.as_str())
            .ok_or_else(|| Error::Unsupported {
                path: full.clone(),
                reason: "entry missing from the numbering".into(),
            })?;
        let ft = match &e.kind {
            Kind::HardLink { .. } => num.nodes[ino as usize - 1]
                .as_ref()
                .map(|n| ftype_of(n.entry))
                .unwrap_or(dir::ftype::REG),
            _ => ftype_of(e),
        };
        has_lf |= path == "/" && name == "lost+found";
        out.push((name, ino, ft));
    }
    if path == "/" && !has_lf {
        let pos = out.partition_point(|(n, _, _)| *n < "lost+found");
        out.insert(pos, ("lost+found", LOST_FOUND_INO, dir::ftype::DIR));
    }
    Ok(out)
}
