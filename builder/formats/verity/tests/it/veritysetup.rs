//! Checks the hash trees against cryptsetup's veritysetup, which nobody here wrote: the same
//! data, salt and UUID must give a byte-identical hash device and the same root hash;
//! veritysetup must accept ours and reject it after one flipped byte; `veritysetup dump`
//! must agree with our superblock parser; our verifier must accept veritysetup's output and
//! name the block that was damaged.
//!
//! Needs `veritysetup` (Debian: `apt-get install cryptsetup-bin`); a missing tool fails.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use eflow_extents::{read_all, RawFile, SparseRead};
use eflow_id::Seed;
use eflow_testkit::{flip_byte, outcome, Outcome};
use eflow_verity::{
    build, verify, Corruption, HashType, Params, RootHash, Tee, TreeBuilder, VerityError,
};

const BS: u64 = 4096;

fn veritysetup(args: &[&str]) -> Outcome {
    outcome(Command::new("veritysetup").args(args))
}

/// The value of a `Key:   value` line of veritysetup's output.
fn field(out: &str, key: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
        .unwrap_or_else(|| panic!("no {key:?} in veritysetup's output:\n{out}"))
}

/// The parameters a build uses: salt and UUID derived from an image seed.
fn params(data_size: u64, name: &str) -> Params {
    let seed = Seed::from_text(name);
    Params::new(
        data_size,
        &seed.derive("verity salt"),
        seed.guid("verity uuid"),
    )
    .unwrap()
}

/// Runs `veritysetup format` with `p`'s settings; returns the root hash it prints.
fn format(p: &Params, data: &Path, hash: &Path) -> RootHash {
    let _ = fs::remove_file(hash);
    let salt = format!("--salt={}", p.salt_hex());
    let uuid = format!("--uuid={}", p.uuid);
    let ht = format!("--format={}", p.hash_type.number());
    let dbs = format!("--data-block-size={}", p.data_block_size);
    let hbs = format!("--hash-block-size={}", p.hash_block_size);
    let blocks = format!("--data-blocks={}", p.data_blocks);
    let o = veritysetup(&[
        "format",
        &salt,
        &uuid,
        &ht,
        &dbs,
        &hbs,
        &blocks,
        data.to_str().unwrap(),
        hash.to_str().unwrap(),
    ]);
    let out = o.all();
    assert!(o.success(), "veritysetup format failed:\n{out}");
    field(&out, "Root hash:").parse().unwrap()
}

/// Our tree of a data file, read sparsely (holes come as zero runs).
fn ours(p: &Params, data: &Path) -> eflow_verity::Tree {
    let mut src = RawFile::new(File::open(data).unwrap()).unwrap();
    build(p.clone(), &mut src).unwrap()
}

fn write_hash(tree: &eflow_verity::Tree, path: &Path) {
    let mut f = File::create(path).unwrap();
    tree.write_hash_device(&mut f).unwrap();
}

/// Pseudo-random bytes (xorshift), the same for the same seed.
fn random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Dir {
        Dir(tempfile::tempdir().unwrap())
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
}

/// Formats `data` with veritysetup and with us; the hash devices and root hashes must match.
fn assert_identical(p: &Params, data: &Path, dir: &Dir, what: &str) -> eflow_verity::Tree {
    let theirs_path = dir.path("theirs.hash");
    let root = format(p, data, &theirs_path);
    let tree = ours(p, data);
    assert_eq!(tree.root_hash(), root, "{what}: root hash");
    let theirs = fs::read(&theirs_path).unwrap();
    let mine = tree.hash_device_bytes();
    assert_eq!(mine.len(), theirs.len(), "{what}: hash device size");
    if let Some(i) = mine.iter().zip(&theirs).position(|(a, b)| a != b) {
        panic!("{what}: hash devices differ first at byte {i}");
    }
    tree
}

