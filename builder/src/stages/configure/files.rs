//! First-boot files: what makes one image boot as a new machine, each written once at build
//! time, identical for every machine: machine-id, hostname, hosts, fstab, and no SSH host keys.
//!
//! - /etc/machine-id: per machine-id(5) of systemd 252, a missing file or one holding
//!   `uninitialized` starts "first boot" (ConditionFirstBoot=yes units run, the id is generated
//!   and committed once /etc is writable), while an empty file only gets a fresh id without
//!   first-boot semantics. [`MachineId::FirstBoot`] is what an image wants; /var/lib/dbus/machine-id
//!   becomes a link to it when dbus is installed (libdbus reads /etc/machine-id first anyway,
//!   and systemd ignores the dbus file when it is a link).
//! - /etc/os-release is left as base-files ships it.
//! - SSH host keys must differ per machine: any in the Tree are removed and a oneshot unit makes
//!   an Ed25519 and an ECDSA key before sshd starts (Debian 12's openssh-server makes keys in
//!   its postinst and ships no such unit). /etc/ssh must be writable at first boot (EFLOW's /etc
//!   overlay). No RSA key: generating one took 15 of a first boot's 35 s under emulation (and
//!   seconds on a slow device), every SSH client since 2014 speaks Ed25519, and a drop-in names
//!   the two keys so that sshd does not look for the third.
//! - tmpfiles.d and sysusers.d are left to the guest's systemd.

use super::units::{self, UnitsError};
use super::{physical_path, write_file, write_symlink};
use eflow_tree::{Tree, TreeError};

/// Why a first-boot file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    /// An input value cannot be written into the file.
    #[error("{what} {value:?}: {reason}")]
    Invalid {
        what: &'static str,
        value: String,
        reason: String,
    },
    /// Enabling the SSH host key unit failed.
    #[error(transparent)]
    Units(#[from] UnitsError),
    /// Writing into the Tree failed.
    #[error("writing first-boot files into the image tree: {0}")]
    Tree(#[from] TreeError),
}

/// How /etc/machine-id is left in the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MachineId {
    /// `uninitialized\n`: the first boot is a first boot (ConditionFirstBoot=yes).
    FirstBoot,
    /// An empty file: a new id at boot, but no first-boot units.
    Empty,
}

/// Writes /etc/machine-id (0444) and, when /var/lib/dbus exists, links
/// /var/lib/dbus/machine-id to it.
pub fn machine_id(tree: &mut Tree, kind: MachineId, mtime: i64) -> Result<(), FilesError> {
    let text: &[u8] = match kind {
        MachineId::FirstBoot => b"uninitialized\n",
        MachineId::Empty => b"",
    };
    write_file(tree, "/etc/machine-id", text, 0o444, (0, 0), mtime)?;
    let dbus_dir = tree.resolve("/var/lib/dbus", true);
    if dbus_dir.is_some_and(|d| tree.get(&d).is_some_and(|e| e.is_dir())) {
        write_symlink(tree, "/var/lib/dbus/machine-id", "/etc/machine-id", mtime)?;
    }
    Ok(())
}

