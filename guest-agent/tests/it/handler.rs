//! Every request type, in process: the client on one end of a socket pair, the agent's serve
//! loop on the other, a temporary directory as the guest's root and fake system programs.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Arc, Mutex};

use eflow_guest_agent::exec::Captured;
use eflow_guest_agent::protocol::{ErrorCode, ProvisionParams, UnitState};
use eflow_guest_agent::provisioning::{Provisioning, Secret};
use eflow_guest_agent::server::serve;
use eflow_guest_agent::system::Commands;
use eflow_guest_agent::{Agent, Client, ClientError};

/// Fake systemctl/iotedge: canned answers, every call recorded.
#[derive(Default)]
struct Fake {
    calls: Mutex<Vec<Vec<String>>>,
    iotedge_installed: bool,
    apply_fails: bool,
}

fn out(stdout: &str, code: i32) -> Captured {
    Captured {
        exit_code: Some(code),
        stdout: stdout.as_bytes().to_vec(),
        ..Default::default()
    }
}

impl Commands for Fake {
    fn systemctl(&self, args: &[&str]) -> io::Result<Captured> {
        let mut call = vec!["systemctl".to_string()];
        call.extend(args.iter().map(|s| s.to_string()));
        self.calls.lock().unwrap().push(call);
        Ok(match args.first().copied() {
            Some("is-system-running") => out("degraded\n", 1),
            Some("list-units") => out("docker.service loaded failed failed Docker\n", 0),
            Some("show") => out(
                "Id=aziot-edged.service\nLoadState=loaded\nActiveState=active\n\n\
                 Id=aziot-identityd.service\nLoadState=loaded\nActiveState=inactive\n\n\
                 Id=aziot-keyd.service\nLoadState=loaded\nActiveState=active\n\n\
                 Id=aziot-certd.service\nLoadState=loaded\nActiveState=active\n\n\
                 Id=aziot-tpmd.service\nLoadState=not-found\nActiveState=inactive\n\n\
                 Id=docker.service\nLoadState=loaded\nActiveState=failed\n\n\
                 Id=containerd.service\nLoadState=loaded\nActiveState=active\n",
                0,
            ),
            _ => out("", 0),
        })
    }

    fn iotedge(&self, args: &[&str]) -> io::Result<Option<Captured>> {
        let mut call = vec!["iotedge".to_string()];
        call.extend(args.iter().map(|s| s.to_string()));
        self.calls.lock().unwrap().push(call);
        if !self.iotedge_installed {
            return Ok(None);
        }
        let mut c = out("", if self.apply_fails { 1 } else { 0 });
        if self.apply_fails {
            c.stderr = b"bad config".to_vec();
        }
        Ok(Some(c))
    }
}

struct Setup {
    root: tempfile::TempDir,
    fake: Arc<Fake>,
    client: Client<UnixStream>,
}

fn setup(fake: Fake) -> Setup {
    let root = tempfile::tempdir().unwrap();
    fs::create_dir_all(root.path().join("etc")).unwrap();
    fs::create_dir_all(root.path().join("var")).unwrap();
    fs::write(root.path().join("etc/hostname"), "guest-host\n").unwrap();
    let fake = Arc::new(fake);
    let agent = Agent::new(root.path(), fake.clone());
    let (ours, theirs) = UnixStream::pair().unwrap();
    std::thread::spawn(move || {
        let mut input = theirs.try_clone().unwrap();
        let mut output = theirs;
        serve(&agent, &mut input, &mut output, "test").unwrap();
    });
    Setup {
        root,
        fake,
        client: Client::new(ours),
    }
}

fn agent_code(e: ClientError) -> ErrorCode {
    match e {
        ClientError::Agent(b) => b.code,
        other => panic!("expected an agent error, got {other}"),
    }
}

