//! The EFLOW image boots under QEMU (OVMF, TCG) and its guest agent, asked over the
//! virtio-serial channel, reports the container engine running, the IoT Edge runtime's sockets
//! listening and no failed unit; provisioning writes /etc/aziot/config.toml as the renderer
//! makes it, root-owned with mode 0600; a command runs and its output comes back.
//!
//! The boot takes a minute or two under software emulation; it needs qemu-system-x86_64 and
//! ovmf, which .ci/run installs.

use crate::eflow_support::*;
use eflow_builder::commands::vm;
use eflow_guest_agent::protocol::UnitState;
use eflow_guest_agent::{render_config, Client, Provisioning, Secret};
use eflow_testkit::{require_tools, KillOnDrop};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Boot timeout: dockerd's first start under TCG is slow.
pub(crate) const BOOT_TIMEOUT: Duration = Duration::from_secs(900);

/// Whatever the serial log holds so far.
pub(crate) fn read_log(path: &Path) -> String {
    let mut f = std::fs::File::open(path).unwrap();
    let mut s = Vec::new();
    f.seek(SeekFrom::Start(0)).unwrap();
    f.read_to_end(&mut s).unwrap();
    String::from_utf8_lossy(&s).into_owned()
}

/// The files `iotedge config apply` writes: (service, owner and group).
pub(crate) const APPLIED: [(&str, &str); 5] = [
    ("keyd", "aziotks"),
    ("certd", "aziotcs"),
    ("identityd", "aziotid"),
    ("tpmd", "aziottpm"),
    ("edged", "iotedge"),
];

pub(crate) fn tail(log: &str) -> &str {
    let at = log.len().saturating_sub(6000);
    let at = (at..log.len())
        .find(|i| log.is_char_boundary(*i))
        .unwrap_or(0);
    &log[at..]
}

