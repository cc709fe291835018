//! Linux kernel module metadata without depmod: each module's `.modinfo` ELF section
//! (name, depends, alias, softdep, vermagic, ...), read from plain or compressed `.ko` files,
//! an index that gives the load order of a set of modules with their dependencies, and
//! depmod's text files for busybox modprobe and for debugging, and every index file kmod's
//! `depmod` writes (the binary tries libkmod reads included), byte for byte.
//!
//! Debian 12's kernel packages ship no modules.dep, so the initramfs builder computes the
//! order itself (virtio_ring before virtio before virtio_blk ...), and the image builder
//! writes the guest's indexes with [`depmod`](depmod()).

mod decompress;
mod depmod;
mod elf;
mod index;
mod modinfo;
mod symbols;
pub mod trie;

pub use decompress::{compress, maybe as decompressed};
pub use depmod::{depmod, modname, DepmodInputs, KernelModule, DEPMOD_FILES};
pub use index::{name_from_path, normalize, parse_builtin, ModuleIndex};
pub use modinfo::{modinfo, module, ModInfo, SoftDeps};
pub use symbols::Symbols;

/// What went wrong reading modules or resolving their dependencies.
#[derive(Debug, thiserror::Error)]
pub enum KmodError {
    /// The file is not a well-formed little-endian ELF64 object.
    #[error("not a readable kernel module: {0}")]
    BadElf(String),
    /// The module has no `.modinfo` section.
    #[error("the module has no .modinfo section")]
    NoModinfo,
    /// The `.modinfo` section is malformed.
    #[error("malformed .modinfo: {0}")]
    BadModinfo(String),
    /// A compressed module could not be decompressed.
    #[error("cannot decompress the {format} module: {detail}")]
    Decompress {
        format: &'static str,
        detail: String,
    },
    /// Two modules have the same name.
    #[error("two modules are named {name}: {first} and {second}")]
    Duplicate {
        name: String,
        first: String,
        second: String,
    },
    /// A module (asked for, or needed by one) is neither loadable nor built in.
    #[error("module {name} is neither in the kernel package nor built in ({chain}): add the package that ships it, or remove it from the list")]
    Missing { name: String, chain: String },
    /// Modules depend on each other in a loop.
    #[error("module dependency cycle: {0}")]
    Cycle(String),
    /// Text that kmod's binary index cannot hold.
    #[error("module index: {0}")]
    Index(String),
}
