//! The eflow-image pipeline: plan, fetch, assemble, configure, boot, format, disk, package.

pub mod configure;
