//! Unpacking a package's data.tar into the Tree, the way dpkg would install it, without
//! touching the host filesystem.
//!
//! Two steps: [`scan`] reads data.tar once (hashing every regular file, which it must read
//! anyway to reach the next header) and needs no Tree, so packages can be scanned in
//! parallel; [`apply`] then places the entries in the Tree, in order, with dpkg's rules:
//!
//! - names are taken relative to the root (`./usr/bin/x`, `/usr/bin/x` and `usr/bin/x` are
//!   the same path, as dpkg skips leading slashes and `./`); `..` components are rejected;
//! - symlinks are created after every other entry of the package, as dpkg defers them;
//! - parents are resolved through the Tree's symlinks, so `/bin/bash` lands at
//!   `/usr/bin/bash` when `/bin` is a symlink to `usr/bin` (merged /usr), as the kernel
//!   resolves it for dpkg; but an entry below a symlink shipped by the same package is
//!   rejected (dpkg would never write through it: it creates symlinks last), and a parent
//!   symlink that does not lead to a directory is an error. Symlinks cannot lead outside the
//!   Tree: `Tree::resolve` clamps `..` at the root, as a chroot does;
//! - missing parents are created as root-owned 0755 directories;
//! - a directory (or a symlink) over an existing directory, or over a symlink to one, keeps
//!   what exists, metadata included;
//! - a non-directory over a directory is an error; over another package's object it is fine
//!   when both are the same (content, mode, owner), else an error unless the caller's policy
//!   lets the new package replace the other (dpkg's `Replaces`). Objects no package owns
//!   (created by the caller) are replaced silently, as dpkg overwrites unowned files.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::sync::Arc;

use eflow_tree::{file_name, normalize, parent, Content, Entry, Kind, Tree};
use md5::Md5;
use sha2::{Digest, Sha256};

use crate::package::{open_data, DebPackage};
use crate::source::DebSource;
use crate::store::ContentStore;
use crate::tar::{EntryType, TarReader};
use crate::Error;

/// Which packages own each path of the Tree (by the path where the object really is, after
/// resolving parent symlinks), by their dpkg name: what the dpkg database lists.
pub type Owners = BTreeMap<String, Vec<String>>;

/// What unpacking one package installed.
#[derive(Clone, Debug, Default)]
pub struct Installed {
    /// The paths as dpkg lists them in `info/<package>.list`: `/.` for the root, then
    /// data.tar order with symlinks last (dpkg creates them last).
    pub paths: Vec<String>,
    /// For each of `paths`, where the object is in the Tree (parent symlinks resolved).
    pub physical: Vec<String>,
    /// (conffile, md5 as hex) of the conffiles the package shipped, in `conffiles` order.
    pub conffiles: Vec<(String, String)>,
}

/// One data.tar entry, read and hashed.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ScannedEntry {
    /// The name as stored in the tar (for messages).
    pub raw: String,
    /// The name as dpkg lists it: `/` + the name without leading slashes and `./`.
    pub list_name: String,
    /// The normalized path in the guest.
    pub path: String,
    pub kind: ScannedKind,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
}

/// What a scanned entry is.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum ScannedKind {
    /// Regular file number `index` of the data.tar (the `DebSource` member number), whose
    /// bytes are at `offset` in the package's unpacked contents ([`Scanned::contents`]).
    File {
        index: u64,
        offset: u64,
        size: u64,
        sha256: [u8; 32],
        /// Only computed for conffiles.
        md5: Option<[u8; 16]>,
    },
    Dir,
    Symlink(String),
    /// A hard link to the normalized path of an earlier entry.
    HardLink(String),
    CharDevice(u32, u32),
    BlockDevice(u32, u32),
    Fifo,
}

/// A package's data.tar, scanned.
#[derive(Clone, Debug)]
pub struct Scanned {
    pub entries: Vec<ScannedEntry>,
    /// The regular files' bytes, one after another in data.tar order (see
    /// [`crate::store::ContentStore`]): contents are read from here, never decompressed again.
    pub contents: Arc<std::fs::File>,
    /// The sha256 of the package file the scan is of, when the store computed it (a
    /// persistent store keys its entries by it), for the caller to check against a lock.
    pub package_sha256: Option<[u8; 32]>,
}

