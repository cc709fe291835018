//! The integration tests of eflow-fat: one test binary, each former test file a module of it.

mod fuzz_regressions;
mod tools;
