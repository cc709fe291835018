//! The integration tests of eflow-gpt: one test binary, each test file a module of it.

mod fuzz_regressions;
mod tools;
