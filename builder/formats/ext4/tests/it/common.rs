//! Shared helpers for the integration tests: write a Tree to a raw file and run e2fsprogs.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use eflow_ext4::{write, Options};
use eflow_tree::{Entry, Kind, Tree};

/// Options with fixed identity for tests.
pub fn opts(size: u64) -> Options {
    Options {
        size,
        uuid: *b"0123456789abcdef",
        hash_seed: *b"fedcba9876543210",
        label: "eflow-root".into(),
        timestamp: 1_700_000_000,
    }
}

/// Writes the tree to `dir/name` as a raw image and returns its path.
pub fn write_image(tree: &Tree, o: &Options, dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let mut img = write(tree, o).expect("ext4 write");
    let mut f = File::create(&path).unwrap();
    eflow_extents::write_raw(&mut img, &mut f).expect("write_raw");
    path
}

/// Runs a tool (a missing one fails the test, saying what to install): exit code and both streams.
pub fn run(tool: &str, args: &[&str]) -> (i32, String) {
    let o = eflow_testkit::outcome(Command::new(tool).args(args));
    (o.code, o.all())
}

/// Makes `img` a `size`-byte ext4 filesystem with mke2fs (4 KiB blocks, the time of [`opts`]),
/// `args` before the image's path: `-d DIR` to fill it, `-L`, `-U`, `-O`, `-E`.
pub fn mke2fs(img: &Path, size: u64, args: &[&str]) {
    File::create(img).unwrap().set_len(size).unwrap();
    eflow_testkit::ok(
        Command::new("mke2fs")
            .env("E2FSPROGS_FAKE_TIME", opts(size).timestamp.to_string())
            .args(["-q", "-F", "-t", "ext4", "-b", "4096"])
            .args(args)
            .arg(img),
    );
}

/// Writes the tree as a `size`-byte image `name` in a new temporary directory and requires
/// e2fsck to find it clean; the directory (kept while it lives) and the image's path.
pub fn write_checked(tree: &Tree, size: u64, name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let img = write_image(tree, &opts(size), dir.path(), name);
    assert_fsck_clean(&img);
    (dir, img)
}

/// An image mke2fs made (not our writer) of `size` bytes holding `tree` (`mke2fs -d` of the
/// Tree extracted to a directory), with `args`; in a new temporary directory kept while the
/// returned handle lives.
pub fn mke2fs_image(tree: &Tree, size: u64, args: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    eflow_testkit::extract_tree(tree, &src);
    let img = dir.path().join("mke2fs.img");
    let mut all = args.to_vec();
    all.extend(["-d", src.to_str().unwrap()]);
    mke2fs(&img, size, &all);
    (dir, img)
}

/// `e2fsck -fn` must exit 0 and report no problem.
pub fn assert_fsck_clean(img: &Path) {
    let (code, out) = run("e2fsck", &["-fn", img.to_str().unwrap()]);
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| {
            !(l.starts_with("e2fsck ")
                || l.starts_with("Pass ")
                || (l.contains(" files (") && l.ends_with(" blocks"))
                || l.trim().is_empty())
        })
        .collect();
    assert!(
        code == 0 && lines.is_empty(),
        "e2fsck -fn exit {code}, unexpected output:\n{out}"
    );
}

/// debugfs -R CMD output.
pub fn debugfs(img: &Path, cmd: &str) -> String {
    let (code, out) = run("debugfs", &["-R", cmd, img.to_str().unwrap()]);
    assert_eq!(code, 0, "debugfs -R {cmd:?} failed: {out}");
    out
}

/// `/dev` with a node of each special kind: `null` (char 1:3), `nvme` (block 259:`minor`,
/// group 6), the FIFO `initctl` and the socket `log`.
pub fn add_device_nodes(t: &mut Tree, minor: u32) {
    t.mkdir_p("/dev").unwrap();
    let null = Entry::new(Kind::CharDevice { major: 1, minor: 3 }, 0o666);
    t.insert("/dev/null", null).unwrap();
    let nvme = Entry::new(Kind::BlockDevice { major: 259, minor }, 0o660).owned(0, 6);
    t.insert("/dev/nvme", nvme).unwrap();
    t.insert("/dev/initctl", Entry::new(Kind::Fifo, 0o600))
        .unwrap();
    t.insert("/dev/log", Entry::new(Kind::Socket, 0o666))
        .unwrap();
}
