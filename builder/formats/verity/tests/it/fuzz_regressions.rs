//! The inputs worth keeping from fuzzing (a sample of what each target covers, and any crash
//! once fixed), kept in `fuzz/regressions/TARGET/` and replayed through the entry points the
//! fuzz targets themselves call, so every test run checks them without a fuzzer.

#[path = "../../fuzz/entry.rs"]
mod entry;

eflow_testkit::fuzz_regressions_test!(superblock, verify);
