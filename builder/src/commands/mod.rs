//! What the CLI runs, on top of the stages:
//!
//! - [`build`]: runs the stages in order, from an image definition to its outputs
//! - [`lock`]: resolves the recipes' packages against the archive and writes the lockfile
//! - [`inspect`]: what a disk file holds (container, partitions, filesystems)
//! - [`convert`]: between raw, VHDX and VHD
//! - [`verify`]: a signed file, or a signed build manifest and every output it lists
//! - [`vm`]: boots a disk image under QEMU + OVMF and watches for the guest's ready line

pub mod build;
pub mod convert;
pub mod inspect;
pub mod lock;
pub mod verify;
pub mod vm;
