//! The agent's request handler: one request in, one response out, independent of transport.

use std::ffi::CString;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Serialize;
use serde_json::Value;

use crate::exec;
use crate::fsops::{self, Owner};
use crate::protocol::*;
use crate::provisioning::render_config;
use crate::system::{self, Commands};

/// Where the IoT Edge configuration lives in the guest.
pub const CONFIG_TOML: &str = "/etc/aziot/config.toml";

/// What to do once the response has been sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerAction {
    /// `systemctl poweroff`.
    Poweroff,
    /// `systemctl reboot`.
    Reboot,
}

/// A response and the action that follows it.
#[derive(Debug)]
pub struct Handled {
    /// The line to send.
    pub response: Response,
    /// What to run after sending it.
    pub after: Option<PowerAction>,
    /// The op, for the log (None when the request was rejected before its op was known).
    pub op: Option<&'static str>,
}

/// The request handler: a filesystem root (`/` in the guest) and the system programs.
#[derive(Clone)]
pub struct Agent {
    root: PathBuf,
    commands: Arc<dyn Commands>,
}

type Outcome = Result<(Value, Option<PowerAction>), ErrorBody>;

fn to_value<T: Serialize>(t: &T) -> Result<Value, ErrorBody> {
    serde_json::to_value(t)
        .map_err(|e| ErrorBody::new(ErrorCode::Internal, format!("result not serializable: {e}")))
}

fn bad(msg: impl Into<String>) -> ErrorBody {
    ErrorBody::new(ErrorCode::BadRequest, msg)
}

impl Agent {
    /// A handler whose guest paths live under `root` and that calls `commands`.
    pub fn new(root: impl Into<PathBuf>, commands: Arc<dyn Commands>) -> Agent {
        Agent {
            root: root.into(),
            commands,
        }
    }

    /// Handles one request line (without its newline).
    pub fn handle_line(&self, line: &[u8]) -> Handled {
        match parse_request(line) {
            Err(r) => Handled {
                response: Response::err(r.id, r.error),
                after: None,
                op: None,
            },
            Ok((id, req)) => {
                let op = req.op();
                let (response, after) = match self.handle(req) {
                    Ok((v, after)) => (Response::ok(id, v), after),
                    Err(e) => (Response::err(id, e), None),
                };
                Handled {
                    response,
                    after,
                    op: Some(op),
                }
            }
        }
    }

    /// Handles one parsed request.
    pub fn handle(&self, req: Request) -> Outcome {
        match req {
            Request::Ping(_) => Ok((
                to_value(&PingResult {
                    agent_version: env!("CARGO_PKG_VERSION").into(),
                    protocols: vec![PROTOCOL_VERSION],
                })?,
                None,
            )),
            Request::Status(_) => Ok((to_value(&self.status())?, None)),
            Request::Provision(p) => Ok((to_value(&self.provision(&p)?)?, None)),
            Request::Exec(p) => Ok((to_value(&self.exec(&p)?)?, None)),
            Request::CopyIn(p) => Ok((to_value(&self.copy_in(&p)?)?, None)),
            Request::CopyOut(p) => Ok((to_value(&self.copy_out(&p)?)?, None)),
            Request::Shutdown(_) => Ok((
                to_value(&PowerResult {
                    action: "poweroff".into(),
                })?,
                Some(PowerAction::Poweroff),
            )),
            Request::Reboot(_) => Ok((
                to_value(&PowerResult {
                    action: "reboot".into(),
                })?,
                Some(PowerAction::Reboot),
            )),
        }
    }

    /// Runs a power action (after its response went out).
    pub fn power(&self, action: PowerAction) -> Result<(), String> {
        let verb = match action {
            PowerAction::Poweroff => "poweroff",
            PowerAction::Reboot => "reboot",
        };
        match self.commands.systemctl(&[verb]) {
            Ok(c) if c.success() => Ok(()),
            Ok(c) => Err(format!(
                "systemctl {verb} failed ({:?}): {}",
                c.exit_code,
                String::from_utf8_lossy(&c.stderr).trim()
            )),
            Err(e) => Err(format!("systemctl {verb}: {e}")),
        }
    }

