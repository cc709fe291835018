//! The integration tests of eflow-cpio: one test binary, each former test file a module of it.

mod boot;
mod fuzz_regressions;
mod tools;
