//! Component recipes (`recipes/NAME.toml`): packages, files, users, units, and the recipes they need.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::image::valid_name;
use super::toml_error::{self, DefinitionError};

/// A recipe as written in TOML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipeFile {
    pub recipe: RecipeSection,
    #[serde(default, rename = "file")]
    pub files: Vec<FileSpec>,
    #[serde(default, rename = "directory")]
    pub directories: Vec<DirSpec>,
    #[serde(default, rename = "symlink")]
    pub symlinks: Vec<SymlinkSpec>,
    #[serde(default, rename = "user")]
    pub users: Vec<UserDef>,
    #[serde(default, rename = "group")]
    pub groups: Vec<GroupDef>,
    #[serde(default, rename = "override")]
    pub overrides: Vec<OverrideSpec>,
    #[serde(default, rename = "file-mode")]
    pub file_modes: Vec<FileModeSpec>,
    #[serde(default, rename = "alternative")]
    pub alternatives: Vec<AlternativeSpec>,
}

/// `[recipe]`: identity, packages, units, and the recipes it builds on.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RecipeSection {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Other recipes this one needs (installed too, before it).
    #[serde(default)]
    pub depends: Vec<String>,
    /// Debian packages, optionally with a version constraint: `"openssh-server"`, `"bash (>= 5.2)"`.
    #[serde(default)]
    pub packages: Vec<String>,
    /// The package source they come from (a `[source.NAME]` of the image; default `debian`).
    #[serde(default)]
    pub source: Option<String>,
    /// Units enabled as `systemctl enable` would.
    #[serde(default)]
    pub enable: Vec<String>,
    /// Units masked (linked to /dev/null).
    #[serde(default)]
    pub mask: Vec<String>,
    /// Paths removed from the assembled tree (documentation, caches).
    #[serde(default)]
    pub remove: Vec<String>,
}

/// `[[file]]`: a file from the files directory (guest-rootfs/) installed into the guest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileSpec {
    /// Path relative to the files directory.
    pub source: PathBuf,
    /// Absolute path in the guest.
    pub path: String,
    #[serde(default = "default_file_mode")]
    pub mode: Mode,
    #[serde(default = "root")]
    pub owner: String,
    #[serde(default = "root")]
    pub group: String,
}

/// `[[directory]]`: a directory with its owner and mode.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DirSpec {
    pub path: String,
    #[serde(default = "default_dir_mode")]
    pub mode: Mode,
    #[serde(default = "root")]
    pub owner: String,
    #[serde(default = "root")]
    pub group: String,
}

/// `[[file-mode]]`: the mode and owner of a path a package ships (a file or a directory), as a
/// maintainer script's `chmod`/`chown` sets them. A path that no package of the image ships is
/// an error: use `[[file]]` or `[[directory]]` for what the recipe itself adds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileModeSpec {
    pub path: String,
    pub mode: Mode,
    #[serde(default = "root")]
    pub owner: String,
    #[serde(default = "root")]
    pub group: String,
}

/// `[[alternative]]`: one `update-alternatives --install LINK NAME PATH PRIORITY [--slave ...]`.
/// Entries of one `name` (in any recipe) are the choices of one group: the highest priority
/// is selected, and /var/lib/dpkg/alternatives/NAME records them all.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AlternativeSpec {
    pub name: String,
    pub link: String,
    pub path: String,
    pub priority: i32,
    #[serde(default)]
    pub slaves: Vec<SlaveSpec>,
}

/// A `--slave LINK NAME PATH` of an [`AlternativeSpec`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SlaveSpec {
    pub name: String,
    pub link: String,
    pub path: String,
}

/// `[[symlink]]`: a symbolic link.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SymlinkSpec {
    pub path: String,
    pub target: String,
}

/// `[[user]]`: an account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct UserDef {
    pub name: String,
    #[serde(default)]
    pub uid: Option<u32>,
    #[serde(default = "yes")]
    pub system: bool,
    #[serde(default)]
    pub home: Option<String>,
    #[serde(default)]
    pub shell: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
    /// Primary group (default: a group of the user's name).
    #[serde(default)]
    pub group: Option<String>,
    /// Supplementary groups.
    #[serde(default)]
    pub groups: Vec<String>,
    /// `false`: the home directory is not created (an account `useradd -r` makes without -m).
    #[serde(default)]
    pub create_home: Option<bool>,
}

