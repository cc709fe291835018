//! The package stage: the files a build delivers (rootfs tar, raw disk, VHDX) and its manifest.

pub mod disk;
pub mod tar;