    fn status(&self) -> StatusReport {
        let mut errors = Vec::new();
        let boot = match self.commands.systemctl(&["is-system-running"]) {
            // It exits non-zero unless "running" but still prints the state.
            Ok(c) => {
                let s = String::from_utf8_lossy(&c.stdout);
                let s = s.lines().next().unwrap_or("").trim();
                if s.is_empty() {
                    "unknown".to_string()
                } else {
                    s.to_string()
                }
            }
            Err(e) => {
                errors.push(format!("systemctl is-system-running: {e}"));
                "unknown".to_string()
            }
        };
        let failed_units = match self.commands.systemctl(&[
            "list-units",
            "--failed",
            "--plain",
            "--no-legend",
            "--no-pager",
            "--full",
        ]) {
            Ok(c) => system::parse_failed_units(&String::from_utf8_lossy(&c.stdout)),
            Err(e) => {
                errors.push(format!("systemctl list-units --failed: {e}"));
                Vec::new()
            }
        };
        let units: Vec<String> = system::IOT_EDGE_UNITS
            .iter()
            .chain(system::ENGINE_UNITS)
            .map(|u| format!("{u}.service"))
            .collect();
        let mut args = vec!["show", "--property=Id,LoadState,ActiveState", "--"];
        args.extend(units.iter().map(String::as_str));
        let shown = match self.commands.systemctl(&args) {
            Ok(c) => String::from_utf8_lossy(&c.stdout).into_owned(),
            Err(e) => {
                errors.push(format!("systemctl show: {e}"));
                String::new()
            }
        };
        let iot_edge = system::parse_unit_states(system::IOT_EDGE_UNITS, &shown);
        let container_engine = system::parse_unit_states(system::ENGINE_UNITS, &shown);
        let mut disks = Vec::new();
        for guest in ["/", "/var"] {
            let host = self.root.join(guest.trim_start_matches('/'));
            match statvfs(&host) {
                Ok(mut d) => {
                    d.path = guest.to_string();
                    disks.push(d);
                }
                Err(e) => errors.push(format!("statvfs {guest}: {e}")),
            }
        }
        StatusReport {
            agent_version: env!("CARGO_PKG_VERSION").into(),
            boot,
            failed_units,
            iot_edge,
            container_engine,
            provisioning_config_present: self
                .root
                .join(CONFIG_TOML.trim_start_matches('/'))
                .exists(),
            disks,
            errors,
        }
    }