#[test]
fn ping_and_status() {
    let mut s = setup(Fake::default());
    assert_eq!(s.client.ping().unwrap().protocols, [1]);
    let st = s.client.status().unwrap();
    assert_eq!(st.boot, "degraded");
    assert_eq!(st.failed_units, ["docker.service"]);
    assert_eq!(st.iot_edge["aziot-edged"], UnitState::Active);
    assert_eq!(st.iot_edge["aziot-identityd"], UnitState::Inactive);
    assert_eq!(st.iot_edge["aziot-tpmd"], UnitState::Missing);
    assert_eq!(st.container_engine["docker"], UnitState::Failed);
    assert_eq!(st.container_engine["containerd"], UnitState::Active);
    assert!(!st.provisioning_config_present);
    assert_eq!(st.disks.len(), 2, "{:?}", st.errors);
    assert_eq!(st.disks[0].path, "/");
    assert_eq!(st.disks[1].path, "/var");
    assert!(st.disks[0].total_bytes > 0 && st.disks[0].used_bytes <= st.disks[0].total_bytes);
    assert!(st.errors.is_empty(), "{:?}", st.errors);
}

#[test]
fn status_reports_probe_errors_but_still_answers() {
    let mut s = setup(Fake::default());
    fs::remove_dir(s.root.path().join("var")).unwrap();
    let st = s.client.status().unwrap();
    assert_eq!(st.disks.len(), 1);
    assert!(
        st.errors.iter().any(|e| e.contains("/var")),
        "{:?}",
        st.errors
    );
}

fn typed() -> ProvisionParams {
    ProvisionParams {
        provisioning: Some(Provisioning::DpsSymmetricKey {
            global_endpoint: "https://dps.example".into(),
            id_scope: "0ne0001".into(),
            registration_id: "reg".into(),
            symmetric_key: Secret::new("U1lNS0VZU0VDUkVU"),
        }),
        ..Default::default()
    }
}

#[test]
fn provision_typed_writes_0600_and_reports_not_applied_without_iotedge() {
    let mut s = setup(Fake::default());
    let r = s.client.provision(&typed()).unwrap();
    assert_eq!(r.path, "/etc/aziot/config.toml");
    assert!(!r.applied && !r.apply_failed);
    assert!(r.detail.contains("not installed"), "{}", r.detail);
    let p = s.root.path().join("etc/aziot/config.toml");
    assert_eq!(
        fs::metadata(&p).unwrap().permissions().mode() & 0o7777,
        0o600
    );
    let t: toml::Table = fs::read_to_string(&p).unwrap().parse().unwrap();
    assert_eq!(t["hostname"].as_str(), Some("guest-host"));
    assert_eq!(
        t["provisioning"]["attestation"]["symmetric_key"]["value"].as_str(),
        Some("U1lNS0VZU0VDUkVU")
    );
    // The status now sees the configuration.
    assert!(s.client.status().unwrap().provisioning_config_present);
    // No temporary file left next to it.
    assert_eq!(
        fs::read_dir(s.root.path().join("etc/aziot"))
            .unwrap()
            .count(),
        1
    );
}

#[test]
fn provision_applies_with_iotedge_and_reports_failure() {
    let mut s = setup(Fake {
        iotedge_installed: true,
        ..Default::default()
    });
    let mut p = typed();
    p.hostname = Some("WIN-EFLOW".into());
    let r = s.client.provision(&p).unwrap();
    assert!(r.applied, "{}", r.detail);
    let calls = s.fake.calls.lock().unwrap().clone();
    let apply = calls.iter().find(|c| c[0] == "iotedge").unwrap();
    assert_eq!(apply[1..4], ["config", "apply", "-c"]);
    assert!(apply[4].ends_with("/etc/aziot/config.toml"));
    let text = fs::read_to_string(s.root.path().join("etc/aziot/config.toml")).unwrap();
    assert!(text.contains("hostname = \"WIN-EFLOW\""));

    let mut s = setup(Fake {
        iotedge_installed: true,
        apply_fails: true,
        ..Default::default()
    });
    let r = s.client.provision(&typed()).unwrap();
    assert!(!r.applied && r.apply_failed);
    assert!(r.detail.contains("bad config"), "{}", r.detail);
}

