//! The Tree: the in-memory model of the guest filesystem.
//!
//! Assembly (unpacking packages, generated files) fills a [`Tree`]; every output format
//! (tar, ext4, ...) is written from it. The Tree never knows about formats and never holds
//! a copy of file contents on the host filesystem: a regular file refers to its content through
//! [`Content`], which is either bytes in memory or an entry of a [`ContentSource`] (for example
//! the n-th member of a package's data.tar), opened as a stream when a writer needs it.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read};
use std::sync::Arc;

/// Errors raised when an operation would make the Tree inconsistent.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    /// A path is not a valid absolute, normalized guest path.
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath { path: String, reason: &'static str },
    /// An entry's parent does not exist or is not a directory.
    #[error("cannot add {path}: parent {parent} is not a directory in the tree")]
    ParentNotDir { path: String, parent: String },
    /// A hard link points at a missing entry or a directory.
    #[error("hard link {path} points at {target}, which is not a non-directory entry of the tree")]
    BadHardLink { path: String, target: String },
}

/// A source of file contents that are too large, or too many, to keep in memory.
///
/// Implementations are streams of numbered members (say the data.tar of a .deb): opening member
/// `index` of `stream` gives its bytes. Writers that read files in the order given by
/// [`Tree::files_in_content_order`] open the members of each stream in increasing order, which
/// lets a source decompress each stream once, front to back.
pub trait ContentSource: Send + Sync {
    /// A short human-readable name for error messages (for example the package file name).
    fn describe(&self, stream: u32) -> String;
    /// Opens member `index` of `stream`; the reader yields exactly the member's bytes.
    fn open(&self, stream: u32, index: u64) -> io::Result<Box<dyn Read + '_>>;
}

/// Where a regular file's bytes come from.
#[derive(Clone)]
pub enum Content {
    /// Bytes held in memory (generated files, small files from recipes).
    Bytes(Arc<[u8]>),
    /// Member `index` of `stream` in a shared [`ContentSource`].
    Source {
        source: Arc<dyn ContentSource>,
        stream: u32,
        index: u64,
        /// A digest of the bytes (sha256), when the producer computed one, to compare contents.
        digest: Option<[u8; 32]>,
    },
}

impl Content {
    /// Content from owned bytes.
    pub fn bytes(data: impl Into<Vec<u8>>) -> Self {
        Content::Bytes(Arc::from(data.into().into_boxed_slice()))
    }

    /// Opens the content as a stream.
    pub fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        match self {
            Content::Bytes(b) => Ok(Box::new(&b[..])),
            Content::Source {
                source,
                stream,
                index,
                ..
            } => source.open(*stream, *index),
        }
    }

    /// The ordering key writers use to read contents stream by stream, member by member.
    /// In-memory contents come first.
    pub fn order_key(&self) -> (u32, u64) {
        match self {
            Content::Bytes(_) => (0, 0),
            Content::Source { stream, index, .. } => (stream.saturating_add(1), *index),
        }
    }
}

impl fmt::Debug for Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Content::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Content::Source {
                source,
                stream,
                index,
                ..
            } => write!(f, "Source({} #{index})", source.describe(*stream)),
        }
    }
}

/// What an entry is.
#[derive(Clone, Debug)]
pub enum Kind {
    /// A regular file of `size` bytes.
    File { content: Content, size: u64 },
    /// A directory; its children are the entries whose parent is its path.
    Dir,
    /// A symbolic link and its target, as stored (relative or absolute).
    Symlink { target: String },
    /// A hard link to another non-directory entry of the Tree (its absolute path).
    /// Writers give both paths the same inode.
    HardLink { target: String },
    /// A character device.
    CharDevice { major: u32, minor: u32 },
    /// A block device.
    BlockDevice { major: u32, minor: u32 },
    /// A named pipe.
    Fifo,
    /// A unix socket (rare in images, but representable).
    Socket,
}

/// One filesystem entry with its metadata.
#[derive(Clone, Debug)]
pub struct Entry {
    pub kind: Kind,
    /// Permission bits including setuid, setgid and sticky (mask 0o7777); never the type bits.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Modification time, seconds since the Unix epoch (clamped to SOURCE_DATE_EPOCH by writers' callers).
    pub mtime: i64,
    /// Extended attributes, by full name (for example `security.capability`).
    pub xattrs: BTreeMap<String, Vec<u8>>,
}