#[test]
fn identical_to_veritysetup_at_level_boundaries() {
    let dir = Dir::new();
    let data = dir.path("data");
    for blocks in [
        1u64,
        2,
        3,
        127,
        128,
        129,
        255,
        256,
        257,
        1000,
        128 * 128 - 1,
    ] {
        fs::write(&data, random((blocks * BS) as usize, blocks)).unwrap();
        let p = params(blocks * BS, &format!("boundaries {blocks}"));
        assert_identical(&p, &data, &dir, &format!("{blocks} blocks"));
    }
}

#[test]
fn identical_for_a_few_mib_of_random_data() {
    let dir = Dir::new();
    let data = dir.path("data");
    let len = 5 * 1024 * 1024 + 3 * BS as usize;
    fs::write(&data, random(len, 42)).unwrap();
    let tree = assert_identical(&params(len as u64, "random"), &data, &dir, "5 MiB");
    assert_eq!(tree.geometry().levels().len(), 2);
}

/// A sparse file: mostly holes (zero runs, never read), a few data blocks, one of them all
/// zeros written as data, and writes that straddle block boundaries.
fn sparse_file(path: &Path, blocks: u64) {
    let f = File::create(path).unwrap();
    f.set_len(blocks * BS).unwrap();
    f.write_all_at(&random(3 * BS as usize, 7), 0).unwrap();
    f.write_all_at(&random(10_000, 8), 1000 * BS + 123).unwrap();
    f.write_all_at(&vec![0; BS as usize], 5000 * BS).unwrap();
    f.write_all_at(&random(BS as usize, 9), (blocks - 1) * BS)
        .unwrap();
}

#[test]
fn identical_for_sparse_64_mib_and_three_level_trees() {
    let dir = Dir::new();
    let data = dir.path("sparse");
    // 64 MiB is 16384 blocks: the last size of two levels; one block more needs three.
    for blocks in [16384u64, 16385] {
        sparse_file(&data, blocks);
        let p = params(blocks * BS, "sparse");
        let tree = assert_identical(&p, &data, &dir, &format!("sparse {blocks} blocks"));
        let levels = if blocks == 16384 { 2 } else { 3 };
        assert_eq!(tree.geometry().levels().len(), levels);
    }
}

#[test]
fn tee_passes_the_stream_through_and_matches_veritysetup() {
    let dir = Dir::new();
    let data = dir.path("sparse");
    sparse_file(&data, 16385);
    let p = params(16385 * BS, "tee");
    let theirs = dir.path("theirs.hash");
    let root = format(&p, &data, &theirs);
    let src = RawFile::new(File::open(&data).unwrap()).unwrap();
    let mut tee = Tee::new(src, p).unwrap();
    let passed = read_all(&mut tee).unwrap();
    assert_eq!(passed, fs::read(&data).unwrap());
    let tree = tee.finish().unwrap();
    assert_eq!(tree.root_hash(), root);
    assert_eq!(tree.hash_device_bytes(), fs::read(&theirs).unwrap());
}

#[test]
fn chunk_sizes_do_not_change_the_tree() {
    let dir = Dir::new();
    let data = dir.path("data");
    let bytes = random(130 * BS as usize, 3);
    fs::write(&data, &bytes).unwrap();
    let p = params(130 * BS, "chunks");
    let root = format(&p, &data, &dir.path("theirs.hash"));
    let theirs = fs::read(dir.path("theirs.hash")).unwrap();
    for chunk in [1usize, 511, 4095, 4096, 4097, 65536 + 3, bytes.len()] {
        let mut b = TreeBuilder::new(p.clone()).unwrap();
        for c in bytes.chunks(chunk) {
            b.update(c).unwrap();
        }
        let t = b.finish().unwrap();
        assert_eq!(t.root_hash(), root, "chunk {chunk}");
        assert_eq!(t.hash_device_bytes(), theirs, "chunk {chunk}");
    }
}

