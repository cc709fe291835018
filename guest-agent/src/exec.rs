//! Running a command (argv, no shell) with a timeout and size-capped output, without threads:
//! one poll loop reads stdout and stderr; on timeout the command's whole process group is killed.

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What a finished command left.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Captured {
    /// Exit code, when it exited.
    pub exit_code: Option<i32>,
    /// Signal, when one ended it.
    pub signal: Option<i32>,
    /// Whether the timeout ended it.
    pub timed_out: bool,
    /// The first `cap` bytes of stdout.
    pub stdout: Vec<u8>,
    /// Whether stdout had more.
    pub stdout_truncated: bool,
    /// The first `cap` bytes of stderr.
    pub stderr: Vec<u8>,
    /// Whether stderr had more.
    pub stderr_truncated: bool,
}

impl Captured {
    /// Whether the command exited with status 0.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0)
    }
}

/// How long to keep reading after the command exited while its pipes stay open (a
/// background grandchild holding them); the output so far is returned.
const LINGER: Duration = Duration::from_millis(300);
/// How long to wait for a killed process group to close its pipes.
const KILL_GRACE: Duration = Duration::from_secs(2);

struct Pipe<R> {
    src: Option<R>,
    data: Vec<u8>,
    truncated: bool,
}

impl<R: Read + AsRawFd> Pipe<R> {
    fn new(src: Option<R>) -> Self {
        if let Some(s) = &src {
            set_nonblocking(s.as_raw_fd());
        }
        Pipe {
            src,
            data: Vec::new(),
            truncated: false,
        }
    }

    /// Reads what is available; closes the pipe at EOF. Returns whether bytes arrived.
    fn pump(&mut self, cap: usize) -> bool {
        let Some(src) = self.src.as_mut() else {
            return false;
        };
        let mut buf = [0u8; 16 * 1024];
        let mut got = false;
        loop {
            match src.read(&mut buf) {
                Ok(0) => {
                    self.src = None;
                    return got;
                }
                Ok(n) => {
                    got = true;
                    let room = cap.saturating_sub(self.data.len());
                    if n > room {
                        self.truncated = true;
                    }
                    self.data.extend_from_slice(&buf[..n.min(room)]);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return got,
                Err(_) => {
                    self.src = None;
                    return got;
                }
            }
        }
    }
}

fn set_nonblocking(fd: i32) {
    // SAFETY: fcntl on a descriptor this process owns; failure leaves it blocking, which only
    // costs responsiveness (poll still says when it is readable).
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
    }
}

fn kill_group(child: &Child) {
    let pid = child.id() as i32;
    // SAFETY: signals the process group this module created for the child (pgid == pid).
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}

