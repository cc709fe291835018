//! The eflow-image pipeline: plan, fetch, assemble, configure, boot, format, disk, package.
//!
//! Each stage is a module and hands a typed result to the next; the on-disk formats live in
//! their own crates under `builder/formats/` and know nothing of recipes or images.

pub mod atomic;
pub mod configure;
pub mod fetch;
pub mod package;
pub mod plan;