/// `[[group]]`: a group.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GroupDef {
    pub name: String,
    #[serde(default)]
    pub gid: Option<u32>,
    #[serde(default = "yes")]
    pub system: bool,
    #[serde(default)]
    pub members: Vec<String>,
    /// Groups whose supplementary members also join this one (resolved at build time, after
    /// every other membership, users of other recipes included).
    #[serde(default)]
    pub members_from: Vec<String>,
}

/// `[[override]]`: which package wins a path that two packages ship with different contents.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct OverrideSpec {
    pub path: String,
    pub package: String,
}

/// A file mode written as an octal string ("0644") or an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode(pub u32);

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u32),
            S(String),
        }
        let n = match Raw::deserialize(d)? {
            Raw::N(n) => n,
            Raw::S(s) => u32::from_str_radix(s.trim_start_matches("0o"), 8).map_err(|_| {
                serde::de::Error::custom(format!("{s:?} is not an octal mode like \"0644\""))
            })?,
        };
        if n > 0o7777 {
            return Err(serde::de::Error::custom(format!(
                "mode {n:o} has bits beyond 07777"
            )));
        }
        Ok(Mode(n))
    }
}

fn default_file_mode() -> Mode {
    Mode(0o644)
}
fn default_dir_mode() -> Mode {
    Mode(0o755)
}
fn root() -> String {
    "root".into()
}
fn yes() -> bool {
    true
}

/// A loaded recipe with its source text (for error positions and input digests).
#[derive(Debug, Clone)]
pub struct Recipe {
    pub path: PathBuf,
    pub text: String,
    pub def: RecipeFile,
}

impl Recipe {
    /// Reads one recipe file and checks what can be checked without the others.
    pub fn load(path: &Path) -> Result<Recipe, DefinitionError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| DefinitionError::whole(path, format!("cannot read: {e}")))?;
        let def: RecipeFile = toml_error::parse(path, &text)?;
        let r = Recipe {
            path: path.to_path_buf(),
            text,
            def,
        };
        let err = |key: &str, hint: &str, msg: String| {
            DefinitionError::at(
                &r.path,
                &r.text,
                toml_error::find_key(&r.text, key, Some(hint)),
                msg,
            )
        };
        for p in r
            .def
            .files
            .iter()
            .map(|f| &f.path)
            .chain(r.def.directories.iter().map(|d| &d.path))
            .chain(r.def.symlinks.iter().map(|s| &s.path))
            .chain(r.def.overrides.iter().map(|o| &o.path))
            .chain(r.def.file_modes.iter().map(|m| &m.path))
        {
            if eflow_tree::normalize(p).is_err() {
                return Err(err(
                    "path",
                    p,
                    format!("key `path`: {p:?} must be an absolute path without '..'"),
                ));
            }
        }
        for f in &r.def.files {
            let s = f.source.to_string_lossy();
            if f.source.is_absolute()
                || f.source
                    .components()
                    .any(|c| matches!(c, std::path::Component::ParentDir))
            {
                return Err(err(
                    "source",
                    &s,
                    format!("key `file.source`: {s:?} must be relative to the files directory, without '..'"),
                ));
            }
        }
        for a in &r.def.alternatives {
            check_alternative(a).map_err(|(key, value, why)| {
                err(
                    key,
                    &value,
                    format!("key `alternative.{key}`: {value:?} {why}"),
                )
            })?;
        }
        for g in &r.def.groups {
            for from in &g.members_from {
                if !valid_name(from) {
                    return Err(err(
                        "members-from",
                        from,
                        format!("key `group.members-from`: {from:?} is not a valid group name"),
                    ));
                }
            }
        }
        for u in &r.def.users {
            if !valid_name(&u.name) {
                return Err(err(
                    "name",
                    &u.name,
                    format!("key `user.name`: {:?} is not a valid user name", u.name),
                ));
            }
        }
        Ok(r)
    }

    /// The recipe's name.
    pub fn name(&self) -> &str {
        &self.def.recipe.name
    }

    /// The package source its packages come from (`debian` unless the recipe names one).
    pub fn source(&self) -> &str {
        self.def.recipe.source.as_deref().unwrap_or("debian")
    }
}

