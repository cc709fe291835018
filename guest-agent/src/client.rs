//! The host side: a client speaking the protocol over any byte stream (a vsock/Hyper-V socket,
//! or a unix socket connected to QEMU's virtio-serial chardev), with one typed method per request.

use std::io::{self, Read, Write};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::lines::{Line, LineReader};
use crate::protocol::*;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The stream failed (timeout, closed, reset).
    #[error("agent connection: {0}")]
    Io(#[from] io::Error),
    /// The agent closed the stream before answering.
    #[error("agent connection closed before the reply")]
    Closed,
    /// The agent's reply is not a valid response.
    #[error("bad reply from the agent: {0}")]
    Protocol(String),
    /// The agent answered with an error.
    #[error("agent: {} ({})", .0.message, .0.code.as_str())]
    Agent(ErrorBody),
}

/// How many unrelated lines (stale replies to an earlier connection's requests) a call skips
/// before giving up.
const MAX_SKIPPED: usize = 64;

/// A protocol client over a stream; requests are answered in order, matched by id.
pub struct Client<S> {
    stream: S,
    reader: LineReader,
    next_id: u64,
}

/// An `exec` result with its outputs decoded: what the guest captured, field for field.
pub type ExecOutput = crate::exec::Captured;

impl<S: Read + Write> Client<S> {
    /// A client on `stream` (already connected).
    pub fn new(stream: S) -> Client<S> {
        Client {
            stream,
            reader: LineReader::new(MAX_RESPONSE_LINE),
            next_id: 1,
        }
    }

    /// The stream, to set timeouts on it.
    pub fn stream(&self) -> &S {
        &self.stream
    }

    /// Sends `req` and returns the `result` member of its reply.
    pub fn call(&mut self, req: &Request) -> Result<Value, ClientError> {
        let id = Value::from(self.next_id);
        self.next_id += 1;
        self.stream.write_all(&request_line(&id, req))?;
        self.stream.flush()?;
        let mut skipped = 0;
        loop {
            let line = match self.reader.next(&mut self.stream)? {
                Line::Complete(l) => l,
                Line::Eof | Line::Truncated(_) => return Err(ClientError::Closed),
                Line::TooLong { len } => {
                    return Err(ClientError::Protocol(format!(
                        "reply line of {len} bytes is over the {MAX_RESPONSE_LINE}-byte limit"
                    )))
                }
            };
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let resp: Response = serde_json::from_slice(&line)
                .map_err(|e| ClientError::Protocol(format!("not a response: {e}")))?;
            if resp.id != id {
                // A stale reply (to a request of an earlier connection on the same serial
                // port) or an error for a line the agent could not read.
                skipped += 1;
                if skipped > MAX_SKIPPED {
                    return Err(ClientError::Protocol(format!(
                        "no reply with id {id} among {MAX_SKIPPED} lines"
                    )));
                }
                continue;
            }
            if resp.v != PROTOCOL_VERSION {
                return Err(ClientError::Protocol(format!(
                    "reply has protocol version {}, expected {PROTOCOL_VERSION}",
                    resp.v
                )));
            }
            return match (resp.result, resp.error) {
                (_, Some(e)) => Err(ClientError::Agent(e)),
                (Some(r), None) => Ok(r),
                (None, None) => Err(ClientError::Protocol(
                    "reply has neither result nor error".into(),
                )),
            };
        }
    }

    fn typed<T: DeserializeOwned>(&mut self, req: &Request) -> Result<T, ClientError> {
        let v = self.call(req)?;
        serde_json::from_value(v)
            .map_err(|e| ClientError::Protocol(format!("{} result: {e}", req.op())))
    }

    /// `ping`: versions; for readiness polling.
    pub fn ping(&mut self) -> Result<PingResult, ClientError> {
        self.typed(&Request::Ping(NoParams {}))
    }

    /// `status`.
    pub fn status(&mut self) -> Result<StatusReport, ClientError> {
        self.typed(&Request::Status(NoParams {}))
    }

    /// `provision`.
    pub fn provision(&mut self, p: &ProvisionParams) -> Result<ProvisionResult, ClientError> {
        self.typed(&Request::Provision(p.clone()))
    }

    /// `exec`: runs `argv` in the guest, feeding `stdin`, for at most `timeout_secs`.
    pub fn exec(
        &mut self,
        argv: &[String],
        stdin: Option<&[u8]>,
        timeout_secs: Option<u64>,
    ) -> Result<ExecOutput, ClientError> {
        let r: ExecResult = self.typed(&Request::Exec(ExecParams {
            argv: argv.to_vec(),
            timeout_secs,
            stdin_base64: stdin.map(|s| B64.encode(s)),
            cwd: None,
        }))?;
        let dec = |s: &str, what: &str| {
            B64.decode(s)
                .map_err(|e| ClientError::Protocol(format!("exec {what}: {e}")))
        };
        Ok(ExecOutput {
            exit_code: r.exit_code,
            signal: r.signal,
            timed_out: r.timed_out,
            stdout: dec(&r.stdout_base64, "stdout")?,
            stdout_truncated: r.stdout_truncated,
            stderr: dec(&r.stderr_base64, "stderr")?,
            stderr_truncated: r.stderr_truncated,
        })
    }

    /// `copy-in`: writes `data` to the guest `path` with permission bits `mode`.
    pub fn copy_in(
        &mut self,
        path: &str,
        mode: u32,
        data: &[u8],
    ) -> Result<CopyInResult, ClientError> {
        if data.len() > MAX_FILE {
            return Err(ClientError::Agent(ErrorBody::new(
                ErrorCode::TooLarge,
                format!(
                    "{} bytes, over the {MAX_FILE}-byte copy-in limit",
                    data.len()
                ),
            )));
        }
        self.typed(&Request::CopyIn(CopyInParams {
            path: path.to_string(),
            mode,
            content_base64: B64.encode(data),
        }))
    }

    /// `copy-out`: the content and permission bits of the guest file `path`.
    pub fn copy_out(&mut self, path: &str) -> Result<(Vec<u8>, u32), ClientError> {
        let r: CopyOutResult = self.typed(&Request::CopyOut(CopyOutParams {
            path: path.to_string(),
        }))?;
        let data = B64
            .decode(&r.content_base64)
            .map_err(|e| ClientError::Protocol(format!("copy-out content: {e}")))?;
        Ok((data, r.mode))
    }

    /// `shutdown`: the guest powers off after replying.
    pub fn shutdown(&mut self) -> Result<PowerResult, ClientError> {
        self.typed(&Request::Shutdown(NoParams {}))
    }

    /// `reboot`: the guest reboots after replying.
    pub fn reboot(&mut self) -> Result<PowerResult, ClientError> {
        self.typed(&Request::Reboot(NoParams {}))
    }
}
