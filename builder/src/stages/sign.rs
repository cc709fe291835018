//! The sign stage: the build manifest (`NAME.manifest.json`), the SPDX SBOM
//! (`NAME.spdx.json`) and, with a key, a minisign signature next to each of them and each
//! output. Runs after the outputs are written; everything it writes is a function of the
//! build's inputs and SOURCE_DATE_EPOCH, and every file appears atomically.
//!
//! Nothing is read back: the outputs were digested (SHA-256 for the manifest, BLAKE2b-512 for
//! minisign) while the package stage wrote them. The release files are [`Staged`] like the
//! outputs, and [`StagedRelease::commit`] renames everything into place, the manifest last,
//! so a build's files appear together or not at all.
//!
//! [`stage`] takes the build's [`Plan`] and Tree; [`stage_release`] takes plain data
//! ([`ReleaseInput`]), so it can be tested and reused without a whole build.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use eflow_outfile::Digests;

use eflow_signing::{
    FileDigest, ImageIdentity, InputDigests, Manifest, PackageRecord, PackageSource, RecipeDigest,
    SbomInput, SbomPackage, SecretKey, MANIFEST_FORMAT,
};
use eflow_tree::{Kind, Tree};
use sha2::{Digest, Sha256};

use crate::stages::package::Staged;
use crate::stages::plan::Plan;

/// Largest copyright file read for the SBOM; Debian's biggest are a few hundred KiB.
const COPYRIGHT_MAX: u64 = 8 << 20;

/// Why the release files could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// An input named by the plan (image definition, lockfile, recipe file) cannot be read.
    #[error("cannot read build input {path}: {source}")]
    Input {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// SOURCE_DATE_EPOCH is before 1970: manifests and trusted comments need a Unix time.
    #[error("SOURCE_DATE_EPOCH {0} is negative: set it to a time after 1970")]
    Epoch(i64),
    /// The manifest would be invalid (bad digest, duplicate entry): a bug in the caller.
    #[error("the build manifest is invalid: {0}")]
    Manifest(#[from] eflow_signing::ManifestError),
    /// An output path has no file name that can go in a manifest.
    #[error("output {0} has no UTF-8 file name")]
    OutputName(PathBuf),
    /// Signing a file failed.
    #[error("signing {path}: {source}")]
    Sign {
        /// The file being signed.
        path: PathBuf,
        /// What went wrong.
        source: eflow_signing::SignError,
    },
    /// Writing a release file failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file being written.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
}

/// Everything the manifest and SBOM are made from, as plain data.
#[derive(Debug, Clone)]
pub struct ReleaseInput {
    /// Image name: the release files are `NAME.manifest.json` and `NAME.spdx.json`.
    pub image_name: String,
    /// Image version.
    pub image_version: String,
    /// What the manifest records from the plan alone (tool, packages, input digests).
    pub records: PlanRecords,
    /// The disk outputs' partitions (empty when only a tar is built).
    pub partitions: Vec<eflow_signing::PartitionRecord>,
    /// Outputs written into the output directory: file name and digests.
    pub outputs: Vec<(String, Digests)>,
    /// Package name to the text of its Debian copyright file, for declared licenses.
    pub copyrights: BTreeMap<String, String>,
    /// Package name to the names of packages it depends on (may be empty).
    pub depends: BTreeMap<String, Vec<String>>,
}

/// What the sign stage wrote (once committed).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReleaseFiles {
    /// `NAME.manifest.json`.
    pub manifest: PathBuf,
    /// `NAME.spdx.json`.
    pub sbom: PathBuf,
    /// Every `.minisig` written (outputs, SBOM, manifest); empty when unsigned.
    pub signatures: Vec<PathBuf>,
    /// Whether the files were signed; when false the caller tells the user they are not.
    pub signed: bool,
}

/// The sign stage of a build: stages the manifest and the SBOM for `out_dir`, and with a key
/// their signatures and every output's. The Tree gives each package's
/// `/usr/share/doc/PKG/copyright` for the SBOM's declared licenses.
pub fn stage(
    plan: &Plan,
    tree: &Tree,
    outputs: &[Staged],
    disk: Option<&crate::stages::disk::DiskPlan>,
    out_dir: &Path,
    key: Option<&SecretKey>,
) -> Result<StagedRelease, ReleaseError> {
    let mut input = release_input(plan, tree, outputs)?;
    input.partitions = disk.map(|d| d.records()).unwrap_or_default();
    stage_release(&input, out_dir, key)
}

