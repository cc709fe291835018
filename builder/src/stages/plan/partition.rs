//! `[[partition]]`: one GPT partition, its filesystem and where the guest mounts it.
//!
//! The partitions with a mount point split the guest's files between them: each path goes to
//! the filesystem of the deepest mount point above it. A simple image has one read-write root;
//! the EFLOW layout has a content-sized read-only root, a log partition at /var/log and a data
//! partition at /var that grows with the disk and keeps the overlays that make /etc, /home and
//! /root writable.

use serde::Deserialize;

use super::size::Size;

/// `[[partition]]` as written in the image definition.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PartitionSection {
    pub label: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub size: Size,
    #[serde(default)]
    pub filesystem: Option<String>,
    /// Where the guest mounts it; the guest files below it go into this filesystem. The
    /// root-type ext4 partition is mounted at `/` when no partition says otherwise.
    #[serde(default)]
    pub mount: Option<String>,
    /// Mounted read-only: never written by the guest, so its bytes can be verified.
    #[serde(default)]
    pub read_only: bool,
    /// Free space added to a `size = "content"` filesystem (default none).
    #[serde(default)]
    pub margin: Option<Size>,
    /// Partition and filesystem grow at boot to fill a larger disk (the last partition only).
    #[serde(default)]
    pub grow: bool,
    /// Directories of the root filesystem made writable by overlays whose upper layers live
    /// on this partition (for example "/etc", "/home", "/root").
    #[serde(default)]
    pub overlays: Vec<String>,
}

/// The GPT type name of the partition the root filesystem defaults to.
pub const ROOT_TYPE: &str = "linux-root-x86-64";

/// A problem with the partitions: the message, the partition's index and the key to point at.
#[derive(Debug)]
pub struct PartitionProblem {
    pub index: usize,
    pub key: &'static str,
    pub message: String,
}

/// Gives the root-type ext4 partition the mount point `/` when no partition has it, so a
/// definition without `mount` keys stays a simple one-root image.
pub fn default_root_mount(parts: &mut [PartitionSection]) {
    if parts.iter().any(|p| p.mount.as_deref() == Some("/")) {
        return;
    }
    if let Some(root) = parts.iter_mut().find(|p| {
        p.kind == ROOT_TYPE && p.filesystem.as_deref() == Some("ext4") && p.mount.is_none()
    }) {
        root.mount = Some("/".into());
    }
}

/// Checks the partitions together: sizes, filesystems, mount points, growth and overlays.
pub fn validate(parts: &[PartitionSection]) -> Result<(), PartitionProblem> {
    let problem = |index: usize, key: &'static str, message: String| PartitionProblem {
        index,
        key,
        message: format!(
            "key `partition.{key}` of {:?}: {message}",
            parts[index].label
        ),
    };
    let last = parts.len().saturating_sub(1);
    let mut mounts: Vec<(&str, usize)> = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let fs = p.filesystem.as_deref();
        if !matches!(fs, None | Some("ext4") | Some("vfat")) {
            return Err(problem(
                i,
                "filesystem",
                format!("{:?} is not supported (ext4, vfat)", fs.unwrap_or_default()),
            ));
        }
        match p.size {
            Size::Rest if i != last => {
                return Err(problem(
                    i,
                    "size",
                    "only the last partition may be \"rest\"".into(),
                ))
            }
            Size::Content if fs.is_none() => {
                return Err(problem(
                    i,
                    "size",
                    "\"content\" needs a filesystem to measure".into(),
                ))
            }
            _ => {}
        }
        if p.margin.is_some() && p.size != Size::Content {
            return Err(problem(
                i,
                "margin",
                "only a size = \"content\" partition has a margin".into(),
            ));
        }
        if matches!(p.margin, Some(Size::Rest | Size::Content)) {
            return Err(problem(i, "margin", "give a size such as \"32MiB\"".into()));
        }
        if let Some(m) = p.mount.as_deref() {
            if fs != Some("ext4") {
                return Err(problem(
                    i,
                    "mount",
                    "only ext4 partitions are mounted from the image's files".into(),
                ));
            }
            if eflow_tree::normalize(m).ok().as_deref() != Some(m) {
                return Err(problem(
                    i,
                    "mount",
                    format!("{m:?} is not an absolute path in normal form (like \"/var/log\")"),
                ));
            }
            if mounts.iter().any(|(other, _)| *other == m) {
                return Err(problem(i, "mount", format!("{m:?} is mounted twice")));
            }
            mounts.push((m, i));
        } else if p.read_only {
            return Err(problem(
                i,
                "read-only",
                "a partition without `mount` is never mounted".into(),
            ));
        }
        if p.grow {
            if i != last || p.size != Size::Rest {
                return Err(problem(
                    i,
                    "grow",
                    "only the last partition, with size = \"rest\", can grow into a larger disk"
                        .into(),
                ));
            }
            if p.mount.is_none() || p.read_only {
                return Err(problem(
                    i,
                    "grow",
                    "a growing partition must be mounted read-write".into(),
                ));
            }
            // systemd-repart finds the partition to grow by its type: it must be the only one.
            if parts[..i]
                .iter()
                .any(|q| q.kind.eq_ignore_ascii_case(&p.kind))
            {
                return Err(problem(
                    i,
                    "grow",
                    format!(
                        "another partition has the type {:?}: a growing partition needs a type of its own (such as \"var\")",
                        p.kind
                    ),
                ));
            }
        }
        if !p.overlays.is_empty() && (p.mount.is_none() || p.read_only) {
            return Err(problem(
                i,
                "overlays",
                "overlay upper layers need a partition mounted read-write".into(),
            ));
        }
    }
    if !parts.is_empty() && !mounts.iter().any(|(m, _)| *m == "/") {
        return Err(PartitionProblem {
            index: 0,
            key: "mount",
            message: format!(
                "no partition is mounted at \"/\": give one ext4 partition `mount = \"/\"` (or the type {ROOT_TYPE:?})"
            ),
        });
    }
    let mut overlays: Vec<&str> = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        for o in &p.overlays {
            if eflow_tree::normalize(o).ok().as_deref() != Some(o.as_str()) || o == "/" {
                return Err(problem(
                    i,
                    "overlays",
                    format!("{o:?} is not a directory path in normal form (like \"/etc\")"),
                ));
            }
            if let Some((m, _)) = mounts.iter().find(|(m, _)| *m != "/" && under(o, m)) {
                return Err(problem(
                    i,
                    "overlays",
                    format!("{o:?} is on the partition mounted at {m:?}, which is writable as it is; overlays are for directories of the root"),
                ));
            }
            if let Some(other) = overlays.iter().find(|x| under(o, x) || under(x, o)) {
                return Err(problem(
                    i,
                    "overlays",
                    format!("{o:?} overlaps the overlay {other:?}"),
                ));
            }
            overlays.push(o);
        }
    }
    Ok(())
}