impl Entry {
    /// A root-owned entry with the given kind and mode, mtime 0, no xattrs.
    pub fn new(kind: Kind, mode: u32) -> Self {
        Entry {
            kind,
            mode: mode & 0o7777,
            uid: 0,
            gid: 0,
            mtime: 0,
            xattrs: BTreeMap::new(),
        }
    }

    /// A root-owned directory (mode 0755 unless changed).
    pub fn dir() -> Self {
        Entry::new(Kind::Dir, 0o755)
    }

    /// A root-owned regular file from in-memory bytes.
    pub fn file(data: impl Into<Vec<u8>>, mode: u32) -> Self {
        let data: Vec<u8> = data.into();
        let size = data.len() as u64;
        Entry::new(
            Kind::File {
                content: Content::bytes(data),
                size,
            },
            mode,
        )
    }

    /// A root-owned symbolic link (mode 0777, as Linux reports them).
    pub fn symlink(target: impl Into<String>) -> Self {
        Entry::new(
            Kind::Symlink {
                target: target.into(),
            },
            0o777,
        )
    }

    /// Sets the owner.
    pub fn owned(mut self, uid: u32, gid: u32) -> Self {
        self.uid = uid;
        self.gid = gid;
        self
    }

    /// Sets the modification time.
    pub fn at(mut self, mtime: i64) -> Self {
        self.mtime = mtime;
        self
    }

    /// True for directories.
    pub fn is_dir(&self) -> bool {
        matches!(self.kind, Kind::Dir)
    }

    /// The file type bits of `st_mode` (S_IFREG, S_IFDIR, ...) for this kind.
    /// A hard link reports 0: its type is its target's.
    pub fn type_bits(&self) -> u32 {
        match self.kind {
            Kind::File { .. } => 0o100000,
            Kind::Dir => 0o040000,
            Kind::Symlink { .. } => 0o120000,
            Kind::HardLink { .. } => 0,
            Kind::CharDevice { .. } => 0o020000,
            Kind::BlockDevice { .. } => 0o060000,
            Kind::Fifo => 0o010000,
            Kind::Socket => 0o140000,
        }
    }
}

