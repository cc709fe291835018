//! The entry points of the fuzz targets, one function per target: the cargo-fuzz targets in
//! `fuzz_targets/` call them, and the crate's tests replay `regressions/TARGET/` through them
//! (`tests/it/fuzz_regressions.rs`), so the fuzzers and the replay cannot drift apart.
#![allow(dead_code)] // each fuzz target uses one of them

use std::collections::BTreeSet;

use eflow_verity::{verify_bytes, Guid, Params, RootHash, TreeBuilder};

/// Arbitrary bytes to the superblock parser: it must return, never panic, and what it
/// accepts must be exactly what the writer writes for the parameters it returns.
pub fn superblock(data: &[u8]) {
    if let Ok(params) = eflow_verity::Params::from_superblock(data) {
        assert_eq!(
            &params.superblock()[..],
            &data[..eflow_verity::SUPERBLOCK_SIZE]
        );
        let _ = params.geometry().map(|g| g.hash_device_size());
    }
}

/// The verifier on small inputs, two ways.
///
/// First byte even: arbitrary bytes cut into a root hash, a hash device and a data device;
/// the verifier must return, never panic.
///
/// First byte odd: a real tree of a few 512-byte blocks (deep, with 16 digests per hash
/// block) built from the input, then some of its bytes flipped, on the hash or the data
/// device; the verifier must accept it exactly when nothing was changed.
pub fn verify(data: &[u8]) {
    match data.split_first() {
        Some((mode, rest)) if mode % 2 == 0 => arbitrary(rest),
        Some((_, rest)) => damaged_tree(rest),
        None => {}
    }
}

fn arbitrary(data: &[u8]) {
    if data.len() < 34 {
        return;
    }
    let mut root = [0u8; 32];
    root.copy_from_slice(&data[..32]);
    let split = usize::from(u16::from_le_bytes([data[32], data[33]]));
    let rest = &data[34..];
    let split = split.min(rest.len());
    let _ = verify_bytes(&rest[..split], &rest[split..], &RootHash(root));
}

fn damaged_tree(data: &[u8]) {
    if data.len() < 4 {
        return;
    }
    let blocks = u64::from(data[0] % 64) + 1;
    let salt_len = usize::from(data[1] % 40);
    let flips = usize::from(data[2] % 4);
    let body = &data[3..];
    let salt: Vec<u8> = body.iter().copied().take(salt_len).collect();
    let params = Params {
        data_block_size: 512,
        hash_block_size: 512,
        data_blocks: blocks,
        ..Params::new(4096, &salt, Guid([7; 16])).unwrap()
    };
    // The data: the input, then zeros.
    let mut dev = vec![0u8; (blocks * 512) as usize];
    let n = body.len().min(dev.len());
    dev[..n].copy_from_slice(&body[..n]);
    let mut b = TreeBuilder::new(params).unwrap();
    b.update(&dev).unwrap();
    let tree = b.finish().unwrap();
    let mut hash = tree.hash_device_bytes();
    let root = tree.root_hash();
    // Flip bytes at positions taken from the end of the input: high bit picks the device.
    let mut changed = BTreeSet::new();
    for k in 0..flips {
        let Some(p) = body
            .len()
            .checked_sub(4 * (k + 1))
            .map(|at| &body[at..at + 4])
        else {
            break;
        };
        let pos = u32::from_le_bytes([p[0], p[1], p[2], p[3]]);
        let on_hash = pos & 0x8000_0000 != 0;
        let len = if on_hash { hash.len() } else { dev.len() };
        let at = (pos & 0x7fff_ffff) as usize % len;
        // The superblock's UUID is a label, not covered by the tree (nor by veritysetup).
        if on_hash && (16..32).contains(&at) {
            continue;
        }
        if changed.insert((on_hash, at)) {
            let target = if on_hash { &mut hash[at] } else { &mut dev[at] };
            *target ^= 0x41;
        }
    }
    let result = verify_bytes(&hash, &dev, &root);
    assert_eq!(
        result.is_ok(),
        changed.is_empty(),
        "{changed:?}: {result:?}"
    );
}
