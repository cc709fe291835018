//! The pipeline, in the order data flows:
//!
//! 1. [`plan`]: image definition, recipes and lockfile, read and checked into a [`plan::Plan`]
//! 2. [`fetch`]: every locked package into the content-addressed cache, sha256 verified
//! 3. [`assemble`]: the packages unpacked into the Tree (the guest filesystem, in memory)
//! 4. [`configure`]: accounts, recipe files, enabled units, first-boot files, dpkg database
//! 5. [`boot`]: kernel, initramfs and boot loader files for the EFI system partition
//! 6. [`format`]: the partitions' filesystems (ext4, FAT32) written from the Tree
//! 7. [`disk`]: the GPT disk, described as data and zero extents
//! 8. [`package`]: the outputs (rootfs tar, raw, VHDX, VHD), digested as they are written
//! 9. [`sign`]: manifest, SBOM and signatures

pub mod assemble;
pub mod boot;
pub mod configure;
pub mod disk;
pub mod fetch;
pub mod format;
pub mod package;
pub mod plan;
pub mod sign;
