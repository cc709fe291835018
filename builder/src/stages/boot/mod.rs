//! The boot stage: from the assembled Tree, the files of the EFI system partition that boot
//! it: systemd-boot, its loader entry, the kernel and an initramfs written natively.
//!
//! The chain: UEFI firmware -> `\EFI\BOOT\BOOTX64.EFI` (systemd-boot from the guest's
//! `systemd-boot-efi` package) -> `\loader\entries\eflow.conf` -> `\vmlinuz` with `\initrd`
//! -> the project's `/init` (guest-rootfs/initramfs/init, a busybox script) loads the storage
//! drivers, finds the root partition by its GPT PARTUUID, mounts it (read-only or read-write,
//! as the image says), mounts the other partitions and the overlays of its mount table and
//! `switch_root`s into systemd.
//!
//! - [`kernel`]: the kernel image and its module directory in the Tree
//! - [`modules`]: every module's metadata, and the module indexes written into the guest
//! - [`initramfs`]: the initramfs Tree (busybox, /init, modules in load order) and its bytes
//! - [`esp`]: loader.conf and the loader entry

pub mod esp;
pub mod initramfs;
pub mod kernel;
pub mod modules;

use std::path::PathBuf;

use eflow_tree::Tree;

pub use eflow_cpio::Compression;

/// Where the ESP files go; the loader entry names the same paths.
pub const ESP_LOADER: &str = "/EFI/BOOT/BOOTX64.EFI";
/// The kernel on the ESP.
pub const ESP_KERNEL: &str = "/vmlinuz";
/// The initramfs on the ESP.
pub const ESP_INITRD: &str = "/initrd";
/// systemd-boot's global configuration on the ESP.
pub const ESP_LOADER_CONF: &str = "/loader/loader.conf";
/// The one boot entry on the ESP.
pub const ESP_ENTRY: &str = "/loader/entries/eflow.conf";
/// Where `systemd-boot-efi` installs the loader in the guest.
pub const SYSTEMD_BOOT: &str = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi";

/// Storage and bus drivers every image's initramfs carries: QEMU's virtio disks and
/// Hyper-V's synthetic devices. Their dependencies are added in load order; built-in ones
/// are skipped; a driver whose bus is absent is skipped at boot by /init.
pub const DEFAULT_MODULES: &[&str] = &[
    "virtio_pci",
    "virtio_blk",
    "virtio_scsi",
    "sd_mod",
    "hv_vmbus",
    "hv_storvsc",
    "hv_netvsc",
    "hv_utils",
    "hv_sock",
];

/// Where the initramfs' busybox comes from.
#[derive(Clone, Debug)]
pub enum BusyboxSource {
    /// A path in the guest Tree (Debian's `busybox-static` installs `/bin/busybox`).
    Tree(String),
    /// A statically linked busybox on the build host (for tests and custom builds).
    Host(PathBuf),
}

impl Default for BusyboxSource {
    fn default() -> Self {
        BusyboxSource::Tree("/bin/busybox".into())
    }
}

/// What the boot stage needs to know besides the Tree.
#[derive(Clone, Debug)]
pub struct BootOptions {
    /// The kernel command line from the image's `[boot] cmdline` (without `root=`, `ro`, `rw`).
    pub cmdline: String,
    /// Whether the root is mounted read-only (`ro` on the command line) or read-write (`rw`).
    pub read_only: bool,
    /// What `/init` mounts after the root (configure::mounts::MountPlan::initramfs_table).
    pub mount_table: String,
    /// The root partition's unique GUID (PARTUUID), as text; the loader entry passes
    /// `root=PARTUUID=<this>` (lowercased).
    pub root_partuuid: String,
    /// Extra initramfs modules from the image's `[boot] modules`, on top of [`DEFAULT_MODULES`].
    pub modules: Vec<String>,
    /// The mtime of every generated file (SOURCE_DATE_EPOCH).
    pub mtime: i64,
    /// Where busybox comes from.
    pub busybox: BusyboxSource,
    /// How the initramfs is compressed (gzip unless told otherwise).
    pub compression: Compression,
}

impl BootOptions {
    /// Options with the defaults for everything but what every image must say.
    pub fn new(cmdline: &str, root_partuuid: &str, mtime: i64) -> BootOptions {
        BootOptions {
            cmdline: cmdline.to_string(),
            read_only: false,
            mount_table: String::new(),
            root_partuuid: root_partuuid.to_string(),
            modules: Vec::new(),
            mtime,
            busybox: BusyboxSource::default(),
            compression: Compression::Gzip,
        }
    }
}

/// Files of the EFI system partition: (path like `/EFI/BOOT/BOOTX64.EFI`, bytes), in path
/// order, as the FAT writer takes them.
pub type EspFiles = Vec<(String, Vec<u8>)>;