/// Checks a host name: at most 64 bytes, dot-separated labels of letters, digits and
/// hyphens, no label empty or starting or ending with a hyphen (RFC 1123).
fn check_hostname(name: &str) -> Result<(), FilesError> {
    let bad = |reason: &str| FilesError::Invalid {
        what: "host name",
        value: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() || name.len() > 64 {
        return Err(bad("must be 1 to 64 bytes long"));
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(bad("each dot-separated label must be 1 to 63 bytes long"));
        }
        if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(bad("may only hold ASCII letters, digits, hyphens and dots"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(bad("a label may not start or end with a hyphen"));
        }
    }
    Ok(())
}

/// Writes /etc/hostname and /etc/hosts (0644) the way Debian's installer lays them out: the
/// host name on 127.0.1.1 (with its short form when it is a FQDN), and the IPv6 loopback and
/// multicast names.
pub fn hostname(tree: &mut Tree, name: &str, mtime: i64) -> Result<(), FilesError> {
    check_hostname(name)?;
    let short = name.split('.').next().unwrap_or(name);
    let names = if short == name {
        name.to_string()
    } else {
        format!("{name} {short}")
    };
    let hosts = format!(
        "127.0.0.1\tlocalhost\n127.0.1.1\t{names}\n\n\
         # IPv6\n::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
    );
    write_file(
        tree,
        "/etc/hostname",
        format!("{name}\n"),
        0o644,
        (0, 0),
        mtime,
    )?;
    write_file(tree, "/etc/hosts", hosts, 0o644, (0, 0), mtime)?;
    Ok(())
}

/// One line of /etc/fstab (fstab(5)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FstabEntry {
    /// What to mount: `PARTLABEL=root`, `UUID=...`, `/dev/...`, `tmpfs`.
    pub spec: String,
    pub mount_point: String,
    pub fs_type: String,
    /// Comma-separated options (`defaults` when empty).
    pub options: String,
    pub dump: u32,
    /// fsck order: 1 for the root, 2 for others, 0 for none.
    pub pass: u32,
}

/// fstab escapes blanks and backslashes in its fields as octal sequences.
fn fstab_field(what: &'static str, s: &str) -> Result<String, FilesError> {
    if s.is_empty() || s.contains(['\n', '\0']) {
        return Err(FilesError::Invalid {
            what,
            value: s.to_string(),
            reason: "must be non-empty, without newlines".into(),
        });
    }
    Ok(s.replace('\\', "\\134")
        .replace(' ', "\\040")
        .replace('\t', "\\011"))
}

/// Writes /etc/fstab (0644) with the given entries, in the given order (mount order matters).
pub fn fstab(tree: &mut Tree, entries: &[FstabEntry], mtime: i64) -> Result<(), FilesError> {
    let mut text = String::from(
        "# /etc/fstab: static file system information, see fstab(5).\n\
         # <file system> <mount point> <type> <options> <dump> <pass>\n",
    );
    for e in entries {
        let options = if e.options.is_empty() {
            "defaults"
        } else {
            &e.options
        };
        text.push_str(&format!(
            "{} {} {} {} {} {}\n",
            fstab_field("fstab spec", &e.spec)?,
            fstab_field("fstab mount point", &e.mount_point)?,
            fstab_field("fstab type", &e.fs_type)?,
            fstab_field("fstab options", options)?,
            e.dump,
            e.pass
        ));
    }
    write_file(tree, "/etc/fstab", text, 0o644, (0, 0), mtime)?;
    Ok(())
}

/// /var/run and /var/lock as links into /run, as base-files' maintainer script makes them:
/// packages ship them as directories (dpkg follows the link on a real system), and sockets
/// are found through them (the docker CLI's /var/run/docker.sock). Anything a package put
/// there is dropped: /run is a tmpfs, nothing written there at build time survives a boot.
pub fn run_links(tree: &mut Tree, mtime: i64) -> Result<(), FilesError> {
    if tree.get("/var").is_none() {
        return Ok(());
    }
    for (path, target) in [("/var/run", "/run"), ("/var/lock", "/run/lock")] {
        tree.remove(path)?;
        tree.insert(path, eflow_tree::Entry::symlink(target).at(mtime))?;
    }
    Ok(())
}

/// The unit that generates SSH host keys at first boot.
pub const SSH_HOSTKEYS_UNIT: &str = "eflow-ssh-hostkeys.service";

/// Its text: the ECDSA key first (a half-made one from an interrupted first boot is removed),
/// the Ed25519 key last, whose presence skips the unit from then on. Pulled in by, and ordered
/// before, both the sshd service and its socket.
pub const SSH_HOSTKEYS_UNIT_TEXT: &str = "[Unit]
Description=Generate SSH host keys on first boot
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
Before=ssh.service ssh.socket