pub(crate) fn run(c: &mut Client<UnixStream>, argv: &[&str]) -> (i32, String, String) {
    let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    let out = c
        .exec(&argv, None, Some(120))
        .unwrap_or_else(|e| panic!("exec {argv:?}: {e}"));
    (
        out.exit_code.unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The n-th (0-based) ready line's failed count, once printed.
fn nth_ready(log: &str, n: usize) -> Option<u32> {
    let mut rest = log;
    for _ in 0..n {
        let at = rest.find(vm::READY)?;
        rest = &rest[at + vm::READY.len()..];
    }
    vm::parse_ready(rest)
}

pub fn wait_ready(serial: &Path, n: usize, vm: &mut KillOnDrop, start: Instant) -> u32 {
    loop {
        let log = read_log(serial);
        if let Some(failed) = nth_ready(&log, n) {
            return failed;
        }
        if let Ok(Some(st)) = vm.try_wait() {
            panic!("QEMU stopped ({st}) before ready line {n}:\n{}", tail(&log));
        }
        assert!(
            start.elapsed() < BOOT_TIMEOUT,
            "no ready line {n} after {BOOT_TIMEOUT:?}:\n{}",
            tail(&log)
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// A booted guest: QEMU (killed when dropped), its agent, its serial log.
struct Guest {
    vm: KillOnDrop,
    agent: Client<UnixStream>,
    serial: std::path::PathBuf,
    start: Instant,
}

impl Guest {
    /// Boots `disk` (written in place: a second boot sees the first one's changes) and
    /// waits for the ready line; `tag` names this boot's files in `dir`.
    fn boot(dir: &Path, disk: &Path, tag: &str) -> Guest {
        let mut boot = vm::BootRun::new(disk);
        boot.memory_mib = 2048;
        boot.timeout = BOOT_TIMEOUT;
        boot.writable = true;
        let sock = dir.join(format!("agent-{tag}.sock"));
        boot.agent_socket = Some(sock.clone());
        // A network card, as every EFLOW VM has one. User-mode networking, restricted (no
        // way out of the host), without the option ROM (the firmware would try PXE first).
        boot.extra_args = [
            "-netdev",
            "user,id=n0,restrict=on",
            "-device",
            "virtio-net-pci,netdev=n0,romfile=",
        ]
        .map(String::from)
        .to_vec();
        let vars = dir.join(format!("vars-{tag}.fd"));
        std::fs::copy(&boot.firmware.vars, &vars).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (apt-get install ovmf)",
                boot.firmware.vars.display()
            )
        });
        let serial = dir.join(format!("serial-{tag}.log"));
        std::fs::File::create(&serial).unwrap();
        let mut cmd = vm::command(&boot, "raw", &vars, &serial);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .env("TMPDIR", dir);
        let start = Instant::now();
        let mut vm = KillOnDrop(cmd.spawn().expect("qemu-system-x86_64 starts"));

        // The ready line: every unit of the boot transaction settled.
        let failed = wait_ready(&serial, 0, &mut vm, start);
        eprintln!(
            "eflow_boot ({tag}): ready after {:.0} s, failed={failed}",
            start.elapsed().as_secs_f64()
        );
        let stream = UnixStream::connect(&sock).expect("QEMU's agent chardev socket");
        stream
            .set_read_timeout(Some(Duration::from_secs(180)))
            .unwrap();
        let mut agent = Client::new(stream);
        agent
            .ping()
            .unwrap_or_else(|e| panic!("agent ping: {e}\n{}", tail(&read_log(&serial))));
        Guest {
            vm,
            agent,
            serial,
            start,
        }
    }

    fn log(&self) -> String {
        read_log(&self.serial)
    }

    /// A clean shutdown through the agent (the disk is consistent for the next boot).
    fn shut_down(mut self) {
        let _ = run(&mut self.agent, &["sync"]);
        let _ = self.agent.shutdown();
        let end = Instant::now();
        while end.elapsed() < Duration::from_secs(120) {
            if let Ok(Some(_)) = self.vm.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        panic!("the guest did not power off:\n{}", tail(&self.log()));
    }
}

/// What must survive a reboot: machine-id, SSH host keys, and files written to /etc,
/// /root and /var (overlays and the data partition).
const PERSISTENT: &str = "cat /etc/machine-id /etc/eflow-persist /root/eflow-persist \
     /var/lib/eflow-persist && sha256sum /etc/ssh/ssh_host_*_key.pub";

/// The EFLOW layout as the booted guest has it: a read-only root, /var and /var/log on
/// ext4 partitions of their own, overlays on /etc, /home and /root; /usr cannot be written
/// and docker's overlay2 runs on the data partition's ext4.
fn check_layout(g: &mut Guest) {
    let log = g.log();
    let fs = vm::parse_filesystems(&log);
    let get = |target: &str| {
        fs.iter()
            .find(|m| m.target == target)
            .unwrap_or_else(|| panic!("{target} is not mounted: {fs:?}\n{}", tail(&log)))
    };
    assert!(get("/").read_only && get("/").fstype == "ext4", "{fs:?}");
    for t in ["/var", "/var/log"] {
        assert!(!get(t).read_only && get(t).fstype == "ext4", "{t}: {fs:?}");
    }
    for t in ["/etc", "/home", "/root"] {
        assert!(
            !get(t).read_only && get(t).fstype == "overlay",
            "{t}: {fs:?}"
        );
    }
    let (code, _, err) = run(&mut g.agent, &["touch", "/usr/eflow-write-test"]);
    assert_ne!(code, 0, "/usr is writable");
    assert!(err.contains("Read-only file system"), "{err}");
    let (code, out, err) = run(&mut g.agent, &["docker", "info"]);
    if code != 0 {
        let (_, why, _) = run(
            &mut g.agent,
            &[
                "sh",
                "-c",
                "systemctl status docker.service docker.socket containerd.service 2>&1; \
                 journalctl -b -u docker.service -n 40 --no-pager 2>&1",
            ],
        );
        panic!("docker info failed: {out}{err}\n{why}");
    }
    assert!(
        out.contains("Storage Driver: overlay2") && out.contains("Backing Filesystem: extfs"),
        "docker's storage:\n{out}{err}"
    );
}

#[test]
fn eflow_guest_boots_and_its_agent_runs_the_runtime() {
    require_tools(&["qemu-system-x86_64", "sfdisk"]);
    let dir = tempfile::tempdir().unwrap();
    build_eflow(dir.path(), "raw");
    let disk = dir.path().join("eflow.raw");
    let Guest {
        vm,
        mut agent,
        serial,
        start,
    } = Guest::boot(dir.path(), &disk, "first");

    // Status: docker and containerd active, no failed unit (dockerd may still be starting).
    let status = loop {
        let s = agent.status().expect("status");
        let engine_up = ["docker", "containerd"]
            .iter()
            .all(|u| s.container_engine.get(*u) == Some(&UnitState::Active));
        if engine_up && s.boot != "starting" && s.boot != "initializing" {
            break s;
        }
        assert!(
            start.elapsed() < BOOT_TIMEOUT,
            "container engine not active: {s:?}\n{}",
            tail(&read_log(&serial))
        );
        std::thread::sleep(Duration::from_secs(5));
    };
    assert!(
        status.failed_units.is_empty(),
        "failed units: {:?}\n{}",
        status.failed_units,
        tail(&read_log(&serial))
    );
    assert_eq!(status.boot, "running", "{status:?}");
    assert!(!status.provisioning_config_present, "not provisioned yet");
    // Enabled at install, as upstream: started at boot (the stand-in daemon only waits).
    assert_eq!(
        status.iot_edge.get("aziot-edged"),
        Some(&UnitState::Active),
        "{status:?}"
    );

    // The runtime's sockets: listening, with the owners and modes of the packages' units.
    let sockets = [
        "aziot-keyd.socket",
        "aziot-certd.socket",
        "aziot-identityd.socket",
        "aziot-tpmd.socket",
        "aziot-edged.mgmt.socket",
        "aziot-edged.workload.socket",
        "docker.socket",
    ];
    let mut argv = vec!["systemctl", "is-active"];
    argv.extend(sockets);
    let (code, out, err) = run(&mut agent, &argv);
    assert_eq!(code, 0, "{sockets:?}: {out}{err}");
    assert!(
        out.lines().all(|l| l == "listening" || l == "active"),
        "{out}"
    );
    for (path, want) in [
        ("/run/aziot/keyd.sock", "aziotks aziotks 660"),
        ("/run/aziot/certd.sock", "aziotcs aziotcs 660"),
        ("/run/aziot/identityd.sock", "aziotid aziotid 660"),
        ("/run/aziot/tpmd.sock", "aziottpm aziottpm 660"),
        ("/run/iotedge/mgmt.sock", "edgeagentuser iotedge 660"),
        ("/run/iotedge/workload.sock", "iotedge iotedge 666"),
        ("/run/docker.sock", "root docker 660"),
    ] {
        let (code, out, err) = run(&mut agent, &["stat", "-c", "%F %U %G %a", path]);
        assert_eq!(code, 0, "stat {path}: {err}");
        assert_eq!(out.trim(), format!("socket {want}"), "{path}");
    }
    let (code, out, err) = run(&mut agent, &["id", "-nG", "iotedge"]);
    assert_eq!(code, 0, "{err}");
    for g in ["docker", "systemd-journal", "aziotcs", "aziotks", "aziotid"] {
        assert!(
            out.split_whitespace().any(|w| w == g),
            "iotedge in {g}: {out}"
        );
    }

    // Modules load from the indexes written at build time (the root has no depmod run):
    // udev loaded the NIC's driver by its modalias, modprobe loads overlay (as docker does)
    // and resolves dm-verity's dependencies.
    let (code, out, err) = run(
        &mut agent,
        &[
            "sh",
            "-c",
            "test -d /sys/module/virtio_net && modprobe overlay && test -d /sys/module/overlay \
             && modprobe --show-depends dm-verity",
        ],
    );
    assert_eq!(code, 0, "module autoloading: {out}{err}");
    assert!(
        out.contains("/dm-bufio.ko") && out.contains("/dm-verity.ko"),
        "{out}"
    );

    // Provisioning: DPS with a symmetric key.
    let p = Provisioning::DpsSymmetricKey {
        global_endpoint: "https://global.azure-devices-provisioning.net".into(),
        id_scope: "0ne00000000".into(),
        registration_id: "eflow-test-device".into(),
        symmetric_key: Secret::new("c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seQ=="),
    };
    let params = eflow_guest_agent::ProvisionParams {
        config_toml: None,
        provisioning: Some(p.clone()),
        hostname: Some("eflow-test".into()),
        apply: Some(true),
    };
    let r = agent.provision(&params).expect("provision");
    assert_eq!(r.path, "/etc/aziot/config.toml");
    assert!(!r.apply_failed, "{r:?}");
    let (content, mode) = agent.copy_out("/etc/aziot/config.toml").expect("copy-out");
    assert_eq!(mode & 0o7777, 0o600);
    assert_eq!(
        String::from_utf8_lossy(&content),
        render_config(&p, "eflow-test")
    );
    let (code, out, err) = run(
        &mut agent,
        &["stat", "-c", "%U %a", "/etc/aziot/config.toml"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "root 600");
    assert!(agent.status().expect("status").provisioning_config_present);
    // Applied: the per-service files, each its service user's, 0600.
    for (svc, user) in APPLIED {
        let path = format!("/etc/aziot/{svc}/config.d/00-super.toml");
        let (code, out, err) = run(&mut agent, &["stat", "-c", "%U %G %a", &path]);
        assert_eq!(code, 0, "{path}: {err}");
        assert_eq!(out.trim(), format!("{user} {user} 600"), "{path}");
    }

    // A command and its output.
    let (code, out, _) = run(&mut agent, &["sh", "-c", "echo eflow-$(uname -s); exit 3"]);
    assert_eq!((code, out.as_str()), (3, "eflow-Linux\n"));

    let mut guest = Guest {
        vm,
        agent,
        serial,
        start,
    };
    check_layout(&mut guest);
    let (code, _, err) = run(
        &mut guest.agent,
        &[
            "sh",
            "-c",
            "echo etc > /etc/eflow-persist && echo root > /root/eflow-persist \
             && mkdir -p /var/lib && echo var > /var/lib/eflow-persist",
        ],
    );
    assert_eq!(code, 0, "writing /etc, /root, /var: {err}");
    let (code, first, err) = run(&mut guest.agent, &["sh", "-c", PERSISTENT]);
    assert_eq!(code, 0, "{err}");
    // sshd runs with the two host keys made at first boot (no RSA key), and its
    // configuration is valid.
    let (code, keys, err) = run(
        &mut guest.agent,
        &[
            "sh",
            "-c",
            "sshd -t && systemctl is-active ssh.service && ls /etc/ssh/ | grep _key$",
        ],
    );
    assert_eq!(code, 0, "sshd: {keys}{err}");
    assert_eq!(
        keys.lines()
            .filter(|l| l.ends_with("_key"))
            .collect::<Vec<_>>(),
        ["ssh_host_ecdsa_key", "ssh_host_ed25519_key"],
        "{keys}"
    );
    guest.shut_down();

    // The second boot of the same disk keeps what the first one wrote.
    let mut again = Guest::boot(dir.path(), &disk, "second");
    let (code, second, err) = run(&mut again.agent, &["sh", "-c", PERSISTENT]);
    assert_eq!(code, 0, "after a reboot: {err}\n{}", tail(&again.log()));
    assert_eq!(first, second, "what the first boot wrote changed");
    assert!(
        vm::parse_ready(&again.log()) == Some(0),
        "{}",
        tail(&again.log())
    );
    again.shut_down();
}
