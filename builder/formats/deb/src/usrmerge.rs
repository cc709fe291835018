//! The merged-/usr layout Debian 12 installs start from: `/bin`, `/sbin`, `/lib` (and the
//! architecture's extra library directories) are symlinks into `/usr`. In bookworm no
//! package ships these symlinks (base-files does not); debootstrap creates them before
//! unpacking anything, and dpkg then writes `/bin/bash` through the symlink to
//! `/usr/bin/bash`. Callers do the same with [`merged_usr`] before [`crate::unpack_into`].

use eflow_tree::{Entry, Tree};

/// The directories debootstrap links into /usr for a Debian architecture.
pub fn merged_dirs(arch: &str) -> Vec<&'static str> {
    let mut dirs = vec!["bin", "sbin", "lib"];
    dirs.extend_from_slice(match arch {
        "amd64" => &["lib32", "lib64", "libx32"][..],
        "i386" => &["lib64", "libx32"],
        "mips" | "mipsel" => &["lib32", "lib64"],
        "mips64el" => &["lib32", "lib64", "libo32"],
        "powerpc" => &["lib64"],
        "ppc64" | "ppc64el" | "sparc64" => &["lib32", "lib64"],
        "s390x" => &["lib32"],
        "loong64" | "riscv64" => &["lib64"],
        _ => &[],
    });
    dirs
}

/// Creates `/usr/<dir>` (root, 0755) and the symlink `/<dir> -> usr/<dir>` for each merged
/// directory of `arch`, stamped with `mtime`. Existing directories are kept.
pub fn merged_usr(tree: &mut Tree, arch: &str, mtime: i64) -> Result<(), eflow_tree::TreeError> {
    if tree.get("/usr").is_none() {
        tree.insert("/usr", Entry::dir().at(mtime))?;
    }
    for d in merged_dirs(arch) {
        let usr = format!("/usr/{d}");
        if tree.get(&usr).is_none() {
            tree.insert(&usr, Entry::dir().at(mtime))?;
        }
        tree.insert(
            &format!("/{d}"),
            Entry::symlink(format!("usr/{d}")).at(mtime),
        )?;
    }
    Ok(())
}