/// SHA-256 of the eflow-image sources that shape outputs, made by the build script
/// (`builder/build.rs`); the manifest records it so a later build can tell the same code
/// made the files in place.
pub const TOOL_DIGEST: &str = env!("EFLOW_TOOL_DIGEST");

/// What the manifest records about a build's inputs and the tool that ran it: everything
/// known from the [`Plan`] alone, before any stage runs (`build` compares it with the
/// manifest already in the output directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRecords {
    /// eflow-image's version.
    pub tool_version: String,
    /// [`TOOL_DIGEST`].
    pub tool_digest: String,
    /// SOURCE_DATE_EPOCH of the build.
    pub source_date_epoch: u64,
    /// Packages installed, from the lockfile.
    pub packages: Vec<PackageRecord>,
    /// Recipes used, by digest of their file.
    pub recipes: Vec<RecipeDigest>,
    /// Digests of the image definition, lockfile and the files recipes install.
    pub inputs: InputDigests,
}

/// Reads and digests what [`PlanRecords`] holds: the lockfile and every file a recipe
/// installs are read from disk (the image definition and recipes were read by the plan).
pub fn plan_records(plan: &Plan) -> Result<PlanRecords, ReleaseError> {
    let sde = u64::try_from(plan.source_date_epoch)
        .map_err(|_| ReleaseError::Epoch(plan.source_date_epoch))?;
    let packages: Vec<PackageRecord> = plan
        .lock
        .packages
        .iter()
        .map(|p| PackageRecord {
            name: p.name.clone(),
            version: p.version.clone(),
            architecture: p.architecture.clone(),
            sha256: p.sha256.clone(),
            source: PackageSource {
                suite: p.suite.clone(),
                origin: origin_of(&p.source),
            },
        })
        .collect();
    let recipes = plan
        .recipes
        .recipes
        .iter()
        .map(|r| RecipeDigest {
            name: r.name().to_string(),
            sha256: sha256_hex(r.text.as_bytes()),
        })
        .collect();

    let lock_path = plan.image.lock_path();
    let lock_bytes = std::fs::read(&lock_path).map_err(|source| ReleaseError::Input {
        path: lock_path.clone(),
        source,
    })?;
    let files_dir = plan.image.files_dir();
    let files_prefix = files_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "guest-rootfs".into());
    let mut guest_rootfs: BTreeMap<String, String> = BTreeMap::new();
    for r in &plan.recipes.recipes {
        for f in &r.def.files {
            let path = files_dir.join(&f.source);
            let bytes = std::fs::read(&path).map_err(|source| ReleaseError::Input {
                path: path.clone(),
                source,
            })?;
            guest_rootfs.insert(
                format!("{files_prefix}/{}", slash_path(&f.source)),
                sha256_hex(&bytes),
            );
        }
    }
    let inputs = InputDigests {
        image_definition: FileDigest {
            path: project_path(&plan.image.path),
            sha256: sha256_hex(plan.image.text.as_bytes()),
        },
        lockfile: FileDigest {
            path: project_path(&lock_path),
            sha256: sha256_hex(&lock_bytes),
        },
        guest_rootfs: guest_rootfs
            .into_iter()
            .map(|(path, sha256)| FileDigest { path, sha256 })
            .collect(),
    };
    Ok(PlanRecords {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        tool_digest: TOOL_DIGEST.to_string(),
        source_date_epoch: sde,
        packages,
        recipes,
        inputs,
    })
}

