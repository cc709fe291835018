//! An empty filesystem is laid out as `mke2fs -t ext4` lays it out for the same size, UUID,
//! hash seed, label and time: dumpe2fs prints the same superblock and group table, except
//! the UNINIT group flags (this writer writes every bitmap) and the checksums they change.

use crate::common::*;
use eflow_tree::Tree;

fn dumpe2fs(img: &std::path::Path) -> Vec<String> {
    let (code, out) = run("dumpe2fs", &[img.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    out.lines()
        .filter(|l| {
            !(l.starts_with("dumpe2fs ")
                || l.starts_with("Lifetime writes:")
                || l.starts_with("Checksum:"))
        })
        .map(|l| {
            // Drop group/bitmap checksums and UNINIT flags, which differ by design.
            let l = match l.find(" csum 0x") {
                Some(i) => l[..i].to_string(),
                None => l.to_string(),
            };
            l.replace("INODE_UNINIT, ", "")
                .replace("BLOCK_UNINIT, ", "")
        })
        .collect()
}

#[test]
fn empty_layout_matches_mke2fs() {
    let dir = tempfile::tempdir().unwrap();
    for mib in [300u64, 1024, 2100, 4200] {
        let o = opts(mib << 20);
        let ours = write_image(&Tree::new(), &o, dir.path(), &format!("ours{mib}.img"));
        let theirs = dir.path().join(format!("mke2fs{mib}.img"));
        let uuid = |b: &[u8; 16]| {
            let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
            format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..]
            )
        };
        let hash_seed = format!("hash_seed={}", uuid(&o.hash_seed));
        let args = ["-L", &o.label, "-U", &uuid(&o.uuid), "-E", &hash_seed];
        mke2fs(&theirs, mib << 20, &args);
        let (a, b) = (dumpe2fs(&ours), dumpe2fs(&theirs));
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x, y, "{mib} MiB: ours vs mke2fs");
        }
        assert_eq!(a.len(), b.len(), "{mib} MiB");
    }
}
