//! `build`: runs the stages in order, from an image definition and its lockfile to the
//! outputs, the manifest, the SBOM and their signatures; or, when the output directory
//! already holds exactly that ([`up_to_date`]), nothing. [`Timings`] records each stage.

pub mod timings;
pub mod up_to_date;

use std::path::PathBuf;

use eflow_tree::Tree;

use crate::stages::assemble::{self, Assembled};
use crate::stages::configure::mounts::MountPlan;
use crate::stages::disk::{DiskError, DiskPlan};
use crate::stages::fetch::{self, Cache, Fetcher};
use crate::stages::package::{self, Staged};
use crate::stages::plan::{OutputFormat, Plan};
use crate::stages::{boot, configure, format, sign};

pub use timings::{StageTime, Timings};

/// What `build` is asked to do.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub image: PathBuf,
    pub out_dir: PathBuf,
    /// Output formats; empty means the image definition's `[[output]]` list.
    pub formats: Vec<OutputFormat>,
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
    pub format: OutputFormat,
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
    /// The output directory already held exactly these files: nothing was written.
    pub up_to_date: bool,
    /// Wall and CPU time of each stage.
    pub timings: Timings,
}

/// Why a build failed; each variant names the stage.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Plan(#[from] crate::stages::plan::PlanError),
    #[error(transparent)]
    Fetch(#[from] fetch::FetchStageError),
    #[error(transparent)]
    Assemble(#[from] assemble::AssembleError),
    #[error(transparent)]
    Configure(#[from] configure::ConfigureError),
    #[error("boot: {0}")]
    Boot(#[from] boot::BootError),
    #[error(transparent)]
    Disk(#[from] crate::stages::disk::DiskError),
    #[error(transparent)]
    Release(#[from] sign::ReleaseError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Runs the whole pipeline. Outputs are written under temporary names and renamed into
/// place together with the manifest only when every stage succeeded. First, right after the
/// plan, [`up_to_date::check`] looks at what the output directory holds: when it is exactly
/// what this build would write, nothing runs and nothing is written.
///
/// The stages [`Timings`] records: `plan`, `check`, `fetch`, `assemble`, `configure`, then
/// for disk outputs `boot` and `disk` (the partitions' contents and layout), then one stage
/// per output named by its format (`vhdx`, `raw`, `tar`...: the filesystems, the disk and
/// the container are one streaming pass), then `sign`.
pub fn build(opts: &BuildOptions, log: &dyn Fn(&str)) -> Result<BuildResult, BuildError> {
    let mut timings = Timings::new();
    let plan = timings.time("plan", || Plan::load(&opts.image))?;
    let formats = requested_formats(&plan, &opts.formats);
    let name = &plan.image.def.image.name;
    let key = opts.sign_key.as_deref();
    let check = timings.time("check", || {
        up_to_date::check(&plan, &formats, &opts.out_dir, key)
    });
    match check {
        up_to_date::Check::UpToDate(fresh) => {
            let files: Vec<String> = fresh
                .outputs
                .iter()
                .map(|o| &o.path)
                .chain([&fresh.sbom])
                .filter_map(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .collect();
            log(&format!(
                "up to date: {} as {} records them; nothing written",
                files.join(", "),
                fresh.manifest.display()
            ));
            timings.finish();
            return Ok(BuildResult {
                image: name.clone(),
                version: plan.image.def.image.version.clone(),
                source_date_epoch: plan.source_date_epoch,
                outputs: fresh.outputs,
                manifest: fresh.manifest,
                sbom: fresh.sbom,
                signed: !fresh.signatures.is_empty(),
                signatures: fresh.signatures,
                packages: plan.lock.packages.len(),
                up_to_date: true,
                timings,
            });
        }
        up_to_date::Check::NoEarlierBuild => {}
        up_to_date::Check::Changed(why) => log(&format!("rebuild: {why}")),
    }

    let fetcher = Fetcher::new(
        Cache::new(&opts.cache_dir),
        opts.offline,
        opts.packages_dir.clone(),
        opts.progress,
    );
    let mut tree = guest_tree_timed(&plan, &fetcher, opts.mirror.as_deref(), log, &mut timings)?;
    let sde = plan.source_date_epoch;

    std::fs::create_dir_all(&opts.out_dir).map_err(|source| BuildError::Write {
        path: opts.out_dir.clone(),
        source,
    })?;
    let disk = if formats.iter().any(|f| f.is_disk()) {
        Some(plan_disk(&plan, &mut tree, log, &mut timings)?)
    } else {
        None
    };

    let mut staged: Vec<(OutputFormat, Staged)> = Vec::new();
    for &format in &formats {
        let path = opts.out_dir.join(format.file_name(name));
        // One streaming pass per output: filesystems, disk and container.
        let written = timings.time(format.name(), || -> Result<Staged, BuildError> {
            let written = match (format, &disk) {
                (OutputFormat::Tar, _) => package::write_tar(&tree, sde, &path),
                (_, Some((disk, esp, contents))) => {
                    let mut stream = disk.stream(contents, esp)?;
                    package::write_disk(format, &mut *stream, &path, &plan.seed, sde)
                }
                (_, None) => unreachable!("a disk is planned for every disk format"),
            };
            written.map_err(|source| BuildError::Write {
                path: path.clone(),
                source,
            })
        })?;
        log(&format!(
            "package: {} ({} bytes)",
            path.display(),
            written.digests.size
        ));
        staged.push((format, written));
    }

    let outputs: Vec<OutputFile> = staged
        .iter()
        .map(|(format, s)| OutputFile {
            format: *format,
            path: s.target(),
            size: s.digests.size,
            sha256: s.digests.sha256_hex(),
        })
        .collect();
    let files: Vec<Staged> = staged.into_iter().map(|(_, s)| s).collect();
    let release = timings.time("sign", || {
        sign::stage(
            &plan,
            &tree,
            &files,
            disk.as_ref().map(|(d, _, _)| d),
            &opts.out_dir,
            key,
        )?
        .commit(files)
    })?;
    if release.signed {
        log(&format!("sign: {} signatures", release.signatures.len()));
    } else {
        log("sign: no key given (--sign KEY): the outputs, SBOM and manifest are NOT signed");
    }
    timings.finish();
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
        up_to_date: false,
        timings,
    })
}

/// The guest filesystem of a plan, as every build makes it: packages fetched (or taken from
/// the cache), assembled and configured.
pub fn guest_tree(
    plan: &Plan,
    fetcher: &Fetcher,
    mirror: Option<&str>,
    log: &dyn Fn(&str),
) -> Result<Tree, BuildError> {
    guest_tree_timed(plan, fetcher, mirror, log, &mut Timings::new())
}

/// [`guest_tree`], recording the `fetch`, `assemble` and `configure` stages in `timings`.
pub fn guest_tree_timed(
    plan: &Plan,
    fetcher: &Fetcher,
    mirror: Option<&str>,
    log: &dyn Fn(&str),
    timings: &mut Timings,
) -> Result<Tree, BuildError> {
    let debs = timings.time("fetch", || fetch::run(plan, fetcher, mirror, log))?;
    let Assembled {
        mut tree,
        packages,
        owners,
        ..
    } = timings.time("assemble", || -> Result<_, BuildError> {
        let mut assembled = assemble::assemble(
            &debs,
            &fetcher.cache().contents(),
            &plan.overrides(),
            &plan.architecture(),
            plan.source_date_epoch,
        )?;
        let filtered = eflow_deb::apply_filters(
            &mut assembled.tree,
            &assembled.owners,
            &plan.image.path_filters(),
        );
        if filtered.entries > 0 {
            log(&format!(
                "assemble: path-exclude left out {} entries ({} bytes)",
                filtered.entries, filtered.bytes
            ));
        }
        Ok(assembled)
    })?;
    log(&format!("assemble: {} entries", tree.len()));
    let indexed = timings.time("configure", || -> Result<_, BuildError> {
        configure::run(&mut tree, plan, &packages, &owners)?;
        let compressed = boot::modules::compress_guest(&mut tree)?;
        if compressed > 0 {
            log(&format!(
                "configure: {compressed} kernel modules compressed (zstd)"
            ));
        }
        Ok(boot::modules::index_guest(
            &mut tree,
            plan.source_date_epoch,
        )?)
    })?;
    if let Some((release, n)) = indexed {
        log(&format!(
            "configure: module indexes of {release} ({n} modules)"
        ));
    }
    log(&format!("configure: {} entries", tree.len()));
    Ok(tree)
}

/// The boot stage's ESP files, the guest files split between the partitions, and the disk
/// plan that places them.
fn plan_disk(
    plan: &Plan,
    tree: &mut Tree,
    log: &dyn Fn(&str),
    timings: &mut Timings,
) -> Result<(DiskPlan, boot::EspFiles, Vec<format::Content>), BuildError> {
    let sde = plan.source_date_epoch;
    let partitions = &plan.image.def.partitions;
    let esp_files = if partitions
        .iter()
        .any(|p| p.filesystem.as_deref() == Some("vfat"))
    {
        // The boot stage needs the partitions' GUIDs (root=PARTUUID=..., the mount table)
        // before the disk is laid out; they derive from the seed, so both agree.
        let mounts = MountPlan::new(partitions, &plan.seed);
        let files = timings.time("boot", || boot::run(tree, plan, &mounts))?;
        log(&format!(
            "boot: kernel {}, {} initramfs modules",
            files.kernel_release,
            files.initramfs_modules.len()
        ));
        files.esp
    } else {
        Vec::new()
    };
    let (contents, disk) = timings.time("disk", || -> Result<_, BuildError> {
        let contents = format::split(tree, partitions).map_err(DiskError::from)?;
        let disk = DiskPlan::new(&plan.image, &contents, &esp_files, plan.seed, sde)?;
        Ok((contents, disk))
    })?;
    log(&format!(
        "disk: {} MiB, {} partitions",
        disk.disk_size >> 20,
        disk.partitions.len()
    ));
    Ok((disk, esp_files, contents))
}

/// Output formats from the command line, else from the image definition, else tar.
fn requested_formats(plan: &Plan, cli: &[OutputFormat]) -> Vec<OutputFormat> {
    let mut formats: Vec<OutputFormat> = if cli.is_empty() {
        plan.image.def.outputs.iter().map(|o| o.format).collect()
    } else {
        cli.to_vec()
    };
    if formats.is_empty() {
        formats.push(OutputFormat::Tar);
    }
    formats.dedup();
    formats
}
