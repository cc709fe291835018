//! The integration tests of eflow-ext4: one test binary, each former test file a module of it.

mod common;

mod debugfs_compare;
mod edge;
mod errors;
mod fsck;
mod fuzz_regressions;
mod mke2fs_layout;
mod reader;
mod stream;
