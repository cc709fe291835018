//! Helpers of the EFLOW image tests: the test stand-in of Microsoft's repository, the guest
//! agent binary, building recipes/images/eflow.toml, reading its root filesystem with debugfs.

use crate::util::*;
use eflow_testkit::{ok, require_tools};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The EFLOW image definition.
pub fn eflow_image() -> PathBuf {
    root().join("recipes/images/eflow.toml")
}

static PREPARED: Mutex<bool> = Mutex::new(false);

/// The test runtime packages: (path in the repository, file name) as eflow.lock pins them.
pub const FAKE_DEBS: [&str; 2] = [
    "pool/main/a/aziot-identity-service/aziot-identity-service_1.5.6-1_amd64.deb",
    "pool/main/a/aziot-edge/aziot-edge_1.5.21-1_amd64.deb",
];

/// The sha256 eflow.lock pins for a package path.
pub fn pinned_sha256(path: &str) -> String {
    let lock = lockfile("eflow");
    let p = locked_packages(&lock)
        .iter()
        .find(|p| p["path"].as_str() == Some(path))
        .unwrap_or_else(|| panic!("eflow.lock does not pin {path}"));
    p["sha256"].as_str().expect("a pinned sha256").to_string()
}

/// Makes what building eflow.toml needs from this workspace: the test Microsoft repository at
/// target/fake-aziot (where eflow.toml's `[source.microsoft]` points; made under `flock` and
/// only when its packages are not already the pinned ones, as test binaries run in parallel)
/// and the release build of the guest agent (guest-rootfs/usr/libexec/eflow-guest-agent links
/// to it).
pub fn prepare() {
    let mut done = PREPARED.lock().unwrap_or_else(|e| e.into_inner());
    if *done {
        return;
    }
    require_tools(&["dpkg-deb", "xz", "gpg", "gpgv", "sha256sum", "flock"]);
    let target = root().join("target");
    std::fs::create_dir_all(&target).unwrap();
    let sums = tempfile::NamedTempFile::new().unwrap();
    let text: String = FAKE_DEBS
        .iter()
        .map(|p| format!("{}  {p}\n", pinned_sha256(p)))
        .collect();
    std::fs::write(sums.path(), text).unwrap();
    ok(Command::new("flock")
        .arg(target.join("fake-aziot.lock"))
        .args([
            "sh",
            "-c",
            "(cd \"$1/repo\" 2>/dev/null && sha256sum --quiet --status -c \"$2\") || \"$3\" \"$1\" >/dev/null",
            "sh",
        ])
        .arg(target.join("fake-aziot"))
        .arg(sums.path())
        .arg(root().join("tests/fake-aziot/make-repo.sh")));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    ok(Command::new(cargo)
        .current_dir(root())
        .args(["build", "--release", "-p", "eflow-guest-agent"])
        .env_remove("CARGO_TARGET_DIR"));
    assert!(
        root()
            .join("guest-rootfs/usr/libexec/eflow-guest-agent")
            .is_file(),
        "guest-rootfs/usr/libexec/eflow-guest-agent does not lead to target/release/eflow-guest-agent"
    );
    *done = true;
}

/// Builds the EFLOW image into `out` with the given formats.
pub fn build_eflow(out: &Path, formats: &str) {
    prepare();
    build(&eflow_image(), out, formats);
}

/// The guest's files as the disk holds them: each ext4 partition of the EFLOW layout
/// copied out, and every path read (with debugfs) from the filesystem mounted at the
/// deepest mount point above it.
pub struct GuestFs {
    /// (mount point, filesystem image), deepest mount points first.
    parts: Vec<(&'static str, PathBuf)>,
}

impl GuestFs {
    /// Copies the root, log and data partitions of `disk` into `dir`; each must pass e2fsck.
    pub fn extract(disk: &Path, dir: &Path) -> GuestFs {
        let mut parts = Vec::new();
        for (label, mount) in [("log", "/var/log"), ("data", "/var"), ("root", "/")] {
            let fs = dir.join(format!("{label}.ext4"));
            eflow_testkit::extract_partition(disk, label, &fs);
            eflow_testkit::ok(std::process::Command::new("e2fsck").arg("-fn").arg(&fs));
            parts.push((mount, fs));
        }
        GuestFs { parts }
    }

    /// The filesystem holding `path` and the path inside it.
    pub fn locate(&self, path: &str) -> (&Path, String) {
        for (mount, fs) in &self.parts {
            if *mount == "/" {
                return (fs, path.to_string());
            }
            if let Some(rest) = path.strip_prefix(mount) {
                if rest.is_empty() || rest.starts_with('/') {
                    let inner = if rest.is_empty() { "/" } else { rest };
                    return (fs, inner.to_string());
                }
            }
        }
        unreachable!("the root is last")
    }

    /// `debugfs -R "VERB PATH"` on the filesystem holding the path.
    pub fn request(&self, verb: &str, path: &str) -> String {
        let (fs, inner) = self.locate(path);
        crate::util::debugfs(fs, &format!("{verb} {inner}"))
    }

    /// A file's content as text.
    pub fn cat(&self, path: &str) -> String {
        self.request("cat", path)
    }
}
