//! What the tests of every crate of the workspace share, so each exists once: running the
//! independent tools that judge our outputs (a missing tool or a failed check fails the test
//! with the command line, its status and both streams), locating partitions of a raw disk,
//! fixture files and bytes, and replaying the inputs the fuzzers found.
//!
//! Helpers that only one crate's tests use stay in that crate's tests.

#![warn(missing_docs)]

mod bench;
mod command;
mod disk;
mod fixture;
mod fuzz;
mod tree;

pub use bench::{bench_disk, file_sizes, median, medians, peak_rss_kib};
pub use command::{
    ok, ok_outcome, ok_stdout, ok_with_input, outcome, require_tool, require_tools, run,
    run_with_input, KillOnDrop, Outcome,
};
pub use disk::{
    copy_range, extract_partition, partition, partitions, qemu_img_raw, qemu_img_same,
    qemu_img_vhdx, Partition,
};
pub use fixture::{damaged_copies, flip_byte, path_str, pseudo_random, sha256sum, sparse_file};
pub use fuzz::{replay_fuzz_regressions, FuzzEntry};
pub use tree::extract_tree;
