//! The integration tests of eflow-kmod: one test binary, each test file a module of it.

mod fixture;

mod depmod;
mod fuzz_regressions;
mod modules;