/// What update-alternatives would refuse in one entry: (key, value, why).
fn check_alternative(a: &AlternativeSpec) -> Result<(), (&'static str, String, &'static str)> {
    let name_ok =
        |n: &str| !n.is_empty() && n != "." && n != ".." && !n.contains(['/', ' ', '\t', '\n']);
    let path_ok = |p: &str| p.starts_with('/') && eflow_tree::normalize(p).is_ok();
    let names = std::iter::once(&a.name).chain(a.slaves.iter().map(|s| &s.name));
    for n in names {
        if !name_ok(n) {
            return Err((
                "name",
                n.clone(),
                "must be non-empty, without slashes or blanks",
            ));
        }
    }
    let links = std::iter::once(&a.link).chain(a.slaves.iter().map(|s| &s.link));
    for l in links {
        if !path_ok(l) {
            return Err(("link", l.clone(), "must be an absolute path without '..'"));
        }
    }
    let paths = std::iter::once(&a.path).chain(a.slaves.iter().map(|s| &s.path));
    for p in paths {
        if !path_ok(p) {
            return Err(("path", p.clone(), "must be an absolute path without '..'"));
        }
    }
    Ok(())
}

/// The recipes of an image, in installation order (dependencies first).
#[derive(Debug, Clone)]
pub struct RecipeSet {
    pub recipes: Vec<Recipe>,
}

impl RecipeSet {
    /// Loads the named recipes and everything they depend on from `dir`.
    ///
    /// Order: a depth-first walk in the order names are listed, dependencies first, so the
    /// result is stable. A cycle is an error naming it (`a -> b -> a`); an unknown recipe is
    /// an error naming the file and line that asked for it.
    pub fn load(
        dir: &Path,
        roots: &[String],
        asked_by: (&Path, &str),
    ) -> Result<RecipeSet, DefinitionError> {
        let mut loaded: BTreeMap<String, Recipe> = BTreeMap::new();
        let mut order = Vec::new();
        let mut done = BTreeSet::new();
        for name in roots {
            let mut stack = Vec::new();
            visit(
                dir,
                name,
                asked_by,
                &mut loaded,
                &mut stack,
                &mut done,
                &mut order,
            )?;
        }
        let recipes = order
            .into_iter()
            .map(|n| loaded.remove(&n).expect("every visited recipe was loaded"))
            .collect();
        Ok(RecipeSet { recipes })
    }
}

