//! `eflow-image boot IMAGE [--timeout SECS] [--memory MIB] [--keep-log FILE] [--echo]`

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use eflow_builder::commands::vm::{self, BootRun};

use crate::output::Output;
use crate::EXIT_CHECK_FAILED;

#[derive(Args)]
pub struct BootArgs {
    /// The disk image: .vhdx, .vhd, .raw/.img or .qcow2 (not modified unless --writable:
    /// writes go to a throw-away overlay).
    image: PathBuf,
    /// Keep what the guest writes in the image file, so that the next boot sees it
    /// (its first-boot changes, a grown data partition, files written in the guest).
    #[arg(long)]
    writable: bool,
    /// Seconds to wait for the guest's ready line (QEMU runs without KVM).
    #[arg(long, default_value_t = 300, value_name = "SECS")]
    timeout: u64,
    /// Guest memory.
    #[arg(long, default_value_t = 1024, value_name = "MIB")]
    memory: u32,
    /// Keep the serial console log in FILE.
    #[arg(long, value_name = "FILE")]
    keep_log: Option<PathBuf>,
    /// Copy the serial console to stderr as the guest boots.
    #[arg(long)]
    echo: bool,
    /// Expose the guest agent's virtio-serial port (org.eflow.agent) on this unix socket.
    #[arg(long, value_name = "PATH")]
    agent_socket: Option<PathBuf>,
}

pub fn run(a: BootArgs, out: &Output) -> anyhow::Result<ExitCode> {
    let mut r = BootRun::new(&a.image);
    r.timeout = Duration::from_secs(a.timeout);
    r.memory_mib = a.memory;
    r.keep_log = a.keep_log;
    r.echo = a.echo && !out.quiet;
    r.agent_socket = a.agent_socket;
    r.writable = a.writable;
    out.step(&format!(
        "boot: {} under QEMU (TCG), waiting up to {} s for the ready line",
        a.image.display(),
        a.timeout
    ));
    let o = vm::boot(&r)?;
    let human = match o.ready {
        Some(0) => format!("ready after {:.1} s, no failed unit", o.seconds),
        Some(n) => format!("ready after {:.1} s, {n} failed unit(s)", o.seconds),
        None if o.timed_out => format!("no ready line after {:.1} s (timeout)", o.seconds),
        None => format!(
            "the guest stopped after {:.1} s without a ready line",
            o.seconds
        ),
    };
    if !o.ok() && !r.echo {
        // Show the end of the console: what the guest said last.
        let tail: Vec<&str> = o.log.lines().rev().take(30).collect();
        for l in tail.into_iter().rev() {
            out.step(l);
        }
    }
    out.result(
        &human,
        serde_json::json!({
            "image": a.image,
            "ready": o.ready.is_some(),
            "failed_units": o.ready,
            "filesystems": o.filesystems,
            "seconds": o.seconds,
            "timed_out": o.timed_out,
        }),
    );
    Ok(if o.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_CHECK_FAILED)
    })
}
