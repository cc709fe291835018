//! The image definition (`recipes/images/NAME.toml`): what to build and how to lay it out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::partition;
pub use super::partition::PartitionSection;
use super::size::Size;
use super::toml_error::{self, DefinitionError};

/// An image definition as written in TOML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageFile {
    pub image: ImageSection,
    #[serde(default)]
    pub source: BTreeMap<String, SourceSection>,
    #[serde(default, rename = "partition")]
    pub partitions: Vec<PartitionSection>,
    #[serde(default, rename = "output")]
    pub outputs: Vec<OutputSection>,
    #[serde(default)]
    pub boot: Option<BootSection>,
    /// How the IoT Edge runtime connects to Azure, rendered into /etc/aziot/config.toml
    /// (root, 0600). Absent: the device is provisioned later, through the guest agent.
    /// Secrets given here end up in the image: prefer provisioning at first boot.
    #[serde(default)]
    pub provisioning: Option<eflow_guest_agent::Provisioning>,
}

/// Debian's per-package license files: never filtered out.
const COPYRIGHT_FILES: &str = "/usr/share/doc/*/copyright";

/// `[image]`: identity and the recipes that make it up.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ImageSection {
    pub name: String,
    pub version: String,
    pub recipes: Vec<String>,
    /// The guest's host name (default: the image name).
    #[serde(default)]
    pub hostname: Option<String>,
    /// The virtual disk size (default: just large enough for the content; the guest grows
    /// its root filesystem into whatever size the disk is given later).
    #[serde(default)]
    pub disk_size: Option<Size>,
    /// Where recipes live, relative to this file (default `..`).
    #[serde(default)]
    pub recipe_dir: Option<PathBuf>,
    /// Where the files recipes install come from, relative to this file (default `../../guest-rootfs`).
    #[serde(default)]
    pub files_dir: Option<PathBuf>,
    /// Package paths left out of the guest, as dpkg's `path-exclude` (shell globs on absolute
    /// paths, `*` also matching `/`): documentation, manual pages, locales.
    #[serde(default)]
    pub path_exclude: Vec<String>,
    /// Paths kept although a `path-exclude` pattern matches them (dpkg's `path-include`).
    /// Copyright files (`/usr/share/doc/*/copyright`) are always kept: the SBOM's licenses
    /// come from them.
    #[serde(default)]
    pub path_include: Vec<String>,
}

/// `[source.NAME]`: a Debian-style package repository.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SourceSection {
    pub suites: Vec<String>,
    #[serde(default = "default_components")]
    pub components: Vec<String>,
    #[serde(default = "default_arch")]
    pub architecture: String,
    /// OpenPGP keyring that signs the repository's InRelease files.
    #[serde(default)]
    pub keyring: Option<PathBuf>,
    /// A fixed mirror for this source; `debian` takes it from --mirror,
    /// EFLOW_DEBIAN_MIRROR or the host's apt sources when absent.
    #[serde(default)]
    pub mirror: Option<String>,
}

fn default_components() -> Vec<String> {
    vec!["main".into()]
}

fn default_arch() -> String {
    "amd64".into()
}

/// `[[output]]`: a file the build produces.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct OutputSection {
    pub format: super::OutputFormat,
    #[serde(default)]
    pub block_size: Option<Size>,
}

/// `[boot]`: the kernel command line and the initramfs drivers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BootSection {
    #[serde(default)]
    pub cmdline: Option<String>,
    #[serde(default)]
    pub modules: Vec<String>,
}

/// A loaded image definition: its parsed contents and where they came from.
#[derive(Debug, Clone)]
pub struct Image {
    pub path: PathBuf,
    pub text: String,
    pub def: ImageFile,
}

