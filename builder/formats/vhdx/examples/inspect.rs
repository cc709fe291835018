//! Prints what the reader finds in a VHDX file: `cargo run -p eflow-vhdx --example inspect F`.

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: inspect FILE.vhdx");
        std::process::exit(2);
    };
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    match eflow_vhdx::Reader::open(file) {
        Ok(r) => println!("{}", r.info()),
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    }
}