/// Whether `path` is `dir` or below it.
pub fn under(path: &str, dir: &str) -> bool {
    dir == "/" || path == dir || path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(label: &str, size: Size) -> PartitionSection {
        PartitionSection {
            label: label.into(),
            kind: "linux-data".into(),
            size,
            filesystem: Some("ext4".into()),
            mount: None,
            read_only: false,
            margin: None,
            grow: false,
            overlays: vec![],
        }
    }

    fn eflow() -> Vec<PartitionSection> {
        let mut root = part("root", Size::Content);
        root.kind = ROOT_TYPE.into();
        root.read_only = true;
        root.margin = Some(Size::Bytes(1 << 25));
        let mut log = part("log", Size::Bytes(1 << 28));
        log.mount = Some("/var/log".into());
        let mut data = part("data", Size::Rest);
        data.kind = "var".into();
        data.mount = Some("/var".into());
        data.grow = true;
        data.overlays = vec!["/etc".into(), "/home".into(), "/root".into()];
        let mut parts = vec![root, log, data];
        default_root_mount(&mut parts);
        parts
    }

    #[test]
    fn the_eflow_layout_is_valid_and_the_root_defaults_to_slash() {
        let parts = eflow();
        assert_eq!(parts[0].mount.as_deref(), Some("/"));
        validate(&parts).unwrap();
    }

    #[test]
    fn each_mistake_names_its_key() {
        type Change = fn(&mut Vec<PartitionSection>);
        let cases: Vec<(Change, &str, &str)> = vec![
            (|p| p[2].grow = false, "", ""),
            (|p| p[1].grow = true, "grow", "last partition"),
            (|p| p[2].read_only = true, "grow", "read-write"),
            (|p| p[1].margin = Some(Size::Bytes(1)), "margin", "content"),
            (
                |p| p[1].mount = Some("/var/log/".into()),
                "mount",
                "normal form",
            ),
            (|p| p[1].mount = Some("/var".into()), "mount", "twice"),
            (
                |p| p[0].mount = Some("/usr".into()),
                "mount",
                "no partition is mounted",
            ),
            (
                |p| p[2].overlays.push("/var/lib".into()),
                "overlays",
                "writable as it is",
            ),
            (
                |p| p[2].overlays.push("/etc/ssh".into()),
                "overlays",
                "overlaps",
            ),
            (
                |p| p[0].overlays.push("/srv".into()),
                "overlays",
                "read-write",
            ),
            (
                |p| p[1].filesystem = Some("xfs".into()),
                "filesystem",
                "xfs",
            ),
            (|p| p[1].size = Size::Rest, "size", "last"),
            (|p| p[1].kind = "var".into(), "grow", "type of its own"),
        ];
        for (change, key, words) in cases {
            let mut parts = eflow();
            change(&mut parts);
            match validate(&parts) {
                Ok(()) => assert_eq!(key, "", "expected an error about {key}"),
                Err(e) => {
                    assert_eq!(e.key, key, "{}", e.message);
                    assert!(e.message.contains(words), "{}", e.message);
                }
            }
        }
    }

    #[test]
    fn under_is_by_component() {
        assert!(under("/var/log", "/var"));
        assert!(under("/var", "/var"));
        assert!(!under("/variable", "/var"));
        assert!(under("/anything", "/"));
    }
}