/// Collects the [`ReleaseInput`] of a build from its plan, Tree and outputs.
pub fn release_input(
    plan: &Plan,
    tree: &Tree,
    outputs: &[Staged],
) -> Result<ReleaseInput, ReleaseError> {
    let img = &plan.image.def.image;
    let records = plan_records(plan)?;
    let outputs = outputs
        .iter()
        .map(|o| {
            let path = o.target();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| ReleaseError::OutputName(path.clone()))?;
            Ok((name.to_string(), o.digests.clone()))
        })
        .collect::<Result<Vec<_>, ReleaseError>>()?;

    let copyrights = plan
        .lock
        .packages
        .iter()
        .filter_map(|p| copyright_text(tree, &p.name).map(|t| (p.name.clone(), t)))
        .collect();

    Ok(ReleaseInput {
        partitions: Vec::new(),
        image_name: img.name.clone(),
        image_version: img.version.clone(),
        records,
        outputs,
        copyrights,
        depends: depends_from_status(tree),
    })
}

/// The release files of a build, written under temporary names.
pub struct StagedRelease {
    sbom: Staged,
    /// Signatures of the outputs and the SBOM.
    signatures: Vec<Staged>,
    manifest: Staged,
    manifest_signature: Option<Staged>,
    /// Every output's `.minisig` path, removed when unsigned so that no stale signature of
    /// an earlier build stays next to a new output.
    stale: Vec<PathBuf>,
}

/// Stages `NAME.spdx.json`, `NAME.manifest.json` (which lists the outputs and the SBOM with
/// their digests) and, with a key, a `.minisig` for each output, the SBOM and the manifest.
pub fn stage_release(
    input: &ReleaseInput,
    out_dir: &Path,
    key: Option<&SecretKey>,
) -> Result<StagedRelease, ReleaseError> {
    let sbom_input = SbomInput {
        image_name: input.image_name.clone(),
        image_version: input.image_version.clone(),
        tool_version: input.records.tool_version.clone(),
        source_date_epoch: input.records.source_date_epoch,
        build_digest: input.records.inputs.lockfile.sha256.clone(),
        packages: input
            .records
            .packages
            .iter()
            .map(|p| {
                SbomPackage::from_record(
                    p,
                    input.copyrights.get(&p.name).map(String::as_str),
                    input.depends.get(&p.name).cloned().unwrap_or_default(),
                )
            })
            .collect(),
    };
    let sbom_text = eflow_signing::spdx_sbom_json(&sbom_input);
    let sbom_name = format!("{}.spdx.json", input.image_name);
    let sbom = stage_bytes(&out_dir.join(&sbom_name), sbom_text.as_bytes())?;

    let mut signed: Vec<(String, Digests)> = input
        .outputs
        .iter()
        .filter(|(name, _)| *name != sbom_name)
        .cloned()
        .collect();
    signed.push((sbom_name, sbom.digests.clone()));
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        image: ImageIdentity {
            name: input.image_name.clone(),
            version: input.image_version.clone(),
        },
        tool_version: input.records.tool_version.clone(),
        tool_digest: input.records.tool_digest.clone(),
        source_date_epoch: input.records.source_date_epoch,
        outputs: signed
            .iter()
            .map(|(name, d)| eflow_signing::OutputFile {
                name: name.clone(),
                size: d.size,
                sha256: d.sha256_hex(),
            })
            .collect(),
        packages: input.records.packages.clone(),
        recipes: input.records.recipes.clone(),
        inputs: input.records.inputs.clone(),
        partitions: input.partitions.clone(),
    };
    let manifest_text = manifest.to_json()?;
    let manifest_path = out_dir.join(format!("{}.manifest.json", input.image_name));
    let manifest = stage_bytes(&manifest_path, manifest_text.as_bytes())?;

    let mut signatures = Vec::new();
    let mut manifest_signature = None;
    if let Some(key) = key {
        signed.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, digests) in &signed {
            signatures.push(sign_staged(key, &out_dir.join(name), digests, input)?);
        }
        manifest_signature = Some(sign_staged(key, &manifest_path, &manifest.digests, input)?);
    }
    let stale = if key.is_none() {
        signed
            .iter()
            .map(|(name, _)| minisig_path(&out_dir.join(name)))
            .collect()
    } else {
        Vec::new()
    };
    Ok(StagedRelease {
        sbom,
        signatures,
        manifest,
        manifest_signature,
        stale,
    })
}

