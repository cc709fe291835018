//! `eflow-image agent --socket PATH COMMAND`: talk to a running guest's agent (over QEMU's
//! virtio-serial chardev socket, or vsock on a Linux host).
//!
//! Exit status: 0 success; 1 when the agent cannot be reached, answers with an error, or a
//! provisioning apply fails; `exec` passes the command's own exit code through (128+N when
//! signal N ended it, 124 when the timeout did, like timeout(1)), so a command's exit 1 and a
//! transport error look alike: use --json to tell them apart.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use eflow_guest_agent::protocol::{StatusReport, UnitState, MAX_FILE};
use eflow_guest_agent::{provision_params_from_file, Client};
use serde_json::json;

use crate::output::Output;

#[derive(Args)]
pub struct AgentArgs {
    /// Unix socket of the guest's agent port (QEMU: -chardev socket,path=PATH,server=on).
    #[arg(
        long,
        value_name = "PATH",
        conflicts_with = "vsock",
        required_unless_present = "vsock"
    )]
    socket: Option<PathBuf>,
    /// vsock address CID:PORT of the agent (a Linux host with vhost-vsock).
    #[arg(long, value_name = "CID:PORT")]
    vsock: Option<String>,
    /// Seconds to wait for a reply (exec waits its own timeout on top).
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    timeout: u64,
    #[command(subcommand)]
    command: AgentCommand,
}

#[derive(Subcommand)]
enum AgentCommand {
    /// Agent and protocol versions (use to wait for the agent to come up).
    Ping,
    /// Boot state, failed units, IoT Edge and container engine units, disk use.
    Status,
    /// Write /etc/aziot/config.toml in the guest and apply it (iotedge config apply).
    ///
    /// FILE is either a complete config.toml, sent as it is, or the typed form: a TOML file
    /// whose top level has `kind` (manual_connection_string, manual_x509, dps_symmetric_key,
    /// dps_x509, dps_tpm) and that kind's fields; the agent renders the typed form.
    Provision {
        /// The provisioning file.
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        /// Device hostname for the typed form (default: the guest's hostname).
        #[arg(long)]
        hostname: Option<String>,
        /// Write the file but do not run iotedge config apply.
        #[arg(long)]
        no_apply: bool,
    },
    /// Run a command in the guest (argv, no shell) and pass its output and exit code through.
    Exec {
        /// Seconds before the command is killed.
        #[arg(long = "timeout-secs", value_name = "SECS", default_value_t = 60)]
        timeout_secs: u64,
        /// Feed this file to the command's stdin.
        #[arg(long, value_name = "FILE")]
        stdin: Option<PathBuf>,
        /// The command and its arguments (after --).
        #[arg(required = true, last = true)]
        argv: Vec<String>,
    },
    /// Copy a local file into the guest (atomically).
    CopyIn {
        /// The local file.
        local: PathBuf,
        /// The absolute guest path.
        remote: String,
        /// Permission bits in octal (default: the local file's).
        #[arg(long, value_parser = parse_mode)]
        mode: Option<u32>,
    },
    /// Copy a guest file out (written atomically).
    CopyOut {
        /// The absolute guest path.
        remote: String,
        /// The local file.
        local: PathBuf,
    },
    /// Power the guest off.
    Shutdown,
    /// Reboot the guest.
    Reboot,
}

fn parse_mode(s: &str) -> Result<u32, String> {
    u32::from_str_radix(s.trim_start_matches("0o"), 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| format!("{s:?} is not an octal mode up to 7777"))
}

/// A byte stream to the agent, whatever its transport.
trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

fn connect(a: &AgentArgs, extra: Duration) -> anyhow::Result<Box<dyn Stream>> {
    let timeout = Some(Duration::from_secs(a.timeout) + extra);
    if let Some(path) = &a.socket {
        let s = UnixStream::connect(path)
            .with_context(|| format!("cannot connect to the agent socket {}", path.display()))?;
        s.set_read_timeout(timeout)?;
        s.set_write_timeout(timeout)?;
        return Ok(Box::new(s));
    }
    let addr = a.vsock.as_deref().unwrap_or_default();
    let (cid, port) = addr
        .split_once(':')
        .and_then(|(c, p)| Some((c.parse().ok()?, p.parse().ok()?)))
        .with_context(|| format!("--vsock {addr:?}: expected CID:PORT"))?;
    let f = eflow_guest_agent::vsock::connect(cid, port)?;
    eflow_guest_agent::vsock::set_timeouts(&f, timeout)?;
    Ok(Box::new(f))
}