#[test]
fn provision_raw_toml_is_checked_before_writing() {
    let mut s = setup(Fake {
        iotedge_installed: true,
        ..Default::default()
    });
    let raw = "hostname = \"h\"\n[provisioning]\nsource = \"manual\"\nconnection_string = \"HostName=x;SharedAccessKey=RAWSECRET\"\n";
    let p = ProvisionParams {
        config_toml: Some(Secret::new(raw)),
        apply: Some(false),
        ..Default::default()
    };
    let r = s.client.provision(&p).unwrap();
    assert!(!r.applied);
    let path = s.root.path().join("etc/aziot/config.toml");
    assert_eq!(fs::read_to_string(&path).unwrap(), raw);
    assert!(
        !s.fake
            .calls
            .lock()
            .unwrap()
            .iter()
            .any(|c| c[0] == "iotedge"),
        "apply = false must not run iotedge"
    );
    // Broken TOML: refused, the previous file stays, and the secret is not echoed.
    let broken = ProvisionParams {
        config_toml: Some(Secret::new("connection_string = \"RAWSECRET2")),
        ..Default::default()
    };
    match s.client.provision(&broken).unwrap_err() {
        ClientError::Agent(e) => {
            assert_eq!(e.code, ErrorCode::BadRequest);
            assert!(!e.message.contains("RAWSECRET2"), "{}", e.message);
        }
        other => panic!("{other}"),
    }
    assert_eq!(fs::read_to_string(&path).unwrap(), raw);
    // Neither or both forms: refused.
    let neither = ProvisionParams::default();
    assert_eq!(
        agent_code(s.client.provision(&neither).unwrap_err()),
        ErrorCode::BadRequest
    );
    let mut both = typed();
    both.config_toml = Some(Secret::new(raw));
    assert_eq!(
        agent_code(s.client.provision(&both).unwrap_err()),
        ErrorCode::BadRequest
    );
    // Invalid typed values: refused.
    let bad = ProvisionParams {
        provisioning: Some(Provisioning::DpsTpm {
            global_endpoint: "https://dps.example".into(),
            id_scope: "".into(),
            registration_id: "r".into(),
        }),
        ..Default::default()
    };
    assert_eq!(
        agent_code(s.client.provision(&bad).unwrap_err()),
        ErrorCode::BadRequest
    );
}

#[test]
fn exec_runs_argv_without_shell() {
    let mut s = setup(Fake::default());
    let argv = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let r = s
        .client
        .exec(&argv(&["echo", "a;b", "$HOME"]), None, Some(10))
        .unwrap();
    assert_eq!(r.exit_code, Some(0));
    assert_eq!(r.stdout, b"a;b $HOME\n");
    let r = s
        .client
        .exec(
            &argv(&["sh", "-c", "cat; echo e >&2; exit 3"]),
            Some(b"in"),
            None,
        )
        .unwrap();
    assert_eq!(
        (r.exit_code, &r.stdout[..], &r.stderr[..]),
        (Some(3), &b"in"[..], &b"e\n"[..])
    );
    // Runs in the root by default.
    let r = s.client.exec(&argv(&["pwd"]), None, None).unwrap();
    let pwd = String::from_utf8(r.stdout).unwrap();
    assert_eq!(
        Path::new(pwd.trim()).canonicalize().unwrap(),
        s.root.path().canonicalize().unwrap()
    );
    let r = s
        .client
        .exec(&argv(&["sleep", "10"]), None, Some(1))
        .unwrap();
    assert!(r.timed_out);
    assert_eq!(r.exit_code, None);
    let r = s
        .client
        .exec(&argv(&["head", "-c", "2000000", "/dev/zero"]), None, None)
        .unwrap();
    assert_eq!(r.stdout.len(), 1 << 20);
    assert!(r.stdout_truncated);
    assert_eq!(
        agent_code(
            s.client
                .exec(&argv(&["/no/such/program"]), None, None)
                .unwrap_err()
        ),
        ErrorCode::ExecFailed
    );
    assert_eq!(
        agent_code(s.client.exec(&[], None, None).unwrap_err()),
        ErrorCode::BadRequest
    );
    assert_eq!(
        agent_code(s.client.exec(&argv(&["true"]), None, Some(0)).unwrap_err()),
        ErrorCode::BadRequest
    );
}