impl StagedRelease {
    /// Renames the outputs and the release files into place: first the old manifest goes
    /// (so a crash in between never leaves a manifest beside outputs it does not describe),
    /// then the outputs, the SBOM and their signatures, then the manifest's signature and
    /// the manifest itself.
    pub fn commit(self, outputs: Vec<Staged>) -> Result<ReleaseFiles, ReleaseError> {
        let manifest_path = self.manifest.target();
        let manifest_sig = minisig_path(&manifest_path);
        for old in [&manifest_path, &manifest_sig]
            .into_iter()
            .chain(&self.stale)
        {
            match std::fs::remove_file(old) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(ReleaseError::Write {
                        path: old.clone(),
                        source,
                    })
                }
            }
        }
        let sbom = self.sbom.target();
        let signed = self.manifest_signature.is_some();
        let mut signatures: Vec<PathBuf> = self.signatures.iter().map(Staged::target).collect();
        signatures.extend(self.manifest_signature.as_ref().map(Staged::target));
        let files = outputs
            .into_iter()
            .chain([self.sbom])
            .chain(self.signatures)
            .chain(self.manifest_signature)
            .chain([self.manifest]);
        for f in files {
            let path = f.target();
            f.commit()
                .map_err(|source| ReleaseError::Write { path, source })?;
        }
        Ok(ReleaseFiles {
            manifest: manifest_path,
            sbom,
            signatures,
            signed,
        })
    }
}

/// Stages and commits the release files alone, for outputs already in place (tests, tools).
pub fn write_release(
    input: &ReleaseInput,
    out_dir: &Path,
    key: Option<&SecretKey>,
) -> Result<ReleaseFiles, ReleaseError> {
    stage_release(input, out_dir, key)?.commit(Vec::new())
}

/// Signs a file from its digests (trusted comment `timestamp:SDE file:NAME sha256:HEX`) and
/// stages `path.minisig`.
fn sign_staged(
    key: &SecretKey,
    path: &Path,
    digests: &Digests,
    input: &ReleaseInput,
) -> Result<Staged, ReleaseError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| ReleaseError::OutputName(path.to_path_buf()))?;
    let signed =
        eflow_signing::sign_digests_described(key, name, digests, input.records.source_date_epoch)
            .map_err(|source| ReleaseError::Sign {
                path: path.to_path_buf(),
                source,
            })?;
    stage_bytes(&minisig_path(path), signed.minisig.as_bytes())
}

