//! The build manifest: what went into an image and what came out, as JSON with a stable field
//! order, sorted lists and fixed formatting, so the same build writes the same bytes (and the
//! manifest itself can be signed and compared across rebuilds).

use serde::{Deserialize, Serialize};

/// Version of the manifest schema, bumped on incompatible changes.
pub const MANIFEST_FORMAT: u32 = 1;

/// Why a manifest is refused.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The JSON does not match the manifest schema.
    #[error("manifest JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The manifest was written by an incompatible version of the tool.
    #[error("manifest format {found} is not supported (this tool reads format {MANIFEST_FORMAT})")]
    Format {
        /// The format number found.
        found: u32,
    },
    /// A digest is not 64 lower-case hex digits.
    #[error("{field}: {value:?} is not a SHA-256 in lower-case hex")]
    Digest {
        /// Where, e.g. `packages[bash].sha256`.
        field: String,
        /// The value found.
        value: String,
    },
    /// Two entries of a list have the same key.
    #[error("duplicate entry in {list}: {key}")]
    Duplicate {
        /// The list.
        list: &'static str,
        /// The repeated key.
        key: String,
    },
}

/// Name and version of the image built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageIdentity {
    /// Image name from the image definition.
    pub name: String,
    /// Image version from the image definition.
    pub version: String,
}

/// One file the build produced.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputFile {
    /// File name (no directory: outputs sit next to the manifest).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
}

/// One partition of the disk outputs (raw and VHDX share one layout).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionRecord {
    /// Position in the partition table, from 1.
    pub number: u32,
    /// GPT partition name (the definition's label).
    pub label: String,
    /// GPT type GUID.
    pub type_guid: String,
    /// GPT unique partition GUID (PARTUUID).
    pub partuuid: String,
    /// Byte offset on the disk.
    pub offset: u64,
    /// Size in bytes as built (a growing partition grows later).
    pub size: u64,
    /// `ext4`, `vfat`, or absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<String>,
    /// Where the guest mounts it, if anywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount: Option<String>,
    /// Mounted read-only.
    #[serde(default)]
    pub read_only: bool,
}

/// Where a package came from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageSource {
    /// Archive suite, e.g. `bookworm-security`.
    pub suite: String,
    /// The Release file's Origin, e.g. `Debian`.
    pub origin: String,
}

/// One Debian package installed in the image.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageRecord {
    /// Package name.
    pub name: String,
    /// Exact version (with epoch if any).
    pub version: String,
    /// Debian architecture, e.g. `amd64` or `all`.
    pub architecture: String,
    /// SHA-256 of the .deb, lower-case hex.
    pub sha256: String,
    /// Suite and origin.
    pub source: PackageSource,
}

/// A recipe used by the build, identified by the digest of its file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipeDigest {
    /// Recipe name.
    pub name: String,
    /// SHA-256 of the recipe file, lower-case hex.
    pub sha256: String,
}

/// A project input file and its digest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDigest {
    /// Path relative to the project root, with `/` separators (never a host path).
    pub path: String,
    /// SHA-256, lower-case hex.
    pub sha256: String,
}

/// Digests of the inputs that are not packages or recipes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputDigests {
    /// The image definition (e.g. `recipes/images/eflow.toml`).
    pub image_definition: FileDigest,
    /// The lockfile pinning every package.
    pub lockfile: FileDigest,
    /// Files installed from `guest-rootfs/` as they are.
    pub guest_rootfs: Vec<FileDigest>,
}

/// The build manifest. Field order here is the order in the JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Schema version, [`MANIFEST_FORMAT`].
    pub format: u32,
    /// The image built.
    pub image: ImageIdentity,
    /// Version of eflow-image that built it.
    pub tool_version: String,
    /// SHA-256 of the sources of the eflow-image that built it (its build script's digest of
    /// the crates that shape outputs, Cargo.lock and the compiler version): unlike the version,
    /// it changes with every change to the code, so `build` can tell whether outputs already in
    /// place are what it would write. Empty in manifests from before it was recorded.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tool_digest: String,
    /// SOURCE_DATE_EPOCH of the build: every timestamp in the image derives from it.
    pub source_date_epoch: u64,
    /// Files produced.
    pub outputs: Vec<OutputFile>,
    /// Packages installed.
    pub packages: Vec<PackageRecord>,
    /// Recipes used.
    pub recipes: Vec<RecipeDigest>,
    /// Other inputs.
    pub inputs: InputDigests,
    /// The partitions of the disk outputs, in table order (none for a tar-only build).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partitions: Vec<PartitionRecord>,
}