/// What the boot stage produced.
#[derive(Clone, Debug)]
pub struct BootFiles {
    /// Files of the EFI system partition: (path like `/EFI/BOOT/BOOTX64.EFI`, bytes), in
    /// path order; give them to the FAT writer as they are.
    pub esp: EspFiles,
    /// The kernel release (`6.1.0-NN-cloud-amd64`), for the manifest.
    pub kernel_release: String,
    /// The modules in the initramfs, in load order (paths under /lib/modules/<release>).
    pub initramfs_modules: Vec<String>,
}

/// Why the boot files could not be made; each says what to change.
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    /// No kernel, or more than one, in the Tree.
    #[error("kernel: {0}")]
    Kernel(String),
    /// A file the boot chain needs is not in the Tree.
    #[error("{what} is missing: {path} is not a regular file in the guest tree ({hint})")]
    Missing {
        what: &'static str,
        path: String,
        hint: &'static str,
    },
    /// Reading a file's content (from its package) failed.
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// A module could not be read or its dependencies resolved.
    #[error("kernel module {path}: {source}")]
    Module {
        path: String,
        source: eflow_kmod::KmodError,
    },
    /// The module dependency closure or the module indexes could not be computed.
    #[error("kernel modules: {0}")]
    Modules(eflow_kmod::KmodError),
    /// A bad option (the PARTUUID, the command line).
    #[error("{0}")]
    Invalid(String),
    /// Building the initramfs Tree failed (a bug: paths are generated).
    #[error("initramfs tree: {0}")]
    Tree(#[from] eflow_tree::TreeError),
    /// Writing the initramfs archive failed.
    #[error("writing the initramfs: {0}")]
    Cpio(std::io::Error),
}

/// The kernel command line when the image's `[boot]` gives none: consoles on the first
/// serial port (where `boot` and Hyper-V's COM1 read) and the screen.
pub const DEFAULT_CMDLINE: &str = "console=tty0 console=ttyS0,115200";

/// The boot stage of a build: the ESP files for the plan's image, booting its root
/// partition (whose PARTUUID derives from the seed, as the disk stage gives it) and mounting
/// the partitions and overlays of `mounts`.
pub fn run(
    tree: &mut Tree,
    plan: &crate::stages::plan::Plan,
    mounts: &crate::stages::configure::mounts::MountPlan,
) -> Result<BootFiles, BootError> {
    let def = plan.image.def.boot.as_ref();
    let root = mounts.root().ok_or_else(|| {
        BootError::Invalid("the image has no partition mounted at / to boot".into())
    })?;
    let mut opts = BootOptions::new(
        def.and_then(|b| b.cmdline.as_deref())
            .unwrap_or(DEFAULT_CMDLINE),
        &root.partuuid.to_string(),
        plan.source_date_epoch,
    );
    opts.read_only = root.read_only;
    opts.mount_table = mounts.initramfs_table();
    opts.modules = def.map(|b| b.modules.clone()).unwrap_or_default();
    if !mounts.overlays.is_empty() {
        opts.modules.push("overlay".into());
    }
    prepare(tree, &opts)
}

/// Makes the ESP files for `tree`: systemd-boot, loader.conf, the entry, kernel, initramfs.
///
/// The Tree is left as it is. kmod's tools (udev's module autoloading, modprobe,
/// systemd-modules-load) read only the binary indexes (`modules.dep.bin`, ...) that Debian's
/// kernel package does not ship, and the guest's root is read-only: every build writes them
/// into `/lib/modules/<release>` before this stage, with the guest tree
/// ([`modules::index_guest`], called by `commands::build::guest_tree`).
pub fn prepare(tree: &mut Tree, opts: &BootOptions) -> Result<BootFiles, BootError> {
    let uuid = check_guid(&opts.root_partuuid)?;
    if let Some(arg) = opts
        .cmdline
        .split_whitespace()
        .find(|a| a.starts_with("root=") || matches!(*a, "ro" | "rw"))
    {
        return Err(BootError::Invalid(format!(
            "[boot] cmdline {:?} has `{arg}`: the boot stage adds root=PARTUUID=... and ro or rw \
             itself, from the partition mounted at / and its `read-only` key",
            opts.cmdline
        )));
    }
    let cmdline = format!(
        "{} {}",
        opts.cmdline.trim(),
        if opts.read_only { "ro" } else { "rw" }
    );
    let k = kernel::find(tree)?;
    let kernel_bytes = read(tree, &k.image)?;
    let loader = read_required(
        tree,
        SYSTEMD_BOOT,
        "systemd-boot",
        "add systemd-boot-efi to the kernel recipe's packages",
    )?;

    let mut wanted: Vec<String> = DEFAULT_MODULES.iter().map(|s| s.to_string()).collect();
    for m in &opts.modules {
        if !wanted.contains(m) {
            wanted.push(m.clone());
        }
    }
    let mods = modules::read_all(tree, &k)?;
    let initrd = initramfs::build(tree, &k, &mods, &wanted, opts)?;
    let mut image = Vec::new();
    eflow_cpio::write_compressed(&initrd.tree, opts.compression, &mut image)
        .map_err(BootError::Cpio)?;

    let mut esp = vec![
        (ESP_LOADER.to_string(), loader),
        (ESP_LOADER_CONF.to_string(), esp::loader_conf().into_bytes()),
        (
            ESP_ENTRY.to_string(),
            esp::entry(&k.release, &uuid, cmdline.trim_start()).into_bytes(),
        ),
        (ESP_KERNEL.to_string(), kernel_bytes),
        (ESP_INITRD.to_string(), image),
    ];
    esp.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(BootFiles {
        esp,
        kernel_release: k.release,
        initramfs_modules: initrd.modules,
    })
}