/// Checks and normalizes a guest path: absolute, no `.`/`..`/empty components, no NUL,
/// no trailing slash (except the root itself, `/`).
pub fn normalize(path: &str) -> Result<String, TreeError> {
    let bad = |reason| TreeError::InvalidPath {
        path: path.to_string(),
        reason,
    };
    if !path.starts_with('/') {
        return Err(bad("not absolute"));
    }
    if path.contains('\0') {
        return Err(bad("contains a NUL byte"));
    }
    let mut out = String::with_capacity(path.len());
    for comp in path.split('/') {
        match comp {
            "" | "." => continue,
            ".." => return Err(bad("contains '..'")),
            c => {
                if c.len() > 255 {
                    return Err(bad("a component is longer than 255 bytes"));
                }
                out.push('/');
                out.push_str(c);
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    Ok(out)
}

/// The parent of a normalized path (`/` for top-level entries and for `/` itself).
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// The last component of a normalized path (empty for `/`).
pub fn file_name(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

/// The guest filesystem: entries by normalized absolute path, always containing `/`.
///
/// Paths iterate in byte order, so a directory always comes before its contents.
#[derive(Clone, Debug)]
pub struct Tree {
    entries: BTreeMap<String, Entry>,
}

impl Default for Tree {
    fn default() -> Self {
        Self::new()
    }
}

impl Tree {
    /// A tree holding only the root directory (root-owned, 0755).
    pub fn new() -> Self {
        let mut entries = BTreeMap::new();
        entries.insert("/".to_string(), Entry::dir());
        Tree { entries }
    }

    /// Inserts or replaces an entry. The parent must already be a directory; a hard link's
    /// target must exist and not be a directory. Returns the entry it replaced.
    pub fn insert(&mut self, path: &str, entry: Entry) -> Result<Option<Entry>, TreeError> {
        let path = normalize(path)?;
        if path == "/" {
            if !entry.is_dir() {
                return Err(TreeError::InvalidPath {
                    path,
                    reason: "the root must be a directory",
                });
            }
            return Ok(self.entries.insert(path, entry));
        }
        let parent = parent(&path);
        if !self.entries.get(parent).is_some_and(Entry::is_dir) {
            return Err(TreeError::ParentNotDir {
                parent: parent.to_string(),
                path,
            });
        }
        if let Kind::HardLink { target } = &entry.kind {
            let ok = normalize(target)
                .ok()
                .and_then(|t| self.entries.get(&t))
                .is_some_and(|e| !e.is_dir() && !matches!(e.kind, Kind::HardLink { .. }));
            if !ok {
                return Err(TreeError::BadHardLink {
                    path,
                    target: target.clone(),
                });
            }
        }
        Ok(self.entries.insert(path, entry))
    }

    /// Creates `path` and any missing ancestors as root-owned 0755 directories.
    pub fn mkdir_p(&mut self, path: &str) -> Result<(), TreeError> {
        let path = normalize(path)?;
        let mut cur = String::new();
        for comp in path.split('/').filter(|c| !c.is_empty()) {
            cur.push('/');
            cur.push_str(comp);
            match self.entries.get(&cur) {
                Some(e) if e.is_dir() => {}
                Some(_) => {
                    return Err(TreeError::ParentNotDir {
                        path: path.clone(),
                        parent: cur,
                    })
                }
                None => {
                    self.entries.insert(cur.clone(), Entry::dir());
                }
            }
        }
        Ok(())
    }

    /// Removes an entry and, for a directory, everything below it. Returns whether anything was removed.
    pub fn remove(&mut self, path: &str) -> Result<bool, TreeError> {
        let path = normalize(path)?;
        if path == "/" {
            return Err(TreeError::InvalidPath {
                path,
                reason: "the root cannot be removed",
            });
        }
        let existed = self.entries.remove(&path).is_some();
        let below = self.paths_below(&path);
        for k in &below {
            self.entries.remove(k);
        }
        Ok(existed || !below.is_empty())
    }

    /// Every path strictly below the normalized directory path `dir`, in order.
    fn paths_below(&self, dir: &str) -> Vec<String> {
        let prefix = format!("{dir}/");
        self.entries
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The entry at a path, if any (no symlink resolution).
    pub fn get(&self, path: &str) -> Option<&Entry> {
        normalize(path).ok().and_then(|p| self.entries.get(&p))
    }

    /// Mutable access to the entry at a path.
    pub fn get_mut(&mut self, path: &str) -> Option<&mut Entry> {
        normalize(path)
            .ok()
            .and_then(move |p| self.entries.get_mut(&p))
    }

    /// All entries in path order (parents before children).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Mutable iteration over all entries in path order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Entry)> {
        self.entries.iter_mut().map(|(k, v)| (k.as_str(), v))
    }

    /// The direct children of a directory, as (name, entry), in byte order of their names.
    pub fn children<'a>(&'a self, dir: &str) -> impl Iterator<Item = (&'a str, &'a Entry)> + 'a {
        let prefix = if dir == "/" {
            "/".to_string()
        } else {
            format!("{dir}/")
        };
        let plen = prefix.len();
        self.entries
            .range(prefix.clone()..)
            .take_while(move |(k, _)| k.starts_with(&prefix))
            .filter(move |(k, _)| k.len() > plen && !k[plen..].contains('/'))
            .map(move |(k, v)| (&k[plen..], v))
    }

    /// Number of entries, the root included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Never true: the root always exists.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Regular files (not hard links) ordered by where their content comes from: in-memory
    /// contents first, then stream by stream, member by member. Writers that read contents in
    /// this order let each [`ContentSource`] stream be read once, front to back.
    pub fn files_in_content_order(&self) -> Vec<(&str, &Entry)> {
        let mut files: Vec<(&str, &Entry)> = self
            .iter()
            .filter(|(_, e)| matches!(e.kind, Kind::File { .. }))
            .collect();
        files.sort_by_key(|(p, e)| match &e.kind {
            Kind::File { content, .. } => (content.order_key(), *p),
            _ => unreachable!("filtered to regular files"),
        });
        files
    }

    /// Moves everything below the directory `dir` into a Tree of its own, for a filesystem
    /// mounted there: `dir` stays behind as the empty mount point, and the new Tree's root
    /// takes its metadata. A hard link whose two names end up in different Trees becomes a
    /// copy of the file (filesystems cannot share an inode). A missing `dir` is created.
    pub fn split_off(&mut self, dir: &str) -> Result<Tree, TreeError> {
        let dir = normalize(dir)?;
        if dir == "/" {
            return Err(TreeError::InvalidPath {
                path: dir,
                reason: "the root cannot be split off",
            });
        }
        match self.entries.get(&dir) {
            None => self.mkdir_p(&dir)?,
            Some(e) if e.is_dir() => {}
            Some(_) => {
                return Err(TreeError::InvalidPath {
                    path: dir,
                    reason: "a mount point must be a directory",
                })
            }
        }
        let prefix = format!("{dir}/");
        let moved = self.paths_below(&dir);
        let mut sub = Tree::new();
        let mut root = self.entries[&dir].clone();
        root.kind = Kind::Dir;
        sub.entries.insert("/".into(), root);
        let mut below = BTreeMap::new();
        for k in moved {
            let e = self.entries.remove(&k).expect("listed above");
            below.insert(k[dir.len()..].to_string(), e);
        }
        // Hard links across the boundary become copies of their target, in both directions.
        let inside = |t: &str| t.starts_with(&prefix);
        let copies: Vec<(String, Entry)> = below
            .iter()
            .filter_map(|(p, e)| match &e.kind {
                Kind::HardLink { target } if !inside(target) => {
                    self.entries.get(target).map(|t| (p.clone(), t.clone()))
                }
                _ => None,
            })
            .collect();
        for (p, e) in copies {
            below.insert(p, e);
        }
        for e in below.values_mut() {
            if let Kind::HardLink { target } = &mut e.kind {
                *target = target[dir.len()..].to_string();
            }
        }
        let back: Vec<(String, Entry)> = self
            .entries
            .iter()
            .filter_map(|(p, e)| match &e.kind {
                Kind::HardLink { target } if inside(target) => below
                    .get(&target[dir.len()..])
                    .map(|t| (p.clone(), t.clone())),
                _ => None,
            })
            .collect();
        for (p, e) in back {
            self.entries.insert(p, e);
        }
        sub.entries.extend(below);
        Ok(sub)
    }

    /// Resolves a path inside the guest the way the kernel would, following symlinks in every
    /// component (relative to their directory, absolute ones from the guest root) and never
    /// leaving the root. Returns the normalized path of the final entry (which may not exist),
    /// or None if a loop or more than 40 links were met.
    pub fn resolve(&self, path: &str, follow_last: bool) -> Option<String> {
        let mut budget = 40;
        self.resolve_inner(path, follow_last, &mut budget)
    }

    fn resolve_inner(&self, path: &str, follow_last: bool, budget: &mut u32) -> Option<String> {
        let mut cur = String::from("/");
        let comps: Vec<&str> = path
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .collect();
        for (i, comp) in comps.iter().enumerate() {
            if *comp == ".." {
                cur = parent(&cur).to_string();
                continue;
            }
            let next = if cur == "/" {
                format!("/{comp}")
            } else {
                format!("{cur}/{comp}")
            };
            let last = i + 1 == comps.len();
            match self.entries.get(&next) {
                Some(Entry {
                    kind: Kind::Symlink { target },
                    ..
                }) if !last || follow_last => {
                    if *budget == 0 {
                        return None;
                    }
                    *budget -= 1;
                    let joined = if target.starts_with('/') {
                        target.clone()
                    } else {
                        format!("{cur}/{target}")
                    };
                    cur = self.resolve_inner(&joined, true, budget)?;
                }
                _ => cur = next,
            }
        }
        Some(cur)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_rejects_escapes_and_cleans() {
        assert_eq!(normalize("/usr//bin/./ls/").unwrap(), "/usr/bin/ls");
        assert_eq!(normalize("/").unwrap(), "/");
        assert!(normalize("usr/bin").is_err());
        assert!(normalize("/usr/../etc").is_err());
    }

    #[test]
    fn insert_needs_parent_dir() {
        let mut t = Tree::new();
        assert!(t.insert("/a/b", Entry::dir()).is_err());
        t.mkdir_p("/a/b").unwrap();
        t.insert("/a/b/f", Entry::file("x", 0o644)).unwrap();
        assert!(t.insert("/a/b/f/g", Entry::dir()).is_err());
        let names: Vec<_> = t.children("/a/b").map(|(n, _)| n).collect();
        assert_eq!(names, vec!["f"]);
        let top: Vec<_> = t.children("/").map(|(n, _)| n).collect();
        assert_eq!(top, vec!["a"]);
    }

    #[test]
    fn hard_links_need_a_file_target() {
        let mut t = Tree::new();
        t.insert("/f", Entry::file("x", 0o644)).unwrap();
        let link = Entry::new(
            Kind::HardLink {
                target: "/f".into(),
            },
            0o644,
        );
        t.insert("/g", link.clone()).unwrap();
        t.insert("/d", Entry::dir()).unwrap();
        let bad = Entry::new(
            Kind::HardLink {
                target: "/d".into(),
            },
            0o644,
        );
        assert!(t.insert("/h", bad).is_err());
    }

    #[test]
    fn remove_takes_subtree() {
        let mut t = Tree::new();
        t.mkdir_p("/a/b/c").unwrap();
        t.mkdir_p("/a-b").unwrap();
        assert!(t.remove("/a").unwrap());
        assert!(t.get("/a/b/c").is_none());
        assert!(t.get("/a-b").is_some());
    }

    #[test]
    fn split_off_moves_a_subtree_and_copies_hard_links_across() {
        let mut t = Tree::new();
        t.mkdir_p("/var/lib/x").unwrap();
        t.get_mut("/var").unwrap().mode = 0o750;
        t.insert("/var/lib/x/f", Entry::file("f", 0o600)).unwrap();
        t.insert(
            "/var/lib/g",
            Entry::new(
                Kind::HardLink {
                    target: "/var/lib/x/f".into(),
                },
                0o600,
            ),
        )
        .unwrap();
        t.insert("/usr", Entry::dir()).unwrap();
        t.insert(
            "/usr/h",
            Entry::new(
                Kind::HardLink {
                    target: "/var/lib/x/f".into(),
                },
                0o600,
            ),
        )
        .unwrap();
        t.insert("/usr/i", Entry::file("i", 0o644)).unwrap();
        t.insert(
            "/var/j",
            Entry::new(
                Kind::HardLink {
                    target: "/usr/i".into(),
                },
                0o644,
            ),
        )
        .unwrap();
        let var = t.split_off("/var").unwrap();
        assert_eq!(var.get("/").unwrap().mode, 0o750);
        assert_eq!(t.children("/var").count(), 0);
        assert!(
            matches!(&var.get("/lib/g").unwrap().kind, Kind::HardLink { target } if target == "/lib/x/f")
        );
        assert!(matches!(var.get("/j").unwrap().kind, Kind::File { .. }));
        assert!(matches!(t.get("/usr/h").unwrap().kind, Kind::File { .. }));
        assert_eq!(
            t.len() + var.len(),
            11,
            "every path in exactly one tree, the mount point in both"
        );
        let mut u = Tree::new();
        u.insert("/f", Entry::file("", 0o644)).unwrap();
        assert!(u.split_off("/f").is_err());
        assert!(u.split_off("/new").unwrap().len() == 1 && u.get("/new").is_some());
    }

    #[test]
    fn resolve_follows_symlinks_inside_root() {
        let mut t = Tree::new();
        t.mkdir_p("/usr/bin").unwrap();
        t.insert("/bin", Entry::symlink("usr/bin")).unwrap();
        t.insert("/usr/bin/up", Entry::symlink("../../../../etc"))
            .unwrap();
        assert_eq!(t.resolve("/bin/ls", true).unwrap(), "/usr/bin/ls");
        assert_eq!(t.resolve("/bin/up/passwd", true).unwrap(), "/etc/passwd");
        t.insert("/loop", Entry::symlink("/loop")).unwrap();
        assert!(t.resolve("/loop/x", true).is_none());
    }
}
