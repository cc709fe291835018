//! Converts a raw disk image to VHDX with default options:
//! `cargo run --release -p eflow-vhdx --example raw2vhdx IN.raw OUT.vhdx`.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: raw2vhdx IN.raw OUT.vhdx");
        std::process::exit(2);
    }
    let opts = eflow_vhdx::Options::default();
    match eflow_vhdx::raw_to_vhdx(args[1].as_ref(), args[2].as_ref(), &opts, &mut |_, _| {}) {
        Ok(s) => println!("{s:?}"),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
