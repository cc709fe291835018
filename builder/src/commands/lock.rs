//! `lock`: resolves the image's package requests against its sources and writes the lockfile.

use std::path::PathBuf;

use crate::stages::fetch::sources::{self, AptFetch, Mirrors, SourcesError};
use crate::stages::fetch::{Cache, Fetcher};
use crate::stages::plan::lockfile::{inputs_digest, LockError, LockedPackage, LOCK_VERSION};
use crate::stages::plan::{DefinitionError, Image, Lockfile, RecipeSet};

/// What `lock` is asked to do.
#[derive(Debug, Clone)]
pub struct LockOptions {
    pub image: PathBuf,
    /// Re-resolve even when the lockfile is up to date.
    pub update: bool,
    pub cache_dir: PathBuf,
    pub mirror: Option<String>,
    pub offline: bool,
    pub progress: bool,
}

/// What `lock` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LockResult {
    pub lockfile: PathBuf,
    /// False when an up-to-date lockfile was kept as it was.
    pub written: bool,
    pub packages: usize,
    /// Packages added, removed or changed in version, as `name old -> new`.
    pub changes: Vec<String>,
    pub warnings: Vec<String>,
}

/// Why locking failed.
#[derive(Debug, thiserror::Error)]
pub enum LockCmdError {
    #[error(transparent)]
    Definition(#[from] DefinitionError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Sources(#[from] SourcesError),
    #[error("package source {source_name:?}: {error}")]
    Index {
        source_name: String,
        error: Box<eflow_apt::SourceError>,
    },
    #[error("{0}")]
    Resolve(eflow_apt::ResolveError),
    #[error("recipe {recipe}: package source {source_name:?} is not defined in the image")]
    UnknownSource { recipe: String, source_name: String },
}

/// Resolves and writes the lockfile.
pub fn lock(opts: &LockOptions, log: &dyn Fn(&str)) -> Result<LockResult, LockCmdError> {
    let image = Image::load(&opts.image)?;
    let recipes = RecipeSet::load(
        &image.recipe_dir(),
        &image.def.image.recipes,
        (&image.path, &image.text),
    )?;
    let path = image.lock_path();
    let old = match Lockfile::load_for(&image, &recipes) {
        Ok(l) if !opts.update => {
            return Ok(LockResult {
                lockfile: path,
                written: false,
                packages: l.packages.len(),
                changes: Vec::new(),
                warnings: Vec::new(),
            })
        }
        Ok(l) => Some(l),
        Err(LockError::Missing { .. }) => None,
        Err(LockError::Stale { .. }) => std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| Lockfile::parse(&path, &t).ok()),
        Err(e) => return Err(e.into()),
    };

    let fetcher = Fetcher::new(
        Cache::new(&opts.cache_dir),
        opts.offline,
        None,
        opts.progress,
    );
    let mirrors = Mirrors::for_image(&image, opts.mirror.as_deref())?;
    // Every source the recipes use goes into one index, each suite labelled with its source
    // (`debian/bookworm`), so that a package of one source (Microsoft's runtime) can depend
    // on packages of another (Debian's libc6) and all requests resolve together.
    for r in &recipes.recipes {
        let s = r.source();
        if !r.def.recipe.packages.is_empty() && !image.def.source.contains_key(s) {
            return Err(LockCmdError::UnknownSource {
                recipe: r.name().to_string(),
                source_name: s.to_string(),
            });
        }
    }
    let requests: Vec<eflow_apt::Request> = recipes
        .recipes
        .iter()
        .flat_map(|r| {
            r.def.recipe.packages.iter().map(|p| eflow_apt::Request {
                package: p.clone(),
                recipe: r.name().to_string(),
            })
        })
        .collect();
    let mut index: Option<eflow_apt::Index> = None;
    let mut warnings = Vec::new();
    let mut newest = 0i64;
    for (source_name, src) in &image.def.source {
        let used = recipes
            .recipes
            .iter()
            .any(|r| !r.def.recipe.packages.is_empty() && r.source() == source_name);
        if !used {
            continue;
        }
        let cfg = eflow_apt::SourceConfig {
            suites: src.suites.clone(),
            components: src.components.clone(),
            arch: src.architecture.clone(),
            keyring: sources::keyring(&image, source_name),
            mirrors: mirrors.suites(source_name)?.clone(),
        };
        log(&format!(
            "lock: reading the {source_name} archive ({})",
            src.suites.join(", ")
        ));
        let idx = index.get_or_insert_with(|| eflow_apt::Index::new(&src.architecture));
        let (suites, warns) = eflow_apt::source::load_index_into(
            &AptFetch(&fetcher),
            &cfg,
            Some(now()),
            idx,
            &format!("{source_name}/"),
        )
        .map_err(|error| LockCmdError::Index {
            source_name: source_name.clone(),
            error: Box::new(error),
        })?;
        warnings.extend(warns);
        for s in &suites {
            if let Some(t) = eflow_apt::release::parse_date(&s.release.date) {
                newest = newest.max(t);
            }
        }
    }
    let mut packages = Vec::new();
    if let Some(index) = &index {
        let resolved = eflow_apt::resolve(index, &requests).map_err(LockCmdError::Resolve)?;
        for r in resolved {
            let (source, suite) = r
                .suite
                .split_once('/')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .unwrap_or_else(|| ("debian".to_string(), r.suite.clone()));
            packages.push(LockedPackage {
                name: r.name,
                version: r.version,
                architecture: r.architecture,
                source,
                suite,
                path: r.filename,
                size: r.size,
                sha256: r.sha256,
                recipe: r.recipe,
            });
        }
    }
    // Same packages as before: keep the old SOURCE_DATE_EPOCH, so a refresh that changes
    // nothing leaves the lockfile, and every build from it, exactly as they were.
    packages.sort();
    let source_date_epoch = match &old {
        Some(o)
            if {
                let mut before = o.packages.clone();
                before.sort();
                before == packages
            } =>
        {
            o.source_date_epoch
        }
        _ => newest,
    };
    let lock = Lockfile {
        version: LOCK_VERSION,
        image: image.def.image.name.clone(),
        inputs: inputs_digest(&image, &recipes),
        source_date_epoch,
        packages,
    };
    let changes = old.map(|o| diff(&o, &lock)).unwrap_or_default();
    lock.write(&path)?;
    Ok(LockResult {
        lockfile: path,
        written: true,
        packages: lock.packages.len(),
        changes,
        warnings,
    })
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Human-readable differences between two lockfiles.
fn diff(old: &Lockfile, new: &Lockfile) -> Vec<String> {
    use std::collections::BTreeMap;
    let o: BTreeMap<&str, &str> = old
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();
    let n: BTreeMap<&str, &str> = new
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();
    let mut out = Vec::new();
    for (name, v) in &n {
        match o.get(name) {
            None => out.push(format!("+ {name} {v}")),
            Some(ov) if ov != v => out.push(format!("~ {name} {ov} -> {v}")),
            _ => {}
        }
    }
    for (name, v) in &o {
        if !n.contains_key(name) {
            out.push(format!("- {name} {v}"));
        }
    }
    out
}