#[test]
fn identical_with_other_salts_block_sizes_and_hash_type_0() {
    let dir = Dir::new();
    let data = dir.path("data");
    fs::write(&data, random(300 * BS as usize, 11)).unwrap();
    let base = params(300 * BS, "variants");
    let variants = [
        (
            "no salt",
            Params {
                salt: vec![],
                ..base.clone()
            },
        ),
        (
            "5-byte salt",
            Params {
                salt: vec![1, 2, 3, 4, 5],
                ..base.clone()
            },
        ),
        (
            "256-byte salt",
            Params {
                salt: random(256, 5),
                ..base.clone()
            },
        ),
        (
            "hash type 0",
            Params {
                hash_type: HashType::ChromeOs,
                ..base.clone()
            },
        ),
        (
            "512-byte hash blocks",
            Params {
                hash_block_size: 512,
                ..base.clone()
            },
        ),
        (
            "1 KiB data blocks, 512-byte hash blocks",
            Params {
                data_block_size: 1024,
                hash_block_size: 512,
                data_blocks: 1200,
                ..base.clone()
            },
        ),
    ];
    for (what, p) in variants {
        p.validate().unwrap();
        assert_identical(&p, &data, &dir, what);
    }
}

fn their_verify(data: &Path, hash: &Path, root: &RootHash) -> (bool, String) {
    let o = veritysetup(&[
        "verify",
        data.to_str().unwrap(),
        hash.to_str().unwrap(),
        &root.to_hex(),
    ]);
    (o.success(), o.all())
}

fn our_verify(data: &Path, hash: &Path, root: &RootHash) -> Result<Params, VerityError> {
    let mut h = RawFile::new(File::open(hash).unwrap()).unwrap();
    let mut d = RawFile::new(File::open(data).unwrap()).unwrap();
    verify(&mut h, &mut d, root)
}

#[test]
fn veritysetup_verify_accepts_ours_and_rejects_one_flipped_byte() {
    let dir = Dir::new();
    let data = dir.path("data");
    let hash = dir.path("ours.hash");
    // 300 blocks: level 1 (one block) at hash block 1, level 0 (3 blocks) at 2..5.
    fs::write(&data, random(300 * BS as usize, 13)).unwrap();
    let tree = ours(&params(300 * BS, "verify"), &data);
    write_hash(&tree, &hash);
    let root = tree.root_hash();
    let (ok, out) = their_verify(&data, &hash, &root);
    assert!(ok, "veritysetup verify rejected our hash device:\n{out}");

    flip_byte(&data, 200 * BS + 17, 0x10);
    let (ok, _) = their_verify(&data, &hash, &root);
    assert!(!ok, "veritysetup verify accepted a flipped data byte");
    flip_byte(&data, 200 * BS + 17, 0x10);

    flip_byte(&hash, 3 * BS + 64, 0x10);
    let (ok, _) = their_verify(&data, &hash, &root);
    assert!(
        !ok,
        "veritysetup verify accepted a flipped hash device byte"
    );
    flip_byte(&hash, 3 * BS + 64, 0x10);

    let (ok, out) = their_verify(&data, &hash, &root);
    assert!(ok, "restored devices should verify again:\n{out}");
}

