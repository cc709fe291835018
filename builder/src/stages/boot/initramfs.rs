//! The initramfs: a static busybox, the project's `/init`, and the storage drivers with
//! their dependencies, as a Tree that eflow-cpio writes as a newc archive.

use std::collections::{BTreeMap, BTreeSet};

use eflow_kmod::{ModInfo, ModuleIndex};
use eflow_tree::{Entry, Kind, Tree};

use super::kernel::Kernel;
use super::modules::KernelModules;
use super::{read, read_required, BootError, BootOptions, BusyboxSource};

/// The project's init script (guest-rootfs/initramfs/init), built into the tool so an
/// image's boot chain does not depend on the directory it is built from.
pub const INIT: &str = include_str!("../../../../guest-rootfs/initramfs/init");

/// The module list `/init` reads: `<name> <path> [<dependency> ...]` lines in load order.
pub const MODULE_LIST: &str = "/etc/eflow/modules";
/// The kernel release file `/init` reads.
pub const RELEASE_FILE: &str = "/etc/eflow/release";
/// The partitions and overlays `/init` mounts below the root (see configure::mounts).
pub const MOUNT_TABLE: &str = "/etc/eflow/mounts";

/// The initramfs and what went into it.
pub struct Initramfs {
    /// The archive's contents.
    pub tree: Tree,
    /// Module paths (under /lib/modules/<release>) in load order.
    pub modules: Vec<String>,
}

/// Builds the initramfs Tree for kernel `k` (whose modules are `mods`) with modules `wanted`
/// and their dependencies.
pub fn build(
    guest: &Tree,
    k: &Kernel,
    mods: &KernelModules,
    wanted: &[String],
    opts: &BootOptions,
) -> Result<Initramfs, BootError> {
    let busybox = match &opts.busybox {
        BusyboxSource::Tree(path) => read_required(
            guest,
            path,
            "busybox",
            "add busybox-static to the kernel recipe's packages",
        )?,
        BusyboxSource::Host(path) => std::fs::read(path).map_err(|source| BootError::Read {
            path: path.display().to_string(),
            source,
        })?,
    };
    let (order, infos, bytes) = modules(guest, k, mods, wanted)?;

    let mtime = opts.mtime;
    let mut t = Tree::new();
    t.get_mut("/").expect("the root always exists").mtime = mtime;
    for d in [
        "/bin",
        "/dev",
        "/etc",
        "/etc/eflow",
        "/lib",
        "/newroot",
        "/proc",
        "/run",
        "/sbin",
        "/sys",
        "/usr",
        "/usr/bin",
        "/usr/sbin",
    ] {
        t.insert(d, Entry::dir().at(mtime))?;
    }
    // The kernel opens /dev/console for /init's stdin/out before devtmpfs is mounted.
    t.insert(
        "/dev/console",
        Entry::new(Kind::CharDevice { major: 5, minor: 1 }, 0o600).at(mtime),
    )?;
    t.insert("/bin/busybox", Entry::file(busybox, 0o755).at(mtime))?;
    t.insert("/bin/sh", Entry::symlink("busybox").at(mtime))?;
    t.insert("/init", Entry::file(INIT.as_bytes(), 0o755).at(mtime))?;
    t.insert(
        RELEASE_FILE,
        Entry::file(format!("{}\n", k.release), 0o644).at(mtime),
    )?;
    let mut list = String::new();
    for path in &order {
        let info = &infos[path];
        let name = info
            .name
            .as_deref()
            .map(eflow_kmod::normalize)
            .unwrap_or_else(|| eflow_kmod::name_from_path(path));
        list.push_str(&name);
        list.push(' ');
        list.push_str(plain_name(path));
        let deps: BTreeSet<String> = info
            .depends
            .iter()
            .map(|d| eflow_kmod::normalize(d))
            .collect();
        for d in deps {
            if order.iter().any(|p| eflow_kmod::name_from_path(p) == d) {
                list.push(' ');
                list.push_str(&d);
            }
        }
        list.push('\n');
    }
    t.insert(MODULE_LIST, Entry::file(list, 0o644).at(mtime))?;
    t.insert(
        MOUNT_TABLE,
        Entry::file(opts.mount_table.as_bytes(), 0o644).at(mtime),
    )?;
    let base = format!("/lib/modules/{}", k.release);
    for path in &order {
        // busybox's insmod reads no zstd: the initramfs holds the modules decompressed (the
        // same bytes, so their signatures still hold).
        let full = format!("{base}/{}", plain_name(path));
        let parent = eflow_tree::parent(&full).to_string();
        mkdir_p(&mut t, &parent, mtime)?;
        let data = bytes.get(path).map(Vec::as_slice).unwrap_or_default();
        let data = eflow_kmod::decompressed(data).map_err(|source| BootError::Module {
            path: path.clone(),
            source,
        })?;
        t.insert(&full, Entry::file(data.into_owned(), 0o644).at(mtime))?;
    }
    Ok(Initramfs {
        tree: t,
        modules: order.iter().map(|p| plain_name(p).to_string()).collect(),
    })
}