    fn guest_hostname(&self) -> String {
        if let Ok(s) = fs::read_to_string(self.root.join("etc/hostname")) {
            let s = s.trim();
            if !s.is_empty() {
                return s.to_string();
            }
        }
        let mut buf = [0u8; 256];
        // SAFETY: buf is writable for its length; gethostname NUL-terminates within it or fails.
        let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if r == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            String::from_utf8_lossy(&buf[..end]).into_owned()
        } else {
            "localhost".to_string()
        }
    }

    fn provision(&self, p: &ProvisionParams) -> Result<ProvisionResult, ErrorBody> {
        let content = match (&p.config_toml, &p.provisioning) {
            (Some(text), None) => {
                if p.hostname.is_some() {
                    return Err(bad(
                        "hostname goes with provisioning, not with config_toml (set it in the file)",
                    ));
                }
                // Checked so that a broken file never replaces a working one. Only the
                // message and line are reported: the error's excerpt could quote a secret.
                if let Err(e) = text.expose().parse::<toml::Table>() {
                    let line = e
                        .span()
                        .map(|s| {
                            text.expose()[..s.start.min(text.expose().len())]
                                .lines()
                                .count()
                        })
                        .unwrap_or(0);
                    return Err(bad(format!(
                        "config_toml is not valid TOML (line {line}): {}",
                        e.message()
                    )));
                }
                text.expose().to_string()
            }
            (None, Some(prov)) => {
                prov.validate().map_err(|e| bad(e.to_string()))?;
                let hostname = match &p.hostname {
                    Some(h) if h.trim().is_empty() || h.chars().any(char::is_control) => {
                        return Err(bad("hostname is empty or has control characters"))
                    }
                    Some(h) => h.clone(),
                    None => self.guest_hostname(),
                };
                render_config(prov, &hostname)
            }
            _ => return Err(bad("give exactly one of config_toml and provisioning")),
        };
        let path = self.root.join(CONFIG_TOML.trim_start_matches('/'));
        let dir = path.parent().unwrap_or(&self.root);
        if !dir.is_dir() {
            fs::create_dir_all(dir).map_err(|e| fsops::io_error("/etc/aziot", &e))?;
        }
        fsops::write_atomic(
            &path,
            content.as_bytes(),
            0o600,
            Some(Owner { uid: 0, gid: 0 }),
        )
        .map_err(|e| fsops::io_error(CONFIG_TOML, &e))?;
        let mut result = ProvisionResult {
            path: CONFIG_TOML.into(),
            applied: false,
            apply_failed: false,
            detail: String::new(),
        };
        if p.apply == Some(false) {
            result.detail = "written; not applied (apply = false)".into();
            return Ok(result);
        }
        let path_arg = path.to_string_lossy().into_owned();
        match self.commands.iotedge(&["config", "apply", "-c", &path_arg]) {
            Ok(None) => {
                result.detail = "written; not applied: iotedge is not installed".into();
            }
            Ok(Some(c)) if c.success() => {
                result.applied = true;
                result.detail = "written and applied (iotedge config apply)".into();
            }
            Ok(Some(c)) => {
                result.apply_failed = true;
                result.detail = format!(
                    "written; iotedge config apply failed (exit {}): {}",
                    c.exit_code
                        .map_or_else(|| "by signal".to_string(), |x| x.to_string()),
                    tail(&c.stderr, 2000)
                );
            }
            Err(e) => {
                result.apply_failed = true;
                result.detail = format!("written; iotedge config apply could not run: {e}");
            }
        }
        Ok(result)
    }

    fn exec(&self, p: &ExecParams) -> Result<ExecResult, ErrorBody> {
        match p.argv.first() {
            None => return Err(bad("argv is empty")),
            Some(a) if a.is_empty() => return Err(bad("argv[0] is empty")),
            _ => {}
        }
        if p.argv.iter().any(|a| a.contains('\0')) {
            return Err(bad("argv contains NUL"));
        }
        let secs = p.timeout_secs.unwrap_or(DEFAULT_EXEC_TIMEOUT_SECS);
        if secs == 0 || secs > MAX_EXEC_TIMEOUT_SECS {
            return Err(bad(format!(
                "timeout_secs must be 1..={MAX_EXEC_TIMEOUT_SECS}"
            )));
        }
        let stdin = match &p.stdin_base64 {
            Some(s) => Some(
                B64.decode(s)
                    .map_err(|e| bad(format!("stdin_base64: {e}")))?,
            ),
            None => None,
        };
        let cwd = match &p.cwd {
            Some(c) => fsops::resolve(&self.root, c)?,
            None => self.root.clone(),
        };
        let c = exec::run(
            &p.argv,
            stdin.as_deref(),
            Some(&cwd),
            Duration::from_secs(secs),
            MAX_EXEC_OUTPUT,
        )
        .map_err(|e| {
            let prog: String = p.argv[0].chars().take(200).collect();
            ErrorBody::new(ErrorCode::ExecFailed, format!("cannot start {prog:?}: {e}"))
        })?;
        Ok(ExecResult {
            exit_code: c.exit_code,
            signal: c.signal,
            timed_out: c.timed_out,
            stdout_base64: B64.encode(&c.stdout),
            stdout_truncated: c.stdout_truncated,
            stderr_base64: B64.encode(&c.stderr),
            stderr_truncated: c.stderr_truncated,
        })
    }

    fn copy_in(&self, p: &CopyInParams) -> Result<CopyInResult, ErrorBody> {
        let path = fsops::resolve(&self.root, &p.path)?;
        if p.mode > 0o7777 {
            return Err(bad(format!("mode {:o} is over 7777", p.mode)));
        }
        let data = B64
            .decode(&p.content_base64)
            .map_err(|e| bad(format!("content_base64: {e}")))?;
        if data.len() > MAX_FILE {
            return Err(ErrorBody::new(
                ErrorCode::TooLarge,
                format!(
                    "{} bytes, over the {MAX_FILE}-byte copy-in limit",
                    data.len()
                ),
            ));
        }
        fsops::write_atomic(&path, &data, p.mode, None)
            .map_err(|e| fsops::io_error(&p.path, &e))?;
        Ok(CopyInResult {
            path: p.path.clone(),
            size: data.len() as u64,
        })
    }

    fn copy_out(&self, p: &CopyOutParams) -> Result<CopyOutResult, ErrorBody> {
        let path = fsops::resolve(&self.root, &p.path)?;
        let (data, mode) = fsops::read_capped(&path, MAX_FILE).map_err(|mut e| {
            // Report the guest path, not the test root.
            e.message = e.message.replace(&path.display().to_string(), &p.path);
            e
        })?;
        Ok(CopyOutResult {
            path: p.path.clone(),
            mode,
            size: data.len() as u64,
            content_base64: B64.encode(&data),
        })
    }
}

/// The last `n` bytes of `b` as text.
fn tail(b: &[u8], n: usize) -> String {
    let s = String::from_utf8_lossy(&b[b.len().saturating_sub(n)..]);
    s.trim().to_string()
}

/// statvfs of `path`.
fn statvfs(path: &Path) -> std::io::Result<DiskUsage> {
    use std::os::unix::ffi::OsStrExt;
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "NUL in path"))?;
    // SAFETY: c is a valid C string; st is plain data statvfs fills in.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let frsize = st.f_frsize as u64;
    let total = st.f_blocks as u64 * frsize;
    let free = st.f_bfree as u64 * frsize;
    Ok(DiskUsage {
        path: path.display().to_string(),
        total_bytes: total,
        used_bytes: total.saturating_sub(free),
        available_bytes: st.f_bavail as u64 * frsize,
        used_inodes: (st.f_files as u64).saturating_sub(st.f_ffree as u64),
        total_inodes: st.f_files as u64,
    })
}
