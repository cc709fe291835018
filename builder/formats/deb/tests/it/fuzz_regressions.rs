//! The inputs the fuzzers found (crashes once fixed, and a minimized sample of what each
//! target covers), kept in `fuzz/regressions/TARGET/` and replayed through the entry points
//! the fuzz targets themselves call, so every test run checks them without a fuzzer.

#[path = "../../fuzz/entry.rs"]
mod entry;

eflow_testkit::fuzz_regressions_test!(deb_file, parsers, store_and_globs);
