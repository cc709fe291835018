//! The resolver: from the recipes' package requests to the closure of packages to install.
//!
//! The closure follows `Pre-Depends` and `Depends` only. `Recommends`/`Suggests` are not
//! followed, and `Essential`/`Priority: required` packages are not added implicitly: the
//! closure is exactly what the requests need, so an image contains only what a recipe asked for.
//!
//! Choices, all deterministic (requests in the given order, then a breadth-first walk, each
//! package's `Pre-Depends` before its `Depends`, in field order):
//! 1. A relation group `a | b | c` is satisfied by a package already selected (or requested:
//!    all requests are selected before any dependency is followed) if any alternative allows.
//! 2. Else the first alternative that a real package of that name satisfies: its highest
//!    version meeting the constraint across all suites (the candidate, or an older one, or one
//!    from another suite).
//! 3. Else the first alternative that a provider satisfies (a package whose `Provides` names
//!    it, with a matching `(= version)` when the relation is versioned): when several packages
//!    provide it, the one of highest `Priority` (required, important, standard, optional,
//!    extra, none), then the one whose name sorts first, at its highest providing version.
//!    Priority first makes `awk` resolve to `mawk` (required) rather than `gawk`, as apt does.
//!
//! A name is selected at one version only; a later relation that version doesn't meet is an
//! error (no backtracking). After the closure, `Conflicts` and `Breaks` between selected
//! packages are errors naming both packages.
//!
//! Architecture: the index holds packages of its arch and `all`; a `:any` relation is met by a
//! real package only if it is `Multi-Arch: allowed` (providers are accepted as they are);
//! `:native` and `:<arch of the index>` are met by any indexed package.

use crate::index::{Index, MultiArch, Package, PackageId};
use crate::relation::{self, display_group, Relation, RelationError};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;

/// One package wanted by a recipe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `name`, `name (>= 1.2)`, or alternatives `a | b`.
    pub package: String,
    /// The recipe asking for it.
    pub recipe: String,
}

/// One package of the closure, pinned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Package name.
    pub name: String,
    /// Version chosen.
    pub version: String,
    /// Architecture (`amd64` or `all`).
    pub architecture: String,
    /// Archive path of the .deb, relative to the suite's mirror base URI.
    pub filename: String,
    /// Size of the .deb in bytes.
    pub size: u64,
    /// SHA-256 of the .deb (lowercase hex).
    pub sha256: String,
    /// Suite the version was taken from.
    pub suite: String,
    /// The recipe that pulled it in: the first requester in the deterministic walk.
    pub recipe: String,
    /// Sorted: names of the selected packages whose relations it satisfies, and
    /// `recipe:<name>` for each recipe that requested it directly.
    pub required_by: Vec<String>,
}

/// One reason the requests cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A request string is not a valid relation.
    BadRequest {
        /// The recipe.
        recipe: String,
        /// The request text.
        request: String,
        /// Why.
        error: RelationError,
    },
    /// A relation field of an archive package doesn't parse.
    BadField {
        /// The package, `name version (suite)`.
        package: String,
        /// The field.
        field: &'static str,
        /// Why.
        error: RelationError,
    },
    /// No package satisfies a relation group.
    Unsatisfiable {
        /// `recipe "base" -> a -> b`: who needs it.
        chain: String,
        /// The relation group as written.
        relation: String,
        /// What is available and why it doesn't fit.
        detail: String,
    },
    /// Two selected packages conflict (`Conflicts` or `Breaks`).
    Conflict {
        /// The package declaring the relation, `name version`.
        package: String,
        /// `Conflicts` or `Breaks`.
        field: &'static str,
        /// The relation as written.
        relation: String,
        /// The selected package it hits, `name version`.
        other: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::BadRequest {
                recipe,
                request,
                error,
            } => write!(f, "recipe {recipe:?}: package request {request:?}: {error}"),
            Problem::BadField {
                package,
                field,
                error,
            } => write!(f, "{package}: field {field}: {error}"),
            Problem::Unsatisfiable {
                chain,
                relation,
                detail,
            } => write!(f, "{chain} -> {relation}: {detail}"),
            Problem::Conflict {
                package,
                field,
                relation,
                other,
            } => write!(
                f,
                "{package} {field} {relation}, but {other} is selected too: remove one of them from the recipes"
            ),
        }
    }
}

