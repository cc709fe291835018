//! The systemd unit shipped with the agent.
//!
//! `unit_file_verifies_with_systemd_analyze` needs systemd-analyze (not in every CI image), so it
//! is ignored by default; run it with
//! `cargo test -p eflow-guest-agent --test it -- --ignored unit_file`.

use std::path::Path;
use std::process::Command;

use eflow_testkit::run;

const UNIT: &str = include_str!("../../eflow-guest-agent.service");

fn value(key: &str) -> &'static str {
    UNIT.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("{key}= missing from the unit"))
}

#[test]
fn unit_starts_both_transports_as_a_notify_service() {
    assert_eq!(value("Type"), "notify");
    assert_eq!(value("User"), "root");
    assert_eq!(value("Restart"), "always");
    let exec = value("ExecStart");
    assert!(
        exec.starts_with("/usr/libexec/eflow-guest-agent "),
        "{exec}"
    );
    assert!(exec.contains("--vsock-port 5000"), "{exec}");
    assert!(
        exec.contains("--serial /dev/virtio-ports/org.eflow.agent"),
        "{exec}"
    );
    assert!(!exec.contains("--root"), "--root is for tests only");
    assert_eq!(value("WantedBy"), "multi-user.target");
}

#[test]
#[ignore = "needs systemd-analyze; run with --ignored"]
fn unit_file_verifies_with_systemd_analyze() {
    let dir = tempfile::tempdir().unwrap();
    // verify checks that ExecStart exists: point it at the binary under test.
    let unit = UNIT.replace(
        "/usr/libexec/eflow-guest-agent ",
        &format!("{} ", env!("CARGO_BIN_EXE_eflow-guest-agent")),
    );
    let path = dir.path().join("eflow-guest-agent.service");
    std::fs::write(&path, unit).unwrap();
    let out = run(Command::new("systemd-analyze")
        .arg("verify")
        .arg(Path::new(&path)));
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "systemd-analyze verify: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
