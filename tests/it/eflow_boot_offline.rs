//! The EFLOW image provisioned at build time (a `[provisioning]` section), booted under QEMU
//! with no network device at all, then rebooted in the same machine:
//! - it reaches the ready line with no failed unit and no wait for the network;
//! - at first boot eflow-iotedge-apply.service applies /etc/aziot/config.toml before
//!   aziot-edged starts (the per-service files, each owned by its service user, 0600), and
//!   aziot-edged and the container engine run;
//! - after the reboot the same holds, and the apply is not repeated.
//!
//! And the plain image on a network device where nobody answers DHCP: ready, nothing failed.
//! The times to the ready line are printed next to the networked boot's (eflow_boot).

use crate::eflow_boot::{read_log, run, tail, wait_ready, APPLIED, BOOT_TIMEOUT};
use crate::eflow_support::*;
use crate::util::*;
use eflow_builder::commands::vm;
use eflow_guest_agent::protocol::UnitState;
use eflow_guest_agent::Client;
use eflow_testkit::{require_tools, KillOnDrop};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

const CONNECTION_STRING: &str =
    "HostName=hub.example;DeviceId=eflow-offline;SharedAccessKey=c2VjcmV0LWtleS1mb3ItdGVzdHM=";

/// eflow.toml with a provisioning section, in `dir`, its relative paths made absolute.
fn provisioned_image(dir: &Path) -> std::path::PathBuf {
    prepare();
    let text = std::fs::read_to_string(eflow_image()).unwrap();
    let abs = |rel: &str| root().join(rel).display().to_string();
    let text = text
        .replace(
            "[image]\n",
            &format!(
                "[image]\nrecipe-dir = \"{}\"\nfiles-dir = \"{}\"\n",
                abs("recipes"),
                abs("guest-rootfs")
            ),
        )
        .replace(
            "\"file:../../target/fake-aziot/repo\"",
            &format!("\"file://{}\"", abs("target/fake-aziot/repo")),
        )
        .replace(
            "\"../../target/fake-aziot/keyring.gpg\"",
            &format!("\"{}\"", abs("target/fake-aziot/keyring.gpg")),
        )
        + &format!(
            "\n[provisioning]\nkind = \"manual_connection_string\"\nconnection_string = \"{CONNECTION_STRING}\"\n"
        );
    let image = dir.join("eflow.toml");
    std::fs::write(&image, text).unwrap();
    std::fs::copy(
        eflow_image().with_extension("lock"),
        image.with_extension("lock"),
    )
    .unwrap();
    image
}

/// What must hold after each boot: nothing failed, the runtime up, the configuration applied.
fn check_runtime(agent: &mut Client<UnixStream>, serial: &Path, start: Instant) {
    let status = loop {
        let s = agent.status().expect("status");
        let up = ["docker", "containerd"]
            .iter()
            .all(|u| s.container_engine.get(*u) == Some(&UnitState::Active))
            && s.iot_edge.get("aziot-edged") == Some(&UnitState::Active);
        if up && s.boot != "starting" && s.boot != "initializing" {
            break s;
        }
        assert!(
            start.elapsed() < BOOT_TIMEOUT,
            "runtime not active: {s:?}\n{}",
            tail(&read_log(serial))
        );
        std::thread::sleep(Duration::from_secs(5));
    };
    assert!(status.failed_units.is_empty(), "{status:?}");
    assert_eq!(status.boot, "running", "{status:?}");
    assert!(status.provisioning_config_present);
    for (svc, user) in APPLIED {
        let path = format!("/etc/aziot/{svc}/config.d/00-super.toml");
        let (code, out, err) = run(agent, &["stat", "-c", "%U %G %a", &path]);
        assert_eq!(code, 0, "{path}: {err}");
        assert_eq!(out.trim(), format!("{user} {user} 600"), "{path}");
    }
    // No network device: no link with a device behind it (lo and docker0 are virtual).
    let (_, links, _) = run(
        agent,
        &["sh", "-c", "ls -d /sys/class/net/*/device 2>/dev/null"],
    );
    assert_eq!(links.trim(), "", "network devices");
}

