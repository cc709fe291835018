//! The eflow-image pipeline: plan, fetch, assemble, configure, boot, format, disk, package.
//!
//! Each stage is a module and hands a typed result to the next; the on-disk formats live in
//! their own crates under `builder/formats/` and know nothing of recipes or images.
//!
//! - [`plan`]: image definition, recipes, lockfile ([`lock`] writes it)
//! - [`fetch`]: packages into the content-addressed cache
//! - [`assemble`]: packages unpacked into the Tree
//! - [`configure`] and [`configure_stage`]: accounts, units, first-boot files, dpkg database
//! - [`package`]: the outputs and the manifest
//! - [`release`]: the signed manifest, SBOM and signatures
//! - [`build`]: runs them in order
//! - [`inspect`] and [`convert`]: read disk files back (raw, VHDX, fixed VHD) and convert them

pub mod assemble;
pub mod atomic;
pub mod boot;
pub mod build;
pub mod configure;
pub mod configure_stage;
pub mod convert;
pub mod disk;
pub mod fetch;
pub mod fuzzing;
pub mod inspect;
pub mod lock;
pub mod package;
pub mod plan;
pub mod qemu;
pub mod recipe_files;
pub mod release;
pub mod seed;
pub mod sources;
