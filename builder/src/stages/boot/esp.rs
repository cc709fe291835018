//! systemd-boot's configuration: `loader.conf` and the one boot entry.

use super::{ESP_INITRD, ESP_KERNEL};

/// `\loader\loader.conf`: boot the eflow entry at once, no menu, no command-line editing
/// (the entry's options are part of what the image's signature covers).
pub fn loader_conf() -> String {
    "timeout 0\ndefault eflow.conf\neditor no\n".to_string()
}

/// `\loader\entries\eflow.conf` for kernel `release`, the root partition `root_partuuid`
/// (lowercase) and the image's command line.
pub fn entry(release: &str, root_partuuid: &str, cmdline: &str) -> String {
    let cmdline = cmdline.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut options = format!("root=PARTUUID={root_partuuid}");
    if !cmdline.is_empty() {
        options.push(' ');
        options.push_str(&cmdline);
    }
    format!(
        "title EFLOW Linux\nversion {release}\nlinux {ESP_KERNEL}\ninitrd {ESP_INITRD}\noptions {options}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_kernel_initrd_and_root() {
        let e = entry("6.1.0-1-cloud-amd64", "abc", "console=ttyS0  rw");
        assert!(e.contains("linux /vmlinuz\n"));
        assert!(e.contains("initrd /initrd\n"));
        assert!(
            e.ends_with("options root=PARTUUID=abc console=ttyS0 rw\n"),
            "{e}"
        );
    }
}