#[test]
fn our_verifier_accepts_veritysetups_device_and_names_the_bad_block() {
    let dir = Dir::new();
    let data = dir.path("data");
    let hash = dir.path("theirs.hash");
    fs::write(&data, random(300 * BS as usize, 17)).unwrap();
    let p = params(300 * BS, "our verifier");
    let root = format(&p, &data, &hash);
    assert_eq!(our_verify(&data, &hash, &root).unwrap(), p);

    flip_byte(&data, 200 * BS + 17, 0x10);
    match our_verify(&data, &hash, &root) {
        Err(VerityError::Corrupt(c)) => assert_eq!(
            c,
            Corruption::DataBlock {
                index: 200,
                offset: 200 * BS
            }
        ),
        other => panic!("flipped data byte: {other:?}"),
    }
    flip_byte(&data, 200 * BS + 17, 0x10);

    flip_byte(&hash, 3 * BS + 64, 0x10);
    match our_verify(&data, &hash, &root) {
        Err(VerityError::Corrupt(c)) => assert_eq!(
            c,
            Corruption::HashBlock {
                level: 0,
                index: 1,
                offset: 3 * BS
            }
        ),
        other => panic!("flipped hash byte: {other:?}"),
    }
    flip_byte(&hash, 3 * BS + 64, 0x10);

    // A byte of the salt: a different superblock, so nothing matches the root any more.
    flip_byte(&hash, 88, 0x10);
    assert!(matches!(
        our_verify(&data, &hash, &root),
        Err(VerityError::Corrupt(Corruption::RootHash { .. }))
    ));
    let (ok, _) = their_verify(&data, &hash, &root);
    assert!(!ok, "veritysetup verify accepted a flipped salt byte");
}

#[test]
fn veritysetup_dump_agrees_with_our_superblock_parser() {
    let dir = Dir::new();
    let data = dir.path("data");
    for (blocks, salt) in [(1u64, vec![]), (129, vec![0xee; 32]), (16385, vec![9; 7])] {
        sparse_file_or_small(&data, blocks);
        let p = Params {
            salt,
            ..params(blocks * BS, "dump")
        };
        let ours_path = dir.path("ours.hash");
        write_hash(&ours(&p, &data), &ours_path);
        let o = veritysetup(&["dump", ours_path.to_str().unwrap()]);
        let out = o.all();
        assert!(o.success(), "veritysetup dump failed:\n{out}");
        let mut head = [0u8; 512];
        File::open(&ours_path)
            .unwrap()
            .read_exact(&mut head)
            .unwrap();
        let parsed = Params::from_superblock(&head).unwrap();
        assert_eq!(parsed, p);
        let g = parsed.geometry().unwrap();
        assert_eq!(field(&out, "UUID:"), parsed.uuid.to_string());
        assert_eq!(
            field(&out, "Hash type:"),
            parsed.hash_type.number().to_string()
        );
        assert_eq!(field(&out, "Data blocks:"), parsed.data_blocks.to_string());
        assert_eq!(
            field(&out, "Data block size:"),
            parsed.data_block_size.to_string()
        );
        assert_eq!(
            field(&out, "Hash block size:"),
            parsed.hash_block_size.to_string()
        );
        assert_eq!(field(&out, "Hash blocks:"), g.tree_blocks().to_string());
        assert_eq!(field(&out, "Hash algorithm:"), parsed.algorithm.name());
        assert_eq!(field(&out, "Salt:"), parsed.salt_hex());
        assert_eq!(
            field(&out, "Hash device size:"),
            format!("{} [bytes]", g.hash_device_size())
        );
    }
}

fn sparse_file_or_small(path: &Path, blocks: u64) {
    if blocks > 5000 {
        sparse_file(path, blocks);
    } else {
        fs::write(path, random((blocks * BS) as usize, blocks + 100)).unwrap();
    }
}

#[test]
fn the_hash_device_stream_writes_the_same_bytes_sparsely() {
    let dir = Dir::new();
    let data = dir.path("data");
    fs::write(&data, random(129 * BS as usize, 21)).unwrap();
    let p = params(129 * BS, "stream");
    let root = format(&p, &data, &dir.path("theirs.hash"));
    let tree = ours(&p, &data);
    let out = dir.path("ours.hash");
    let mut dev = tree.hash_device();
    assert_eq!(dev.size(), 4 * BS);
    let mut f = File::create(&out).unwrap();
    eflow_extents::write_raw(&mut dev, &mut f).unwrap();
    f.flush().unwrap();
    drop(f);
    assert_eq!(
        fs::read(&out).unwrap(),
        fs::read(dir.path("theirs.hash")).unwrap()
    );
    let (ok, text) = their_verify(&data, &out, &root);
    assert!(ok, "{text}");
}