[Service]
Type=oneshot
ExecStart=/usr/bin/rm -f /etc/ssh/ssh_host_ecdsa_key /etc/ssh/ssh_host_ecdsa_key.pub
ExecStart=/usr/bin/ssh-keygen -q -t ecdsa -N \"\" -f /etc/ssh/ssh_host_ecdsa_key
ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N \"\" -f /etc/ssh/ssh_host_ed25519_key
RemainAfterExit=yes

[Install]
WantedBy=ssh.service ssh.socket
";

/// The sshd drop-in naming the host keys the unit makes.
pub const SSHD_HOSTKEYS_DROPIN: &str = "/etc/ssh/sshd_config.d/50-eflow-hostkeys.conf";

/// Its text.
pub const SSHD_HOSTKEYS_DROPIN_TEXT: &str = "\
# The host keys eflow-ssh-hostkeys.service makes at first boot (no RSA key).
HostKey /etc/ssh/ssh_host_ed25519_key
HostKey /etc/ssh/ssh_host_ecdsa_key
";

/// Removes every /etc/ssh/ssh_host_* from the Tree and installs and enables
/// [`SSH_HOSTKEYS_UNIT`], with the sshd drop-in that names its keys. Returns the removed
/// paths and the links made, in that order.
pub fn ssh_host_keys_at_first_boot(tree: &mut Tree, mtime: i64) -> Result<Vec<String>, FilesError> {
    let ssh_dir = physical_path(tree, "/etc/ssh/x")?;
    let ssh_dir = eflow_tree::parent(&ssh_dir).to_string();
    let keys: Vec<String> = tree
        .children(&ssh_dir)
        .filter(|(name, _)| name.starts_with("ssh_host_"))
        .map(|(name, _)| format!("{ssh_dir}/{name}"))
        .collect();
    for k in &keys {
        tree.remove(k)?;
    }
    let unit = format!("{}/{SSH_HOSTKEYS_UNIT}", units::CONFIG_DIR);
    write_file(tree, &unit, SSH_HOSTKEYS_UNIT_TEXT, 0o644, (0, 0), mtime)?;
    write_file(
        tree,
        SSHD_HOSTKEYS_DROPIN,
        SSHD_HOSTKEYS_DROPIN_TEXT,
        0o644,
        (0, 0),
        mtime,
    )?;
    let links = units::enable(tree, &[SSH_HOSTKEYS_UNIT.to_string()], mtime)?;
    Ok(keys.into_iter().chain(links).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use eflow_tree::{Entry, Kind};
    use std::io::Read;

    fn text(t: &Tree, p: &str) -> String {
        let Some(Entry {
            kind: Kind::File { content, .. },
            ..
        }) = t.get(p)
        else {
            panic!("{p} is not a file")
        };
        let mut s = String::new();
        content.open().unwrap().read_to_string(&mut s).unwrap();
        s
    }

    #[test]
    fn machine_id_and_dbus_link() {
        let mut t = Tree::new();
        machine_id(&mut t, MachineId::FirstBoot, 5).unwrap();
        assert_eq!(text(&t, "/etc/machine-id"), "uninitialized\n");
        let e = t.get("/etc/machine-id").unwrap();
        assert_eq!((e.mode, e.uid, e.mtime), (0o444, 0, 5));
        assert!(t.get("/var/lib/dbus/machine-id").is_none());
        t.mkdir_p("/var/lib/dbus").unwrap();
        machine_id(&mut t, MachineId::Empty, 5).unwrap();
        assert_eq!(text(&t, "/etc/machine-id"), "");
        assert!(matches!(&t.get("/var/lib/dbus/machine-id").unwrap().kind,
            Kind::Symlink { target } if target == "/etc/machine-id"));
    }

    #[test]
    fn hostname_and_hosts() {
        let mut t = Tree::new();
        hostname(&mut t, "edge-EFLOW", 0).unwrap();
        assert_eq!(text(&t, "/etc/hostname"), "edge-EFLOW\n");
        assert!(text(&t, "/etc/hosts").contains("127.0.1.1\tedge-EFLOW\n"));
        hostname(&mut t, "a.example.com", 0).unwrap();
        assert!(text(&t, "/etc/hosts").contains("127.0.1.1\ta.example.com a\n"));
        for bad in ["", "-a", "a-", "a..b", "a b", "a_b", &"x".repeat(65)] {
            assert!(hostname(&mut t, bad, 0).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn fstab_lines() {
        let mut t = Tree::new();
        let e = |spec: &str, mp: &str, ty: &str, opts: &str, pass| FstabEntry {
            spec: spec.into(),
            mount_point: mp.into(),
            fs_type: ty.into(),
            options: opts.into(),
            dump: 0,
            pass,
        };
        fstab(
            &mut t,
            &[
                e("PARTLABEL=root", "/", "ext4", "ro", 1),
                e("PARTLABEL=data", "/var", "ext4", "", 2),
                e("tmpfs", "/my dir", "tmpfs", "mode=0755", 0),
            ],
            0,
        )
        .unwrap();
        let s = text(&t, "/etc/fstab");
        assert!(s.ends_with(
            "PARTLABEL=root / ext4 ro 0 1\nPARTLABEL=data /var ext4 defaults 0 2\ntmpfs /my\\040dir tmpfs mode=0755 0 0\n"
        ), "{s}");
        assert!(fstab(&mut t, &[e("", "/", "ext4", "", 0)], 0).is_err());
    }

    #[test]
    fn var_run_and_lock_become_links() {
        let mut t = Tree::new();
        t.mkdir_p("/var/run/x").unwrap();
        t.mkdir_p("/var/lock").unwrap();
        run_links(&mut t, 4).unwrap();
        assert!(
            matches!(&t.get("/var/run").unwrap().kind, Kind::Symlink { target } if target == "/run")
        );
        assert!(
            matches!(&t.get("/var/lock").unwrap().kind, Kind::Symlink { target } if target == "/run/lock")
        );
        assert!(t.get("/var/run/x").is_none());
    }

    #[test]
    fn ssh_keys_removed_and_unit_enabled() {
        let mut t = Tree::new();
        t.mkdir_p("/etc/ssh").unwrap();
        for f in [
            "ssh_host_rsa_key",
            "ssh_host_rsa_key.pub",
            "ssh_host_ed25519_key",
            "sshd_config",
        ] {
            t.insert(&format!("/etc/ssh/{f}"), Entry::file("k", 0o600))
                .unwrap();
        }
        let done = ssh_host_keys_at_first_boot(&mut t, 9).unwrap();
        assert_eq!(
            done,
            [
                "/etc/ssh/ssh_host_ed25519_key",
                "/etc/ssh/ssh_host_rsa_key",
                "/etc/ssh/ssh_host_rsa_key.pub",
                "/etc/systemd/system/ssh.service.wants/eflow-ssh-hostkeys.service",
                "/etc/systemd/system/ssh.socket.wants/eflow-ssh-hostkeys.service",
            ]
        );
        assert!(t.get("/etc/ssh/sshd_config").is_some());
        let dropin = text(&t, SSHD_HOSTKEYS_DROPIN);
        assert!(dropin.contains("HostKey /etc/ssh/ssh_host_ed25519_key"));
        assert!(!dropin.contains("rsa"));
        assert!(matches!(
            &t.get("/etc/systemd/system/ssh.service.wants/eflow-ssh-hostkeys.service").unwrap().kind,
            Kind::Symlink { target } if target == "/etc/systemd/system/eflow-ssh-hostkeys.service"
        ));
    }
}