#[test]
fn copy_in_and_out() {
    let mut s = setup(Fake::default());
    let data: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    let r = s.client.copy_in("/etc/blob", 0o640, &data).unwrap();
    assert_eq!(r.size, 100_000);
    let host = s.root.path().join("etc/blob");
    assert_eq!(fs::read(&host).unwrap(), data);
    assert_eq!(
        fs::metadata(&host).unwrap().permissions().mode() & 0o7777,
        0o640
    );
    let (back, mode) = s.client.copy_out("/etc/blob").unwrap();
    assert_eq!((back, mode), (data, 0o640));
    // Replacing keeps it whole; empty files work.
    s.client.copy_in("/etc/blob", 0o600, b"").unwrap();
    assert_eq!(fs::read(&host).unwrap(), b"");
    for bad in ["relative", "/etc/../x", "/"] {
        assert_eq!(
            agent_code(s.client.copy_in(bad, 0o644, b"x").unwrap_err()),
            ErrorCode::BadRequest,
            "{bad}"
        );
    }
    assert_eq!(
        agent_code(s.client.copy_in("/no/dir/f", 0o644, b"x").unwrap_err()),
        ErrorCode::NotFound
    );
    assert_eq!(
        agent_code(s.client.copy_in("/etc/f", 0o17777, b"x").unwrap_err()),
        ErrorCode::BadRequest
    );
    assert_eq!(
        agent_code(s.client.copy_out("/etc/none").unwrap_err()),
        ErrorCode::NotFound
    );
    assert_eq!(
        agent_code(s.client.copy_out("/etc").unwrap_err()),
        ErrorCode::BadRequest
    );
    let big = vec![0u8; (3 << 20) + 1];
    fs::write(s.root.path().join("var/big"), &big).unwrap();
    assert_eq!(
        agent_code(s.client.copy_out("/var/big").unwrap_err()),
        ErrorCode::TooLarge
    );
    assert_eq!(
        agent_code(s.client.copy_in("/var/big2", 0o644, &big).unwrap_err()),
        ErrorCode::TooLarge
    );
}

#[test]
fn power_requests_reply_then_act() {
    let mut s = setup(Fake::default());
    assert_eq!(s.client.shutdown().unwrap().action, "poweroff");
    assert_eq!(s.client.reboot().unwrap().action, "reboot");
    // A later request is answered only after the previous action ran.
    s.client.ping().unwrap();
    let calls = s.fake.calls.lock().unwrap().clone();
    let power: Vec<_> = calls
        .iter()
        .filter(|c| c.len() == 2 && (c[1] == "poweroff" || c[1] == "reboot"))
        .map(|c| c[1].clone())
        .collect();
    assert_eq!(power, ["poweroff", "reboot"]);
}

#[test]
fn raw_garbage_between_requests() {
    let s = setup(Fake::default());
    let mut stream = s.client.stream().try_clone().unwrap();
    stream
        .write_all(b"\x00\xff{{{\n{\"v\":1,\"id\":\"x\",\"op\":\"ping\",\"params\":{\"a\":1}}\n{\"v\":1,\"id\":\"y\",\"op\":\"ping\"}\n")
        .unwrap();
    let mut got = String::new();
    while got.matches('\n').count() < 3 {
        let mut b = [0u8; 4096];
        let n = stream.read(&mut b).unwrap();
        assert!(n > 0);
        got.push_str(&String::from_utf8_lossy(&b[..n]));
    }
    let lines: Vec<serde_json::Value> = got
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["error"]["code"], "bad_request");
    assert_eq!(lines[1]["id"], "x");
    assert_eq!(lines[1]["error"]["code"], "bad_request");
    assert_eq!(lines[2]["id"], "y");
    assert!(lines[2]["result"].is_object());
}
