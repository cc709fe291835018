//! One module per subcommand: turn arguments into library calls and results into output.

pub mod agent;
pub mod boot;
pub mod build;
pub mod convert;
pub mod inspect;
pub mod keygen;
pub mod lock;
pub mod password;
pub mod sign;
pub mod verify;

use std::path::PathBuf;

use crate::SourceArgs;

/// The cache directory from --cache or the default.
pub fn cache_dir(src: &SourceArgs) -> PathBuf {
    src.cache
        .clone()
        .unwrap_or_else(eflow_builder::stages::fetch::Cache::default_dir)
}
