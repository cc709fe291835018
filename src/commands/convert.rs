//! `eflow-image convert IN OUT [--to FORMAT] [--block-size SIZE] [--logical-sector N]
//! [--physical-sector N] [--seed TEXT]`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use eflow_builder::commands::convert::{convert, ConvertOptions};
use eflow_builder::stages::plan::OutputFormat;
use eflow_builder::stages::plan::Size;
use indicatif::{ProgressBar, ProgressStyle};

use crate::output::Output;

#[derive(Args)]
pub struct ConvertArgs {
    /// The input disk: raw, VHDX or fixed VHD (recognized by content).
    input: PathBuf,
    /// The output file; written under a temporary name and renamed when complete.
    output: PathBuf,
    /// Output format (default: from OUTPUT's extension: .raw/.img, .vhdx, .vhd).
    #[arg(long, value_name = "FORMAT", value_parser = disk_format)]
    to: Option<OutputFormat>,
    /// VHDX block size, a power of two from 1MiB to 256MiB.
    #[arg(long, default_value = "1MiB", value_name = "SIZE")]
    block_size: String,
    /// VHDX logical sector size (512 or 4096). A GPT written for 512-byte sectors is only
    /// valid on a 512-byte disk: keep 512 for disks eflow-image builds.
    #[arg(long, default_value_t = 512, value_name = "BYTES")]
    logical_sector: u32,
    /// VHDX physical sector size (512 or 4096).
    #[arg(long, default_value_t = 4096, value_name = "BYTES")]
    physical_sector: u32,
    /// Derive the VHDX GUIDs (or the VHD unique id) from this text instead of the disk's
    /// content (size, first and last MiB). Either way the same input gives the same bytes.
    #[arg(long, value_name = "TEXT")]
    seed: Option<String>,
}

pub fn run(a: ConvertArgs, out: &Output) -> anyhow::Result<ExitCode> {
    let block = Size::parse(&a.block_size)
        .map_err(anyhow::Error::msg)?
        .bytes()
        .context("--block-size cannot be \"rest\"")?;
    let block_size = u32::try_from(block)
        .ok()
        .filter(|b| b.is_power_of_two() && (1 << 20..=256 << 20).contains(b))
        .with_context(|| {
            format!(
                "--block-size {}: a VHDX block is a power of two from 1MiB to 256MiB",
                a.block_size
            )
        })?;
    for (flag, v) in [
        ("--logical-sector", a.logical_sector),
        ("--physical-sector", a.physical_sector),
    ] {
        if v != 512 && v != 4096 {
            anyhow::bail!("{flag} {v}: a VHDX sector is 512 or 4096 bytes");
        }
    }
    let opts = ConvertOptions {
        to: a.to,
        block_size,
        logical_sector: a.logical_sector,
        physical_sector: a.physical_sector,
        seed: a.seed,
    };
    let bar = out.bars().then(|| {
        let b = ProgressBar::new(0);
        b.set_style(
            ProgressStyle::with_template(
                "{msg} {bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .expect("a valid template"),
        );
        b.set_message("converting");
        b
    });
    let mut progress = |done: u64, total: u64| {
        if let Some(b) = &bar {
            b.set_length(total);
            b.set_position(done);
        }
    };
    let result = convert(&a.input, &a.output, &opts, &mut progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let s = result?;
    let mut human = format!(
        "{} ({}) -> {} ({}): {} virtual, {} bytes written",
        s.input.display(),
        s.input_format.name(),
        s.output.display(),
        s.output_format.name(),
        s.virtual_size,
        s.file_size
    );
    if let (Some(p), Some(t)) = (s.blocks_present, s.blocks_total) {
        human.push_str(&format!(", {p} of {t} blocks stored"));
    }
    out.result(&human, serde_json::to_value(&s)?);
    Ok(ExitCode::SUCCESS)
}

/// `--to` takes the disk formats only (a usage error, exit 2, for anything else).
fn disk_format(s: &str) -> Result<OutputFormat, String> {
    match s.parse::<OutputFormat>() {
        Ok(f) if f.is_disk() => Ok(f),
        _ => Err(format!(
            "choose from raw, vhdx, vhdx-fixed, vhd (not {s:?})"
        )),
    }
}
