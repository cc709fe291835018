//! The package index: every binary package of every configured suite, by name and by the
//! virtual names they provide.
//!
//! Only the fields the resolver and the fetch stage need are kept; relation fields other than
//! `Provides` are kept as text and parsed when the resolver visits the package, so that a large
//! Packages file costs one pass and few allocations.

use crate::deb822;
use crate::relation::{self, Relation, RelationError};
use crate::version::{Version, VersionError};
use std::collections::HashMap;
use std::sync::Arc;

/// Why a Packages file could not be indexed. `origin` names the file (usually its URL).
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The deb822 syntax is broken.
    #[error("{origin}: {source}")]
    Syntax {
        /// The file.
        origin: String,
        /// The syntax error, with its line.
        source: deb822::Deb822Error,
    },
    /// A stanza lacks a field every binary package must have.
    #[error("{origin}: line {line}: package {package:?} has no {field} field")]
    MissingField {
        /// The file.
        origin: String,
        /// Line of the stanza.
        line: usize,
        /// Package name, or "?" when `Package` itself is missing.
        package: String,
        /// The missing field.
        field: &'static str,
    },
    /// A field value is malformed.
    #[error("{origin}: line {line}: package {package:?}: field {field}: {message}")]
    BadField {
        /// The file.
        origin: String,
        /// Line of the field.
        line: usize,
        /// Package name.
        package: String,
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// The `Multi-Arch` field of a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MultiArch {
    /// No field, or `no`.
    No,
    /// `same`: co-installable with itself for other architectures.
    Same,
    /// `foreign`: satisfies dependencies of packages of any architecture.
    Foreign,
    /// `allowed`: satisfies `pkg:any` dependencies.
    Allowed,
}

/// One binary package of one suite.
#[derive(Debug, Clone)]
pub struct Package {
    /// Package name.
    pub name: String,
    /// Version.
    pub version: Version,
    /// Architecture (`amd64`, `all`, ...).
    pub architecture: String,
    /// Multi-Arch field.
    pub multi_arch: MultiArch,
    /// Path of the .deb in the archive, relative to the mirror's base URI.
    pub filename: String,
    /// Size of the .deb in bytes.
    pub size: u64,
    /// SHA-256 of the .deb, lowercase hex.
    pub sha256: String,
    /// The suite whose index listed it (shared by all packages of that index).
    pub suite: Arc<str>,
    /// The component (`main`, ...).
    pub component: Arc<str>,
    /// `Essential: yes`.
    pub essential: bool,
    /// `Priority` field (empty when absent).
    pub priority: String,
    /// `Depends` as written (empty when absent).
    pub depends: String,
    /// `Pre-Depends` as written.
    pub pre_depends: String,
    /// `Conflicts` as written.
    pub conflicts: String,
    /// `Breaks` as written.
    pub breaks: String,
    /// `Provides`, parsed (only `=` versions).
    pub provides: Vec<Relation>,
    /// Where the stanza was read: origin and line, for error messages.
    pub origin: Arc<str>,
    /// Line of the stanza in `origin`.
    pub line: usize,
}

impl Package {
    /// Parses one relation field of this package, naming the package on error.
    pub fn relations(&self, field: &str) -> Result<Vec<Vec<Relation>>, RelationError> {
        let text = match field {
            "Depends" => &self.depends,
            "Pre-Depends" => &self.pre_depends,
            "Conflicts" => &self.conflicts,
            "Breaks" => &self.breaks,
            _ => "",
        };
        relation::parse_relations(text)
    }
}

/// Strings shared by every package of one Packages file.
struct Shared {
    suite: Arc<str>,
    component: Arc<str>,
    origin: Arc<str>,
}

/// Identifies a package in an [`Index`].
pub type PackageId = usize;

/// A package providing a virtual name, with the version it provides (if versioned).
#[derive(Debug, Clone)]
pub struct Provider {
    /// The providing package.
    pub id: PackageId,
    /// The `(= version)` of the Provides entry.
    pub version: Option<Version>,
}

/// All packages of all suites added so far.
#[derive(Debug, Default)]
pub struct Index {
    arch: String,
    suites: Vec<String>,
    packages: Vec<Package>,
    by_name: HashMap<String, Vec<PackageId>>,
    provides: HashMap<String, Vec<Provider>>,
}

impl Index {
    /// An empty index for binary architecture `arch` (packages of `arch` and `all` are kept).
    pub fn new(arch: &str) -> Index {
        Index {
            arch: arch.to_string(),
            ..Index::default()
        }
    }

    /// The architecture this index is for.
    pub fn arch(&self) -> &str {
        &self.arch
    }

