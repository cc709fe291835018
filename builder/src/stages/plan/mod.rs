//! The plan stage: image definition, recipes and lockfile, read and checked.

pub mod image;
pub mod lockfile;
pub mod output_format;
pub mod partition;
pub mod recipe;
pub mod size;
pub mod toml_error;

pub use image::Image;
pub use lockfile::Lockfile;
pub use output_format::OutputFormat;
pub use recipe::{Recipe, RecipeSet};
pub use size::Size;
pub use toml_error::DefinitionError;

use std::path::Path;

use eflow_id::Seed;

/// The planned inputs of a build: definitions and lockfile, loaded and checked, and the
/// image identity every output id and time stamp derives from.
pub struct Plan {
    pub image: Image,
    pub recipes: RecipeSet,
    pub lock: Lockfile,
    pub seed: Seed,
    pub source_date_epoch: i64,
}

/// Why a build could not be planned.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Definition(#[from] DefinitionError),
    #[error(transparent)]
    Lock(#[from] lockfile::LockError),
    #[error("{0}")]
    SourceDateEpoch(String),
}

impl Plan {
    /// Loads the image, its recipes and its lockfile.
    pub fn load(image_path: &Path) -> Result<Plan, PlanError> {
        let image = Image::load(image_path)?;
        let recipes = RecipeSet::load(
            &image.recipe_dir(),
            &image.def.image.recipes,
            (&image.path, &image.text),
        )?;
        let lock = Lockfile::load_for(&image, &recipes)?;
        let seed = Seed::new(
            &image.def.image.name,
            &image.def.image.version,
            &lock.inputs,
        );
        let source_date_epoch =
            source_date_epoch(lock.source_date_epoch).map_err(PlanError::SourceDateEpoch)?;
        Ok(Plan {
            image,
            recipes,
            lock,
            seed,
            source_date_epoch,
        })
    }

    /// Which package wins each path that several packages ship (the recipes' `[[override]]`).
    pub fn overrides(&self) -> std::collections::BTreeMap<String, String> {
        self.recipes
            .recipes
            .iter()
            .flat_map(|r| r.def.overrides.iter())
            .map(|o| (o.path.clone(), o.package.clone()))
            .collect()
    }

    /// The guest's Debian architecture (of the `debian` source, else amd64).
    pub fn architecture(&self) -> String {
        self.image
            .def
            .source
            .get("debian")
            .map_or_else(|| "amd64".to_string(), |s| s.architecture.clone())
    }
}

/// The last second every format the builder writes can record (31 December 9999, UTC).
pub const MAX_SOURCE_DATE_EPOCH: i64 = 253_402_300_799;

/// SOURCE_DATE_EPOCH from the environment if set and valid, else the lockfile's; checked
/// here, before any work, to lie between 1970 and the year 9999.
pub fn source_date_epoch(from_lock: i64) -> Result<i64, String> {
    let (value, from) = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.trim().is_empty() => (
            v.trim().parse::<i64>().map_err(|_| {
                format!("SOURCE_DATE_EPOCH={v:?} is not a number of seconds since 1970")
            })?,
            "SOURCE_DATE_EPOCH",
        ),
        _ => (from_lock, "the lockfile's source-date-epoch"),
    };
    if !(0..=MAX_SOURCE_DATE_EPOCH).contains(&value) {
        return Err(format!(
            "{from} {value} is out of range: give a time between 1970 and the year 9999 \
             (0 to {MAX_SOURCE_DATE_EPOCH} seconds)"
        ));
    }
    Ok(value)
}
