//! The integration tests of the guest agent: one test binary, each former test file a module
//! of it.

mod daemon;
mod fuzz_regressions;
mod handler;
mod unit_file;
