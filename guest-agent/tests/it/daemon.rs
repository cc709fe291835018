//! The daemon binary itself, spawned with its transport on a unix socket pair (`--stdio`) or on a
//! pty standing in for the virtio-serial port (`--serial`), against a temporary root and
//! shell-script stand-ins for systemctl and iotedge.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use eflow_guest_agent::protocol::MAX_REQUEST_LINE;
use eflow_guest_agent::Client;
use eflow_testkit::KillOnDrop;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_eflow-guest-agent");

struct Guest {
    root: tempfile::TempDir,
    log: PathBuf,
}

/// A temporary guest root with fake systemctl and iotedge that log their arguments.
fn guest() -> Guest {
    let root = tempfile::tempdir().unwrap();
    for d in ["etc", "var", "bin"] {
        fs::create_dir_all(root.path().join(d)).unwrap();
    }
    let log = root.path().join("calls.log");
    let script = |name: &str, body: &str| {
        let p = root.path().join("bin").join(name);
        fs::write(
            &p,
            format!("#!/bin/sh\necho \"{name} $*\" >> {}\n{body}", log.display()),
        )
        .unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    };
    script(
        "systemctl",
        "case \"$1\" in is-system-running) echo running;; show) \
         for u in \"$@\"; do case \"$u\" in *.service) \
         printf 'Id=%s\\nLoadState=loaded\\nActiveState=active\\n\\n' \"$u\";; esac; done;; esac\n",
    );
    script("iotedge", "exit 0\n");
    Guest { root, log }
}

fn args(g: &Guest) -> Vec<String> {
    let r = g.root.path();
    vec![
        "--root".into(),
        r.display().to_string(),
        "--systemctl".into(),
        r.join("bin/systemctl").display().to_string(),
        "--iotedge".into(),
        r.join("bin/iotedge").display().to_string(),
    ]
}

fn spawn_stdio(g: &Guest) -> (Child, UnixStream) {
    let (ours, theirs) = UnixStream::pair().unwrap();
    let fd: OwnedFd = theirs.into();
    let child = Command::new(BIN)
        .arg("--stdio")
        .args(args(g))
        .stdin(Stdio::from(fd.try_clone().unwrap()))
        .stdout(Stdio::from(fd))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    ours.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    (child, ours)
}

fn read_lines(s: &mut impl Read, n: usize) -> Vec<Value> {
    let mut r = BufReader::new(s);
    (0..n)
        .map(|_| {
            let mut l = String::new();
            r.read_line(&mut l).unwrap();
            serde_json::from_str(&l).unwrap_or_else(|e| panic!("{e}: {l:?}"))
        })
        .collect()
}

#[test]
fn stdio_daemon_serves_all_requests() {
    let g = guest();
    let (mut child, stream) = spawn_stdio(&g);
    let mut c = Client::new(stream);
    assert_eq!(c.ping().unwrap().protocols, [1]);
    let st = c.status().unwrap();
    assert_eq!(st.boot, "running");
    assert!(st
        .iot_edge
        .values()
        .all(|s| *s == eflow_guest_agent::protocol::UnitState::Active));
    let p = eflow_guest_agent::provision_params_from_file(
        "kind = \"manual_connection_string\"\nconnection_string = \"HostName=h;DeviceId=d;SharedAccessKey=TOPSECRETKEY\"\n",
        Some("host-EFLOW".into()),
        true,
    )
    .unwrap();
    assert!(c.provision(&p).unwrap().applied);
    c.copy_in("/etc/x", 0o644, b"hello").unwrap();
    assert_eq!(c.copy_out("/etc/x").unwrap(), (b"hello".to_vec(), 0o644));
    let r = c.exec(&["cat".into(), "etc/x".into()], None, None).unwrap();
    assert_eq!(r.stdout, b"hello");
    assert_eq!(c.reboot().unwrap().action, "reboot");
    c.ping().unwrap();
    drop(c);
    assert!(child.wait().unwrap().success());
    let calls = fs::read_to_string(&g.log).unwrap();
    assert!(calls.contains("systemctl reboot"), "{calls}");
    assert!(calls.contains("iotedge config apply -c"), "{calls}");
    // Secrets are not in the daemon's log.
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(log.contains("op=provision ok"), "{log}");
    assert!(
        !log.contains("TOPSECRETKEY") && !log.contains("hello"),
        "{log}"
    );
}

