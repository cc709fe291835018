//! Writes an empty (or tiny) ext4 image of a given size: `mkimg OUT SIZE_BYTES`.
//! A debugging aid to compare with `mke2fs -t ext4` via dumpe2fs.

use eflow_ext4::{write, Options};
use eflow_tree::Tree;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(out), Some(size)) = (args.get(1), args.get(2).and_then(|s| s.parse().ok())) else {
        eprintln!("usage: mkimg OUT SIZE_BYTES");
        std::process::exit(2);
    };
    let opts = Options {
        size,
        uuid: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
        hash_seed: [0x11; 16],
        label: "lbl".into(),
        timestamp: 1_700_000_000,
    };
    let mut img = write(&Tree::new(), &opts).expect("write");
    let mut f = std::fs::File::create(out).expect("create");
    eflow_extents::write_raw(&mut img, &mut f).expect("write_raw");
}
