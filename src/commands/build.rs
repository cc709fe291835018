//! `eflow-image build IMAGE [--format F,...] [--out DIR]`

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use eflow_builder::commands::build::{build, BuildOptions};
use eflow_builder::stages::plan::OutputFormat;

use crate::output::Output;
use crate::SourceArgs;

#[derive(Args)]
pub struct BuildArgs {
    /// The image definition (for example recipes/images/minimal.toml); its lockfile must exist.
    image: PathBuf,
    /// Outputs to write, comma separated (default: the image definition's [[output]] list).
    #[arg(long, value_delimiter = ',', value_name = "FORMATS")]
    format: Vec<OutputFormat>,
    /// Directory the outputs are written to.
    #[arg(long, default_value = "out", value_name = "DIR")]
    out: PathBuf,
    /// Take .deb files from this directory (by their archive file name) before the cache
    /// and the network: for air-gapped pipelines. They are verified like downloads.
    #[arg(long, value_name = "DIR")]
    packages: Option<PathBuf>,
    /// Sign the outputs, the SBOM and the manifest with this minisign secret key file
    /// (mode 0600; its password from $EFLOW_SIGNING_PASSWORD or the terminal). `--sign`
    /// without KEY (or `--sign -`) takes the key file's text from $EFLOW_SIGNING_KEY (for CI).
    /// Without --sign the build says the outputs are unsigned.
    #[arg(long, value_name = "KEY", num_args = 0..=1, default_missing_value = "-")]
    sign: Option<PathBuf>,
    /// After the build, print each stage's wall and CPU time (user + system, all threads) as
    /// a table on stderr (even with --quiet: it was asked for), and with --json add them to
    /// the result as "timings".
    #[arg(long)]
    timings: bool,
    #[command(flatten)]
    source: SourceArgs,
}

pub fn run(a: BuildArgs, out: &Output) -> anyhow::Result<ExitCode> {
    // Load (and unlock) the key first: a wrong password fails before a long build.
    let sign_key = match &a.sign {
        Some(path) if path.as_os_str() == "-" => {
            Some(std::sync::Arc::new(super::sign::load_secret_key(None)?))
        }
        Some(path) => Some(std::sync::Arc::new(super::sign::load_secret_key(Some(
            path,
        ))?)),
        None => None,
    };
    let opts = BuildOptions {
        image: a.image,
        out_dir: a.out,
        formats: a.format,
        cache_dir: super::cache_dir(&a.source),
        offline: a.source.offline,
        packages_dir: a.packages,
        mirror: a.source.mirror,
        progress: out.bars(),
        sign_key,
    };
    let r = build(&opts, &|m| out.step(m))?;
    if a.timings {
        eprint!("{}", r.timings.table());
    }
    let mut human = String::new();
    if r.up_to_date {
        human.push_str("up to date: nothing changed, nothing written\n");
    }
    for o in &r.outputs {
        human.push_str(&format!(
            "{}  {}  ({} bytes)\n",
            o.sha256,
            o.path.display(),
            o.size
        ));
    }
    human.push_str(&format!(
        "manifest: {}\nsbom: {}\n{}",
        r.manifest.display(),
        r.sbom.display(),
        if r.signed {
            format!("signed: {} signatures", r.signatures.len())
        } else {
            "NOT signed (pass --sign KEY)".to_string()
        }
    ));
    let mut json = serde_json::to_value(&r)?;
    if !a.timings {
        // Timings vary run to run: only in the JSON of a build that asked for them.
        if let Some(o) = json.as_object_mut() {
            o.remove("timings");
        }
    }
    out.result(&human, json);
    Ok(ExitCode::SUCCESS)
}