fn visit(
    dir: &Path,
    name: &str,
    asked_by: (&Path, &str),
    loaded: &mut BTreeMap<String, Recipe>,
    stack: &mut Vec<String>,
    done: &mut BTreeSet<String>,
    order: &mut Vec<String>,
) -> Result<(), DefinitionError> {
    let (from_file, from_text) = asked_by;
    let at_ref = |msg: String| {
        DefinitionError::at(
            from_file,
            from_text,
            toml_error::find_key(from_text, "recipes", Some(&format!("\"{name}\""))).max(
                toml_error::find_key(from_text, "depends", Some(&format!("\"{name}\""))),
            ),
            msg,
        )
    };
    if done.contains(name) {
        return Ok(());
    }
    if let Some(pos) = stack.iter().position(|n| n == name) {
        let mut cycle: Vec<&str> = stack[pos..].iter().map(String::as_str).collect();
        cycle.push(name);
        return Err(at_ref(format!(
            "recipe dependency cycle: {}",
            cycle.join(" -> ")
        )));
    }
    if !valid_name(name) {
        return Err(at_ref(format!("{name:?} is not a valid recipe name")));
    }
    let path = dir.join(format!("{name}.toml"));
    if !loaded.contains_key(name) {
        if !path.is_file() {
            return Err(at_ref(format!(
                "unknown recipe {name:?}: there is no {}",
                path.display()
            )));
        }
        let r = Recipe::load(&path)?;
        if r.name() != name {
            return Err(DefinitionError::at(
                &r.path,
                &r.text,
                toml_error::find_key(&r.text, "name", None),
                format!(
                    "key `recipe.name`: the file is {name}.toml but the recipe calls itself {:?}",
                    r.name()
                ),
            ));
        }
        loaded.insert(name.to_string(), r);
    }
    stack.push(name.to_string());
    let (deps, rpath, rtext) = {
        let r = &loaded[name];
        (r.def.recipe.depends.clone(), r.path.clone(), r.text.clone())
    };
    for d in &deps {
        visit(dir, d, (&rpath, &rtext), loaded, stack, done, order)?;
    }
    stack.pop();
    done.insert(name.to_string());
    order.push(name.to_string());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, body: &str) {
        std::fs::write(dir.join(format!("{name}.toml")), body).unwrap();
    }

    #[test]
    fn cycle_is_named() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "a", "[recipe]\nname = \"a\"\ndepends = [\"b\"]\n");
        write(d.path(), "b", "[recipe]\nname = \"b\"\ndepends = [\"c\"]\n");
        write(d.path(), "c", "[recipe]\nname = \"c\"\ndepends = [\"a\"]\n");
        let img = d.path().join("img.toml");
        let e = RecipeSet::load(d.path(), &["a".into()], (&img, "recipes = [\"a\"]")).unwrap_err();
        assert!(e.message.contains("a -> b -> c -> a"), "{e}");
        assert!(e.file.ends_with("c.toml"), "{e}");
        assert_eq!(e.line, 3, "{e}");
    }

    #[test]
    fn unknown_recipe_names_the_asking_line() {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            "a",
            "[recipe]\nname = \"a\"\n\ndepends = [\"nope\"]\n",
        );
        let img = d.path().join("img.toml");
        let e = RecipeSet::load(d.path(), &["a".into()], (&img, "recipes = [\"a\"]")).unwrap_err();
        assert!(e.message.contains("unknown recipe \"nope\""), "{e}");
        assert_eq!(e.line, 4);
    }

    #[test]
    fn order_is_dependencies_first() {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            "a",
            "[recipe]\nname = \"a\"\ndepends = [\"b\", \"c\"]\n",
        );
        write(d.path(), "b", "[recipe]\nname = \"b\"\ndepends = [\"c\"]\n");
        write(d.path(), "c", "[recipe]\nname = \"c\"\n");
        let img = d.path().join("img.toml");
        let s = RecipeSet::load(d.path(), &["a".into()], (&img, "")).unwrap();
        let names: Vec<_> = s.recipes.iter().map(|r| r.name().to_string()).collect();
        assert_eq!(names, vec!["c", "b", "a"]);
    }

    #[test]
    fn bad_mode_names_line_and_key() {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            "a",
            "[recipe]\nname = \"a\"\n[[file]]\nsource = \"x\"\npath = \"/x\"\nmode = \"0999\"\n",
        );
        let e = Recipe::load(&d.path().join("a.toml")).unwrap_err();
        assert_eq!(e.line, 6, "{e}");
        assert!(e.message.contains("0999"), "{e}");
    }

    #[test]
    fn bad_alternative_and_members_from_name_line_and_key() {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            "a",
            "[recipe]\nname = \"a\"\n[[alternative]]\nname = \"x\"\nlink = \"usr/bin/x\"\npath = \"/usr/bin/y\"\npriority = 1\n",
        );
        let e = Recipe::load(&d.path().join("a.toml")).unwrap_err();
        assert_eq!(e.line, 5, "{e}");
        assert!(e.message.contains("alternative.link"), "{e}");
        write(
            d.path(),
            "b",
            "[recipe]\nname = \"b\"\n[[group]]\nname = \"g\"\nmembers-from = [\"Sudo!\"]\n",
        );
        let e = Recipe::load(&d.path().join("b.toml")).unwrap_err();
        assert_eq!(e.line, 5, "{e}");
        assert!(e.message.contains("group.members-from"), "{e}");
        write(
            d.path(),
            "c",
            "[recipe]\nname = \"c\"\n[[file-mode]]\npath = \"/x\"\nmode = \"0400\"\nowner = \"u\"\nextra = 1\n",
        );
        let e = Recipe::load(&d.path().join("c.toml")).unwrap_err();
        assert!(e.message.contains("extra"), "{e}");
    }
}
