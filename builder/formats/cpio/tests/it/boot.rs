//! The real check of an initramfs: a Linux kernel unpacks it and runs its /init.
//!
//! Ignored by default (it boots QEMU under TCG: tens of seconds). Run with a kernel image,
//! for example from Debian's linux-image-6.1.0-NN-cloud-amd64 package, and busybox-static:
//!
//!     apt-get download linux-image-6.1.0-NN-cloud-amd64 && dpkg-deb -x linux-image-*.deb root
//!     apt-get install qemu-system-x86 busybox-static
//!     EFLOW_KERNEL=$PWD/root/boot/vmlinuz-6.1.0-NN-cloud-amd64 \
//!         cargo test -p eflow-cpio --test it -- --ignored kernel_unpacks
//!
//! The archive exercises what the kernel's unpacker must get right: directories, a hard-link
//! group with the data on its last name, a symlink, the /dev/console device node (without
//! it the kernel has no console for /init), modes and mtimes.

use std::path::Path;
use std::process::Command;

use eflow_cpio::{write_compressed, Compression};
use eflow_testkit::{require_tool, run};
use eflow_tree::{Entry, Kind, Tree};

const INIT: &str = r#"#!/bin/sh
/bin/busybox mount -t proc proc /proc
m=$(cat /etc/marker)
[ "$(stat -c %i /bin/sh)" = "$(stat -c %i /bin/busybox)" ] && h=hardlink-ok
[ "$(readlink /bin/ls)" = busybox ] && s=symlink-ok
[ "$(stat -c %a /etc/secret)" = 600 ] && p=mode-ok
[ "$(stat -c %Y /etc/marker)" = 1700000000 ] && t=mtime-ok
echo "EFLOW-INITRAMFS $m $h $s $p $t"
/bin/busybox poweroff -f
"#;

fn initramfs() -> Tree {
    let busybox = std::fs::read("/bin/busybox")
        .expect("/bin/busybox missing: apt-get install busybox-static");
    let mut t = Tree::new();
    for d in ["/bin", "/dev", "/etc", "/proc", "/sys"] {
        t.mkdir_p(d).unwrap();
    }
    t.insert("/init", Entry::file(INIT.as_bytes().to_vec(), 0o755))
        .unwrap();
    t.insert("/bin/busybox", Entry::file(busybox, 0o755))
        .unwrap();
    // "/bin/sh" sorts after "/bin/busybox", so the data travels with /bin/sh.
    t.insert(
        "/bin/sh",
        Entry::new(
            Kind::HardLink {
                target: "/bin/busybox".into(),
            },
            0o755,
        ),
    )
    .unwrap();
    t.insert("/bin/ls", Entry::symlink("busybox")).unwrap();
    t.insert(
        "/dev/console",
        Entry::new(Kind::CharDevice { major: 5, minor: 1 }, 0o600),
    )
    .unwrap();
    t.insert(
        "/etc/marker",
        Entry::file(b"unpacked\n".to_vec(), 0o644).at(1_700_000_000),
    )
    .unwrap();
    t.insert("/etc/secret", Entry::file(b"x".to_vec(), 0o600))
        .unwrap();
    t
}

fn boot(kernel: &Path, initrd: &Path) -> String {
    require_tool("qemu-system-x86_64");
    let out = run(Command::new("timeout")
        .args([
            "300",
            "qemu-system-x86_64",
            "-m",
            "256",
            "-nographic",
            "-no-reboot",
            "-net",
            "none",
        ])
        .arg("-kernel")
        .arg(kernel)
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", "console=ttyS0 panic=-1 loglevel=3"]));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[ignore = "boots a kernel under QEMU; needs EFLOW_KERNEL, see the file's doc comment"]
fn kernel_unpacks_and_runs_init() {
    let kernel = std::env::var("EFLOW_KERNEL")
        .expect("set EFLOW_KERNEL to a bzImage (e.g. /boot/vmlinuz-* of a Debian kernel package)");
    let dir = tempfile::tempdir().unwrap();
    for c in [Compression::Gzip, Compression::Zstd] {
        let p = dir.path().join("initrd");
        let mut f = std::fs::File::create(&p).unwrap();
        write_compressed(&initramfs(), c, &mut f).unwrap();
        drop(f);
        let log = boot(Path::new(&kernel), &p);
        assert!(
            log.contains("EFLOW-INITRAMFS unpacked hardlink-ok symlink-ok mode-ok mtime-ok"),
            "{c:?} initramfs: /init did not report success; console:\n{log}"
        );
    }
}
