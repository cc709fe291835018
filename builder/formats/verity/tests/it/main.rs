//! The integration tests of eflow-verity: one test binary, a module per topic.

mod fuzz_regressions;
mod veritysetup;