/// Checks a GUID's text form (8-4-4-4-12 hex digits) and lowercases it.
fn check_guid(text: &str) -> Result<String, BootError> {
    let t = text.trim().to_ascii_lowercase();
    let groups: Vec<&str> = t.split('-').collect();
    let ok = groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok {
        Ok(t)
    } else {
        Err(BootError::Invalid(format!(
            "root partition GUID {text:?} is not of the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
        )))
    }
}

/// The bytes of a regular file of the Tree (following symlinks).
pub(crate) fn read(tree: &Tree, path: &str) -> Result<Vec<u8>, BootError> {
    let real = tree.resolve(path, true).unwrap_or_else(|| path.to_string());
    let Some(eflow_tree::Entry {
        kind: eflow_tree::Kind::File { content, size },
        ..
    }) = tree.get(&real)
    else {
        return Err(BootError::Read {
            path: path.to_string(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a regular file"),
        });
    };
    let mut out = Vec::with_capacity(usize::try_from(*size).unwrap_or(0));
    content
        .open()
        .and_then(|r| std::io::Read::read_to_end(&mut std::io::Read::take(r, *size), &mut out))
        .map_err(|source| BootError::Read {
            path: path.to_string(),
            source,
        })?;
    Ok(out)
}

/// Like [`read`], but a missing file is reported with what provides it.
pub(crate) fn read_required(
    tree: &Tree,
    path: &str,
    what: &'static str,
    hint: &'static str,
) -> Result<Vec<u8>, BootError> {
    let real = tree.resolve(path, true).unwrap_or_else(|| path.to_string());
    if !matches!(
        tree.get(&real).map(|e| &e.kind),
        Some(eflow_tree::Kind::File { .. })
    ) {
        return Err(BootError::Missing {
            what,
            path: path.to_string(),
            hint,
        });
    }
    read(tree, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guest() -> Tree {
        let mut t = Tree::new();
        t.mkdir_p("/usr/lib/modules/6.1.0-1-cloud-amd64").unwrap();
        t.mkdir_p("/usr/bin").unwrap();
        t.insert("/lib", eflow_tree::Entry::symlink("usr/lib"))
            .unwrap();
        t.insert("/bin", eflow_tree::Entry::symlink("usr/bin"))
            .unwrap();
        t.mkdir_p("/boot").unwrap();
        t.insert(
            "/boot/vmlinuz-6.1.0-1-cloud-amd64",
            eflow_tree::Entry::file("MZ", 0o644),
        )
        .unwrap();
        t
    }

    const UUID: &str = "63e8487f-2ba5-416a-a555-527089386960";

    #[test]
    fn missing_parts_are_named_with_their_package() {
        let mut t = guest();
        let e = prepare(&mut t, &BootOptions::new("console=ttyS0", UUID, 0)).unwrap_err();
        assert!(e.to_string().contains("systemd-boot-efi"), "{e}");
        t.mkdir_p("/usr/lib/systemd/boot/efi").unwrap();
        t.insert(SYSTEMD_BOOT, eflow_tree::Entry::file("MZ", 0o644))
            .unwrap();
        let e = prepare(&mut t, &BootOptions::new("console=ttyS0", UUID, 0)).unwrap_err();
        assert!(e.to_string().contains("busybox-static"), "{e}");
    }

    #[test]
    fn root_in_cmdline_and_bad_uuid_are_refused() {
        let mut t = guest();
        let e = prepare(&mut t, &BootOptions::new("root=/dev/sda2", UUID, 0)).unwrap_err();
        assert!(e.to_string().contains("root="), "{e}");
        let e = prepare(&mut t, &BootOptions::new("quiet rw", UUID, 0)).unwrap_err();
        assert!(e.to_string().contains("`rw`"), "{e}");
        let e = prepare(&mut t, &BootOptions::new("", "nope", 0)).unwrap_err();
        assert!(e.to_string().contains("GUID"), "{e}");
    }

    #[test]
    fn guids_are_checked_and_lowercased() {
        assert_eq!(
            check_guid("0FC63DAF-8483-4772-8E79-3D69D8477DE4").unwrap(),
            "0fc63daf-8483-4772-8e79-3d69d8477de4"
        );
        assert!(check_guid("0fc63daf-8483-4772-8e79-3d69d8477de").is_err());
        assert!(check_guid("0fc63daf84834772-8e79-3d69d8477de4").is_err());
        assert!(check_guid("zfc63daf-8483-4772-8e79-3d69d8477de4").is_err());
    }
}