/// Skips leading slashes and `./` pairs, as dpkg does for archive member names.
pub(crate) fn skip_slash_dotslash(mut s: &str) -> &str {
    loop {
        if let Some(r) = s.strip_prefix('/') {
            s = r;
        } else if let Some(r) = s.strip_prefix("./") {
            s = r;
        } else {
            return s;
        }
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads a package's data.tar once: headers, names checked and normalized, every regular file
/// hashed (sha256, and md5 for conffiles) and kept in a temporary file. Needs no Tree.
pub fn scan(pkg: &DebPackage) -> Result<Scanned, Error> {
    ContentStore::temporary().scan(pkg)
}

/// Reads a package's data.tar once, as [`scan`] describes, writing the regular files' bytes
/// one after another to `contents`.
pub(crate) fn scan_entries(
    pkg: &DebPackage,
    contents: &mut dyn std::io::Write,
) -> Result<Vec<ScannedEntry>, Error> {
    let (stream, member) = open_data(&pkg.path)?;
    let conffiles: HashSet<String> = pkg
        .conffiles
        .iter()
        .filter_map(|c| normalize(c).ok())
        .collect();
    let entry_err = |entry: &str, reason: String| Error::Entry {
        package: pkg.control.name().to_string(),
        file: pkg.path.clone(),
        entry: entry.to_string(),
        reason,
    };
    let tar_err = |entry: Option<String>, reason: String| Error::Tar {
        package: pkg.path.clone(),
        member: member.clone(),
        entry,
        reason,
    };
    let mut tar = TarReader::new(stream);
    let mut entries = Vec::new();
    let mut index = 0u64;
    let mut offset = 0u64;
    let mut buf = vec![0u8; 256 * 1024];
    while let Some(h) = tar.next_header().map_err(|e| tar_err(e.entry, e.reason))? {
        if h.name.contains('\n') {
            return Err(entry_err(
                &h.name,
                "newline in an archive member name".into(),
            ));
        }
        let list_name = format!("/{}", skip_slash_dotslash(&h.name));
        let path = normalize(&list_name).map_err(|e| entry_err(&h.name, e.to_string()))?;
        let kind = match h.kind {
            EntryType::File => {
                let mut sha = Sha256::new();
                let mut md5 = conffiles.contains(&path).then(Md5::new);
                let mut written = Ok(());
                tar.each_chunk(&mut buf, |c| {
                    sha.update(c);
                    if let Some(m) = md5.as_mut() {
                        m.update(c);
                    }
                    if written.is_ok() {
                        written = contents.write_all(c);
                    }
                })
                .map_err(|e| tar_err(Some(h.name.clone()), e.to_string()))?;
                written.map_err(|e| Error::Store {
                    package: pkg.path.clone(),
                    source: e,
                })?;
                index += 1;
                offset += h.size;
                ScannedKind::File {
                    index: index - 1,
                    offset: offset - h.size,
                    size: h.size,
                    sha256: sha.finalize().into(),
                    md5: md5.map(|m| m.finalize().into()),
                }
            }
            EntryType::Dir => ScannedKind::Dir,
            EntryType::Symlink => {
                if h.link.is_empty() {
                    return Err(entry_err(&h.name, "symlink with an empty target".into()));
                }
                ScannedKind::Symlink(h.link.clone())
            }
            EntryType::HardLink => {
                let target = normalize(&format!("/{}", skip_slash_dotslash(&h.link)))
                    .map_err(|e| entry_err(&h.name, format!("hard link target: {e}")))?;
                ScannedKind::HardLink(target)
            }
            EntryType::CharDevice => ScannedKind::CharDevice(h.major, h.minor),
            EntryType::BlockDevice => ScannedKind::BlockDevice(h.major, h.minor),
            EntryType::Fifo => ScannedKind::Fifo,
        };
        let mode = if matches!(kind, ScannedKind::Symlink(_)) {
            0o777
        } else {
            h.mode
        };
        entries.push(ScannedEntry {
            raw: h.name,
            list_name,
            path,
            kind,
            mode,
            uid: h.uid,
            gid: h.gid,
            mtime: h.mtime,
        });
    }
    Ok(entries)
}

/// Scans several packages on `threads` threads (decompressing and hashing is most of the
/// work of unpacking), keeping their contents in `store`; results are in the order of `pkgs`.
/// Apply them in that order.
pub fn scan_all(
    pkgs: &[DebPackage],
    store: &ContentStore,
    threads: usize,
) -> Vec<Result<Scanned, Error>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    store.clean_leftovers();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Scanned, Error>>>> =
        Mutex::new((0..pkgs.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1).min(pkgs.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(pkg) = pkgs.get(i) else { break };
                let r = store.scan(pkg);
                if let Ok(mut res) = results.lock() {
                    res[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .zip(pkgs)
        .map(|(r, pkg)| {
            r.unwrap_or_else(|| {
                Err(Error::Entry {
                    package: pkg.control.name().to_string(),
                    file: pkg.path.clone(),
                    entry: String::new(),
                    reason: "scanning thread failed".into(),
                })
            })
        })
        .collect()
}

/// What an object is, for deciding whether two packages ship the same thing.
#[derive(PartialEq, Eq, Debug)]
enum Fingerprint {
    File(u64, [u8; 32]),
    Symlink(String),
    Char(u32, u32),
    Block(u32, u32),
    Fifo,
    Other,
}

/// The fingerprint of a Tree entry (following hard links); None when the content has no digest.
fn tree_fingerprint(tree: &Tree, e: &Entry) -> Option<(Fingerprint, u32, u32, u32)> {
    let e = match &e.kind {
        Kind::HardLink { target } => tree.get(target)?,
        _ => e,
    };
    let fp = match &e.kind {
        Kind::File { content, size } => {
            let digest = match content {
                Content::Source { digest, .. } => (*digest)?,
                Content::Bytes(b) => Sha256::digest(b).into(),
            };
            Fingerprint::File(*size, digest)
        }
        Kind::Symlink { target } => return Some((Fingerprint::Symlink(target.clone()), 0, 0, 0)),
        Kind::CharDevice { major, minor } => Fingerprint::Char(*major, *minor),
        Kind::BlockDevice { major, minor } => Fingerprint::Block(*major, *minor),
        Kind::Fifo => Fingerprint::Fifo,
        _ => Fingerprint::Other,
    };
    Some((fp, e.mode, e.uid, e.gid))
}

fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// Resolves a package directory path to where it is in the Tree, following the Tree's
/// symlinks and creating missing directories (root, 0755).
fn resolve_dir(tree: &mut Tree, dir: &str) -> Result<String, String> {
    let mut cur = "/".to_string();
    for comp in dir.split('/').filter(|c| !c.is_empty()) {
        let next = join(&cur, comp);
        match tree.get(&next).map(|e| &e.kind) {
            None => {
                tree.insert(&next, Entry::dir())
                    .map_err(|e| e.to_string())?;
                cur = next;
            }
            Some(Kind::Dir) => cur = next,
            Some(Kind::Symlink { .. }) => {
                let to = tree
                    .resolve(&next, true)
                    .ok_or_else(|| format!("{next} is a symlink loop"))?;
                if !tree.get(&to).is_some_and(Entry::is_dir) {
                    return Err(format!(
                        "parent {next} is a symlink that does not lead to a directory"
                    ));
                }
                cur = to;
            }
            Some(_) => return Err(format!("parent {next} exists and is not a directory")),
        }
    }
    Ok(cur)
}

/// Before the file at `path` is replaced: hard links to it keep the old content, as on a
/// real filesystem (the new file is a new inode). The first link becomes the file, the
/// others point at it. Replacing is rare (only with the caller's permission), so the scan
/// over the whole Tree is affordable.
fn detach_hard_links(tree: &mut Tree, path: &str) {
    let Some(old) = tree.get(path).cloned() else {
        return;
    };
    if !matches!(old.kind, Kind::File { .. }) {
        return;
    }
    let links: Vec<String> = tree
        .iter()
        .filter(|(_, e)| matches!(&e.kind, Kind::HardLink { target } if target == path))
        .map(|(p, _)| p.to_string())
        .collect();
    let Some((first, rest)) = links.split_first() else {
        return;
    };
    if let Some(e) = tree.get_mut(first) {
        *e = old;
    }
    for l in rest {
        if let Some(e) = tree.get_mut(l) {
            e.kind = Kind::HardLink {
                target: first.clone(),
            };
        }
    }
}

fn add_owner(owners: &mut Owners, path: &str, name: &str) {
    let list = owners.entry(path.to_string()).or_default();
    if !list.iter().any(|o| o == name) {
        list.push(name.to_string());
    }
}

/// Places a scanned package's entries in the Tree (see the module documentation for the
/// rules). `stream` is the package's stream in `source`; `policy(path, other)` says whether
/// this package may replace the file another package installed at `path`.
pub fn apply(
    tree: &mut Tree,
    pkg: &DebPackage,
    scanned: &Scanned,
    source: &Arc<DebSource>,
    stream: u32,
    owners: &mut Owners,
    policy: &dyn Fn(&str, &str) -> bool,
) -> Result<Installed, Error> {
    let me = pkg.dpkg_name();
    let entry_err = |entry: &str, reason: String| Error::Entry {
        package: me.clone(),
        file: pkg.path.clone(),
        entry: entry.to_string(),
        reason,
    };
    let tree_err = |entry: &str, source: eflow_tree::TreeError| Error::Tree {
        package: me.clone(),
        entry: entry.to_string(),
        source,
    };
    let dyn_source: Arc<dyn eflow_tree::ContentSource> = source.clone();
    let members = scanned
        .entries
        .iter()
        .filter_map(|e| match e.kind {
            ScannedKind::File { offset, size, .. } => Some((offset, size)),
            _ => None,
        })
        .collect();
    source.set_contents(stream, scanned.contents.clone(), members);
    let own_symlinks: HashSet<&str> = scanned
        .entries
        .iter()
        .filter(|e| matches!(e.kind, ScannedKind::Symlink(_)))
        .map(|e| e.path.as_str())
        .collect();
    // Where this package's regular files went, for its hard links.
    let mut placed: HashMap<&str, String> = HashMap::new();
    let mut out = Installed::default();
    let mut conffile_md5: HashMap<&str, String> = HashMap::new();
    let ordered = scanned
        .entries
        .iter()
        .filter(|e| !matches!(e.kind, ScannedKind::Symlink(_)))
        .chain(
            scanned
                .entries
                .iter()
                .filter(|e| matches!(e.kind, ScannedKind::Symlink(_))),
        );
    for e in ordered {
        let mut anc = e.path.as_str();
        while anc != "/" {
            anc = parent(anc);
            if own_symlinks.contains(anc) {
                return Err(entry_err(
                    &e.raw,
                    format!("lies below {anc}, a symlink shipped by the same package (dpkg never writes through a package's own symlinks)"),
                ));
            }
        }
        if e.path == "/" {
            if !matches!(e.kind, ScannedKind::Dir) {
                return Err(entry_err(&e.raw, "the root can only be a directory".into()));
            }
            add_owner(owners, "/", &me);
            out.paths.push(e.list_name.clone());
            out.physical.push("/".into());
            continue;
        }
        let dir = resolve_dir(tree, parent(&e.path)).map_err(|r| entry_err(&e.raw, r))?;
        let phys = join(&dir, file_name(&e.path));
        let existing = tree.get(&phys);
        let existed = existing.is_some();
        let existing_is_dir = existing.is_some_and(Entry::is_dir);
        let existing_leads_to_dir = existing_is_dir
            || (matches!(existing.map(|x| &x.kind), Some(Kind::Symlink { .. }))
                && tree
                    .resolve(&phys, true)
                    .is_some_and(|r| tree.get(&r).is_some_and(Entry::is_dir)));

        // The new object, and its fingerprint for comparing with what exists.
        let (kind, fp) = match &e.kind {
            ScannedKind::Dir => (Kind::Dir, Fingerprint::Other),
            ScannedKind::File {
                index,
                size,
                sha256,
                md5,
                ..
            } => {
                if let Some(m) = md5 {
                    conffile_md5.insert(e.path.as_str(), hex(m));
                }
                (
                    Kind::File {
                        content: Content::Source {
                            source: dyn_source.clone(),
                            stream,
                            index: *index,
                            digest: Some(*sha256),
                        },
                        size: *size,
                    },
                    Fingerprint::File(*size, *sha256),
                )
            }
            ScannedKind::Symlink(t) => (
                Kind::Symlink { target: t.clone() },
                Fingerprint::Symlink(t.clone()),
            ),
            ScannedKind::HardLink(target) => {
                let Some(tphys) = placed.get(target.as_str()) else {
                    return Err(entry_err(
                        &e.raw,
                        format!("hard link to {target}, which is not a regular file earlier in the package"),
                    ));
                };
                let tentry = tree.get(tphys);
                let real = match tentry.map(|t| &t.kind) {
                    Some(Kind::HardLink { target }) => target.clone(),
                    Some(Kind::File { .. }) => tphys.clone(),
                    _ => {
                        return Err(entry_err(
                            &e.raw,
                            format!(
                            "hard link to {target}, which is no longer a regular file in the tree"
                        ),
                        ))
                    }
                };
                let fp = tree
                    .get(&real)
                    .and_then(|t| tree_fingerprint(tree, t))
                    .map(|f| f.0)
                    .unwrap_or(Fingerprint::Other);
                (Kind::HardLink { target: real }, fp)
            }
            ScannedKind::CharDevice(a, b) => (
                Kind::CharDevice {
                    major: *a,
                    minor: *b,
                },
                Fingerprint::Char(*a, *b),
            ),
            ScannedKind::BlockDevice(a, b) => (
                Kind::BlockDevice {
                    major: *a,
                    minor: *b,
                },
                Fingerprint::Block(*a, *b),
            ),
            ScannedKind::Fifo => (Kind::Fifo, Fingerprint::Fifo),
        };
        let is_dir = matches!(kind, Kind::Dir);
        let is_symlink = matches!(kind, Kind::Symlink { .. });

        let keep_existing = if existing.is_none() {
            false
        } else if (is_dir && existing_leads_to_dir)
            || (is_symlink && existing_leads_to_dir && {
                // dpkg keeps an existing directory, or a symlink to the same directory.
                existing_is_dir || {
                    let t = match &kind {
                        Kind::Symlink { target } => target.as_str(),
                        _ => "",
                    };
                    let joined = if t.starts_with('/') {
                        t.to_string()
                    } else {
                        join(&dir, t)
                    };
                    tree.resolve(&joined, true) == tree.resolve(&phys, true)
                }
            })
        {
            true
        } else if existing_is_dir {
            return Err(entry_err(
                &e.raw,
                format!("would replace the directory {phys} with a non-directory"),
            ));
        } else {
            let others: Vec<String> = owners
                .get(&phys)
                .map(|l| l.iter().filter(|o| **o != me).cloned().collect())
                .unwrap_or_default();
            let same = !is_dir
                && existing
                    .and_then(|x| tree_fingerprint(tree, x))
                    .is_some_and(|(xfp, mode, uid, gid)| {
                        xfp == fp
                            && (is_symlink || (mode == e.mode && uid == e.uid && gid == e.gid))
                    });
            if others.is_empty() {
                false
            } else if same {
                true
            } else {
                for other in &others {
                    if !policy(&e.path, other) {
                        return Err(Error::Conflict {
                            package: me.clone(),
                            other: other.clone(),
                            path: phys.clone(),
                            entry: e.raw.clone(),
                        });
                    }
                }
                if let Some(l) = owners.get_mut(&phys) {
                    l.retain(|o| *o == me);
                }
                false
            }
        };
        if !keep_existing {
            if existed {
                detach_hard_links(tree, &phys);
                tree.remove(&phys).map_err(|x| tree_err(&e.raw, x))?;
            }
            let entry = Entry {
                kind,
                mode: e.mode & 0o7777,
                uid: e.uid,
                gid: e.gid,
                mtime: e.mtime,
                xattrs: BTreeMap::new(),
            };
            tree.insert(&phys, entry).map_err(|x| tree_err(&e.raw, x))?;
        }
        if matches!(e.kind, ScannedKind::File { .. }) {
            placed.insert(e.path.as_str(), phys.clone());
        }
        add_owner(owners, &phys, &me);
        out.paths.push(e.list_name.clone());
        out.physical.push(phys);
    }
    for c in &pkg.conffiles {
        if let Some(m) = normalize(c).ok().and_then(|p| conffile_md5.get(p.as_str())) {
            out.conffiles.push((c.clone(), m.clone()));
        }
    }
    Ok(out)
}

/// Scans and applies a package: see [`scan`] and [`apply`].
pub fn unpack_into(
    tree: &mut Tree,
    pkg: &DebPackage,
    source: &Arc<DebSource>,
    stream: u32,
    owners: &mut Owners,
    policy: &dyn Fn(&str, &str) -> bool,
) -> Result<Installed, Error> {
    let scanned = scan(pkg)?;
    apply(tree, pkg, &scanned, source, stream, owners, policy)
}

/// Reads all of a Tree file's content and returns its sha256 (for tests and checks).
pub fn content_sha256(content: &Content) -> std::io::Result<[u8; 32]> {
    sha256_reader(content.open()?)
}

/// The sha256 of everything `r` yields.
pub(crate) fn sha256_reader(mut r: impl Read) -> std::io::Result<[u8; 32]> {
    crate::store::reader_sha256(&mut r).map(|(digest, _)| digest)
}
