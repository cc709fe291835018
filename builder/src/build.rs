//! `build`: runs the pipeline from an image definition and its lockfile to the outputs.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::assemble::{self, Assembled};
use crate::atomic::Pending;
use crate::fetch::{Cache, FetchError, Fetcher};
use crate::plan::lockfile::{LockError, LockedPackage};
use crate::plan::{DefinitionError, Image, Lockfile, RecipeSet};
use crate::seed::{self, Seed};
use crate::sources::Mirrors;

/// What `build` is asked to do.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub image: PathBuf,
    pub out_dir: PathBuf,
    /// Output formats; empty means the image definition's `[[output]]` list.
    pub formats: Vec<String>,
    pub cache_dir: PathBuf,
    pub offline: bool,
    pub packages_dir: Option<PathBuf>,
    pub mirror: Option<String>,
    pub progress: bool,
}

/// One file the build wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OutputFile {
    pub format: String,
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
}

/// What `build` produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BuildResult {
    pub image: String,
    pub version: String,
    pub source_date_epoch: i64,
    pub outputs: Vec<OutputFile>,
    pub manifest: PathBuf,
    pub packages: usize,
}

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Definition(#[from] DefinitionError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Sources(#[from] crate::sources::SourcesError),
    #[error(transparent)]
    Assemble(#[from] assemble::AssembleError),
    #[error(transparent)]
    Configure(#[from] crate::configure_stage::ConfigureError),
    #[error("{0}")]
    Invalid(String),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The planned inputs of a build: definitions and lockfile, loaded and checked.
pub struct Plan {
    pub image: Image,
    pub recipes: RecipeSet,
    pub lock: Lockfile,
    pub seed: Seed,
    pub source_date_epoch: i64,
}

impl Plan {
    /// Loads the image, its recipes and its lockfile.
    pub fn load(image_path: &Path) -> Result<Plan, BuildError> {
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
            seed::source_date_epoch(lock.source_date_epoch).map_err(BuildError::Invalid)?;
        Ok(Plan {
            image,
            recipes,
            lock,
            seed,
            source_date_epoch,
        })
    }
}

/// Fetches every locked package into the cache (or takes it from there) and returns the
/// verified files in lockfile order.
pub fn fetch_packages(
    plan: &Plan,
    fetcher: &Fetcher,
    mirror: Option<&str>,
    log: &dyn Fn(&str),
) -> Result<Vec<(LockedPackage, PathBuf)>, BuildError> {
    let mut mirrors: Option<Mirrors> = None;
    let mut out = Vec::with_capacity(plan.lock.packages.len());
    let mut downloaded = 0usize;
    for p in &plan.lock.packages {
        let what = format!("{} {}", p.name, p.version);
        if let Some(path) = fetcher.cache().lookup(&p.sha256, Some(p.size)) {
            out.push((p.clone(), path));
            continue;
        }
        if mirrors.is_none() && !fetcher.is_offline() {
            mirrors = Some(Mirrors::for_image(&plan.image, mirror)?);
        }
        let url = match &mirrors {
            Some(m) => m.url(&p.source, &p.suite, &p.path)?,
            None => String::new(),
        };
        let path =
            fetcher.get_verified(&what, &url, Some(p.file_name()), Some(p.size), &p.sha256)?;
        downloaded += 1;
        out.push((p.clone(), path));
    }
    log(&format!(
        "fetch: {} packages ({} downloaded, {} from the cache)",
        out.len(),
        downloaded,
        out.len() - downloaded
    ));
    Ok(out)
}

/// Runs the whole pipeline.
pub fn build(opts: &BuildOptions, log: &dyn Fn(&str)) -> Result<BuildResult, BuildError> {
    let plan = Plan::load(&opts.image)?;
    let formats = requested_formats(&plan.image, &opts.formats)?;
    let fetcher = Fetcher::new(
        Cache::new(&opts.cache_dir),
        opts.offline,
        opts.packages_dir.clone(),
        opts.progress,
    );
    let debs = fetch_packages(&plan, &fetcher, opts.mirror.as_deref(), log)?;

    let sde = plan.source_date_epoch;
    let overrides: BTreeMap<String, String> = plan
        .recipes
        .recipes
        .iter()
        .flat_map(|r| r.def.overrides.iter())
        .map(|o| (o.path.clone(), o.package.clone()))
        .collect();
    let Assembled {
        mut tree,
        packages,
        owners,
        ..
    } = assemble::assemble(&debs, &overrides, sde)?;
    log(&format!("assemble: {} entries", tree.len()));

    crate::configure_stage::configure(&mut tree, &plan, &packages, &owners)?;
    clamp_mtimes(&mut tree, sde);
    log(&format!("configure: {} entries", tree.len()));

    std::fs::create_dir_all(&opts.out_dir).map_err(|source| BuildError::Write {
        path: opts.out_dir.clone(),
        source,
    })?;
    let name = &plan.image.def.image.name;
    let mut outputs = Vec::new();
    for format in &formats {
        match format.as_str() {
            "tar" => {
                let path = opts.out_dir.join(format!("{name}.rootfs.tar"));
                let mut pending = Pending::new(&path).map_err(|source| BuildError::Write {
                    path: path.clone(),
                    source,
                })?;
                let hashing = HashingWriter::new(pending.file());
                let w = crate::package::tar::write_tar(&tree, sde, hashing).map_err(|source| {
                    BuildError::Write {
                        path: path.clone(),
                        source,
                    }
                })?;
                let (size, sha256) = w.finish();
                pending.commit().map_err(|source| BuildError::Write {
                    path: path.clone(),
                    source,
                })?;
                log(&format!("package: {} ({size} bytes)", path.display()));
                outputs.push(OutputFile {
                    format: format.clone(),
                    path,
                    size,
                    sha256,
                });
            }
            other => {
                return Err(BuildError::Invalid(format!(
                    "output format {other:?} is not supported by this build yet"
                )))
            }
        }
    }

    let manifest = crate::package::manifest::write(&opts.out_dir, &plan, &outputs)?;
    Ok(BuildResult {
        image: name.clone(),
        version: plan.image.def.image.version.clone(),
        source_date_epoch: sde,
        outputs,
        manifest,
        packages: plan.lock.packages.len(),
    })
}

/// Output formats from the command line, else from the image definition, else tar.
fn requested_formats(image: &Image, cli: &[String]) -> Result<Vec<String>, BuildError> {
    let mut formats: Vec<String> = if cli.is_empty() {
        image.def.outputs.iter().map(|o| o.format.clone()).collect()
    } else {
        cli.to_vec()
    };
    if formats.is_empty() {
        formats.push("tar".into());
    }
    for f in &formats {
        if !crate::plan::image::OUTPUT_FORMATS.contains(&f.as_str()) {
            return Err(BuildError::Invalid(format!(
                "unknown output format {f:?}: choose from {}",
                crate::plan::image::OUTPUT_FORMATS.join(", ")
            )));
        }
    }
    formats.dedup();
    Ok(formats)
}

/// No timestamp in the image is newer than SOURCE_DATE_EPOCH.
pub fn clamp_mtimes(tree: &mut eflow_tree::Tree, sde: i64) {
    for (_, e) in tree.iter_mut() {
        if e.mtime > sde {
            e.mtime = sde;
        }
    }
}

/// A writer that counts and hashes what passes through it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    /// The byte count and the lowercase hex sha256 of everything written.
    pub fn finish(self) -> (u64, String) {
        (self.size, hex::encode(self.hasher.finalize()))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
