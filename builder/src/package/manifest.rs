//! The build manifest: the image's identity, every output with its digest, every package and
//! recipe. JSON, with a stable field order and sorted lists, so two builds compare byte for byte.

use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::build::{BuildError, OutputFile, Plan};

#[derive(Serialize)]
struct Manifest<'a> {
    image: &'a str,
    version: &'a str,
    source_date_epoch: i64,
    tool: String,
    inputs: Inputs,
    outputs: Vec<ManifestOutput>,
    recipes: Vec<ManifestRecipe>,
    packages: Vec<ManifestPackage<'a>>,
}

#[derive(Serialize)]
struct Inputs {
    image_definition: String,
    lockfile: String,
    package_requests: String,
}

#[derive(Serialize)]
struct ManifestOutput {
    format: String,
    file: String,
    size: u64,
    sha256: String,
}

#[derive(Serialize)]
struct ManifestRecipe {
    name: String,
    sha256: String,
}

#[derive(Serialize)]
struct ManifestPackage<'a> {
    name: &'a str,
    version: &'a str,
    architecture: &'a str,
    sha256: &'a str,
    source: String,
    recipe: &'a str,
}

fn digest(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Writes `NAME.manifest.json` into `dir` (atomically) and returns its path.
pub fn write(dir: &Path, plan: &Plan, outputs: &[OutputFile]) -> Result<PathBuf, BuildError> {
    let img = &plan.image.def.image;
    let lock_text = std::fs::read(plan.image.lock_path()).unwrap_or_default();
    let mut recipes: Vec<ManifestRecipe> = plan
        .recipes
        .recipes
        .iter()
        .map(|r| ManifestRecipe {
            name: r.name().to_string(),
            sha256: digest(r.text.as_bytes()),
        })
        .collect();
    recipes.sort_by(|a, b| a.name.cmp(&b.name));
    let mut outs: Vec<ManifestOutput> = outputs
        .iter()
        .map(|o| ManifestOutput {
            format: o.format.clone(),
            file: o
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            size: o.size,
            sha256: o.sha256.clone(),
        })
        .collect();
    outs.sort_by(|a, b| a.file.cmp(&b.file));
    let mut packages: Vec<ManifestPackage> = plan
        .lock
        .packages
        .iter()
        .map(|p| ManifestPackage {
            name: &p.name,
            version: &p.version,
            architecture: &p.architecture,
            sha256: &p.sha256,
            source: format!("{}/{}", p.source, p.suite),
            recipe: &p.recipe,
        })
        .collect();
    packages.sort_by(|a, b| (a.name, a.version).cmp(&(b.name, b.version)));
    let m = Manifest {
        image: &img.name,
        version: &img.version,
        source_date_epoch: plan.source_date_epoch,
        tool: format!("eflow-image {}", env!("CARGO_PKG_VERSION")),
        inputs: Inputs {
            image_definition: digest(plan.image.text.as_bytes()),
            lockfile: digest(&lock_text),
            package_requests: plan.lock.inputs.clone(),
        },
        outputs: outs,
        recipes,
        packages,
    };
    let mut text = serde_json::to_string_pretty(&m).expect("the manifest serializes");
    text.push('\n');
    let path = dir.join(format!("{}.manifest.json", img.name));
    crate::atomic::write(&path, text.as_bytes()).map_err(|source| BuildError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}
