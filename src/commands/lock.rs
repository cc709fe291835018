//! `eflow-image lock IMAGE [--update]`

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use eflow_builder::commands::lock::{lock, LockOptions};

use crate::output::Output;
use crate::SourceArgs;

#[derive(Args)]
pub struct LockArgs {
    /// The image definition (for example recipes/images/minimal.toml).
    image: PathBuf,
    /// Resolve again even if the lockfile is up to date (picks up security updates).
    #[arg(long)]
    update: bool,
    #[command(flatten)]
    source: SourceArgs,
}

pub fn run(a: LockArgs, out: &Output) -> anyhow::Result<ExitCode> {
    let opts = LockOptions {
        image: a.image,
        update: a.update,
        cache_dir: super::cache_dir(&a.source),
        mirror: a.source.mirror,
        offline: a.source.offline,
        progress: out.bars(),
    };
    let r = lock(&opts, &|m| out.step(m))?;
    for w in &r.warnings {
        out.step(&format!("warning: {w}"));
    }
    let mut human = if r.written {
        format!("wrote {} ({} packages)", r.lockfile.display(), r.packages)
    } else {
        format!(
            "{} is up to date ({} packages); use --update to resolve again",
            r.lockfile.display(),
            r.packages
        )
    };
    for c in &r.changes {
        human.push_str(&format!("\n  {c}"));
    }
    out.result(&human, serde_json::to_value(&r)?);
    Ok(ExitCode::SUCCESS)
}
