//! Serving the protocol over a byte stream, and the agent's transports: a vsock listener (Hyper-V
//! sockets), a virtio-serial port (QEMU), or stdin/stdout (tests, socket activation).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::handler::Agent;
use crate::lines::{Line, LineReader};
use crate::protocol::{ErrorBody, ErrorCode, Response, MAX_REQUEST_LINE};
use crate::vsock::VsockListener;

/// Where log lines go (stderr under systemd, which puts them in the journal). Log lines name
/// the op, the id and the outcome; never parameters or results, which may hold secrets.
pub fn log(msg: &str) {
    eprintln!("{msg}");
}

/// Serves requests from `input`, answering on `output`, until `input` ends. A garbage,
/// oversized or truncated request gets an error reply and the loop goes on.
pub fn serve(
    agent: &Agent,
    input: &mut impl Read,
    output: &mut impl Write,
    peer: &str,
) -> io::Result<()> {
    let mut reader = LineReader::new(MAX_REQUEST_LINE);
    loop {
        let (response, after, op) = match reader.next(input)? {
            Line::Eof => return Ok(()),
            Line::Complete(line) => {
                if line.iter().all(u8::is_ascii_whitespace) {
                    // Blank lines are allowed (a host may send one to resynchronize).
                    continue;
                }
                let h = agent.handle_line(&line);
                (h.response, h.after, h.op)
            }
            Line::TooLong { len } => (
                Response::err(
                    Value::Null,
                    ErrorBody::new(
                        ErrorCode::TooLarge,
                        format!(
                            "request line of {len} bytes is over the {MAX_REQUEST_LINE}-byte limit"
                        ),
                    ),
                ),
                None,
                None,
            ),
            Line::Truncated(_) => {
                let r = Response::err(
                    Value::Null,
                    ErrorBody::new(
                        ErrorCode::BadRequest,
                        "truncated request: the stream ended before the newline",
                    ),
                );
                log(&format!("{peer}: truncated request at end of stream"));
                // The other side may have closed only its sending half: try to tell it.
                let _ = output.write_all(&r.to_line()).and_then(|_| output.flush());
                return Ok(());
            }
        };
        output.write_all(&response.to_line())?;
        output.flush()?;
        let id = serde_json::to_string(&response.id).unwrap_or_default();
        let outcome = match &response.error {
            None => "ok".to_string(),
            Some(e) => format!("error {}", e.code.as_str()),
        };
        log(&format!(
            "{peer}: id={id} op={} {outcome}",
            op.unwrap_or("-")
        ));
        if let Some(action) = after {
            log(&format!("{peer}: {action:?} requested"));
            if let Err(e) = agent.power(action) {
                log(&format!("{peer}: {e}"));
            }
        }
    }
}

/// Connections served at once on vsock; more are closed at once (there is one host).
pub const MAX_CONNECTIONS: usize = 8;

/// Accepts vsock connections forever, each served on its own thread.
pub fn serve_vsock(agent: Agent, listener: VsockListener) -> io::Result<()> {
    let active = Arc::new(AtomicUsize::new(0));
    loop {
        let (stream, cid) = match listener.accept() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                log(&format!("vsock accept: {e}"));
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
        };
        if active.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
            log(&format!(
                "vsock: refusing cid {cid}: {MAX_CONNECTIONS} connections open"
            ));
            continue;
        }
        active.fetch_add(1, Ordering::SeqCst);
        let agent = agent.clone();
        let active = active.clone();
        std::thread::spawn(move || {
            let peer = format!("vsock cid {cid}");
            let mut input = stream;
            let result = input
                .try_clone()
                .and_then(|mut output| serve(&agent, &mut input, &mut output, &peer));
            if let Err(e) = result {
                log(&format!("{peer}: {e}"));
            }
            active.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

/// Opens a serial port read-write; a terminal (a pty in tests) is put in raw mode so that
/// nothing is echoed or line-edited.
pub fn open_serial(path: &Path) -> io::Result<File> {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(path)?;
    let fd = f.as_raw_fd();
    // SAFETY: termios calls on a descriptor we own; t is plain data filled by tcgetattr.
    unsafe {
        if libc::isatty(fd) == 1 {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(fd, &mut t) == 0 {
                libc::cfmakeraw(&mut t);
                libc::tcsetattr(fd, libc::TCSANOW, &t);
            }
        }
    }
    Ok(f)
}

/// Serves a virtio-serial port forever. The port outlives host connections: when the host
/// side is not connected reads end (or fail with EIO on a pty), so the agent waits and reads
/// again; if the device goes away or is not there yet, it is reopened.
pub fn serve_serial(agent: Agent, path: PathBuf) {
    let peer = format!("serial {}", path.display());
    let mut warned = false;
    loop {
        let mut port = match open_serial(&path) {
            Ok(f) => {
                log(&format!("{peer}: open"));
                warned = false;
                f
            }
            Err(e) => {
                if !warned {
                    log(&format!("{peer}: cannot open ({e}); retrying every second"));
                    warned = true;
                }
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
        };
        loop {
            let result = port
                .try_clone()
                .and_then(|mut out| serve(&agent, &mut port, &mut out, &peer));
            match result {
                // Host side closed or not connected: wait, then read again.
                Ok(()) => std::thread::sleep(Duration::from_millis(250)),
                Err(e) if e.raw_os_error() == Some(libc::EIO) => {
                    std::thread::sleep(Duration::from_millis(250))
                }
                Err(e) => {
                    log(&format!("{peer}: {e}; reopening"));
                    std::thread::sleep(Duration::from_secs(1));
                    break;
                }
            }
        }
    }
}

/// Tells systemd (Type=notify) that the agent is serving; does nothing outside systemd.
pub fn notify_ready() {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let Some(target) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(sock) = UnixDatagram::unbound() else {
        return;
    };
    let bytes = target.as_encoded_bytes();
    let addr = match bytes.strip_prefix(b"@") {
        Some(name) => SocketAddr::from_abstract_name(name),
        None => SocketAddr::from_pathname(Path::new(&target)),
    };
    if let Ok(addr) = addr {
        let _ = sock.send_to_addr(b"READY=1", &addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::SystemCommands;

    fn agent() -> Agent {
        Agent::new("/nonexistent-root", Arc::new(SystemCommands::default()))
    }

    fn replies(input: &[u8]) -> Vec<Value> {
        let mut out = Vec::new();
        serve(&agent(), &mut &input[..], &mut out, "test").unwrap();
        out.split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect()
    }

    #[test]
    fn bad_lines_get_errors_and_serving_goes_on() {
        let mut input = b"garbage\n\n{\"v\":1,\"id\":1,\"op\":\"ping\"}\n".to_vec();
        input.extend(vec![b'a'; MAX_REQUEST_LINE + 10]);
        input.extend(b"\n{\"v\":1,\"id\":2,\"op\":\"ping\"}\n{\"v\":1,\"id\":3,\"op\":\"pi");
        let r = replies(&input);
        assert_eq!(r.len(), 5, "{r:?}");
        assert_eq!(r[0]["error"]["code"], "bad_request");
        assert_eq!(r[0]["id"], Value::Null);
        assert_eq!(r[1]["id"], 1);
        assert_eq!(r[1]["result"]["protocols"][0], 1);
        assert_eq!(r[2]["error"]["code"], "too_large");
        assert_eq!(r[3]["id"], 2);
        assert_eq!(r[4]["error"]["code"], "bad_request");
        assert!(r.iter().all(|x| x["v"] == 1));
    }
}