    /// The suites in the order they were first added: the tie-break order for equal versions.
    pub fn suites(&self) -> &[String] {
        &self.suites
    }

    /// Number of packages indexed.
    pub fn len(&self) -> usize {
        self.packages.len()
    }

    /// Whether no package is indexed.
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
    }

    /// The package with id `id`.
    pub fn package(&self, id: PackageId) -> &Package {
        &self.packages[id]
    }

    /// All versions of real package `name`, best first: highest version, then earlier suite.
    pub fn versions(&self, name: &str) -> &[PackageId] {
        self.by_name.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The candidate for `name`: the highest version across suites.
    pub fn candidate(&self, name: &str) -> Option<&Package> {
        self.versions(name).first().map(|&id| &self.packages[id])
    }

    /// Packages providing virtual name `name`, ordered by provider name then best version.
    pub fn providers(&self, name: &str) -> &[Provider] {
        self.provides.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Adds the packages of one Packages file (`text`) of `suite`/`component`; `origin` names
    /// the file in error messages. Returns the number of packages kept.
    pub fn add_packages(
        &mut self,
        suite: &str,
        component: &str,
        origin: &str,
        text: &str,
    ) -> Result<usize, IndexError> {
        if !self.suites.iter().any(|s| s == suite) {
            self.suites.push(suite.to_string());
        }
        let first_new = self.packages.len();
        let shared = Shared {
            suite: Arc::from(suite),
            component: Arc::from(component),
            origin: Arc::from(origin),
        };
        for stanza in deb822::parse(text) {
            let stanza = stanza.map_err(|source| IndexError::Syntax {
                origin: origin.to_string(),
                source,
            })?;
            if let Some(p) = self.read_stanza(&stanza, &shared)? {
                self.packages.push(p);
            }
        }
        let added = self.packages.len() - first_new;
        for id in first_new..self.packages.len() {
            let p = &self.packages[id];
            self.by_name.entry(p.name.clone()).or_default().push(id);
            for prov in &p.provides {
                self.provides
                    .entry(prov.name.clone())
                    .or_default()
                    .push(Provider {
                        id,
                        version: prov.constraint.as_ref().map(|c| c.version.clone()),
                    });
            }
        }
        self.sort();
        Ok(added)
    }

    /// Restores the documented orders after additions.
    fn sort(&mut self) {
        let packages = &self.packages;
        let rank: HashMap<&str, usize> = self
            .suites
            .iter()
            .enumerate()
            .map(|(i, s)| (s.as_str(), i))
            .collect();
        let best_first = |a: &PackageId, b: &PackageId| {
            let (pa, pb) = (&packages[*a], &packages[*b]);
            pb.version
                .cmp(&pa.version)
                .then_with(|| rank[&*pa.suite].cmp(&rank[&*pb.suite]))
                .then_with(|| a.cmp(b))
        };
        for ids in self.by_name.values_mut() {
            ids.sort_by(best_first);
        }
        for provs in self.provides.values_mut() {
            provs.sort_by(|a, b| {
                packages[a.id]
                    .name
                    .cmp(&packages[b.id].name)
                    .then_with(|| best_first(&a.id, &b.id))
            });
        }
    }

    fn read_stanza(
        &self,
        st: &deb822::Stanza<'_>,
        shared: &Shared,
    ) -> Result<Option<Package>, IndexError> {
        let origin = &*shared.origin;
        let pkg_name = st.get("Package").unwrap_or("?");
        let missing = |field: &'static str| IndexError::MissingField {
            origin: origin.to_string(),
            line: st.line,
            package: pkg_name.to_string(),
            field,
        };
        let bad = |field: &'static str, message: String| IndexError::BadField {
            origin: origin.to_string(),
            line: st.field(field).map_or(st.line, |f| f.line),
            package: pkg_name.to_string(),
            field,
            message,
        };
        let name = st.get("Package").ok_or_else(|| missing("Package"))?;
        let arch = st
            .get("Architecture")
            .ok_or_else(|| missing("Architecture"))?;
        if arch != self.arch && arch != "all" {
            return Ok(None);
        }
        let version = st.get("Version").ok_or_else(|| missing("Version"))?;
        let version =
            Version::parse(version).map_err(|e: VersionError| bad("Version", e.to_string()))?;
        let filename = st.get("Filename").ok_or_else(|| missing("Filename"))?;
        let size = st.get("Size").ok_or_else(|| missing("Size"))?;
        let size: u64 = size
            .parse()
            .map_err(|_| bad("Size", format!("{size:?} is not a byte count")))?;
        let sha256 = st.get("SHA256").ok_or_else(|| missing("SHA256"))?;
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad(
                "SHA256",
                format!("{sha256:?} is not a SHA-256 hex digest"),
            ));
        }
        let multi_arch = match st.get("Multi-Arch").unwrap_or("no") {
            "same" => MultiArch::Same,
            "foreign" => MultiArch::Foreign,
            "allowed" => MultiArch::Allowed,
            _ => MultiArch::No,
        };
        let provides = relation::parse_provides(st.get("Provides").unwrap_or(""))
            .map_err(|e| bad("Provides", e.to_string()))?;
        let text = |f: &str| st.get(f).unwrap_or("").to_string();
        Ok(Some(Package {
            name: name.to_string(),
            version,
            architecture: arch.to_string(),
            multi_arch,
            filename: filename.to_string(),
            size,
            sha256: sha256.to_ascii_lowercase(),
            suite: shared.suite.clone(),
            component: shared.component.clone(),
            essential: st.get("Essential") == Some("yes"),
            priority: text("Priority"),
            depends: text("Depends"),
            pre_depends: text("Pre-Depends"),
            conflicts: text("Conflicts"),
            breaks: text("Breaks"),
            provides,
            origin: shared.origin.clone(),
            line: st.line,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn stanza(name: &str, version: &str, extra: &str) -> String {
        format!(
            "Package: {name}\nVersion: {version}\nArchitecture: amd64\nFilename: pool/main/{name}_{version}_amd64.deb\nSize: 100\nSHA256: {}\n{extra}\n",
            "ab".repeat(32)
        )
    }

    #[test]
    fn candidate_across_suites() {
        let mut idx = Index::new("amd64");
        let a = [
            stanza("libssl3", "3.0.11-1~deb12u2", ""),
            stanza("foo", "1.0", "Provides: bar (= 2), baz"),
        ]
        .join("\n");
        let b = [
            stanza("libssl3", "3.0.15-1~deb12u1", ""),
            stanza("foo", "1.0", ""),
        ]
        .join("\n");
        assert_eq!(idx.add_packages("bookworm", "main", "a", &a).unwrap(), 2);
        assert_eq!(
            idx.add_packages("bookworm-security", "main", "b", &b)
                .unwrap(),
            2
        );
        let c = idx.candidate("libssl3").unwrap();
        assert_eq!(c.version.as_str(), "3.0.15-1~deb12u1");
        assert_eq!(&*c.suite, "bookworm-security");
        // Equal versions: the earlier suite wins.
        assert_eq!(&*idx.candidate("foo").unwrap().suite, "bookworm");
        assert_eq!(idx.providers("bar").len(), 1);
        assert_eq!(
            idx.providers("bar")[0].version.as_ref().unwrap().as_str(),
            "2"
        );
        assert!(idx.candidate("nope").is_none());
    }

    #[test]
    fn other_arches_are_skipped_and_errors_name_the_line() {
        let mut idx = Index::new("amd64");
        let text = "Package: x\nVersion: 1\nArchitecture: arm64\n\n";
        assert_eq!(idx.add_packages("s", "main", "f", text).unwrap(), 0);
        let text = format!(
            "{}\nPackage: y\nVersion: 1\nArchitecture: all\n",
            stanza("x", "1", "")
        );
        let e = idx
            .add_packages("s", "main", "Packages", &text)
            .unwrap_err();
        assert!(e.to_string().contains("Packages: line 9"), "{e}");
        assert!(e.to_string().contains("Filename"), "{e}");
        let text = stanza("x", "1:", "");
        let e = idx.add_packages("s", "main", "P", &text).unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        let text = stanza("x", "1", "Provides: a | b");
        let e = idx.add_packages("s", "main", "P", &text).unwrap_err();
        assert!(e.to_string().contains("Provides"), "{e}");
    }

    #[test]
    fn garbage_never_panics() {
        let base = [
            stanza("a", "1:2.0-1", "Provides: v (= 1)\nDepends: b"),
            stanza("b", "1", "Multi-Arch: allowed"),
        ]
        .join("\n");
        let b = base.as_bytes();
        for n in (0..=b.len()).step_by(3) {
            if let Ok(t) = std::str::from_utf8(&b[..n]) {
                let _ = Index::new("amd64").add_packages("s", "main", "f", t);
            }
        }
        for i in 0..b.len() {
            for bit in [0, 3, 5, 7] {
                let mut m = b.to_vec();
                m[i] ^= 1 << bit;
                if let Ok(t) = std::str::from_utf8(&m) {
                    let _ = Index::new("amd64").add_packages("s", "main", "f", t);
                }
            }
        }
    }
}
