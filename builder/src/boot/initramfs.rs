//! The initramfs: a static busybox, the project's `/init`, and the storage drivers with
//! their dependencies, as a Tree that eflow-cpio writes as a newc archive.

use std::collections::{BTreeMap, BTreeSet};

use eflow_kmod::{ModInfo, ModuleIndex};
use eflow_tree::{Entry, Kind, Tree};

use super::kernel::Kernel;
use super::{read, read_required, BootError, BootOptions, BusyboxSource};

/// The project's init script (guest-rootfs/initramfs/init), built into the tool so an
/// image's boot chain does not depend on the directory it is built from.
pub const INIT: &str = include_str!("../../../guest-rootfs/initramfs/init");

/// The module list `/init` reads: `<name> <path> [<dependency> ...]` lines in load order.
pub const MODULE_LIST: &str = "/etc/eflow/modules";
/// The kernel release file `/init` reads.
pub const RELEASE_FILE: &str = "/etc/eflow/release";

/// The initramfs and what went into it.
pub struct Initramfs {
    /// The archive's contents.
    pub tree: Tree,
    /// Module paths (under /lib/modules/<release>) in load order.
    pub modules: Vec<String>,
}

/// Builds the initramfs Tree for kernel `k` with modules `wanted` and their dependencies.
pub fn build(
    guest: &Tree,
    k: &Kernel,
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
    let (order, infos, bytes) = modules(guest, k, wanted)?;

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
        list.push_str(path);
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
    let base = format!("/lib/modules/{}", k.release);
    for path in &order {
        let full = format!("{base}/{path}");
        let parent = eflow_tree::parent(&full).to_string();
        mkdir_p(&mut t, &parent, mtime)?;
        let data = bytes.get(path).cloned().unwrap_or_default();
        t.insert(&full, Entry::file(data, 0o644).at(mtime))?;
    }
    Ok(Initramfs {
        tree: t,
        modules: order,
    })
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
/// Only the modules in the dependency closure are read (a kernel has over a thousand), each
/// round in content order so a package's data.tar is decompressed front to back.
fn modules(guest: &Tree, k: &Kernel, wanted: &[String]) -> Result<Modules, BootError> {
    let dir = &k.modules_dir;
    let prefix = format!("{dir}/");
    // Loadable modules by name, from file names alone.
    let mut by_name: BTreeMap<String, (String, &Entry)> = BTreeMap::new();
    for (path, e) in guest.iter() {
        let Some(rel) = path.strip_prefix(&prefix) else {
            continue;
        };
        let is_module = [".ko", ".ko.xz", ".ko.zst", ".ko.gz"]
            .iter()
            .any(|s| rel.ends_with(s));
        if is_module && matches!(e.kind, Kind::File { .. }) {
            by_name.insert(eflow_kmod::name_from_path(rel), (rel.to_string(), e));
        }
    }
    let builtin = match guest.get(&format!("{dir}/modules.builtin")) {
        Some(_) => {
            let text = read(guest, &format!("{dir}/modules.builtin"))?;
            eflow_kmod::parse_builtin(&String::from_utf8_lossy(&text))
        }
        None => Vec::new(),
    };
    let builtin_set: BTreeSet<String> = builtin.iter().cloned().collect();

    let mut infos: BTreeMap<String, ModInfo> = BTreeMap::new();
    let mut bytes: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut todo: Vec<String> = wanted.iter().map(|w| eflow_kmod::normalize(w)).collect();
    while !todo.is_empty() {
        let mut round: Vec<(String, &Entry)> = Vec::new();
        for name in todo.drain(..) {
            if builtin_set.contains(&name) || !seen.insert(name.clone()) {
                continue;
            }
            // A name with no file is reported by load_order, with the chain that needs it.
            if let Some((rel, e)) = by_name.get(&name) {
                round.push((rel.clone(), *e));
            }
        }
        round.sort_by_key(|(rel, e)| match &e.kind {
            Kind::File { content, .. } => (content.order_key(), rel.clone()),
            _ => ((0, 0), rel.clone()),
        });
        for (rel, _) in round {
            let data = read(guest, &format!("{dir}/{rel}"))?;
            let info = eflow_kmod::modinfo(&data).map_err(|source| BootError::Module {
                path: format!("{dir}/{rel}"),
                source,
            })?;
            todo.extend(info.depends.iter().map(|d| eflow_kmod::normalize(d)));
            infos.insert(rel.clone(), info);
            bytes.insert(rel, data);
        }
    }
    let index = ModuleIndex::new(infos.iter().map(|(p, i)| (p.clone(), i.clone())), builtin)
        .map_err(BootError::Modules)?;
    let wanted_refs: Vec<&str> = wanted.iter().map(String::as_str).collect();
    let order: Vec<String> = index
        .load_order(&wanted_refs)
        .map_err(BootError::Modules)?
        .into_iter()
        .map(str::to_string)
        .collect();
    Ok((order, infos, bytes))
}
