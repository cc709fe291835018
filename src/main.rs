//! `eflow-image`: builds the Linux guest image of Azure IoT Edge for Linux on Windows.
//!
//! This binary only parses arguments and prints results; the work is in the `eflow-builder`
//! and `eflow-signing` crates.

mod commands;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Exit status when a check the user asked for fails (a signature, a boot), as opposed to an
/// error that kept the command from running (1) or bad usage (2).
pub const EXIT_CHECK_FAILED: u8 = 3;

#[derive(Parser)]
#[command(
    name = "eflow-image",
    version,
    about = "Build, inspect, convert, boot and sign the EFLOW Linux guest image",
    long_about = "Build, inspect, convert, boot and sign the EFLOW Linux guest image.\n\n\
        eflow-image reads an image definition and its recipes, pins every Debian package in a \
        lockfile, assembles the guest filesystem in memory and writes ext4, FAT32, GPT and VHDX \
        natively: no root, no loop devices, no mounts, bit-reproducible.\n\n\
        Exit status: 0 success, 1 error, 2 bad usage, 3 a requested check failed \
        (signature, boot).",
    after_help = "Typical use:\n  eflow-image lock recipes/images/minimal.toml\n  \
        eflow-image build recipes/images/minimal.toml --format vhdx --out out/"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes.
#[derive(Args, Clone)]
pub struct Global {
    /// Print nothing but errors.
    #[arg(long, short, global = true)]
    quiet: bool,
    /// Print the result as JSON on stdout (for pipelines); progress still goes to stderr.
    #[arg(long, global = true)]
    json: bool,
}

/// Where packages come from; shared by `lock` and `build`.
#[derive(Args, Clone)]
pub struct SourceArgs {
    /// Debian mirror URL (default: $EFLOW_DEBIAN_MIRROR, then the host's apt sources).
    #[arg(long, value_name = "URL")]
    mirror: Option<String>,
    /// Package cache directory (default: $XDG_CACHE_HOME/eflow-image).
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
    /// Use only the cache (and --packages); never touch the network.
    #[arg(long)]
    offline: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Resolve the image's packages against the archive and write its lockfile (IMAGE.lock).
    ///
    /// Every package the recipes ask for, and their Depends and Pre-Depends, pinned by
    /// version, archive path, size and sha256. Without --update an existing, up-to-date
    /// lockfile is kept as it is.
    Lock(commands::lock::LockArgs),
    /// Build the image from its lockfile: rootfs tar, raw disk, VHDX.
    ///
    /// Never resolves: every package comes from the lockfile, verified by sha256. Outputs are
    /// written under temporary names and renamed when complete.
    Build(commands::build::BuildArgs),
    /// Talk to a running guest's agent: status, provision, exec, copy-in/out, shutdown, reboot.
    ///
    /// Exit status: 0, or 1 when the agent cannot be reached or answers with an error;
    /// `exec` passes the command's exit code through (124 on timeout, 128+N on signal N).
    Agent(commands::agent::AgentArgs),
    /// Make a minisign key pair for signing releases.
    ///
    /// The secret key file is created with mode 0600 and, unless --unencrypted, protected by
    /// a password ($EFLOW_SIGNING_PASSWORD, else asked twice on the terminal). Existing files
    /// are never overwritten. The public key is printed.
    Keygen(commands::keygen::KeygenArgs),
    /// Sign files: writes FILE.minisig next to each (minisign format, prehashed).
    ///
    /// The trusted comment records the file name and its sha256. `minisign -Vm FILE -P KEY`
    /// verifies the result.
    Sign(commands::sign::SignArgs),
    /// Verify a signed file, or a build manifest and every output it lists.
    ///
    /// Exit status 3 when a signature, size or sha256 check fails, 1 when a file is missing.
    Verify(commands::verify::VerifyArgs),
    /// Boot a disk image under QEMU + OVMF (software emulation) until the guest reports
    /// ready; exit 0 when no unit failed, 3 when some did or the guest never got there.
    Boot(commands::boot::BootArgs),
    /// Show what a disk file holds: container (raw, VHDX, fixed VHD), partitions, filesystems.
    ///
    /// The format is recognized by content. With --json, a stable JSON document. Exits 1 when
    /// the file is damaged (after printing what could be read when the damage is inside a
    /// filesystem).
    Inspect(commands::inspect::InspectArgs),
    /// Convert a disk file between raw, VHDX (dynamic or fixed) and fixed VHD.
    ///
    /// Sparse both ways; the output is written under a temporary name and renamed when
    /// complete; the same input always gives the same output bytes.
    Convert(commands::convert::ConvertArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = output::Output::new(cli.global.quiet, cli.global.json);
    let result = match cli.command {
        Command::Lock(a) => commands::lock::run(a, &out),
        Command::Build(a) => commands::build::run(a, &out),
        Command::Agent(a) => commands::agent::run(a, &out),
        Command::Keygen(a) => commands::keygen::run(a, &out),
        Command::Sign(a) => commands::sign::run(a, &out),
        Command::Verify(a) => commands::verify::run(a, &out),
        Command::Boot(a) => commands::boot::run(a, &out),
        Command::Inspect(a) => commands::inspect::run(a, &out),
        Command::Convert(a) => commands::convert::run(a, &out),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            out.error(&e);
            ExitCode::FAILURE
        }
    }
}
