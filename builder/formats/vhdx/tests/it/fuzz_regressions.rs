//! The inputs worth keeping from fuzzing the reader (a sample of what the target covers, and
//! any crash once fixed), kept in `fuzz/regressions/reader/` and replayed through the entry
//! point the fuzz target itself calls, so every test run checks them without a fuzzer.

#[path = "../../fuzz/entry.rs"]
mod entry;

eflow_testkit::fuzz_regressions_test!(reader);
