//! Boots a disk image under QEMU with OVMF (UEFI) and watches the serial console for the
//! guest's ready line, `EFLOW-READY failed=N` (printed by eflow-ready.service).
//!
//! Software emulation only (TCG: no `-enable-kvm`, so it runs on any host and in CI), no
//! network device (the firmware would try PXE first), `-no-reboot`, and the image opened
//! with `snapshot=on`: writes go to a throw-away overlay, the image file is never modified
//! (unless the run is `writable`).

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The ready line's prefix; the number of failed units follows.
pub const READY: &str = "EFLOW-READY failed=";
/// The root filesystem size line's prefix (bytes follow).
pub const FS_LINE: &str = "EFLOW-FS ";

/// The UEFI firmware: code (read-only) and a variable store template (copied per run).
#[derive(Clone, Debug)]
pub struct Firmware {
    pub code: PathBuf,
    pub vars: PathBuf,
}

impl Default for Firmware {
    /// Debian's `ovmf` package, without Secure Boot keys.
    fn default() -> Self {
        Firmware {
            code: "/usr/share/OVMF/OVMF_CODE_4M.fd".into(),
            vars: "/usr/share/OVMF/OVMF_VARS_4M.fd".into(),
        }
    }
}

/// One boot to run.
#[derive(Clone, Debug)]
pub struct BootRun {
    /// The disk image.
    pub image: PathBuf,
    /// QEMU's name of its format (`vhdx`, `raw`, `qcow2`, `vpc`); None: from the extension.
    pub format: Option<String>,
    /// How long to wait for the ready line.
    pub timeout: Duration,
    /// Guest memory in MiB.
    pub memory_mib: u32,
    /// Copy the serial console to stderr as it arrives.
    pub echo: bool,
    /// Keep the serial console log in this file.
    pub keep_log: Option<PathBuf>,
    /// A host unix socket for the guest agent's virtio-serial port `org.eflow.agent`.
    pub agent_socket: Option<PathBuf>,
    /// More QEMU arguments, appended as they are.
    pub extra_args: Vec<String>,
    /// Let the guest reboot inside the same QEMU process (no `-no-reboot`): the throw-away
    /// overlay, so what the first boot wrote, survives into the next boot.
    pub allow_reboot: bool,
    /// The firmware.
    pub firmware: Firmware,
    /// The QEMU binary.
    pub qemu: PathBuf,
    /// Let the guest write the image file (a second boot sees the first one's changes);
    /// otherwise writes go to a throw-away overlay.
    pub writable: bool,
}

impl BootRun {
    /// A run with the defaults: 300 s, 1024 MiB, OVMF from Debian's package.
    pub fn new(image: impl Into<PathBuf>) -> BootRun {
        BootRun {
            image: image.into(),
            format: None,
            timeout: Duration::from_secs(300),
            memory_mib: 1024,
            echo: false,
            keep_log: None,
            agent_socket: None,
            extra_args: Vec::new(),
            allow_reboot: false,
            firmware: Firmware::default(),
            qemu: "qemu-system-x86_64".into(),
            writable: false,
        }
    }
}

/// How the boot ended.
#[derive(Clone, Debug)]
pub struct BootOutcome {
    /// The number of failed units the guest reported, or None if it never printed the
    /// ready line (timeout, or the guest stopped).
    pub ready: Option<u32>,
    /// The filesystems the guest reported mounted (`EFLOW-FS` lines), in its order.
    pub filesystems: Vec<Mounted>,
    /// Seconds from QEMU's start to the ready line (or to the end of the run).
    pub seconds: f64,
    /// True when the run hit the timeout.
    pub timed_out: bool,
    /// The serial console output.
    pub log: String,
}

/// One filesystem the booted guest had mounted.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Mounted {
    pub target: String,
    pub fstype: String,
    /// Mounted read-only (`ro` among its options).
    pub read_only: bool,
    /// Its size in bytes as statfs reports it.
    pub size: u64,
}

impl BootOutcome {
    /// True when the guest booted with no failed unit.
    pub fn ok(&self) -> bool {
        self.ready == Some(0)
    }

