//! Running external tools: the checkers nobody here wrote, and the project's own binaries.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

/// The Debian package (or other install command) that provides each tool the tests run, so a
/// missing tool's message says what to install.
const INSTALL: &[(&str, &str)] = &[
    ("apt-get", "apt-get install apt"),
    ("blkid", "apt-get install util-linux"),
    ("cmp", "apt-get install diffutils"),
    ("cpio", "apt-get install cpio"),
    ("curl", "apt-get install curl"),
    ("debugfs", "apt-get install e2fsprogs"),
    ("depmod", "apt-get install kmod"),
    ("dpkg", "apt-get install dpkg"),
    ("dpkg-deb", "apt-get install dpkg"),
    ("dpkg-query", "apt-get install dpkg"),
    ("e2fsck", "apt-get install e2fsprogs"),
    ("flock", "apt-get install util-linux"),
    ("fsck.vfat", "apt-get install dosfstools"),
    ("gpg", "apt-get install gnupg"),
    ("gpgconf", "apt-get install gnupg"),
    ("gpgv", "apt-get install gpgv"),
    ("grpck", "apt-get install passwd"),
    ("gzip", "apt-get install gzip"),
    ("mcopy", "apt-get install mtools"),
    ("mdir", "apt-get install mtools"),
    ("minisign", "apt-get install minisign"),
    ("modprobe", "apt-get install kmod"),
    ("mkfs.ext4", "apt-get install e2fsprogs"),
    ("mkfs.vfat", "apt-get install dosfstools"),
    ("pwck", "apt-get install passwd"),
    ("pyspdxtools", "pip install spdx-tools, or set $PYSPDXTOOLS"),
    ("qemu-img", "apt-get install qemu-utils"),
    ("qemu-system-x86_64", "apt-get install qemu-system-x86"),
    ("readelf", "apt-get install binutils"),
    ("script", "apt-get install bsdutils"),
    ("sfdisk", "apt-get install fdisk"),
    ("sgdisk", "apt-get install gdisk"),
    ("systemctl", "apt-get install systemd"),
    ("systemd-analyze", "apt-get install systemd"),
    ("vhdiinfo", "apt-get install libvhdi-utils"),
    ("xz", "apt-get install xz-utils"),
    ("zstd", "apt-get install zstd"),
];

/// How to install `tool`, for messages.
fn install_hint(tool: &str) -> String {
    let name = Path::new(tool)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(tool);
    let how = INSTALL
        .iter()
        .find(|(t, _)| *t == name)
        .map_or("install it", |(_, how)| how);
    format!("{how}; .ci/run installs every tool the tests use")
}

/// Fails the test unless `tool` is on `$PATH` (or a path): a missing checker fails, never skips.
pub fn require_tool(tool: &str) {
    let found = if tool.contains('/') {
        Path::new(tool).is_file()
    } else {
        std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
    };
    assert!(
        found,
        "{tool} is needed by this test and is not installed ({})",
        install_hint(tool)
    );
}

/// [`require_tool`] for each of `tools`, to check them all before a test's slow part starts.
pub fn require_tools(tools: &[&str]) {
    for t in tools {
        require_tool(t);
    }
}

/// The panic message for a command that could not start, naming the tool and its package.
fn cannot_start(cmd: &Command, e: &std::io::Error) -> String {
    let program = cmd.get_program().to_string_lossy();
    format!(
        "cannot run {cmd:?}: {e} ({})",
        install_hint(program.as_ref())
    )
}

/// Panics unless `out` is a success, with the command line, status and both streams.
fn require_success(cmd: &Command, out: &Output) {
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}\n--- stdout:\n{}\n--- stderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `cmd`, output captured; a tool that cannot start fails the test, saying what to install.
pub fn run(cmd: &mut Command) -> Output {
    // stdin is closed (Command::output's default); the exit status is the caller's to judge.
    cmd.output()
        .unwrap_or_else(|e| panic!("{}", cannot_start(cmd, &e)))
}

/// Runs `cmd` and requires exit status 0, else fails with its command line, status and streams.
pub fn ok(cmd: &mut Command) -> Output {
    let out = run(cmd);
    require_success(cmd, &out);
    out
}

/// [`ok`] returning standard output as text, for tools whose answer is what they print.
pub fn ok_stdout(cmd: &mut Command) -> String {
    String::from_utf8_lossy(&ok(cmd).stdout).into_owned()
}