/// The requests cannot be resolved; every problem found is listed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ResolveError {
    /// The problems, in the order found.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "cannot resolve the package set ({} problem{}):",
            self.problems.len(),
            if self.problems.len() == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            writeln!(f, "  {p}")?;
        }
        Ok(())
    }
}

/// Who first asked for a selected package.
#[derive(Debug, Clone)]
enum Parent {
    Recipe(String),
    Package(String),
}

#[derive(Debug)]
struct Selected {
    id: PackageId,
    recipe: String,
    parent: Parent,
    required_by: BTreeSet<String>,
}

struct Resolver<'a> {
    index: &'a Index,
    selected: BTreeMap<String, Selected>,
    /// Virtual name -> selected providers (package names, sorted).
    provided: HashMap<String, BTreeSet<String>>,
    queue: VecDeque<String>,
    problems: Vec<Problem>,
}

/// Resolves `requests` against `index` into the sorted closure of packages to install.
pub fn resolve(index: &Index, requests: &[Request]) -> Result<Vec<Resolved>, ResolveError> {
    let mut r = Resolver {
        index,
        selected: BTreeMap::new(),
        provided: HashMap::new(),
        queue: VecDeque::new(),
        problems: Vec::new(),
    };
    for req in requests {
        let groups = match relation::parse_relations(&req.package) {
            Ok(g) if g.len() == 1 => g,
            Ok(g) => {
                r.problems.push(Problem::BadRequest {
                    recipe: req.recipe.clone(),
                    request: req.package.clone(),
                    error: RelationError {
                        field: req.package.clone(),
                        offset: 0,
                        message: format!(
                            "a request names one package (or alternatives), found {}",
                            g.len()
                        ),
                    },
                });
                continue;
            }
            Err(error) => {
                r.problems.push(Problem::BadRequest {
                    recipe: req.recipe.clone(),
                    request: req.package.clone(),
                    error,
                });
                continue;
            }
        };
        let root = Parent::Recipe(req.recipe.clone());
        r.satisfy(&groups[0], &root, &req.recipe);
    }
    while let Some(name) = r.queue.pop_front() {
        r.expand(&name);
    }
    r.check_conflicts();
    if !r.problems.is_empty() {
        return Err(ResolveError {
            problems: r.problems,
        });
    }
    Ok(r.selected
        .iter()
        .map(|(name, s)| {
            let p = index.package(s.id);
            Resolved {
                name: name.clone(),
                version: p.version.to_string(),
                architecture: p.architecture.clone(),
                filename: p.filename.clone(),
                size: p.size,
                sha256: p.sha256.clone(),
                suite: p.suite.to_string(),
                recipe: s.recipe.clone(),
                required_by: s.required_by.iter().cloned().collect(),
            }
        })
        .collect())
}

/// Debian priorities, most important first; unknown or missing sorts last.
fn priority_rank(priority: &str) -> u8 {
    match priority {
        "required" => 0,
        "important" => 1,
        "standard" => 2,
        "optional" => 3,
        "extra" => 4,
        _ => 5,
    }
}

fn describe(p: &Package) -> String {
    format!("{} {} ({})", p.name, p.version, p.suite)
}

