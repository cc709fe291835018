//! The wire protocol between the Windows host and the guest agent: JSON lines, one request per
//! line, one response per line, each carrying the protocol version `v` and the request's `id`.
//!
//! A request: `{"v":1,"id":7,"op":"exec","params":{"argv":["uname","-r"]}}`
//! A success: `{"v":1,"id":7,"result":{...}}`
//! A failure: `{"v":1,"id":7,"error":{"code":"bad_request","message":"..."}}`
//!
//! Requests are strict (unknown fields are refused, so a host never believes an old agent
//! honoured an option it does not know); responses are lenient (a client ignores fields it does
//! not know, so an agent may add fields without a version bump).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::provisioning::{Provisioning, Secret};

/// The protocol version this agent speaks; bumped only for incompatible changes.
pub const PROTOCOL_VERSION: u32 = 1;
/// Longest request line the agent accepts (bytes, newline excluded); longer lines are drained
/// and answered with `too_large`.
pub const MAX_REQUEST_LINE: usize = 4 << 20;
/// Longest response line a client accepts (an exec reply carries two base64-encoded 1 MiB buffers).
pub const MAX_RESPONSE_LINE: usize = 16 << 20;
/// How much of a command's stdout, and separately of its stderr, an `exec` reply carries.
pub const MAX_EXEC_OUTPUT: usize = 1 << 20;
/// Largest file `copy-out` sends and `copy-in` accepts (its base64 form fits a request line).
pub const MAX_FILE: usize = 3 << 20;
/// Longest string `id` the agent echoes.
pub const MAX_ID_LEN: usize = 256;
/// Default and largest `exec` timeouts, in seconds.
pub const DEFAULT_EXEC_TIMEOUT_SECS: u64 = 60;
/// See [`DEFAULT_EXEC_TIMEOUT_SECS`].
pub const MAX_EXEC_TIMEOUT_SECS: u64 = 24 * 3600;

/// A request, as the `op` and `params` members of a request line.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "op", content = "params", rename_all = "kebab-case")]
pub enum Request {
    /// Liveness and versions; cheap, for readiness polling.
    Ping(NoParams),
    /// Boot state, failed units, IoT Edge and container engine units, disk use.
    Status(NoParams),
    /// Write /etc/aziot/config.toml and apply it.
    Provision(ProvisionParams),
    /// Run a command (argv, no shell) with a timeout.
    Exec(ExecParams),
    /// Write a file atomically.
    CopyIn(CopyInParams),
    /// Read a file.
    CopyOut(CopyOutParams),
    /// Power the guest off (after replying).
    Shutdown(NoParams),
    /// Reboot the guest (after replying).
    Reboot(NoParams),
}

/// The names of every `op`, to tell an unknown op from bad parameters.
pub const OPS: &[&str] = &[
    "ping",
    "status",
    "provision",
    "exec",
    "copy-in",
    "copy-out",
    "shutdown",
    "reboot",
];

impl Request {
    /// The `op` name, for logs (never the parameters: they may hold secrets).
    pub fn op(&self) -> &'static str {
        match self {
            Request::Ping(_) => "ping",
            Request::Status(_) => "status",
            Request::Provision(_) => "provision",
            Request::Exec(_) => "exec",
            Request::CopyIn(_) => "copy-in",
            Request::CopyOut(_) => "copy-out",
            Request::Shutdown(_) => "shutdown",
            Request::Reboot(_) => "reboot",
        }
    }
}

/// The parameters of requests that take none: `{}` or absent.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// `provision`: exactly one of `config_toml` (a complete config.toml rendered by the host) or
/// `provisioning` (typed fields the agent renders).
#[derive(Serialize, Deserialize, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProvisionParams {
    /// A complete /etc/aziot/config.toml; secret, never logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_toml: Option<Secret>,
    /// Typed provisioning fields, rendered by [`crate::provisioning::render_config`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning: Option<Provisioning>,
    /// The device hostname for a typed provisioning (default: the guest's hostname).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Run `iotedge config apply` after writing (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply: Option<bool>,
}

impl fmt::Debug for ProvisionParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProvisionParams")
            .field("config_toml", &self.config_toml)
            .field("provisioning", &self.provisioning)
            .field("hostname", &self.hostname)
            .field("apply", &self.apply)
            .finish()
    }
}

