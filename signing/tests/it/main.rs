//! The integration tests of eflow-signing: one test binary, each test file a module of it
//! (but `tests/large_file.rs`, which measures the peak memory of its own process).

mod fuzz_regressions;
mod minisign;