impl Image {
    /// Reads and validates an image definition.
    pub fn load(path: &Path) -> Result<Image, DefinitionError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| DefinitionError::whole(path, format!("cannot read: {e}")))?;
        let mut def: ImageFile = toml_error::parse(path, &text)?;
        partition::default_root_mount(&mut def.partitions);
        let image = Image {
            path: path.to_path_buf(),
            text,
            def,
        };
        image.validate()?;
        Ok(image)
    }

    fn err_at(&self, key: &str, hint: Option<&str>, msg: impl Into<String>) -> DefinitionError {
        let off = toml_error::find_key(&self.text, key, hint);
        DefinitionError::at(&self.path, &self.text, off, msg)
    }

    fn validate(&self) -> Result<(), DefinitionError> {
        let img = &self.def.image;
        if !valid_name(&img.name) {
            return Err(self.err_at(
                "name",
                None,
                format!(
                    "key `image.name`: {:?} is not a valid name (letters, digits, '-', '_', '.')",
                    img.name
                ),
            ));
        }
        if img.recipes.is_empty() {
            return Err(self.err_at("recipes", None, "key `image.recipes`: the list is empty"));
        }
        if img.disk_size == Some(Size::Rest) {
            return Err(self.err_at(
                "disk-size",
                None,
                "key `image.disk-size`: give a size such as \"4GiB\"; \"rest\" is for partitions",
            ));
        }
        for (key, patterns) in [
            ("path-exclude", &img.path_exclude),
            ("path-include", &img.path_include),
        ] {
            if let Some(bad) = patterns.iter().find(|p| !p.starts_with('/')) {
                return Err(self.err_at(
                    key,
                    None,
                    format!("key `image.{key}`: {bad:?} is not an absolute path pattern (start it with '/', as dpkg requires)"),
                ));
            }
        }
        if let Err(problem) = partition::validate(&self.def.partitions) {
            let off =
                toml_error::find_in_array(&self.text, "partition", problem.index, problem.key);
            return Err(DefinitionError::at(
                &self.path,
                &self.text,
                off,
                problem.message,
            ));
        }
        if let Some(p) = &self.def.provisioning {
            p.validate()
                .map_err(|e| self.err_at("kind", None, format!("section `provisioning`: {e}")))?;
        }
        Ok(())
    }

    /// The directory recipes are looked up in.
    pub fn recipe_dir(&self) -> PathBuf {
        self.relative(self.def.image.recipe_dir.as_deref(), Path::new(".."))
    }

    /// The directory that recipes' `[[file]] source` paths are relative to.
    pub fn files_dir(&self) -> PathBuf {
        self.relative(
            self.def.image.files_dir.as_deref(),
            Path::new("../../guest-rootfs"),
        )
    }

    fn relative(&self, given: Option<&Path>, default: &Path) -> PathBuf {
        let base = self.path.parent().unwrap_or(Path::new("."));
        base.join(given.unwrap_or(default))
    }

    /// Where the lockfile of this image lives: next to it, `NAME.lock`.
    pub fn lock_path(&self) -> PathBuf {
        self.path.with_extension("lock")
    }

    /// The partition mounted at `/` (validated to exist when there are partitions).
    pub fn root_partition(&self) -> Option<&PartitionSection> {
        self.def
            .partitions
            .iter()
            .find(|p| p.mount.as_deref() == Some("/"))
    }

    /// The path filters in the order dpkg would apply them: every exclude, then every
    /// include, then the copyright files, which are never left out.
    pub fn path_filters(&self) -> Vec<eflow_deb::PathFilter> {
        let img = &self.def.image;
        let filter = |pattern: &String, include| eflow_deb::PathFilter {
            pattern: pattern.clone(),
            include,
        };
        let mut filters: Vec<_> = img.path_exclude.iter().map(|p| filter(p, false)).collect();
        if filters.is_empty() {
            return filters;
        }
        filters.extend(img.path_include.iter().map(|p| filter(p, true)));
        filters.push(filter(&COPYRIGHT_FILES.to_string(), true));
        filters
    }

    /// The host name the guest gets.
    pub fn hostname(&self) -> &str {
        self.def
            .image
            .hostname
            .as_deref()
            .unwrap_or(&self.def.image.name)
    }
}

/// Names of images, recipes, users: a conservative character set that is safe in paths.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Image, DefinitionError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("img.toml");
        std::fs::write(&p, text).unwrap();
        Image::load(&p)
    }

    #[test]
    fn unknown_key_names_line_and_key() {
        let e = load("[image]\nname = \"x\"\nversion = \"1\"\nrecipes = [\"a\"]\ncolour = 3\n")
            .unwrap_err();
        assert_eq!(e.line, 5, "{e}");
        assert!(e.message.contains("colour"), "{e}");
    }

    #[test]
    fn rest_only_last() {
        let e = load(
            "[image]\nname = \"x\"\nversion = \"1\"\nrecipes = [\"a\"]\n\
             [[partition]]\nlabel = \"a\"\ntype = \"esp\"\nsize = \"rest\"\n\
             [[partition]]\nlabel = \"b\"\ntype = \"linux-root-x86-64\"\nsize = \"1GiB\"\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 8, "{e}");
    }

    #[test]
    fn bad_size_is_reported_at_its_line() {
        let e = load(
            "[image]\nname = \"x\"\nversion = \"1\"\nrecipes = [\"a\"]\n\
             [[partition]]\nlabel = \"a\"\ntype = \"esp\"\nsize = \"12 parsecs\"\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 8, "{e}");
        assert!(e.message.contains("parsecs"), "{e}");
    }
}