/// `exec`: a command line as argv (never through a shell).
#[derive(Serialize, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExecParams {
    /// Program and arguments; the program is looked up in the agent's PATH.
    pub argv: Vec<String>,
    /// Seconds before the command (its whole process group) is killed; default 60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
    /// Bytes fed to the command's stdin (base64); stdin is /dev/null when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin_base64: Option<String>,
    /// Working directory (absolute; default /).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
}

impl fmt::Debug for ExecParams {
    // The argv may carry secrets (a password on a command line): only its length is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecParams")
            .field("argc", &self.argv.len())
            .field("timeout_secs", &self.timeout_secs)
            .field("stdin", &self.stdin_base64.as_ref().map(|_| "<redacted>"))
            .field("cwd", &self.cwd)
            .finish()
    }
}

/// `copy-in`: a whole file, written atomically (temporary name, fsync, rename).
#[derive(Serialize, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CopyInParams {
    /// Absolute path in the guest; its directory must exist.
    pub path: String,
    /// Permission bits (for example 420 = 0o644); at most 0o7777.
    pub mode: u32,
    /// The file's bytes, base64.
    pub content_base64: String,
}

impl fmt::Debug for CopyInParams {
    // The content may be a private key: never shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CopyInParams")
            .field("path", &self.path)
            .field("mode", &format_args!("{:o}", self.mode))
            .field("content", &"<redacted>")
            .finish()
    }
}

/// `copy-out`: read a whole regular file.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CopyOutParams {
    /// Absolute path in the guest.
    pub path: String,
}

/// The result of `ping`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct PingResult {
    /// The agent's crate version.
    pub agent_version: String,
    /// The protocol versions the agent speaks.
    pub protocols: Vec<u32>,
}

/// The state of one systemd unit as the status request reports it.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum UnitState {
    /// Running (systemd's `active` or `reloading`).
    Active,
    /// Starting.
    Activating,
    /// Stopping.
    Deactivating,
    /// Installed, not running.
    Inactive,
    /// Installed, failed.
    Failed,
    /// Not installed (systemd's LoadState `not-found`).
    Missing,
    /// systemctl could not tell (see `errors`).
    #[serde(other)]
    Unknown,
}

/// Space on one filesystem, from statvfs.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct DiskUsage {
    /// The mount point asked about (`/` or `/var`).
    pub path: String,
    /// Filesystem size.
    pub total_bytes: u64,
    /// Bytes in use (`total - free`).
    pub used_bytes: u64,
    /// Bytes an unprivileged user may still write.
    pub available_bytes: u64,
    /// Inodes in use and in total.
    pub used_inodes: u64,
    /// See `used_inodes`.
    pub total_inodes: u64,
}

/// The result of `status`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct StatusReport {
    /// The agent's crate version.
    pub agent_version: String,
    /// `systemctl is-system-running`: initializing, starting, running, degraded, maintenance,
    /// stopping, offline or unknown.
    pub boot: String,
    /// Units systemd lists as failed.
    pub failed_units: Vec<String>,
    /// aziot-edged, aziot-identityd, aziot-keyd, aziot-certd, aziot-tpmd.
    pub iot_edge: BTreeMap<String, UnitState>,
    /// docker, containerd.
    pub container_engine: BTreeMap<String, UnitState>,
    /// Whether /etc/aziot/config.toml exists.
    pub provisioning_config_present: bool,
    /// `/` and `/var`.
    pub disks: Vec<DiskUsage>,
    /// Probes that failed (the report is still given).
    #[serde(default)]
    pub errors: Vec<String>,
}

/// The result of `provision`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ProvisionResult {
    /// Where the configuration was written.
    pub path: String,
    /// Whether `iotedge config apply` ran and succeeded.
    pub applied: bool,
    /// Whether it ran and failed (the file is written all the same).
    #[serde(default)]
    pub apply_failed: bool,
    /// Why it was not applied or what apply said (its exit status and output tail).
    pub detail: String,
}

