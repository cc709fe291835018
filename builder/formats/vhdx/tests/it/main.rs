//! The integration tests of eflow-vhdx: one test binary, each former test file a module of it.

mod common;

mod convert;
mod corrupt;
mod fuzz_regressions;
mod reader;
mod vhd;
mod writer;
