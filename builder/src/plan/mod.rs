//! The plan stage: image definition, recipes and lockfile, read and checked.

pub mod image;
pub mod lockfile;
pub mod recipe;
pub mod size;
pub mod toml_error;

pub use image::Image;
pub use lockfile::Lockfile;
pub use recipe::{Recipe, RecipeSet};
pub use size::Size;
pub use toml_error::DefinitionError;