/// The result of `exec`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ExecResult {
    /// The exit code, when the command exited.
    pub exit_code: Option<i32>,
    /// The signal that ended it, when it was killed.
    pub signal: Option<i32>,
    /// Whether the timeout killed it.
    pub timed_out: bool,
    /// The first [`MAX_EXEC_OUTPUT`] bytes of stdout, base64.
    pub stdout_base64: String,
    /// Whether stdout was longer.
    pub stdout_truncated: bool,
    /// The first [`MAX_EXEC_OUTPUT`] bytes of stderr, base64.
    pub stderr_base64: String,
    /// Whether stderr was longer.
    pub stderr_truncated: bool,
}

/// The result of `copy-in`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct CopyInResult {
    /// The path written.
    pub path: String,
    /// Bytes written.
    pub size: u64,
}

/// The result of `copy-out`.
#[derive(Serialize, Deserialize, Clone, PartialEq)]
pub struct CopyOutResult {
    /// The path read.
    pub path: String,
    /// Permission bits of the file.
    pub mode: u32,
    /// Its size.
    pub size: u64,
    /// The content, base64.
    pub content_base64: String,
}

impl fmt::Debug for CopyOutResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CopyOutResult")
            .field("path", &self.path)
            .field("mode", &format_args!("{:o}", self.mode))
            .field("size", &self.size)
            .field("content", &"<redacted>")
            .finish()
    }
}

/// The result of `shutdown` and `reboot`: sent before the action starts.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct PowerResult {
    /// `poweroff` or `reboot`.
    pub action: String,
}

/// Machine-readable error classes.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, not an object, missing or unknown fields, invalid values.
    BadRequest,
    /// The request line or a file is over a limit.
    TooLarge,
    /// `v` is not a version the agent speaks.
    UnsupportedVersion,
    /// `op` names no request this agent knows.
    UnknownOp,
    /// A path does not exist.
    NotFound,
    /// A filesystem operation failed.
    Io,
    /// A command could not be started.
    ExecFailed,
    /// Anything else; the message says what.
    Internal,
    /// A code this client does not know (sent by a newer agent).
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::UnknownOp => "unknown_op",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Io => "io",
            ErrorCode::ExecFailed => "exec_failed",
            ErrorCode::Internal => "internal",
            ErrorCode::Unknown => "unknown",
        }
    }
}

/// The `error` member of a failure response.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ErrorBody {
    /// The class.
    pub code: ErrorCode,
    /// What went wrong, for a human.
    pub message: String,
}

impl ErrorBody {
    /// An error of `code` saying `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            code,
            message: message.into(),
        }
    }
}

/// One response line.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Response {
    /// Always [`PROTOCOL_VERSION`].
    pub v: u32,
    /// The request's id, or null when it could not be read.
    pub id: Value,
    /// Present on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// Present on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

impl Response {
    /// A success for request `id`.
    pub fn ok(id: Value, result: Value) -> Response {
        Response {
            v: PROTOCOL_VERSION,
            id,
            result: Some(result),
            error: None,
        }
    }

    /// A failure for request `id`.
    pub fn err(id: Value, error: ErrorBody) -> Response {
        Response {
            v: PROTOCOL_VERSION,
            id,
            result: None,
            error: Some(error),
        }
    }

    /// The response as one line, newline included.
    pub fn to_line(&self) -> Vec<u8> {
        // Serializing these types cannot fail (string keys, no non-finite floats); the
        // fallback keeps the agent answering even if that ever changes.
        let mut line = serde_json::to_vec(self).unwrap_or_else(|_| {
            br#"{"v":1,"id":null,"error":{"code":"internal","message":"response not serializable"}}"#
                .to_vec()
        });
        line.push(b'\n');
        line
    }
}

/// A request line that could not be turned into a [`Request`]: the error to send back, with
/// the id when it could be read.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    /// The id to echo (null when unreadable).
    pub id: Value,
    /// What to answer.
    pub error: ErrorBody,
}

