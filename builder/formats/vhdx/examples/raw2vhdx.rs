//! Converts a raw disk image to VHDX with default options:
//! `cargo run --release -p eflow-vhdx --example raw2vhdx IN.raw OUT.vhdx`.
//!
//! The output is written in place (no temporary name): this shows the writer, while
//! `eflow-image convert` is the tool that writes atomically.

use std::fs::File;

fn convert(input: &str, output: &str) -> Result<eflow_vhdx::Summary, eflow_vhdx::Error> {
    let mut src = eflow_extents::RawFile::new(File::open(input)?)?;
    let mut out = File::create(output)?;
    let summary = eflow_vhdx::write(&mut src, &mut out, &eflow_vhdx::Options::default())?;
    out.sync_all()?;
    Ok(summary)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: raw2vhdx IN.raw OUT.vhdx");
        std::process::exit(2);
    }
    match convert(&args[1], &args[2]) {
        Ok(s) => println!("{s:?}"),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
