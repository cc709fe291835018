//! The guest's mounts, decided at build time from the image's partitions: /etc/fstab, the
//! table the initramfs mounts before systemd starts, the overlays' upper directories, and
//! the units that grow a partition into a larger disk.
//!
//! The initramfs mounts every partition and overlay, so that the first unit systemd starts
//! already sees /var, /var/log and a writable /etc (machine-id, SSH host keys). fstab names
//! the same partitions for systemd and for people, with fsck off (they are mounted already).
//!
//! A file of an overlaid directory that the guest changed lives in the upper directory and
//! hides the root's version from then on, also after an update of the root brings a new
//! one: the device's own configuration wins, as dpkg keeps a changed conffile. Removing the
//! file from the upper directory (`/var/lib/eflow/overlay/etc/upper/...`) returns to the
//! image's version.

use eflow_id::{Guid, Seed};
use eflow_tree::{Entry, Tree, TreeError};

use super::{files, units, write_file};
use crate::stages::plan::image::PartitionSection;
use crate::stages::plan::partition;

/// Where the initramfs finds its mount table.
pub const INITRAMFS_TABLE: &str = "/etc/eflow/mounts";
/// Where overlays keep their upper and work directories, on the partition mounted at /var.
pub const OVERLAY_DIR: &str = "/var/lib/eflow/overlay";
/// The unit that grows the growing partition's filesystem online.
pub const GROWFS_UNIT: &str = "eflow-growfs.service";
/// The systemd-repart definition that grows the growing partition.
pub const REPART_CONF: &str = "/etc/repart.d/50-eflow-grow.conf";

/// One mounted partition (the root included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub label: String,
    pub partuuid: Guid,
    pub path: String,
    pub read_only: bool,
}

/// One overlay: a directory of the root made writable, and where its layers live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlay {
    pub dir: String,
    /// Holds `upper/` and `work/`.
    pub base: String,
}

/// What the guest mounts, in mount order (parents before children, the root first).
#[derive(Debug, Clone, Default)]
pub struct MountPlan {
    pub mounts: Vec<Mount>,
    pub overlays: Vec<Overlay>,
}

/// A partition's unique GUID, derived from the seed: the root's is fixed ("partition:root")
/// so the boot stage knows it before the disk is laid out, the others follow their labels.
pub fn partuuid(seed: &Seed, p: &PartitionSection) -> Guid {
    if p.mount.as_deref() == Some("/") {
        seed.gpt_guid("partition:root")
    } else {
        seed.gpt_guid(&format!("partition:{}", p.label))
    }
}

impl MountPlan {
    /// The mounts and overlays the partitions declare.
    pub fn new(parts: &[PartitionSection], seed: &Seed) -> MountPlan {
        let mut mounts: Vec<Mount> = parts
            .iter()
            .filter_map(|p| {
                Some(Mount {
                    label: p.label.clone(),
                    partuuid: partuuid(seed, p),
                    path: p.mount.clone()?,
                    read_only: p.read_only,
                })
            })
            .collect();
        mounts.sort_by_key(|m| (depth(&m.path), m.path.clone()));
        let overlays = parts
            .iter()
            .flat_map(|p| p.overlays.iter())
            .map(|dir| Overlay {
                dir: dir.clone(),
                base: format!(
                    "{OVERLAY_DIR}/{}",
                    dir.trim_start_matches('/').replace('/', "-")
                ),
            })
            .collect();
        MountPlan { mounts, overlays }
    }

    /// The root's mount.
    pub fn root(&self) -> Option<&Mount> {
        self.mounts.iter().find(|m| m.path == "/")
    }

    /// The initramfs' mount table: `mount PARTUUID PATH ext4 OPTIONS` for each partition but
    /// the root (which the kernel command line names), then `overlay DIR BASE`.
    pub fn initramfs_table(&self) -> String {
        let mut s = String::new();
        for m in self.mounts.iter().filter(|m| m.path != "/") {
            let opts = if m.read_only { "ro" } else { "rw" };
            s.push_str(&format!("mount {} {} ext4 {opts}\n", m.partuuid, m.path));
        }
        for o in &self.overlays {
            s.push_str(&format!("overlay {} {}\n", o.dir, o.base));
        }
        s
    }
}

fn depth(path: &str) -> usize {
    path.split('/').filter(|c| !c.is_empty()).count()
}

/// Writes what the guest needs to mount its partitions: fstab, /tmp on tmpfs when the root
/// is read-only, the overlays' directories (under /var, so on the data partition once the
/// Tree is split), and the grow units for a growing partition.
pub fn configure(
    tree: &mut Tree,
    parts: &[PartitionSection],
    plan: &MountPlan,
    mtime: i64,
) -> Result<(), super::ConfigureError> {
    let root_ro = plan.root().is_some_and(|r| r.read_only);
    let mut fstab: Vec<files::FstabEntry> = plan
        .mounts
        .iter()
        .filter(|m| m.path != "/")
        .map(|m| files::FstabEntry {
            spec: format!("PARTUUID={}", m.partuuid),
            mount_point: m.path.clone(),
            fs_type: "ext4".into(),
            options: if m.read_only { "ro" } else { "defaults" }.into(),
            dump: 0,
            // Mounted by the initramfs before systemd starts: nothing to check then.
            pass: 0,
        })
        .collect();
    if root_ro && !plan.mounts.iter().any(|m| m.path == "/tmp") {
        fstab.push(files::FstabEntry {
            spec: "tmpfs".into(),
            mount_point: "/tmp".into(),
            fs_type: "tmpfs".into(),
            options: "mode=1777,strictatime,nosuid,nodev".into(),
            dump: 0,
            pass: 0,
        });
    }
    files::fstab(tree, &fstab, mtime)?;
    for m in &plan.mounts {
        super::mkdir_p(tree, &m.path, mtime)?;
    }
    for o in &plan.overlays {
        overlay_dirs(tree, o, mtime)?;
    }
    if let Some(p) = parts.iter().find(|p| p.grow) {
        grow_units(tree, p, mtime)?;
    }
    Ok(())
}