/// Parses one request line (without its newline) into its id and request.
pub fn parse_request(line: &[u8]) -> Result<(Value, Request), Rejected> {
    let reject = |id: &Value, code, msg: String| Rejected {
        id: id.clone(),
        error: ErrorBody::new(code, msg),
    };
    let null = Value::Null;
    let value: Value = serde_json::from_slice(line)
        .map_err(|e| reject(&null, ErrorCode::BadRequest, format!("not JSON: {e}")))?;
    let Value::Object(mut obj) = value else {
        return Err(reject(
            &null,
            ErrorCode::BadRequest,
            "a request is a JSON object".into(),
        ));
    };
    let id = match obj.remove("id") {
        Some(id @ Value::Number(_)) => id,
        Some(Value::String(s)) if s.len() <= MAX_ID_LEN => Value::String(s),
        Some(Value::String(_)) => {
            return Err(reject(
                &null,
                ErrorCode::BadRequest,
                format!("id longer than {MAX_ID_LEN} bytes"),
            ))
        }
        Some(_) => {
            return Err(reject(
                &null,
                ErrorCode::BadRequest,
                "id must be a number or a string".into(),
            ))
        }
        None => return Err(reject(&null, ErrorCode::BadRequest, "missing id".into())),
    };
    match obj.remove("v") {
        Some(Value::Number(n)) if n.as_u64() == Some(u64::from(PROTOCOL_VERSION)) => {}
        Some(v) => {
            return Err(reject(
                &id,
                ErrorCode::UnsupportedVersion,
                format!(
                    "protocol version {v} is not supported; this agent speaks v{PROTOCOL_VERSION}"
                ),
            ))
        }
        None => return Err(reject(&id, ErrorCode::BadRequest, "missing v".into())),
    }
    if let Some(k) = obj.keys().find(|k| *k != "op" && *k != "params") {
        return Err(reject(
            &id,
            ErrorCode::BadRequest,
            format!("unknown field `{k}` (expected v, id, op, params)"),
        ));
    }
    match obj.get("op") {
        Some(Value::String(op)) if OPS.contains(&op.as_str()) => {}
        Some(Value::String(op)) => {
            let op: String = op.chars().take(64).collect();
            return Err(reject(
                &id,
                ErrorCode::UnknownOp,
                format!("unknown op `{op}`; known: {}", OPS.join(", ")),
            ));
        }
        Some(_) => {
            return Err(reject(
                &id,
                ErrorCode::BadRequest,
                "op must be a string".into(),
            ))
        }
        None => return Err(reject(&id, ErrorCode::BadRequest, "missing op".into())),
    }
    if !obj.contains_key("params") || obj.get("params") == Some(&Value::Null) {
        obj.insert("params".into(), Value::Object(Default::default()));
    }
    let request: Request = serde_json::from_value(Value::Object(obj))
        .map_err(|e| reject(&id, ErrorCode::BadRequest, format!("invalid params: {e}")))?;
    Ok((id, request))
}