/// A module's path without its compression suffix (`x.ko.zst` -> `x.ko`).
fn plain_name(path: &str) -> &str {
    [".zst", ".xz", ".gz"]
        .iter()
        .find_map(|s| path.strip_suffix(s))
        .unwrap_or(path)
}

fn mkdir_p(t: &mut Tree, path: &str, mtime: i64) -> Result<(), BootError> {
    let mut cur = String::new();
    for comp in path.split('/').filter(|c| !c.is_empty()) {
        cur.push('/');
        cur.push_str(comp);
        if t.get(&cur).is_none() {
            t.insert(&cur, Entry::dir().at(mtime))?;
        }
    }
    Ok(())
}

type Modules = (
    Vec<String>,
    BTreeMap<String, ModInfo>,
    BTreeMap<String, Vec<u8>>,
);

/// The load order of `wanted` and their dependencies, with each module's metadata and bytes.
///
/// The metadata of every module was read in one pass ([`super::modules::read_all`]); the
/// bytes of the modules to load are read in a second pass in content order, so the kernel
/// package's data.tar is decompressed once more, front to back, not once per module.
fn modules(
    guest: &Tree,
    k: &Kernel,
    mods: &KernelModules,
    wanted: &[String],
) -> Result<Modules, BootError> {
    let prefix = format!("{}/", k.modules_dir);
    let builtin = mods
        .builtin
        .as_deref()
        .map(|b| eflow_kmod::parse_builtin(&String::from_utf8_lossy(b)))
        .unwrap_or_default();
    let mut infos: BTreeMap<String, ModInfo> = mods
        .modules
        .iter()
        .map(|m| (m.path.clone(), m.info.clone()))
        .collect();
    let index = ModuleIndex::new(infos.iter().map(|(p, i)| (p.clone(), i.clone())), builtin)
        .map_err(BootError::Modules)?;
    let wanted_refs: Vec<&str> = wanted.iter().map(String::as_str).collect();
    let order: Vec<String> = index
        .load_order(&wanted_refs)
        .map_err(BootError::Modules)?
        .into_iter()
        .map(str::to_string)
        .collect();

    let mut needed: Vec<(String, &Entry)> = order
        .iter()
        .filter_map(|rel| {
            let path = format!("{prefix}{rel}");
            guest.get(&path).map(|e| (path, e))
        })
        .collect();
    needed.sort_by(|(pa, a), (pb, b)| (content_key(a), pa).cmp(&(content_key(b), pb)));
    let mut bytes = BTreeMap::new();
    for (path, _) in needed {
        bytes.insert(path[prefix.len()..].to_string(), read(guest, &path)?);
    }
    infos.retain(|p, _| order.contains(p));
    Ok((order, infos, bytes))
}

fn content_key(e: &Entry) -> (u32, u64) {
    match &e.kind {
        Kind::File { content, .. } => content.order_key(),
        _ => (0, 0),
    }
}