/// Whether `s` is a SHA-256 in lower-case hex.
pub(crate) fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl Manifest {
    /// Sorts every list (outputs and recipes by name, packages by name, version,
    /// architecture, input files by path) so the JSON does not depend on discovery order.
    pub fn normalize(&mut self) {
        self.outputs.sort();
        self.packages.sort();
        self.recipes.sort();
        self.inputs.guest_rootfs.sort();
    }

    /// Checks digests are SHA-256 hex and list keys are unique.
    pub fn validate(&self) -> Result<(), ManifestError> {
        if self.format != MANIFEST_FORMAT {
            return Err(ManifestError::Format { found: self.format });
        }
        let digest = |field: String, value: &str| {
            if is_sha256_hex(value) {
                Ok(())
            } else {
                Err(ManifestError::Digest {
                    field,
                    value: value.to_string(),
                })
            }
        };
        if !self.tool_digest.is_empty() {
            digest("tool_digest".into(), &self.tool_digest)?;
        }
        let mut seen = std::collections::BTreeSet::new();
        for o in &self.outputs {
            digest(format!("outputs[{}].sha256", o.name), &o.sha256)?;
            if !seen.insert(o.name.clone()) {
                return Err(ManifestError::Duplicate {
                    list: "outputs",
                    key: o.name.clone(),
                });
            }
        }
        seen.clear();
        for p in &self.packages {
            digest(format!("packages[{}].sha256", p.name), &p.sha256)?;
            let key = format!("{}:{}", p.name, p.architecture);
            if !seen.insert(key.clone()) {
                return Err(ManifestError::Duplicate {
                    list: "packages",
                    key,
                });
            }
        }
        seen.clear();
        for r in &self.recipes {
            digest(format!("recipes[{}].sha256", r.name), &r.sha256)?;
            if !seen.insert(r.name.clone()) {
                return Err(ManifestError::Duplicate {
                    list: "recipes",
                    key: r.name.clone(),
                });
            }
        }
        digest(
            "inputs.image_definition.sha256".into(),
            &self.inputs.image_definition.sha256,
        )?;
        digest(
            "inputs.lockfile.sha256".into(),
            &self.inputs.lockfile.sha256,
        )?;
        seen.clear();
        for f in &self.inputs.guest_rootfs {
            digest(format!("inputs.guest_rootfs[{}].sha256", f.path), &f.sha256)?;
            if !seen.insert(f.path.clone()) {
                return Err(ManifestError::Duplicate {
                    list: "inputs.guest_rootfs",
                    key: f.path.clone(),
                });
            }
        }
        Ok(())
    }

    /// The manifest as JSON: validated, lists sorted, pretty-printed (2-space indent), with a
    /// trailing newline. Same manifest, same bytes.
    pub fn to_json(&self) -> Result<String, ManifestError> {
        let mut sorted = self.clone();
        sorted.normalize();
        sorted.validate()?;
        let mut text = serde_json::to_string_pretty(&sorted)?;
        text.push('\n');
        Ok(text)
    }

    /// Reads and validates a manifest.
    pub fn from_json(text: &str) -> Result<Manifest, ManifestError> {
        let manifest: Manifest = serde_json::from_str(text)?;
        manifest.validate()?;
        Ok(manifest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(c: char) -> String {
        c.to_string().repeat(64)
    }

    fn sample() -> Manifest {
        Manifest {
            format: MANIFEST_FORMAT,
            image: ImageIdentity {
                name: "eflow".into(),
                version: "1.0.0".into(),
            },
            tool_version: "0.1.0".into(),
            tool_digest: digest('9'),
            source_date_epoch: 1_700_000_000,
            outputs: vec![
                OutputFile {
                    name: "eflow.vhdx".into(),
                    size: 42,
                    sha256: digest('b'),
                },
                OutputFile {
                    name: "eflow.raw".into(),
                    size: 4096,
                    sha256: digest('a'),
                },
            ],
            packages: vec![
                PackageRecord {
                    name: "zlib1g".into(),
                    version: "1:1.2.13.dfsg-1".into(),
                    architecture: "amd64".into(),
                    sha256: digest('c'),
                    source: PackageSource {
                        suite: "bookworm".into(),
                        origin: "Debian".into(),
                    },
                },
                PackageRecord {
                    name: "bash".into(),
                    version: "5.2.15-2+b2".into(),
                    architecture: "amd64".into(),
                    sha256: digest('d'),
                    source: PackageSource {
                        suite: "bookworm".into(),
                        origin: "Debian".into(),
                    },
                },
            ],
            recipes: vec![
                RecipeDigest {
                    name: "kernel".into(),
                    sha256: digest('e'),
                },
                RecipeDigest {
                    name: "base".into(),
                    sha256: digest('f'),
                },
            ],
            inputs: InputDigests {
                image_definition: FileDigest {
                    path: "recipes/images/eflow.toml".into(),
                    sha256: digest('1'),
                },
                lockfile: FileDigest {
                    path: "recipes/eflow.lock".into(),
                    sha256: digest('2'),
                },
                guest_rootfs: vec![
                    FileDigest {
                        path: "guest-rootfs/etc/b".into(),
                        sha256: digest('3'),
                    },
                    FileDigest {
                        path: "guest-rootfs/etc/a".into(),
                        sha256: digest('4'),
                    },
                ],
            },
            partitions: vec![PartitionRecord {
                number: 1,
                label: "root".into(),
                type_guid: "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709".into(),
                partuuid: "0133e3bb-a697-4105-959d-8057f2db4812".into(),
                offset: 1 << 20,
                size: 1 << 30,
                filesystem: Some("ext4".into()),
                mount: Some("/".into()),
                read_only: true,
            }],
        }
    }

    #[test]
    fn json_is_sorted_stable_and_round_trips() {
        let m = sample();
        let json = m.to_json().unwrap();
        assert!(json.ends_with("}\n"));
        // Field order is the declaration order.
        let order: Vec<usize> = [
            "\"format\"",
            "\"image\"",
            "\"tool_version\"",
            "\"tool_digest\"",
            "\"source_date_epoch\"",
            "\"outputs\"",
            "\"packages\"",
            "\"recipes\"",
            "\"inputs\"",
        ]
        .iter()
        .map(|k| json.find(k).unwrap())
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{json}");
        // Lists sorted whatever the input order.
        assert!(json.find("eflow.raw").unwrap() < json.find("eflow.vhdx").unwrap());
        assert!(json.find("\"bash\"").unwrap() < json.find("\"zlib1g\"").unwrap());
        assert!(json.find("etc/a").unwrap() < json.find("etc/b").unwrap());
        let mut shuffled = m.clone();
        shuffled.packages.reverse();
        shuffled.outputs.reverse();
        assert_eq!(shuffled.to_json().unwrap(), json);
        let back = Manifest::from_json(&json).unwrap();
        assert_eq!(back.to_json().unwrap(), json);
        // Manifests from before the tool digest was recorded still read.
        let mut old = m.clone();
        old.tool_digest.clear();
        let old_json = old.to_json().unwrap();
        assert!(!old_json.contains("tool_digest"), "{old_json}");
        let back = Manifest::from_json(&old_json).unwrap();
        assert!(back.tool_digest.is_empty());
        assert_eq!(back.to_json().unwrap(), old_json);
    }

    #[test]
    fn bad_manifests_are_refused() {
        let mut m = sample();
        m.outputs[0].sha256 = "ABC".into();
        assert!(matches!(m.to_json(), Err(ManifestError::Digest { .. })));
        let mut m = sample();
        m.recipes[1].name = "kernel".into();
        assert!(matches!(m.to_json(), Err(ManifestError::Duplicate { .. })));
        let json = sample().to_json().unwrap();
        assert!(Manifest::from_json(&json.replace("\"format\": 1", "\"format\": 2")).is_err());
        assert!(Manifest::from_json(
            &json.replace("\"tool_version\"", "\"extra\": 1, \"tool_version\"")
        )
        .is_err());
        for n in (0..json.len()).step_by(7) {
            assert!(Manifest::from_json(&json[..n]).is_err());
        }
        assert!(Manifest::from_json("\u{0}garbage").is_err());
    }
}