/// The upper directory takes the metadata of the directory it overlays (overlayfs shows the
/// upper root's mode and owner); the work directory is private to the kernel.
fn overlay_dirs(tree: &mut Tree, o: &Overlay, mtime: i64) -> Result<(), TreeError> {
    super::mkdir_p(tree, &o.dir, mtime)?;
    let lower = tree.get(&o.dir).cloned().unwrap_or_else(Entry::dir);
    super::mkdir_p(tree, &o.base, mtime)?;
    let mut upper = Entry::dir().owned(lower.uid, lower.gid).at(mtime);
    upper.mode = lower.mode;
    tree.insert(&format!("{}/upper", o.base), upper)?;
    let mut work = Entry::dir().at(mtime);
    work.mode = 0o700;
    tree.insert(&format!("{}/work", o.base), work)?;
    Ok(())
}

/// systemd-repart grows the partition at every boot (idempotent) and the unit grows its
/// filesystem online afterwards: systemd 252 starts no growfs job for a partition that the
/// initramfs mounted.
fn grow_units(
    tree: &mut Tree,
    p: &PartitionSection,
    mtime: i64,
) -> Result<(), super::ConfigureError> {
    let mount = p
        .mount
        .as_deref()
        .expect("validated: a growing partition is mounted");
    let repart_type = match p.kind.as_str() {
        partition::ROOT_TYPE => "root-x86-64",
        "linux-data" => "linux-generic",
        other => other,
    };
    let conf = format!(
        "# Generated by eflow-image: the partition {label:?} (mounted at {mount}) grows to fill\n\
         # the disk; systemd-repart.service applies this at every boot, growing is idempotent.\n\
         [Partition]\nType={repart_type}\n",
        label = p.label
    );
    write_file(tree, REPART_CONF, conf, 0o644, (0, 0), mtime)?;
    let unit = format!(
        "# Generated by eflow-image.\n\
         [Unit]\n\
         Description=Grow the filesystem at {mount} to fill its partition\n\
         DefaultDependencies=no\n\
         After=systemd-repart.service systemd-remount-fs.service\n\
         Before=sysinit.target shutdown.target\n\
         Conflicts=shutdown.target\n\
         ConditionPathIsReadWrite={mount}\n\
         \n\
         [Service]\n\
         Type=oneshot\n\
         RemainAfterExit=yes\n\
         ExecStart=/lib/systemd/systemd-growfs {mount}\n\
         \n\
         [Install]\n\
         WantedBy=sysinit.target\n"
    );
    write_file(
        tree,
        &format!("/etc/systemd/system/{GROWFS_UNIT}"),
        unit,
        0o644,
        (0, 0),
        mtime,
    )?;
    units::enable(tree, &[GROWFS_UNIT.to_string()], mtime)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::plan::Size;

    fn part(label: &str, mount: &str) -> PartitionSection {
        PartitionSection {
            label: label.into(),
            kind: "linux-data".into(),
            size: Size::Rest,
            filesystem: Some("ext4".into()),
            mount: Some(mount.into()),
            read_only: false,
            margin: None,
            grow: false,
            overlays: vec![],
        }
    }

    #[test]
    fn table_mounts_parents_first_then_overlays() {
        let mut root = part("root", "/");
        root.read_only = true;
        let mut data = part("data", "/var");
        data.overlays = vec!["/etc".into(), "/usr/local".into()];
        let parts = [root, part("log", "/var/log"), data];
        let plan = MountPlan::new(&parts, &Seed::new("x", "1", "i"));
        let paths: Vec<&str> = plan.mounts.iter().map(|m| m.path.as_str()).collect();
        assert_eq!(paths, ["/", "/var", "/var/log"]);
        let table = plan.initramfs_table();
        let lines: Vec<&str> = table.lines().collect();
        assert!(
            lines[0].starts_with("mount ") && lines[0].ends_with(" /var ext4 rw"),
            "{table}"
        );
        assert!(lines[1].ends_with(" /var/log ext4 rw"), "{table}");
        assert_eq!(
            lines[3],
            "overlay /usr/local /var/lib/eflow/overlay/usr-local"
        );
    }

    #[test]
    fn overlay_upper_takes_the_lower_directory_metadata() {
        let mut t = Tree::new();
        let mut root_home = Entry::dir();
        root_home.mode = 0o700;
        t.insert("/root", root_home).unwrap();
        let o = Overlay {
            dir: "/root".into(),
            base: "/var/lib/eflow/overlay/root".into(),
        };
        overlay_dirs(&mut t, &o, 3).unwrap();
        assert_eq!(
            t.get("/var/lib/eflow/overlay/root/upper").unwrap().mode,
            0o700
        );
        assert_eq!(
            t.get("/var/lib/eflow/overlay/root/work").unwrap().mode,
            0o700
        );
    }
}
