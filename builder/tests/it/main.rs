//! The builder's integration tests: one test binary, each former test file a module of it,
//! so the builder is linked once.

// Where builder/benches/boot.rs also finds it.
#[path = "../boot_support/mod.rs"]
mod boot_support;

mod trees;

mod boot_qemu;
mod configure_units;
mod configure_users;
mod fuzz_regressions;