fn stage_bytes(path: &Path, bytes: &[u8]) -> Result<Staged, ReleaseError> {
    Staged::bytes(path, bytes).map_err(|source| ReleaseError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// `FILE.minisig`: where minisign looks for a file's signature.
pub fn minisig_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(".minisig");
    PathBuf::from(s)
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The archive's Origin for a lockfile `source` name. The lockfile does not record the
/// Release file's Origin; the project's only archive, `debian`, is Debian's.
fn origin_of(source: &str) -> String {
    match source {
        "debian" => "Debian".to_string(),
        other => other.to_string(),
    }
}

/// A relative path with `/` separators.
fn slash_path(path: &Path) -> String {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A project file's path as the manifest records it, never a host path: from the last
/// `recipes` directory on (`recipes/images/eflow.toml`), else the file name alone.
fn project_path(path: &Path) -> String {
    let parts: Vec<String> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    match parts.iter().rposition(|p| p == "recipes") {
        Some(i) if i + 1 < parts.len() => parts[i..].join("/"),
        _ => parts.last().cloned().unwrap_or_default(),
    }
}

/// Package name to the names its `Depends` and `Pre-Depends` mention (every alternative), from
/// the dpkg database the configure stage wrote into the Tree (`/var/lib/dpkg/status`); empty
/// when there is none. The SBOM links only the names that are packages of the image.
pub fn depends_from_status(tree: &Tree) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let Some(text) = file_text(tree, "/var/lib/dpkg/status", 64 << 20) else {
        return out;
    };
    for stanza in text.split("\n\n") {
        let mut name = None;
        let mut deps = Vec::new();
        for line in stanza.lines() {
            if let Some(v) = line.strip_prefix("Package:") {
                name = Some(v.trim().to_string());
            } else if let Some(v) = line
                .strip_prefix("Depends:")
                .or_else(|| line.strip_prefix("Pre-Depends:"))
            {
                for alt in v.split([',', '|']) {
                    let dep = alt.trim().split([' ', '(', ':']).next().unwrap_or_default();
                    if !dep.is_empty() {
                        deps.push(dep.to_string());
                    }
                }
            }
        }
        if let Some(name) = name {
            deps.sort();
            deps.dedup();
            out.insert(name, deps);
        }
    }
    out
}

/// The text of a regular file of the Tree (following symlinks), read up to `max` bytes.
fn file_text(tree: &Tree, path: &str, max: u64) -> Option<String> {
    let path = tree.resolve(path, true)?;
    let Kind::File { content, .. } = &tree.get(&path)?.kind else {
        return None;
    };
    let mut bytes = Vec::new();
    content
        .open()
        .ok()?
        .take(max)
        .read_to_end(&mut bytes)
        .ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// The text of `/usr/share/doc/PKG/copyright` in the Tree (following symlinks, as Debian
/// packages often link their doc directory to another package's), if it is a regular file.
pub fn copyright_text(tree: &Tree, package: &str) -> Option<String> {
    // Multi-arch packages may name their doc directory with the architecture qualifier.
    let name = package.split(':').next().unwrap_or(package);
    file_text(
        tree,
        &format!("/usr/share/doc/{name}/copyright"),
        COPYRIGHT_MAX,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use eflow_tree::Entry;

    const COPYRIGHT_GPL: &str =
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\
Upstream-Name: hello\n\nFiles: *\nCopyright: 2020 Someone\nLicense: GPL-3+\n";

    fn digest(c: char) -> String {
        c.to_string().repeat(64)
    }

    fn sample(dir: &Path) -> ReleaseInput {
        std::fs::write(dir.join("demo.raw"), b"raw disk bytes").unwrap();
        ReleaseInput {
            partitions: Vec::new(),
            image_name: "demo".into(),
            image_version: "1.0.0".into(),
            records: PlanRecords {
                tool_version: "0.1.0".into(),
                tool_digest: digest('e'),
                source_date_epoch: 1_700_000_000,
                packages: vec![PackageRecord {
                    name: "hello".into(),
                    version: "2.10-3".into(),
                    architecture: "amd64".into(),
                    sha256: digest('a'),
                    source: PackageSource {
                        suite: "bookworm".into(),
                        origin: "Debian".into(),
                    },
                }],
                recipes: vec![RecipeDigest {
                    name: "base".into(),
                    sha256: digest('b'),
                }],
                inputs: InputDigests {
                    image_definition: FileDigest {
                        path: "recipes/images/demo.toml".into(),
                        sha256: digest('c'),
                    },
                    lockfile: FileDigest {
                        path: "recipes/images/demo.lock".into(),
                        sha256: digest('d'),
                    },
                    guest_rootfs: vec![],
                },
            },
            outputs: vec![(
                "demo.raw".into(),
                eflow_outfile::Hasher::digest_reader(&b"raw disk bytes"[..]).unwrap(),
            )],
            copyrights: BTreeMap::from([("hello".to_string(), COPYRIGHT_GPL.to_string())]),
            depends: BTreeMap::new(),
        }
    }

    #[test]
    fn unsigned_release_is_reproducible_and_lists_the_sbom() {
        let dir = tempfile::tempdir().unwrap();
        let input = sample(dir.path());
        let files = write_release(&input, dir.path(), None).unwrap();
        assert!(!files.signed);
        assert!(files.signatures.is_empty());
        let manifest = std::fs::read_to_string(&files.manifest).unwrap();
        let sbom = std::fs::read(&files.sbom).unwrap();
        let m = Manifest::from_json(&manifest).unwrap();
        let names: Vec<&str> = m.outputs.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["demo.raw", "demo.spdx.json"]);
        assert_eq!(m.outputs[1].sha256, sha256_hex(&sbom));
        assert!(String::from_utf8_lossy(&sbom).contains("GPL-3.0-or-later"));
        // Same input, same bytes; no temporary files left.
        let again = write_release(&input, dir.path(), None).unwrap();
        assert_eq!(std::fs::read_to_string(&again.manifest).unwrap(), manifest);
        assert_eq!(std::fs::read(&again.sbom).unwrap(), sbom);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
    }

    #[test]
    fn signed_release_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let input = sample(dir.path());
        let (sk, pk) =
            eflow_signing::generate_with(None, eflow_signing::KdfLimits::INTERACTIVE).unwrap();
        let files = write_release(&input, dir.path(), Some(&sk)).unwrap();
        assert!(files.signed);
        assert_eq!(files.signatures.len(), 3);
        assert_eq!(
            files.signatures.last().unwrap(),
            &dir.path().join("demo.manifest.json.minisig")
        );
        for sig in &files.signatures {
            let file = sig.with_extension("");
            let text = std::fs::read_to_string(sig).unwrap();
            let fields = eflow_signing::verify_file_described(&pk, &file, &text).unwrap();
            assert_eq!(fields.timestamp, 1_700_000_000);
        }
    }

    #[test]
    fn bad_manifest_data_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let mut input = sample(dir.path());
        let first = input.outputs[0].clone();
        input.outputs.push(first);
        let err = write_release(&input, dir.path(), None).unwrap_err();
        assert!(matches!(err, ReleaseError::Manifest(_)), "{err}");
        let err = write_release(&sample(dir.path()), &dir.path().join("missing"), None);
        assert!(matches!(err, Err(ReleaseError::Write { .. })));
    }

    #[test]
    fn copyright_files_are_read_through_symlinks() {
        let mut tree = Tree::new();
        tree.mkdir_p("/usr/share/doc/libfoo1").unwrap();
        tree.insert(
            "/usr/share/doc/libfoo1/copyright",
            Entry::file(COPYRIGHT_GPL.as_bytes().to_vec(), 0o644),
        )
        .unwrap();
        tree.insert("/usr/share/doc/libfoo-dev", Entry::symlink("libfoo1"))
            .unwrap();
        assert_eq!(
            copyright_text(&tree, "libfoo-dev").as_deref(),
            Some(COPYRIGHT_GPL)
        );
        assert_eq!(
            copyright_text(&tree, "libfoo1:amd64").as_deref(),
            Some(COPYRIGHT_GPL)
        );
        assert_eq!(copyright_text(&tree, "missing"), None);
        tree.mkdir_p("/usr/share/doc/dironly/copyright").unwrap();
        assert_eq!(copyright_text(&tree, "dironly"), None);
    }

    #[test]
    fn depends_come_from_the_dpkg_status_file() {
        let mut tree = Tree::new();
        assert!(depends_from_status(&tree).is_empty());
        tree.mkdir_p("/var/lib/dpkg").unwrap();
        let status = "Package: bash\nStatus: install ok installed\n\
Pre-Depends: libc6 (>= 2.36), libtinfo6 (>= 6)\nDepends: base-files (>= 2.1.12), debianutils (>= 5.6-0.1)\n\n\
Package: login\nDepends: libpam0g:amd64 | libpam-alt, libpam-runtime\n\n\
Package: base-files\n";
        tree.insert(
            "/var/lib/dpkg/status",
            Entry::file(status.as_bytes().to_vec(), 0o644),
        )
        .unwrap();
        let d = depends_from_status(&tree);
        assert_eq!(
            d["bash"],
            ["base-files", "debianutils", "libc6", "libtinfo6"]
        );
        assert_eq!(d["login"], ["libpam-alt", "libpam-runtime", "libpam0g"]);
        assert!(d["base-files"].is_empty());
    }

    #[test]
    fn project_paths_never_show_the_host() {
        assert_eq!(
            project_path(Path::new("/home/me/src/eflow/recipes/images/eflow.toml")),
            "recipes/images/eflow.toml"
        );
        assert_eq!(
            project_path(Path::new("recipes/images/eflow.lock")),
            "recipes/images/eflow.lock"
        );
        assert_eq!(project_path(Path::new("/tmp/x/custom.toml")), "custom.toml");
        assert_eq!(
            slash_path(Path::new("./etc/eflow/agent.toml")),
            "etc/eflow/agent.toml"
        );
    }
}
