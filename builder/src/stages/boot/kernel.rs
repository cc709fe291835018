//! The kernel of the guest: its image in /boot and its module directory.

use eflow_tree::{Kind, Tree};

use super::BootError;

/// The kernel found in the Tree.
#[derive(Clone, Debug)]
pub struct Kernel {
    /// The kernel release, `uname -r` (from the image's name `vmlinuz-<release>`).
    pub release: String,
    /// The image's path in the Tree (`/boot/vmlinuz-<release>`).
    pub image: String,
    /// The real path of `/lib/modules/<release>` in the Tree (`/usr/lib/...` on merged /usr).
    pub modules_dir: String,
}

/// Like [`find`], but a Tree without any `/boot/vmlinuz-*` has no kernel rather than an error.
pub fn find_optional(tree: &Tree) -> Result<Option<Kernel>, BootError> {
    let boot = tree
        .resolve("/boot", true)
        .unwrap_or_else(|| "/boot".into());
    let any = tree
        .children(&boot)
        .any(|(name, e)| name.starts_with("vmlinuz-") && matches!(e.kind, Kind::File { .. }));
    if any {
        find(tree).map(Some)
    } else {
        Ok(None)
    }
}

/// Finds the one kernel of the Tree: exactly one regular file `/boot/vmlinuz-*`, with its
/// module directory `/lib/modules/<release>`.
pub fn find(tree: &Tree) -> Result<Kernel, BootError> {
    let boot = tree
        .resolve("/boot", true)
        .unwrap_or_else(|| "/boot".into());
    let images: Vec<String> = tree
        .children(&boot)
        .filter(|(name, e)| name.starts_with("vmlinuz-") && matches!(e.kind, Kind::File { .. }))
        .map(|(name, _)| name.to_string())
        .collect();
    let name = match images.as_slice() {
        [one] => one,
        [] => {
            return Err(BootError::Kernel(
                "no /boot/vmlinuz-* in the guest tree: add a kernel package (linux-image-cloud-amd64) to a recipe".into(),
            ))
        }
        many => {
            return Err(BootError::Kernel(format!(
                "more than one kernel in /boot ({}): keep exactly one kernel package in the recipes",
                many.join(", ")
            )))
        }
    };
    let release = name["vmlinuz-".len()..].to_string();
    let wanted = format!("/lib/modules/{release}");
    let modules_dir = tree.resolve(&wanted, true).unwrap_or(wanted.clone());
    if !tree.get(&modules_dir).is_some_and(|e| e.is_dir()) {
        return Err(BootError::Kernel(format!(
            "{wanted} is missing: the kernel {release} came without its modules"
        )));
    }
    Ok(Kernel {
        image: format!("{boot}/{name}"),
        release,
        modules_dir,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use eflow_tree::Entry;

    fn tree_with(kernels: &[&str]) -> Tree {
        let mut t = Tree::new();
        t.mkdir_p("/usr/lib/modules/6.1.0-1-cloud-amd64").unwrap();
        t.insert("/lib", Entry::symlink("usr/lib")).unwrap();
        t.mkdir_p("/boot").unwrap();
        for k in kernels {
            t.insert(&format!("/boot/vmlinuz-{k}"), Entry::file("k", 0o644))
                .unwrap();
        }
        t.insert("/vmlinuz", Entry::symlink("boot/vmlinuz-x"))
            .unwrap();
        t
    }

    #[test]
    fn one_kernel_through_merged_usr() {
        let k = find(&tree_with(&["6.1.0-1-cloud-amd64"])).unwrap();
        assert_eq!(k.release, "6.1.0-1-cloud-amd64");
        assert_eq!(k.image, "/boot/vmlinuz-6.1.0-1-cloud-amd64");
        assert_eq!(k.modules_dir, "/usr/lib/modules/6.1.0-1-cloud-amd64");
    }

    #[test]
    fn none_two_or_no_modules_are_errors() {
        assert!(find(&tree_with(&[])).is_err());
        assert!(find(&tree_with(&["6.1.0-1-cloud-amd64", "6.1.0-2-cloud-amd64"])).is_err());
        let e = find(&tree_with(&["6.1.0-9-cloud-amd64"])).unwrap_err();
        assert!(e.to_string().contains("without its modules"), "{e}");
        assert!(find_optional(&tree_with(&[])).unwrap().is_none());
        assert!(find_optional(&tree_with(&["6.1.0-1-cloud-amd64"]))
            .unwrap()
            .is_some());
    }
}
