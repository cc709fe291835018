//! The files a build can deliver, named once for the image definition (`[[output]] format`),
//! the command line (`build --format`, `convert --to`), file names and the manifest.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One kind of output file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum OutputFormat {
    /// The root filesystem as a tar archive (`NAME.rootfs.tar`).
    Tar,
    /// The disk as a sparse raw file (`NAME.raw`).
    Raw,
    /// A dynamic VHDX: only blocks holding data are stored (`NAME.vhdx`).
    Vhdx,
    /// A fixed VHDX: every block stored (`NAME-fixed.vhdx`).
    VhdxFixed,
    /// A fixed VHD, the raw disk and a footer, what Azure takes (`NAME.vhd`).
    Vhd,
}

impl OutputFormat {
    /// Every format, in the order outputs are written.
    pub const ALL: [OutputFormat; 5] = [
        OutputFormat::Tar,
        OutputFormat::Raw,
        OutputFormat::Vhdx,
        OutputFormat::VhdxFixed,
        OutputFormat::Vhd,
    ];

    /// The name in image definitions, on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Tar => "tar",
            OutputFormat::Raw => "raw",
            OutputFormat::Vhdx => "vhdx",
            OutputFormat::VhdxFixed => "vhdx-fixed",
            OutputFormat::Vhd => "vhd",
        }
    }

    /// The output's file name for an image called `image`.
    pub fn file_name(self, image: &str) -> String {
        match self {
            OutputFormat::Tar => format!("{image}.rootfs.tar"),
            OutputFormat::VhdxFixed => format!("{image}-fixed.vhdx"),
            other => format!("{image}.{}", other.name()),
        }
    }

    /// Whether the output is a whole disk (needs the boot, format and disk stages).
    pub fn is_disk(self) -> bool {
        self != OutputFormat::Tar
    }

    /// The disk format a file name implies: `.vhdx`, `.vhd`, `.raw` or `.img`.
    pub fn from_extension(path: &Path) -> Option<OutputFormat> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("vhdx") => Some(OutputFormat::Vhdx),
            Some("vhd") => Some(OutputFormat::Vhd),
            Some("raw") | Some("img") => Some(OutputFormat::Raw),
            _ => None,
        }
    }

    /// The names of every format, for messages.
    pub fn names() -> String {
        OutputFormat::ALL.map(OutputFormat::name).join(", ")
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not an output format.
#[derive(Debug, thiserror::Error)]
#[error("unknown output format {0:?}: choose from {names}", names = OutputFormat::names())]
pub struct UnknownFormat(pub String);

impl FromStr for OutputFormat {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OutputFormat::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| UnknownFormat(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_match_serde() {
        for f in OutputFormat::ALL {
            assert_eq!(f.name().parse::<OutputFormat>().unwrap(), f);
            assert_eq!(serde_json::to_string(&f).unwrap(), format!("\"{f}\""));
        }
        let e = "qcow2".parse::<OutputFormat>().unwrap_err();
        assert!(
            e.to_string().contains("tar, raw, vhdx, vhdx-fixed, vhd"),
            "{e}"
        );
    }

    #[test]
    fn file_names_and_extensions() {
        assert_eq!(OutputFormat::Tar.file_name("m"), "m.rootfs.tar");
        assert_eq!(OutputFormat::VhdxFixed.file_name("m"), "m-fixed.vhdx");
        assert_eq!(OutputFormat::Vhd.file_name("m"), "m.vhd");
        assert_eq!(
            OutputFormat::from_extension(Path::new("a/b.VHDX")),
            Some(OutputFormat::Vhdx)
        );
        assert_eq!(OutputFormat::from_extension(Path::new("b.qcow2")), None);
    }
}
