//! The entry point of the fuzz target, one function per target: the cargo-fuzz target in
//! `fuzz_targets/` calls it, and the crate's tests replay `regressions/TARGET/` through it
//! (`tests/it/fuzz_regressions.rs`), so the fuzzer and the replay cannot drift apart.

use std::io::Cursor;

use eflow_extents::{Segment, SparseRead};

/// Any bytes to the VHDX reader: an error or a readable disk, never a panic.
///
/// Inputs are small, so the bytes are laid over a valid skeleton when they ask for it: the
/// first byte picks the mode (raw bytes, or (offset, byte) patches into a real file).
pub fn reader(data: &[u8]) {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let bytes = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        // Patch (offset, byte) pairs into a valid 4 MiB-structure file of a 2 MiB disk.
        let mut f = skeleton();
        for p in rest.chunks_exact(4) {
            let off = u32::from_le_bytes([p[0], p[1], p[2], 0]) as usize % f.len();
            f[off] = p[3];
        }
        f
    };
    // Container detection (the VHD footer parse included) must not panic either.
    let _ = eflow_vhdx::detect(&mut Cursor::new(&bytes));
    if let Ok(mut r) = eflow_vhdx::Reader::open(Cursor::new(bytes)) {
        let size = r.size();
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0u64;
        // Bound the work: a corrupt but valid-looking disk may be huge and all zero.
        while let Ok(Some(seg)) = r.next_segment(&mut buf) {
            total += match seg {
                Segment::Zero(n) => n,
                Segment::Data(n) => n as u64,
            };
        }
        assert!(total <= size);
    }
}

/// A valid dynamic VHDX of a 2 MiB disk with one present block, built once.
fn skeleton() -> Vec<u8> {
    use std::sync::OnceLock;
    static S: OnceLock<Vec<u8>> = OnceLock::new();
    S.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("eflow-vhdx-fuzz-{}", std::process::id()));
        let mut l = eflow_extents::Layout::new(2 << 20);
        l.place(4096, Box::new(eflow_extents::Bytes::new(vec![0xA5; 8192])))
            .expect("layout");
        let mut f = std::fs::File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&dir)
            .expect("temp file");
        eflow_vhdx::write(&mut l, &mut f, &eflow_vhdx::Options::default()).expect("write");
        let b = std::fs::read(&dir).expect("read back");
        let _ = std::fs::remove_file(&dir);
        b
    })
    .clone()
}