#[test]
fn stdio_daemon_survives_garbage_oversized_and_truncated_requests() {
    let g = guest();
    let (mut child, mut s) = spawn_stdio(&g);
    let mut w = s.try_clone().unwrap();
    // The oversized line is written from a thread: the agent answers the first lines while
    // it is still coming.
    let writer = std::thread::spawn(move || {
        w.write_all(b"{not json\n[]\n{\"v\":1,\"id\":1,\"op\":\"ping\"}\n")
            .unwrap();
        let big = vec![b'{'; MAX_REQUEST_LINE + 1000];
        w.write_all(&big).unwrap();
        w.write_all(b"\n{\"v\":1,\"id\":2,\"op\":\"status\"}\n{\"v\":1,\"id\":3,\"op\":\"stat")
            .unwrap();
        w.shutdown(std::net::Shutdown::Write).unwrap();
    });
    let r = read_lines(&mut s, 6);
    writer.join().unwrap();
    assert_eq!(r[0]["error"]["code"], "bad_request");
    assert_eq!(r[1]["error"]["code"], "bad_request");
    assert_eq!(r[2]["id"], 1);
    assert_eq!(r[3]["error"]["code"], "too_large");
    assert_eq!(r[4]["id"], 2);
    assert_eq!(r[4]["result"]["boot"], "running");
    assert_eq!(r[5]["error"]["code"], "bad_request");
    assert!(r[5]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("truncated"));
    assert!(child.wait().unwrap().success());
}

/// Opens a pty pair; the slave is made raw so the line discipline neither echoes nor edits.
fn openpty() -> (OwnedFd, OwnedFd, PathBuf) {
    let (mut m, mut s) = (0, 0);
    let mut name = [0 as libc::c_char; 128];
    // SAFETY: out-pointers to locals; the returned descriptors are owned right away.
    unsafe {
        assert_eq!(
            libc::openpty(
                &mut m,
                &mut s,
                name.as_mut_ptr(),
                std::ptr::null(),
                std::ptr::null()
            ),
            0
        );
        let mut t: libc::termios = std::mem::zeroed();
        libc::tcgetattr(s, &mut t);
        libc::cfmakeraw(&mut t);
        libc::tcsetattr(s, libc::TCSANOW, &t);
        let path = std::ffi::CStr::from_ptr(name.as_ptr())
            .to_string_lossy()
            .into_owned();
        (
            OwnedFd::from_raw_fd(m),
            OwnedFd::from_raw_fd(s),
            PathBuf::from(path),
        )
    }
}

/// Starts the agent with `extra` arguments and `--serial PORT`, and waits until its log holds
/// `until`; returns it (killed when dropped) and its log so far. The rest of its log is read
/// and dropped, so it never blocks on a full pipe.
fn spawn_serial(g: &Guest, extra: &[&str], port: &Path, until: &str) -> (KillOnDrop, String) {
    let child = Command::new(BIN)
        .args(extra)
        .arg("--serial")
        .arg(port)
        .args(args(g))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains(until) {
        let mut l = String::new();
        assert!(err.read_line(&mut l).unwrap() > 0, "agent exited: {seen}");
        seen.push_str(&l);
    }
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    (child, seen)
}

#[test]
fn serial_daemon_on_a_pty() {
    let g = guest();
    let (master, _slave, path) = openpty();
    // Wait until the agent has opened (and set raw) the port.
    let _agent = spawn_serial(&g, &[], &path, ": open");
    let port = fs::File::from(master);
    let mut c = Client::new(port.try_clone().unwrap());
    assert_eq!(c.ping().unwrap().protocols, [1]);
    // Garbage on the port is answered and the port keeps working.
    (&port).write_all(b"\x01\x02garbage\n").unwrap();
    let st = c.status().unwrap(); // skips the error reply (id null)
    assert_eq!(st.boot, "running");
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    c.copy_in("/var/blob", 0o600, &data).unwrap();
    assert_eq!(c.copy_out("/var/blob").unwrap().0, data);
    assert_eq!(
        fs::read(g.root.path().join("var/blob")).unwrap(),
        data,
        "bytes on disk"
    );
}

#[test]
fn bad_arguments_exit_2() {
    let out = Command::new(BIN).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("give a transport"));
    let out = Command::new(BIN)
        .args(["--vsock-port", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// A vsock port that cannot be bound (here: taken) makes the agent exit 1 with a message
/// saying why, unless a serial port is also configured, in which case it carries on without
/// vsock. (Where AF_VSOCK itself is missing the same paths run with the Unavailable error.)
#[test]
fn vsock_failure_is_clean() {
    use eflow_guest_agent::vsock::VsockListener;
    let port = 0x5e20;
    // Hold the port if this kernel has vsock; otherwise the agent fails to create the socket.
    let _held = VsockListener::bind(port).ok();
    let out = Command::new(BIN)
        .args(["--vsock-port", &port.to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot listen on vsock port") || err.contains("AF_VSOCK is not available"),
        "{err}"
    );

    let g = guest();
    let (_master, _slave, path) = openpty();
    let vsock = ["--vsock-port", &port.to_string()];
    let (_agent, seen) = spawn_serial(&g, &vsock, &path, "ready (protocol v1)");
    assert!(seen.contains("vsock disabled"), "{seen}");
}
