//! `build`: runs the pipeline from an image definition and its lockfile to the outputs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::assemble::{self, Assembled};
use crate::atomic::Pending;
use crate::disk::DiskPlan;
use crate::fetch::{Cache, FetchError, Fetcher};
use crate::plan::lockfile::{LockError, LockedPackage};
use crate::plan::{DefinitionError, Image, Lockfile, RecipeSet};
use crate::seed::{self, Seed};
use crate::sources::Mirrors;

/// The kernel command line when the image's `[boot]` gives none: consoles on the first
/// serial port (where `boot` and Hyper-V's COM1 read) and the screen.
pub const DEFAULT_CMDLINE: &str = "console=tty0 console=ttyS0,115200 rw";

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
    /// Signs the outputs, SBOM and manifest; `None` leaves them unsigned (and says so).
    pub sign_key: Option<std::sync::Arc<eflow_signing::SecretKey>>,
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
    pub sbom: PathBuf,
    /// The `.minisig` files written; empty when unsigned.
    pub signatures: Vec<PathBuf>,
    pub signed: bool,
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
    #[error(transparent)]
    Disk(#[from] crate::disk::DiskError),
    #[error("boot: {0}")]
    Boot(#[from] crate::boot::BootError),
    #[error(transparent)]
    Release(#[from] crate::release::ReleaseError),
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
    /// The guest's Debian architecture (of the `debian` source, else amd64).
    pub fn architecture(&self) -> String {
        self.image
            .def
            .source
            .get("debian")
            .map_or_else(|| "amd64".to_string(), |s| s.architecture.clone())
    }

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
    } = assemble::assemble(&debs, &overrides, &plan.architecture(), sde)?;
    log(&format!("assemble: {} entries", tree.len()));

    crate::configure_stage::configure(&mut tree, &plan, &packages, &owners)?;
    clamp_mtimes(&mut tree, sde);
    log(&format!("configure: {} entries", tree.len()));

    std::fs::create_dir_all(&opts.out_dir).map_err(|source| BuildError::Write {
        path: opts.out_dir.clone(),
        source,
    })?;
    let name = plan.image.def.image.name.clone();
    let needs_disk = formats.iter().any(|f| f != "tar");
    let disk = if needs_disk {
        // The boot stage needs the root partition's GUID (for root=PARTUUID=...) before the
        // disk is laid out; it is derived from the seed, so both agree.
        let has_esp = plan
            .image
            .def
            .partitions
            .iter()
            .any(|p| p.filesystem.as_deref() == Some("vfat"));
        let esp_files = if has_esp {
            let boot_def = plan.image.def.boot.clone();
            let mut bopts = crate::boot::BootOptions::new(
                boot_def
                    .as_ref()
                    .and_then(|b| b.cmdline.as_deref())
                    .unwrap_or(DEFAULT_CMDLINE),
                &crate::disk::root_partuuid(&plan.seed).to_string(),
                sde,
            );
            bopts.modules = boot_def.map(|b| b.modules).unwrap_or_default();
            let files = crate::boot::prepare(&mut tree, &bopts)?;
            log(&format!(
                "boot: kernel {}, {} initramfs modules",
                files.kernel_release,
                files.initramfs_modules.len()
            ));
            files.esp
        } else {
            Vec::new()
        };
        let disk = DiskPlan::new(&plan.image, &tree, &esp_files, plan.seed, sde)?;
        let root = disk
            .partitions
            .iter()
            .find(|p| p.filesystem.as_deref() == Some("ext4"))
            .expect("the disk plan checked there is a root partition");
        crate::configure::files::fstab(
            &mut tree,
            &[crate::configure::files::FstabEntry {
                spec: format!("PARTUUID={}", root.partuuid),
                mount_point: "/".into(),
                fs_type: "ext4".into(),
                options: "defaults".into(),
                dump: 0,
                pass: 1,
            }],
            sde,
        )
        .map_err(crate::configure_stage::ConfigureError::from)?;
        log(&format!(
            "disk: {} MiB, {} partitions",
            disk.disk_size >> 20,
            disk.partitions.len()
        ));
        Some((disk, esp_files))
    } else {
        None
    };

    let mut outputs = Vec::new();
    for format in &formats {
        let path = opts.out_dir.join(output_file_name(&name, format));
        let written = match (format.as_str(), &disk) {
            ("tar", _) => write_output(&path, |file| {
                let w = crate::package::tar::write_tar(&tree, sde, std::io::BufWriter::new(file))?;
                w.into_inner().map_err(|e| e.into_error())?;
                Ok(())
            }),
            (disk_format, Some((disk, esp))) => {
                let mut stream = disk.stream(&tree, esp)?;
                write_output(&path, |file| {
                    crate::package::disk::write(disk_format, &mut *stream, file, &plan.seed, sde)
                })
            }
            (_, None) => unreachable!("a disk is planned for every disk format"),
        };
        let (size, sha256) = written.map_err(|source| BuildError::Write {
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

    let release = crate::release::finish(
        &plan,
        &tree,
        &outputs,
        &opts.out_dir,
        opts.sign_key.as_deref(),
    )?;
    if release.signed {
        log(&format!("sign: {} signatures", release.signatures.len()));
    } else {
        log("sign: no key given (--sign KEY): the outputs, SBOM and manifest are NOT signed");
    }
    Ok(BuildResult {
        image: name.clone(),
        version: plan.image.def.image.version.clone(),
        source_date_epoch: sde,
        outputs,
        manifest: release.manifest,
        sbom: release.sbom,
        signatures: release.signatures,
        signed: release.signed,
        packages: plan.lock.packages.len(),
    })
}

/// The file name of an output: `NAME.rootfs.tar`, `NAME.raw`, `NAME.vhdx`, `NAME-fixed.vhdx`, `NAME.vhd`.
pub fn output_file_name(name: &str, format: &str) -> String {
    match format {
        "tar" => format!("{name}.rootfs.tar"),
        "vhdx-fixed" => format!("{name}-fixed.vhdx"),
        other => format!("{name}.{other}"),
    }
}

/// Writes an output under a temporary name, renames it into place when complete, and
/// returns its size and sha256 (read back from the file, so the digest is of what is on disk).
fn write_output(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<(u64, String)> {
    use std::io::{Read, Seek};
    let mut pending = Pending::new(path)?;
    write(pending.file())?;
    let f = pending.file();
    f.rewind()?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        size += n as u64;
    }
    pending.commit()?;
    Ok((size, hex::encode(h.finalize())))
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