/// [`run`] with `input` on the tool's stdin, for filters (cpio -t, gzip -dc, gpg --clearsign).
pub fn run_with_input(cmd: &mut Command, input: &[u8]) -> Output {
    // Written from a thread: a tool that prints much before reading all cannot deadlock, and
    // one that stops reading early (a closed pipe) is fine.
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}", cannot_start(cmd, &e)));
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for {cmd:?}: {e}"));
    feeder.join().expect("the stdin writer does not panic");
    out
}

/// [`run_with_input`] requiring exit status 0, as [`ok`] does.
pub fn ok_with_input(cmd: &mut Command, input: &[u8]) -> Output {
    let out = run_with_input(cmd, input);
    require_success(cmd, &out);
    out
}

/// What a command printed and how it exited, as text: for tests that judge messages themselves.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The exit code; -1 when a signal ended the process.
    pub code: i32,
    /// Standard output (lossy UTF-8).
    pub stdout: String,
    /// Standard error (lossy UTF-8).
    pub stderr: String,
}

impl Outcome {
    /// Both streams, standard output first: everything a user would have seen.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Whether the command exited with status 0.
    pub fn success(&self) -> bool {
        self.code == 0
    }
}

impl From<Output> for Outcome {
    fn from(out: Output) -> Outcome {
        Outcome {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// [`run`] as an [`Outcome`], for tests that judge the status and messages themselves.
pub fn outcome(cmd: &mut Command) -> Outcome {
    run(cmd).into()
}

/// [`ok`] as an [`Outcome`], for tools whose answer may be on either stream (qemu-img).
pub fn ok_outcome(cmd: &mut Command) -> Outcome {
    ok(cmd).into()
}

/// A child killed and reaped when dropped, so a failing test leaves no VM or daemon behind.
#[derive(Debug)]
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl std::ops::Deref for KillOnDrop {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ok_returns_the_output_of_a_success() {
        let out = ok(Command::new("sh").args(["-c", "echo out; echo err >&2"]));
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
        assert_eq!(ok_stdout(Command::new("echo").arg("x")), "x\n");
    }

    #[test]
    fn a_failure_shows_command_status_and_both_streams() {
        let e = std::panic::catch_unwind(|| {
            ok(Command::new("sh").args(["-c", "echo to-out; echo to-err >&2; exit 3"]))
        })
        .unwrap_err();
        let msg = e.downcast_ref::<String>().unwrap();
        for want in ["\"sh\" \"-c\"", "exit status: 3", "to-out", "to-err"] {
            assert!(msg.contains(want), "{want} not in {msg}");
        }
    }

    #[test]
    fn a_missing_tool_says_what_to_install() {
        let e = std::panic::catch_unwind(|| run(&mut Command::new("sgdisk-not-here"))).unwrap_err();
        let msg = e.downcast_ref::<String>().unwrap();
        assert!(msg.contains("sgdisk-not-here"), "{msg}");
        assert!(install_hint("/usr/sbin/sgdisk").contains("apt-get install gdisk"));
        let e = std::panic::catch_unwind(|| require_tool("no-such-tool-here")).unwrap_err();
        let msg = e.downcast_ref::<String>().unwrap();
        assert!(msg.contains("no-such-tool-here is needed"), "{msg}");
        require_tools(&["sh", "/bin/sh"]);
    }

    #[test]
    fn input_reaches_the_tool_and_outcome_keeps_both_streams() {
        let big: Vec<u8> = (0..1_000_000u32).map(|i| i as u8).collect();
        let out = ok_with_input(&mut Command::new("cat"), &big);
        assert_eq!(out.stdout, big);
        // A tool that never reads its input.
        let out = run_with_input(Command::new("sh").args(["-c", "exit 4"]), &big);
        assert_eq!(out.status.code(), Some(4));
        let o = outcome(Command::new("sh").args(["-c", "printf a; printf b >&2; exit 1"]));
        assert_eq!((o.code, o.all().as_str(), o.success()), (1, "ab", false));
    }

    #[test]
    fn kill_on_drop_reaps_the_child() {
        let child = KillOnDrop(Command::new("sleep").arg("600").spawn().unwrap());
        let pid = child.id();
        drop(child);
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
    }
}