/// Runs `argv` with `stdin` (or /dev/null) in `cwd`, for at most `timeout`, keeping `cap`
/// bytes of each output. Errors only when the command cannot be started.
pub fn run(
    argv: &[String],
    stdin: Option<&[u8]>,
    cwd: Option<&Path>,
    timeout: Duration,
    cap: usize,
) -> io::Result<Captured> {
    let (prog, args) = argv
        .split_first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty argv"))?;
    let mut cmd = Command::new(prog);
    cmd.args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        // Its own process group, so a timeout kills what it started too.
        .process_group(0);
    if let Some(d) = cwd {
        cmd.current_dir(d);
    }
    let mut child = cmd.spawn()?;
    // Stdin is fed from a thread: a command that does not read it must not block the loop.
    let feeder = match (child.stdin.take(), stdin) {
        (Some(mut w), Some(data)) => {
            let data = data.to_vec();
            Some(std::thread::spawn(move || {
                let _ = w.write_all(&data);
            }))
        }
        _ => None,
    };
    let mut out = Pipe::new(child.stdout.take());
    let mut err = Pipe::new(child.stderr.take());
    let start = Instant::now();
    let mut timed_out = false;
    let mut killed_at: Option<Instant> = None;
    let mut exited_at: Option<Instant> = None;
    let mut status = None;
    loop {
        let mut fds = Vec::with_capacity(2);
        for fd in [
            out.src.as_ref().map(|s| s.as_raw_fd()),
            err.src.as_ref().map(|s| s.as_raw_fd()),
        ]
        .into_iter()
        .flatten()
        {
            fds.push(libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        if !fds.is_empty() {
            // SAFETY: fds is a valid array of pollfd of the given length.
            unsafe {
                libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 50);
            }
        } else if status.is_none() {
            std::thread::sleep(Duration::from_millis(10));
        }
        let got = out.pump(cap) | err.pump(cap);
        if status.is_none() {
            status = child.try_wait()?;
            if status.is_some() {
                exited_at = Some(Instant::now());
            }
        }
        let pipes_open = out.src.is_some() || err.src.is_some();
        if status.is_some() && !pipes_open {
            break;
        }
        if let Some(t) = exited_at {
            if got {
                exited_at = Some(Instant::now());
            } else if t.elapsed() > LINGER {
                break;
            }
        }
        if status.is_none() && killed_at.is_none() && start.elapsed() >= timeout {
            timed_out = true;
            kill_group(&child);
            killed_at = Some(Instant::now());
        }
        if killed_at.is_some_and(|k| k.elapsed() > KILL_GRACE) {
            if status.is_none() {
                status = Some(child.wait()?);
            }
            break;
        }
    }
    if let Some(f) = feeder {
        // The child is gone, so its stdin is closed and the write has returned.
        let _ = f.join();
    }
    let status = status.ok_or_else(|| io::Error::other("command status unknown"))?;
    Ok(Captured {
        exit_code: status.code(),
        signal: status.signal(),
        timed_out,
        stdout: out.data,
        stdout_truncated: out.truncated,
        stderr: err.data,
        stderr_truncated: err.truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<String> {
        vec!["/bin/sh".into(), "-c".into(), script.into()]
    }

    const T: Duration = Duration::from_secs(20);

    #[test]
    fn captures_status_and_both_outputs() {
        let c = run(&sh("echo out; echo err >&2; exit 7"), None, None, T, 100).unwrap();
        assert_eq!(c.exit_code, Some(7));
        assert_eq!(c.stdout, b"out\n");
        assert_eq!(c.stderr, b"err\n");
        assert!(!c.timed_out && !c.stdout_truncated);
    }

    #[test]
    fn caps_output_and_feeds_stdin() {
        let c = run(&sh("head -c 100000 /dev/zero"), None, None, T, 1000).unwrap();
        assert_eq!(c.stdout.len(), 1000);
        assert!(c.stdout_truncated);
        let c = run(&["cat".to_string()], Some(b"hello"), None, T, 100).unwrap();
        assert_eq!(c.stdout, b"hello");
        // A command that ignores a large stdin still finishes.
        let big = vec![b'x'; 1 << 20];
        let c = run(&sh("exit 0"), Some(&big), None, T, 100).unwrap();
        assert!(c.success());
    }

    #[test]
    fn timeout_kills_the_group() {
        let t0 = Instant::now();
        let c = run(
            &sh("sleep 5 & sleep 5; echo never"),
            None,
            None,
            Duration::from_millis(300),
            100,
        )
        .unwrap();
        assert!(c.timed_out);
        assert_eq!(c.signal, Some(libc::SIGKILL));
        assert!(c.stdout.is_empty());
        assert!(t0.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn background_child_holding_pipes_does_not_block() {
        let t0 = Instant::now();
        let c = run(&sh("echo hi; sleep 5 &"), None, None, T, 100).unwrap();
        assert_eq!(c.exit_code, Some(0));
        assert_eq!(c.stdout, b"hi\n");
        assert!(t0.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn missing_program_is_an_error() {
        assert!(run(&["/nonexistent/prog".into()], None, None, T, 10).is_err());
        assert!(run(&[], None, None, T, 10).is_err());
    }
}