#[test]
fn eflow_guest_provisioned_at_build_time_boots_offline_and_reboots() {
    require_tools(&["qemu-system-x86_64", "sfdisk"]);
    let dir = tempfile::tempdir().unwrap();
    let image = provisioned_image(dir.path());
    build(&image, dir.path(), "raw");
    let disk = dir.path().join("eflow.raw");

    let mut boot = vm::BootRun::new(&disk);
    boot.memory_mib = 2048;
    boot.timeout = BOOT_TIMEOUT;
    boot.allow_reboot = true;
    let sock = dir.path().join("agent.sock");
    boot.agent_socket = Some(sock.clone());
    let vars = dir.path().join("vars.fd");
    std::fs::copy(&boot.firmware.vars, &vars).expect("OVMF vars (apt-get install ovmf)");
    let serial = dir.path().join("serial.log");
    std::fs::File::create(&serial).unwrap();
    let mut cmd = vm::command(&boot, "raw", &vars, &serial);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .env("TMPDIR", dir.path());
    let start = Instant::now();
    let mut vm = KillOnDrop(cmd.spawn().expect("qemu-system-x86_64 starts"));

    let failed = wait_ready(&serial, 0, &mut vm, start);
    eprintln!(
        "eflow_boot_offline: no network device, ready after {:.0} s, failed={failed}",
        start.elapsed().as_secs_f64()
    );
    assert_eq!(failed, 0, "{}", tail(&read_log(&serial)));

    let connect = || {
        let stream = UnixStream::connect(&sock).expect("QEMU's agent chardev socket");
        stream
            .set_read_timeout(Some(Duration::from_secs(180)))
            .unwrap();
        let mut agent = Client::new(stream);
        agent
            .ping()
            .unwrap_or_else(|e| panic!("agent ping: {e}\n{}", tail(&read_log(&serial))));
        agent
    };
    let mut agent = connect();
    check_runtime(&mut agent, &serial, start);
    // Applied once, before aziot-edged started.
    let (code, out, err) = run(
        &mut agent,
        &[
            "systemctl",
            "show",
            "-P",
            "Result",
            "eflow-iotedge-apply.service",
        ],
    );
    assert_eq!((code, out.trim()), (0, "success"), "{err}");
    let (_, journal, _) = run(
        &mut agent,
        &[
            "journalctl",
            "-b",
            "-o",
            "cat",
            "-u",
            "eflow-iotedge-apply.service",
            "-u",
            "aziot-edged.service",
        ],
    );
    let lines: Vec<&str> = journal.lines().collect();
    let line = |what: &str, unit: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(what) && l.contains(unit))
            .unwrap_or_else(|| panic!("no {what} line for {unit}:\n{journal}"))
    };
    assert!(
        line("Finished", "IoT Edge configuration") < line("Started", "Azure IoT Edge daemon"),
        "the apply ends before aziot-edged starts:\n{journal}"
    );

    // Reboot in the same machine: the first boot's writes stay.
    let reboot_at = Instant::now();
    let _ = agent.reboot();
    drop(agent);
    let failed = wait_ready(&serial, 1, &mut vm, reboot_at);
    eprintln!(
        "eflow_boot_offline: after reboot, ready after {:.0} s, failed={failed}",
        reboot_at.elapsed().as_secs_f64()
    );
    assert_eq!(failed, 0, "{}", tail(&read_log(&serial)));
    let mut agent = connect();
    check_runtime(&mut agent, &serial, reboot_at);
    let (code, out, err) = run(
        &mut agent,
        &[
            "systemctl",
            "show",
            "-P",
            "ConditionResult",
            "eflow-iotedge-apply.service",
        ],
    );
    assert_eq!((code, out.trim()), (0, "no"), "not applied again: {err}");

    let _ = agent.shutdown();
    let end = Instant::now();
    while end.elapsed() < Duration::from_secs(60) {
        if let Ok(Some(_)) = vm.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// A network device with nothing behind it (a QEMU hub with no other port: the link is up,
/// nobody answers DHCP): ready with no failed unit, without waiting for the network.
#[test]
fn eflow_guest_on_a_network_without_dhcp_is_ready_with_nothing_failed() {
    require_tools(&["qemu-system-x86_64", "sfdisk"]);
    let dir = tempfile::tempdir().unwrap();
    build_eflow(dir.path(), "raw");
    let mut boot = vm::BootRun::new(dir.path().join("eflow.raw"));
    boot.memory_mib = 2048;
    boot.timeout = BOOT_TIMEOUT;
    boot.extra_args = [
        "-netdev",
        "hubport,id=n0,hubid=0",
        "-device",
        "virtio-net-pci,netdev=n0,romfile=",
    ]
    .map(String::from)
    .to_vec();
    let out = vm::boot(&boot).expect("QEMU runs");
    eprintln!(
        "eflow_boot_offline: network without DHCP, ready after {:.0} s, failed={:?}",
        out.seconds, out.ready
    );
    assert!(out.ok(), "{}", tail(&out.log));
}