/// Serializes a request with its id into one line, newline included.
pub fn request_line(id: &Value, request: &Request) -> Vec<u8> {
    let mut obj = match serde_json::to_value(request) {
        Ok(Value::Object(o)) => o,
        // Request is an adjacently tagged enum of plain structs: always an object.
        _ => Default::default(),
    };
    obj.insert("v".into(), Value::from(PROTOCOL_VERSION));
    obj.insert("id".into(), id.clone());
    let mut line = serde_json::to_vec(&Value::Object(obj)).unwrap_or_default();
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn code(line: &str) -> ErrorCode {
        parse_request(line.as_bytes()).unwrap_err().error.code
    }

    #[test]
    fn parses_each_op() {
        let (id, r) = parse_request(br#"{"v":1,"id":3,"op":"status"}"#).unwrap();
        assert_eq!(id, json!(3));
        assert_eq!(r, Request::Status(NoParams {}));
        let (_, r) = parse_request(br#"{"v":1,"id":"a","op":"ping","params":{}}"#).unwrap();
        assert_eq!(r, Request::Ping(NoParams {}));
        let (_, r) =
            parse_request(br#"{"v":1,"id":1,"op":"exec","params":{"argv":["true"]}}"#).unwrap();
        assert!(matches!(r, Request::Exec(p) if p.argv == ["true"]));
        let (_, r) = parse_request(
            br#"{"v":1,"id":1,"op":"copy-in","params":{"path":"/a","mode":420,"content_base64":""}}"#,
        )
        .unwrap();
        assert!(matches!(r, Request::CopyIn(_)));
        let (_, r) =
            parse_request(br#"{"v":1,"id":1,"op":"copy-out","params":{"path":"/a"}}"#).unwrap();
        assert!(matches!(r, Request::CopyOut(_)));
        for op in ["shutdown", "reboot"] {
            let line = format!(r#"{{"v":1,"id":1,"op":"{op}","params":null}}"#);
            assert_eq!(parse_request(line.as_bytes()).unwrap().1.op(), op);
        }
    }

    #[test]
    fn round_trips_through_request_line() {
        let req = Request::Exec(ExecParams {
            argv: vec!["echo".into(), "hi".into()],
            timeout_secs: Some(5),
            stdin_base64: None,
            cwd: None,
        });
        let line = request_line(&json!(9), &req);
        assert_eq!(line.last(), Some(&b'\n'));
        let (id, back) = parse_request(&line[..line.len() - 1]).unwrap();
        assert_eq!((id, back), (json!(9), req));
    }

    #[test]
    fn rejects_with_codes_and_keeps_the_id() {
        assert_eq!(code("nope"), ErrorCode::BadRequest);
        assert_eq!(code("[1]"), ErrorCode::BadRequest);
        assert_eq!(code(r#"{"v":1,"op":"status"}"#), ErrorCode::BadRequest);
        assert_eq!(
            code(r#"{"v":2,"id":1,"op":"status"}"#),
            ErrorCode::UnsupportedVersion
        );
        assert_eq!(code(r#"{"id":1,"op":"status"}"#), ErrorCode::BadRequest);
        assert_eq!(
            code(r#"{"v":1,"id":1,"op":"format-c"}"#),
            ErrorCode::UnknownOp
        );
        assert_eq!(
            code(r#"{"v":1,"id":1,"op":"status","x":1}"#),
            ErrorCode::BadRequest
        );
        assert_eq!(
            code(r#"{"v":1,"id":1,"op":"status","params":{"x":1}}"#),
            ErrorCode::BadRequest
        );
        assert_eq!(
            code(r#"{"v":1,"id":1,"op":"exec","params":{"argv":["a"],"shell":true}}"#),
            ErrorCode::BadRequest
        );
        assert_eq!(
            code(r#"{"v":1,"id":[1],"op":"status"}"#),
            ErrorCode::BadRequest
        );
        let r = parse_request(br#"{"v":1,"id":"k","op":"exec","params":{}}"#).unwrap_err();
        assert_eq!(r.id, json!("k"));
        let long = format!(
            r#"{{"v":1,"id":"{}","op":"ping"}}"#,
            "x".repeat(MAX_ID_LEN + 1)
        );
        assert_eq!(code(&long), ErrorCode::BadRequest);
    }

    #[test]
    fn garbage_truncations_and_bit_flips_never_panic() {
        let good = br#"{"v":1,"id":12,"op":"copy-in","params":{"path":"/etc/x","mode":384,"content_base64":"aGVsbG8="}}"#;
        for n in 0..good.len() {
            let _ = parse_request(&good[..n]);
        }
        for i in 0..good.len() {
            for bit in 0..8 {
                let mut b = good.to_vec();
                b[i] ^= 1 << bit;
                let _ = parse_request(&b);
            }
        }
        let mut seed = 0x1234_5678_u32;
        for _ in 0..2000 {
            let len = (seed % 64) as usize;
            let mut b = Vec::with_capacity(len);
            for _ in 0..len {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                b.push((seed >> 16) as u8);
            }
            let _ = parse_request(&b);
        }
    }

    #[test]
    fn debug_redacts_payloads() {
        let p = CopyInParams {
            path: "/k".into(),
            mode: 0o600,
            content_base64: "U0VDUkVU".into(),
        };
        assert!(!format!("{p:?}").contains("U0VDUkVU"));
        let e = ExecParams {
            argv: vec!["passwd-is-hunter2".into()],
            timeout_secs: None,
            stdin_base64: Some("c2VjcmV0".into()),
            cwd: None,
        };
        let d = format!("{e:?}");
        assert!(!d.contains("hunter2") && !d.contains("c2VjcmV0"), "{d}");
    }
}