/// Writes `data` to `path` under a temporary name, then renames it.
fn write_local(path: &Path, data: &[u8], mode: u32) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("{} names no file", path.display()))?;
    let tmp = path.with_file_name(format!(".{}.tmp", name.to_string_lossy()));
    let result = (|| -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

fn state(s: UnitState) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn gib(b: u64) -> String {
    format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64)
}

fn status_text(r: &StatusReport) -> String {
    let units = |m: &std::collections::BTreeMap<String, UnitState>| {
        m.iter()
            .map(|(k, v)| format!("{k} {}", state(*v)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut s = format!("boot: {}\n", r.boot);
    s += &format!(
        "failed units: {}\n",
        if r.failed_units.is_empty() {
            "none".to_string()
        } else {
            r.failed_units.join(", ")
        }
    );
    s += &format!("iot edge: {}\n", units(&r.iot_edge));
    s += &format!("container engine: {}\n", units(&r.container_engine));
    s += &format!(
        "config.toml: {}\n",
        if r.provisioning_config_present {
            "present"
        } else {
            "absent"
        }
    );
    for d in &r.disks {
        s += &format!(
            "disk {}: {} used of {} ({} available)\n",
            d.path,
            gib(d.used_bytes),
            gib(d.total_bytes),
            gib(d.available_bytes)
        );
    }
    for e in &r.errors {
        s += &format!("probe error: {e}\n");
    }
    s.trim_end().to_string()
}

pub fn run(a: AgentArgs, out: &Output) -> anyhow::Result<ExitCode> {
    let extra = match &a.command {
        AgentCommand::Exec { timeout_secs, .. } => Duration::from_secs(*timeout_secs),
        _ => Duration::ZERO,
    };
    let mut c = Client::new(connect(&a, extra)?);
    match a.command {
        AgentCommand::Ping => {
            let r = c.ping()?;
            out.result(
                &format!("agent {} (protocol {:?})", r.agent_version, r.protocols),
                serde_json::to_value(&r)?,
            );
        }
        AgentCommand::Status => {
            let r = c.status()?;
            out.result(&status_text(&r), serde_json::to_value(&r)?);
        }
        AgentCommand::Provision {
            file,
            hostname,
            no_apply,
        } => {
            let text = fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let p = provision_params_from_file(&text, hostname, !no_apply)
                .with_context(|| file.display().to_string())?;
            let r = c.provision(&p)?;
            out.result(
                &format!("{}: {}", r.path, r.detail),
                serde_json::to_value(&r)?,
            );
            if r.apply_failed {
                return Ok(ExitCode::FAILURE);
            }
        }
        AgentCommand::Exec {
            timeout_secs,
            stdin,
            argv,
        } => {
            let input = match &stdin {
                Some(p) => {
                    Some(fs::read(p).with_context(|| format!("cannot read {}", p.display()))?)
                }
                None => None,
            };
            let r = c.exec(&argv, input.as_deref(), Some(timeout_secs))?;
            let code = match (r.exit_code, r.signal) {
                _ if r.timed_out => 124,
                (Some(code), _) => code.clamp(0, 255) as u8,
                (None, Some(sig)) => 128u8.saturating_add(sig.clamp(0, 127) as u8),
                (None, None) => 1,
            };
            if out.json {
                out.result(
                    "",
                    json!({
                        "exit_code": r.exit_code,
                        "signal": r.signal,
                        "timed_out": r.timed_out,
                        "stdout": String::from_utf8_lossy(&r.stdout),
                        "stdout_truncated": r.stdout_truncated,
                        "stderr": String::from_utf8_lossy(&r.stderr),
                        "stderr_truncated": r.stderr_truncated,
                    }),
                );
            } else {
                std::io::stdout().write_all(&r.stdout)?;
                std::io::stdout().flush()?;
                std::io::stderr().write_all(&r.stderr)?;
                if r.stdout_truncated || r.stderr_truncated {
                    out.step("warning: output truncated to 1 MiB per stream");
                }
                if r.timed_out {
                    out.step(&format!("error: timed out after {timeout_secs} s"));
                }
            }
            return Ok(ExitCode::from(code));
        }
        AgentCommand::CopyIn {
            local,
            remote,
            mode,
        } => {
            let meta =
                fs::metadata(&local).with_context(|| format!("cannot read {}", local.display()))?;
            if meta.len() > MAX_FILE as u64 {
                bail!(
                    "{} is {} bytes; the agent takes files up to {MAX_FILE} bytes",
                    local.display(),
                    meta.len()
                );
            }
            let data =
                fs::read(&local).with_context(|| format!("cannot read {}", local.display()))?;
            let mode = mode.unwrap_or(meta.permissions().mode() & 0o7777);
            let r = c.copy_in(&remote, mode, &data)?;
            out.result(
                &format!("copied {} bytes to {}", r.size, r.path),
                serde_json::to_value(&r)?,
            );
        }
        AgentCommand::CopyOut { remote, local } => {
            let (data, mode) = c.copy_out(&remote)?;
            write_local(&local, &data, mode & 0o777)?;
            out.result(
                &format!("copied {} bytes to {}", data.len(), local.display()),
                json!({"path": remote, "local": local, "size": data.len(), "mode": mode}),
            );
        }
        AgentCommand::Shutdown => {
            let r = c.shutdown()?;
            out.result("the guest is powering off", serde_json::to_value(&r)?);
        }
        AgentCommand::Reboot => {
            let r = c.reboot()?;
            out.result("the guest is rebooting", serde_json::to_value(&r)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use eflow_guest_agent::system::SystemCommands;
    use eflow_guest_agent::Agent;
    use std::os::unix::net::UnixListener;
    use std::sync::Arc;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: AgentArgs,
    }

    /// An agent serving a unix socket the way QEMU's chardev would expose it, rooted in `root`.
    fn agent_socket(root: &Path) -> PathBuf {
        let sock = root.join("agent.sock");
        let listener = UnixListener::bind(&sock).unwrap();
        let agent = Agent::new(
            root,
            Arc::new(SystemCommands {
                systemctl: "/nonexistent/systemctl".into(),
                iotedge: "/nonexistent/iotedge".into(),
            }),
        );
        std::thread::spawn(move || {
            for s in listener.incoming() {
                let mut s = s.unwrap();
                let mut w = s.try_clone().unwrap();
                let _ = eflow_guest_agent::server::serve(&agent, &mut s, &mut w, "test");
            }
        });
        sock
    }

    fn cli(sock: &Path, args: &[&str]) -> anyhow::Result<ExitCode> {
        let mut argv = vec!["agent", "--socket", sock.to_str().unwrap()];
        argv.extend(args);
        let t = T::try_parse_from(argv).unwrap();
        run(t.a, &Output::new(true, false))
    }

    #[test]
    fn copy_exec_status_through_the_cli() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("etc")).unwrap();
        let sock = agent_socket(d.path());
        let local = d.path().join("local.bin");
        fs::write(&local, b"payload").unwrap();
        fs::set_permissions(&local, fs::Permissions::from_mode(0o640)).unwrap();
        let ok = |r: anyhow::Result<ExitCode>| assert_eq!(r.unwrap(), ExitCode::SUCCESS);
        ok(cli(
            &sock,
            &["copy-in", local.to_str().unwrap(), "/etc/payload"],
        ));
        let guest = d.path().join("etc/payload");
        assert_eq!(fs::read(&guest).unwrap(), b"payload");
        assert_eq!(
            fs::metadata(&guest).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let back = d.path().join("back.bin");
        ok(cli(
            &sock,
            &["copy-out", "/etc/payload", back.to_str().unwrap()],
        ));
        assert_eq!(fs::read(&back).unwrap(), b"payload");
        ok(cli(&sock, &["status"]));
        ok(cli(&sock, &["ping"]));
        assert_eq!(
            cli(&sock, &["exec", "--", "sh", "-c", "exit 5"]).unwrap(),
            ExitCode::from(5)
        );
        assert_eq!(
            cli(&sock, &["exec", "--timeout-secs", "1", "--", "sleep", "5"]).unwrap(),
            ExitCode::from(124)
        );
        // The agent's error is an error of the command (exit 1 from main).
        assert!(cli(&sock, &["copy-out", "/etc/none", back.to_str().unwrap()]).is_err());
        // No agent: a transport error.
        assert!(cli(&d.path().join("none.sock"), &["ping"]).is_err());
    }

    #[test]
    fn modes_parse_as_octal() {
        assert_eq!(parse_mode("644"), Ok(0o644));
        assert_eq!(parse_mode("0o4755"), Ok(0o4755));
        assert!(parse_mode("9").is_err());
        assert!(parse_mode("17777").is_err());
    }
}
