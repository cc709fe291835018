//! The integration tests of eflow-deb: one test binary, each former test file a module of it.

mod common;

mod dpkg_db;
mod dpkg_deb;
mod fuzz_regressions;
mod hostile;
mod store;
mod unpack;