impl Resolver<'_> {
    /// Whether real package `p` meets `rel` (name already matched).
    fn real_matches(&self, p: &Package, rel: &Relation) -> bool {
        let arch_ok = match rel.arch_qualifier.as_deref() {
            None | Some("native") => true,
            Some("any") => p.multi_arch == MultiArch::Allowed,
            Some(a) => a == self.index.arch(),
        };
        arch_ok
            && rel
                .constraint
                .as_ref()
                .is_none_or(|c| c.matches(p.version.as_str()))
    }

    /// Whether `provider` provides `rel.name` in a way that meets `rel`.
    fn provide_matches(p: &Package, rel: &Relation) -> bool {
        p.provides.iter().any(|pr| {
            pr.name == rel.name
                && match (&rel.constraint, &pr.constraint) {
                    (None, _) => true,
                    (Some(c), Some(pv)) => c.matches(pv.version.as_str()),
                    (Some(_), None) => false,
                }
        })
    }

    fn requester_name(parent: &Parent) -> String {
        match parent {
            Parent::Recipe(r) => format!("recipe:{r}"),
            Parent::Package(p) => p.clone(),
        }
    }

    /// Satisfies one relation group on behalf of `parent`, selecting a package if needed.
    fn satisfy(&mut self, group: &[Relation], parent: &Parent, recipe: &str) {
        let arch = self.index.arch().to_string();
        let alts: Vec<&Relation> = group.iter().filter(|r| r.applies_to_arch(&arch)).collect();
        if alts.is_empty() {
            return;
        }
        let who = Self::requester_name(parent);
        // 1. Already selected.
        for rel in &alts {
            if let Some(name) = self.selected_satisfying(rel) {
                if let Some(s) = self.selected.get_mut(&name) {
                    s.required_by.insert(who.clone());
                }
                return;
            }
        }
        // 2. A real package.
        for rel in &alts {
            if self.selected.contains_key(&rel.name) {
                continue; // selected at a version that doesn't fit: can't have two
            }
            let found = self
                .index
                .versions(&rel.name)
                .iter()
                .copied()
                .find(|&id| self.real_matches(self.index.package(id), rel));
            if let Some(id) = found {
                self.select(id, parent, recipe, who);
                return;
            }
        }
        // 3. A provider: highest Priority, then provider name, then best version (the
        // providers list is sorted by name then version; min_by_key keeps the first minimum).
        for rel in &alts {
            let found = self
                .index
                .providers(&rel.name)
                .iter()
                .filter(|pr| {
                    let p = self.index.package(pr.id);
                    !self.selected.contains_key(&p.name) && Self::provide_matches(p, rel)
                })
                .min_by_key(|pr| priority_rank(&self.index.package(pr.id).priority));
            if let Some(pr) = found {
                self.select(pr.id, parent, recipe, who);
                return;
            }
        }
        let detail = self.explain(&alts);
        self.problems.push(Problem::Unsatisfiable {
            chain: self.chain(parent),
            relation: display_group(group),
            detail,
        });
    }

    /// A selected package meeting `rel`, as a real package or as a provider.
    fn selected_satisfying(&self, rel: &Relation) -> Option<String> {
        if let Some(s) = self.selected.get(&rel.name) {
            if self.real_matches(self.index.package(s.id), rel) {
                return Some(rel.name.clone());
            }
        }
        self.provided.get(&rel.name).and_then(|names| {
            names
                .iter()
                .find(|n| {
                    self.selected
                        .get(*n)
                        .is_some_and(|s| Self::provide_matches(self.index.package(s.id), rel))
                })
                .cloned()
        })
    }

    fn select(&mut self, id: PackageId, parent: &Parent, recipe: &str, who: String) {
        let p = self.index.package(id);
        for pr in &p.provides {
            self.provided
                .entry(pr.name.clone())
                .or_default()
                .insert(p.name.clone());
        }
        self.selected.insert(
            p.name.clone(),
            Selected {
                id,
                recipe: recipe.to_string(),
                parent: parent.clone(),
                required_by: BTreeSet::from([who]),
            },
        );
        self.queue.push_back(p.name.clone());
    }

    /// Follows the Pre-Depends and Depends of selected package `name`.
    fn expand(&mut self, name: &str) {
        let Some(s) = self.selected.get(name) else {
            return;
        };
        let (id, recipe) = (s.id, s.recipe.clone());
        let p = self.index.package(id);
        let parent = Parent::Package(name.to_string());
        for field in ["Pre-Depends", "Depends"] {
            match p.relations(field) {
                Ok(groups) => {
                    for g in &groups {
                        self.satisfy(g, &parent, &recipe);
                    }
                }
                Err(error) => self.problems.push(Problem::BadField {
                    package: describe(p),
                    field: if field == "Depends" {
                        "Depends"
                    } else {
                        "Pre-Depends"
                    },
                    error,
                }),
            }
        }
    }

    /// `recipe "base" -> a -> b` for the requester `parent`.
    fn chain(&self, parent: &Parent) -> String {
        let mut names = Vec::new();
        let mut cur = parent.clone();
        // Parents were selected before their children, so this walk ends at a recipe; the bound
        // guards against a bug turning it into a loop.
        for _ in 0..=self.selected.len() {
            match cur {
                Parent::Recipe(r) => {
                    names.push(format!("recipe {r:?}"));
                    break;
                }
                Parent::Package(n) => {
                    let next = self.selected.get(&n).map(|s| s.parent.clone());
                    names.push(n);
                    match next {
                        Some(p) => cur = p,
                        None => break,
                    }
                }
            }
        }
        names.reverse();
        names.join(" -> ")
    }

    /// Why none of `alts` can be met: what the index has for each.
    fn explain(&self, alts: &[&Relation]) -> String {
        let one = |rel: &Relation| -> String {
            if let Some(s) = self.selected.get(&rel.name) {
                let p = self.index.package(s.id);
                return format!(
                    "{} is already selected at {} (required by {}), which does not satisfy it",
                    rel.name,
                    p.version,
                    s.required_by.iter().cloned().collect::<Vec<_>>().join(", ")
                );
            }
            let versions = self.index.versions(&rel.name);
            let providers = self.index.providers(&rel.name);
            if versions.is_empty() && providers.is_empty() {
                return format!(
                    "no package or provider named {:?} in the configured suites",
                    rel.name
                );
            }
            let mut avail: Vec<String> = versions
                .iter()
                .map(|&id| {
                    let p = self.index.package(id);
                    let ma = if rel.arch_qualifier.as_deref() == Some("any")
                        && p.multi_arch != MultiArch::Allowed
                    {
                        ", not Multi-Arch: allowed"
                    } else {
                        ""
                    };
                    format!("{} ({}{ma})", p.version, p.suite)
                })
                .collect();
            avail.extend(providers.iter().map(|pr| {
                let p = self.index.package(pr.id);
                match &pr.version {
                    Some(v) => format!("provided as {} by {}", v, describe(p)),
                    None => format!("provided (unversioned) by {}", describe(p)),
                }
            }));
            format!("no version satisfies; available: {}", avail.join(", "))
        };
        if alts.len() == 1 {
            one(alts[0])
        } else {
            let parts: Vec<String> = alts.iter().map(|r| format!("{r}: {}", one(r))).collect();
            format!("no alternative can be satisfied: {}", parts.join("; "))
        }
    }

    /// Conflicts and Breaks between selected packages.
    fn check_conflicts(&mut self) {
        let mut found = Vec::new();
        for (name, s) in &self.selected {
            let p = self.index.package(s.id);
            for field in ["Conflicts", "Breaks"] {
                let field: &'static str = if field == "Conflicts" {
                    "Conflicts"
                } else {
                    "Breaks"
                };
                let groups = match p.relations(field) {
                    Ok(g) => g,
                    Err(error) => {
                        found.push(Problem::BadField {
                            package: describe(p),
                            field,
                            error,
                        });
                        continue;
                    }
                };
                for rel in groups.iter().flatten() {
                    for other in self.hits(rel, name) {
                        let o = self.index.package(self.selected[&other].id);
                        found.push(Problem::Conflict {
                            package: format!("{} {}", p.name, p.version),
                            field,
                            relation: rel.to_string(),
                            other: format!("{} {}", o.name, o.version),
                        });
                    }
                }
            }
        }
        self.problems.extend(found);
    }

    /// Selected packages other than `own` that a Conflicts/Breaks relation `rel` matches.
    fn hits(&self, rel: &Relation, own: &str) -> Vec<String> {
        let mut out = Vec::new();
        if rel.name != own {
            if let Some(s) = self.selected.get(&rel.name) {
                let p = self.index.package(s.id);
                if rel
                    .constraint
                    .as_ref()
                    .is_none_or(|c| c.matches(p.version.as_str()))
                {
                    out.push(rel.name.clone());
                }
            }
        }
        if let Some(names) = self.provided.get(&rel.name) {
            for n in names {
                if n == own || out.contains(n) {
                    continue;
                }
                if let Some(s) = self.selected.get(n) {
                    let p = self.index.package(s.id);
                    if Self::provide_matches(p, rel) {
                        out.push(n.clone());
                    }
                }
            }
        }
        out
    }
}