    /// The filesystem mounted at `target`, if the guest reported one.
    pub fn mounted(&self, target: &str) -> Option<&Mounted> {
        self.filesystems.iter().find(|m| m.target == target)
    }
}

/// The `EFLOW-FS <target> <type> <options> <bytes>` lines of a console log (findmnt -r
/// escapes spaces in targets as \x20, which is kept).
pub fn parse_filesystems(log: &str) -> Vec<Mounted> {
    log.lines()
        .filter_map(|l| {
            let rest = &l[l.find(FS_LINE)? + FS_LINE.len()..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            let [target, fstype, options, size] = f.as_slice() else {
                return None;
            };
            Some(Mounted {
                target: target.to_string(),
                fstype: fstype.to_string(),
                read_only: options.split(',').any(|o| o == "ro"),
                size: size.parse().ok()?,
            })
        })
        .collect()
}

/// Why the boot could not be run at all (a failed boot is a [`BootOutcome`], not an error).
#[derive(Debug, thiserror::Error)]
pub enum QemuError {
    #[error("{path}: {what}")]
    Input { path: PathBuf, what: String },
    #[error("cannot run {qemu}: {source} (install it: apt-get install qemu-system-x86 ovmf)")]
    Spawn {
        qemu: PathBuf,
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

/// QEMU's format name for an image file, from its extension.
pub fn format_of(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "vhdx" => "vhdx",
        "vhd" => "vpc",
        "qcow2" => "qcow2",
        "raw" | "img" => "raw",
        _ => return None,
    })
}

/// The QEMU command line for `run`, with the variable store copy and the serial log in `dir`.
pub fn command(run: &BootRun, format: &str, vars: &Path, serial: &Path) -> Command {
    let mut c = Command::new(&run.qemu);
    c.args(["-machine", "q35", "-m"])
        .arg(run.memory_mib.to_string())
        .args(["-display", "none", "-monitor", "none", "-net", "none"])
        .args((!run.allow_reboot).then_some("-no-reboot"))
        .arg("-drive")
        .arg(format!(
            "if=pflash,format=raw,unit=0,readonly=on,file={}",
            run.firmware.code.display()
        ))
        .arg("-drive")
        .arg(format!(
            "if=pflash,format=raw,unit=1,file={}",
            vars.display()
        ))
        .arg("-drive")
        .arg(format!(
            "file={},format={format},if=virtio,snapshot={}",
            run.image.display(),
            if run.writable { "off" } else { "on" }
        ))
        .arg("-serial")
        .arg(format!("file:{}", serial.display()));
    if let Some(sock) = &run.agent_socket {
        c.args(["-device", "virtio-serial"])
            .arg("-chardev")
            .arg(format!(
                "socket,path={},server=on,wait=off,id=agent",
                sock.display()
            ))
            .args([
                "-device",
                "virtserialport,chardev=agent,name=org.eflow.agent",
            ]);
    }
    c.args(&run.extra_args);
    c
}

/// The number after the first `EFLOW-READY failed=` of a console log, if complete.
pub fn parse_ready(log: &str) -> Option<u32> {
    parse_after(log, READY)
}

fn parse_after<T: std::str::FromStr>(log: &str, prefix: &str) -> Option<T> {
    let rest = &log[log.find(prefix)? + prefix.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    // The line must be complete: a number cut by the end of the log may grow.
    let after = rest[digits.len()..].chars().next()?;
    if digits.is_empty() || !(after == '\r' || after == '\n') {
        return None;
    }
    digits.parse().ok()
}

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Boots `run.image` and waits for the ready line, the guest stopping, or the timeout;
/// then stops QEMU.
pub fn boot(run: &BootRun) -> Result<BootOutcome, QemuError> {
    let format = match &run.format {
        Some(f) => f.clone(),
        None => format_of(&run.image)
            .ok_or_else(|| QemuError::Input {
                path: run.image.clone(),
                what: "unknown image format: name it .vhdx, .vhd, .raw, .img or .qcow2".into(),
            })?
            .to_string(),
    };
    for (path, what) in [
        (&run.image, "the image"),
        (
            &run.firmware.code,
            "the OVMF firmware (apt-get install ovmf)",
        ),
        (
            &run.firmware.vars,
            "the OVMF variable store (apt-get install ovmf)",
        ),
    ] {
        if !path.is_file() {
            return Err(QemuError::Input {
                path: path.clone(),
                what: format!("{what} is not a file"),
            });
        }
    }
    let io = |what: &str| {
        let what = what.to_string();
        move |source| QemuError::Io { what, source }
    };
    let dir = tempfile::tempdir().map_err(io("creating a temporary directory"))?;
    let vars = dir.path().join("vars.fd");
    std::fs::copy(&run.firmware.vars, &vars).map_err(io("copying the OVMF variable store"))?;
    let serial = dir.path().join("serial.log");
    std::fs::File::create(&serial).map_err(io("creating the serial log"))?;

    let mut cmd = command(run, &format, &vars, &serial);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        // -snapshot's overlay goes to $TMPDIR: keep it in our temporary directory.
        .env("TMPDIR", dir.path());
    let start = Instant::now();
    let child = cmd.spawn().map_err(|source| QemuError::Spawn {
        qemu: run.qemu.clone(),
        source,
    })?;
    let mut child = Kill(child);

    let mut log_file = std::fs::File::open(&serial).map_err(io("opening the serial log"))?;
    let mut log = Vec::new();
    let mut ready = None;
    let mut timed_out = false;
    let mut exited = None;
    loop {
        let mut chunk = Vec::new();
        log_file
            .seek(SeekFrom::Start(log.len() as u64))
            .and_then(|_| log_file.read_to_end(&mut chunk))
            .map_err(io("reading the serial log"))?;
        if !chunk.is_empty() {
            if run.echo {
                let _ = std::io::stderr().write_all(&chunk);
            }
            log.extend_from_slice(&chunk);
            if let Some(n) = parse_ready(&String::from_utf8_lossy(&log)) {
                ready = Some(n);
                break;
            }
        }
        if exited.is_some() {
            break;
        }
        if let Ok(Some(status)) = child.0.try_wait() {
            // Read what the guest wrote last, then stop.
            exited = Some(status);
            continue;
        }
        if start.elapsed() > run.timeout {
            timed_out = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let seconds = start.elapsed().as_secs_f64();
    let _ = child.0.kill();
    let _ = child.0.wait();
    let mut stderr = String::new();
    if let Some(mut e) = child.0.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let mut text = String::from_utf8_lossy(&log).into_owned();
    if ready.is_none() && !stderr.trim().is_empty() {
        text.push_str("\n--- qemu stderr ---\n");
        text.push_str(&stderr);
    }
    if let Some(keep) = &run.keep_log {
        std::fs::write(keep, text.as_bytes()).map_err(io("writing the kept serial log"))?;
    }
    Ok(BootOutcome {
        ready,
        filesystems: parse_filesystems(&text),
        seconds,
        timed_out,
        log: text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_line_is_parsed_only_when_complete() {
        assert_eq!(parse_ready("boot\r\nEFLOW-READY failed=0\r\n"), Some(0));
        assert_eq!(parse_ready("EFLOW-READY failed=12\n"), Some(12));
        assert_eq!(parse_ready("EFLOW-READY failed=1"), None);
        assert_eq!(parse_ready("EFLOW-READY failed=x\n"), None);
        assert_eq!(parse_ready("nothing"), None);
        let fs = parse_filesystems("x\r\nEFLOW-FS / ext4 ro,relatime 359661568\r\nEFLOW-FS /var ext4 rw 12\r\nEFLOW-FS /cut ext4");
        assert_eq!(fs.len(), 2);
        assert!(fs[0].read_only && fs[0].size == 359661568 && fs[0].fstype == "ext4");
        assert!(!fs[1].read_only && fs[1].target == "/var");
    }

    #[test]
    fn formats_from_extensions() {
        assert_eq!(format_of(Path::new("a/b.VHDX")), Some("vhdx"));
        assert_eq!(format_of(Path::new("b.raw")), Some("raw"));
        assert_eq!(format_of(Path::new("b.vhd")), Some("vpc"));
        assert_eq!(format_of(Path::new("b.tar")), None);
    }
}
