//! The end-to-end tests of `eflow-image`: the built binary makes the reference and EFLOW
//! images, tools nobody here wrote check them, QEMU boots them. One test binary, each former
//! test file a module of it, so the whole builder is linked once rather than once per file.

mod aziot_table;
mod eflow_support;
mod util;

mod boot_minimal;
mod build_incremental;
mod build_signed;
mod definition_errors;
mod disk_minimal;
mod eflow_boot;
mod eflow_boot_offline;
mod eflow_image;
mod inspect_convert;
mod kmod_indexes;
mod packages_vs_dpkg;
mod provisioning;
mod release_build;
mod release_cli;
mod release_manifest;
mod rootfs_tar;
