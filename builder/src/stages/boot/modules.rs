//! The kernel's modules, read once from the Tree: their metadata and symbols for the
//! initramfs, and the index files kmod reads (`modules.dep.bin`, `modules.alias.bin`, ...),
//! written into the guest's module directory at build time, as Debian 12's `depmod` would
//! write them, so the guest never needs to run depmod on its read-only root.

use eflow_kmod::{DepmodInputs, KernelModule};
use eflow_tree::{Entry, Kind, Tree};

use super::kernel::Kernel;
use super::{read, BootError};

/// File name endings of the modules the initramfs may take.
const MODULE_SUFFIXES: [&str; 4] = [".ko", ".ko.xz", ".ko.zst", ".ko.gz"];
/// Those Debian 12's depmod indexes (its kmod is built without zlib).
const DEPMOD_SUFFIXES: [&str; 3] = [".ko", ".ko.xz", ".ko.zst"];

/// Everything of the module directory that depmod reads.
pub struct KernelModules {
    /// Every module, with its path relative to the module directory, in path order.
    pub modules: Vec<KernelModule>,
    /// `modules.builtin`, if the kernel package has it.
    pub builtin: Option<Vec<u8>>,
    /// `modules.order`, if the kernel package has it.
    pub order: Option<Vec<u8>>,
    /// `modules.builtin.modinfo`, if the kernel package has it.
    pub builtin_modinfo: Option<Vec<u8>>,
}

/// Reads every module of kernel `k` and the files depmod reads besides them, in content order
/// so the kernel package's data.tar is decompressed once, front to back.
pub fn read_all(guest: &Tree, k: &Kernel) -> Result<KernelModules, BootError> {
    let prefix = format!("{}/", k.modules_dir);
    let extra = [
        "modules.builtin",
        "modules.order",
        "modules.builtin.modinfo",
    ];
    let mut out = KernelModules {
        modules: Vec::new(),
        builtin: None,
        order: None,
        builtin_modinfo: None,
    };
    for (path, _) in guest.files_in_content_order() {
        let Some(rel) = path.strip_prefix(&prefix) else {
            continue;
        };
        if extra.contains(&rel) {
            let data = Some(read(guest, path)?);
            match rel {
                "modules.builtin" => out.builtin = data,
                "modules.order" => out.order = data,
                _ => out.builtin_modinfo = data,
            }
        } else if MODULE_SUFFIXES.iter().any(|s| rel.ends_with(s)) {
            let (info, symbols) =
                eflow_kmod::module(&read(guest, path)?).map_err(|source| BootError::Module {
                    path: path.to_string(),
                    source,
                })?;
            out.modules.push(KernelModule {
                path: rel.to_string(),
                info,
                symbols,
            });
        }
    }
    out.modules.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Compresses every uncompressed module (`.ko`) of the guest's kernel into a `.ko.zst` in its
/// place (same owner, mode and time), as Debian's newer kernel packages ship them: the
/// modules are most of the kernel's size on the root (92 MB -> 26 MB). kmod (modprobe, udev)
/// reads them as they are; the initramfs gets them decompressed. Returns the number
/// compressed. Run it before [`index_guest`], whose indexes name the files.
pub fn compress_guest(guest: &mut Tree) -> Result<usize, BootError> {
    let Some(k) = super::kernel::find_optional(guest)? else {
        return Ok(0);
    };
    let prefix = format!("{}/", k.modules_dir);
    let plain: Vec<String> = guest
        .iter()
        .filter(|(p, e)| {
            p.starts_with(&prefix) && p.ends_with(".ko") && matches!(e.kind, Kind::File { .. })
        })
        .map(|(p, _)| p.to_string())
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = plain.len().div_ceil(threads).max(1);
    let tree: &Tree = guest;
    let packed: Vec<Result<Vec<u8>, BootError>> = std::thread::scope(|s| {
        let workers: Vec<_> = plain
            .chunks(chunk)
            .map(|paths| {
                s.spawn(move || {
                    paths
                        .iter()
                        .map(|p| {
                            eflow_kmod::compress(&read(tree, p)?).map_err(|source| {
                                BootError::Read {
                                    path: p.clone(),
                                    source,
                                }
                            })
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a compressing thread panicked"))
            .collect()
    });
    for (path, bytes) in plain.iter().zip(packed) {
        let bytes = bytes?;
        let old = guest.get(path).cloned().expect("listed above");
        let size = bytes.len() as u64;
        let entry = Entry {
            kind: Kind::File {
                content: eflow_tree::Content::bytes(bytes),
                size,
            },
            ..old
        };
        guest.remove(path)?;
        guest.insert(&format!("{path}.zst"), entry)?;
    }
    Ok(plain.len())
}

/// Writes the module indexes of the guest's kernel into its module directory, if the Tree has
/// a kernel (`/boot/vmlinuz-*`); returns the kernel release and the number of modules indexed.
pub fn index_guest(guest: &mut Tree, mtime: i64) -> Result<Option<(String, usize)>, BootError> {
    let Some(k) = super::kernel::find_optional(guest)? else {
        return Ok(None);
    };
    let mods = read_all(guest, &k)?;
    write_indexes(guest, &k, &mods, mtime)?;
    Ok(Some((k.release, mods.modules.len())))
}

/// Writes the module indexes depmod would write into the module directory of kernel `k`
/// (root, 0644, modified at `mtime`); returns their names.
pub fn write_indexes(
    guest: &mut Tree,
    k: &Kernel,
    mods: &KernelModules,
    mtime: i64,
) -> Result<Vec<String>, BootError> {
    let indexed: Vec<KernelModule> = mods
        .modules
        .iter()
        .filter(|m| DEPMOD_SUFFIXES.iter().any(|s| m.path.ends_with(s)))
        .cloned()
        .collect();
    let files = eflow_kmod::depmod(
        &indexed,
        DepmodInputs {
            order: mods.order.as_deref(),
            builtin: mods.builtin.as_deref(),
            builtin_modinfo: mods.builtin_modinfo.as_deref(),
        },
    )
    .map_err(BootError::Modules)?;
    let mut names = Vec::new();
    for (name, bytes) in files {
        let path = format!("{}/{name}", k.modules_dir);
        if guest
            .get(&path)
            .is_some_and(|e| !matches!(e.kind, Kind::File { .. }))
        {
            return Err(BootError::Kernel(format!(
                "{path} is in the guest tree but not a regular file: the module indexes go there"
            )));
        }
        guest.insert(&path, Entry::file(bytes, 0o644).at(mtime))?;
        names.push(name.to_string());
    }
    Ok(names)
}
