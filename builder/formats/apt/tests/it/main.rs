//! The integration tests of eflow-apt: one test binary, each former test file a module of it.

mod fixture;

mod apt_crosscheck;
mod dpkg_versions;
mod fuzz_regressions;
mod mirrors;
mod real_mirror;
mod resolve;
mod signed;
