//! `convert`: a disk file from one container to another (raw, VHDX dynamic or fixed, fixed
//! VHD), streamed sparsely both ways and written atomically.
//!
//! The input's format is recognized by its content ([`crate::commands::inspect::open_disk`],
//! over [`eflow_vhdx::DiskReader`]); the output's comes from the caller or the output file's
//! extension.
//!
//! Ids: the GUIDs of a new VHDX (and the unique id of a VHD footer) derive from a seed, so
//! that converting the same input twice gives identical bytes. Without `--seed`, the seed
//! is SHA-256 over a version tag, the virtual disk size and the first and last MiB of the
//! virtual disk: these hold the partition tables (primary and backup GPT, with the disk
//! GUID and every PARTUUID), so different disks get different ids while the same disk always
//! gets the same ones, in one pass and without reading the whole disk twice. With `--seed
//! TEXT`, the seed is SHA-256 over another tag and TEXT (for pipelines that want to tie the
//! ids to a build identity). A VHD footer's time stamp is SOURCE_DATE_EPOCH when set, else
//! 2000-01-01 (the format's epoch).

use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use eflow_extents::{write_raw, Progressed};
use eflow_vhdx::{DiskFormat, DiskReader};
use serde::Serialize;
use sha2::{Digest, Sha256};

use eflow_id::Seed;
use eflow_outfile::AtomicFile;

use crate::commands::inspect::{open_disk, InspectError};
use crate::stages::package::disk::VHD_EPOCH;
use crate::stages::plan::OutputFormat;
/// How much of each end of the disk feeds the default seed.
const SEED_SPAN: u64 = 1 << 20;

/// How to convert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvertOptions {
    /// The output format; None: from the output file's extension.
    pub to: Option<OutputFormat>,
    /// VHDX payload block size (default 1 MiB, Microsoft's advice for Linux guests).
    pub block_size: u32,
    /// VHDX logical sector size, 512 (default) or 4096.
    pub logical_sector: u32,
    /// VHDX physical sector size, 512 or 4096 (default, as Hyper-V's New-VHD).
    pub physical_sector: u32,
    /// Text the ids derive from instead of the disk's content (see the module docs).
    pub seed: Option<String>,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        let v = eflow_vhdx::Options::default();
        ConvertOptions {
            to: None,
            block_size: v.block_size,
            logical_sector: v.logical_sector,
            physical_sector: v.physical_sector,
            seed: None,
        }
    }
}

/// What a conversion did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConvertSummary {
    pub input: PathBuf,
    pub input_format: DiskFormat,
    pub output: PathBuf,
    pub output_format: OutputFormat,
    /// Size of the virtual disk.
    pub virtual_size: u64,
    /// Length of the output file.
    pub file_size: u64,
    /// VHDX outputs: payload blocks stored, of all blocks.
    pub blocks_present: Option<u64>,
    pub blocks_total: Option<u64>,
    /// The seed the output's ids derive from (hex), for VHDX and VHD outputs.
    pub seed: Option<String>,
}

/// Why a conversion failed. Nothing is left under the output's name.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// The input could not be opened or recognized.
    #[error(transparent)]
    Input(#[from] InspectError),
    /// The output format is unknown or cannot be told.
    #[error("{0}")]
    Format(String),
    /// Input and output are the same file.
    #[error("{0} is both the input and the output: write to another name")]
    SameFile(PathBuf),
    /// Reading the input or writing the output failed.
    #[error("converting {input} to {output}: {source}")]
    Io {
        input: PathBuf,
        output: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The VHDX or VHD writer refused (bad options, a size the format cannot hold, a read
    /// error of the input met while streaming).
    #[error("converting {input} to {output}: {source}")]
    Write {
        input: PathBuf,
        output: PathBuf,
        #[source]
        source: eflow_vhdx::Error,
    },
}

/// The seed of a disk's ids from its content: size, first and last MiB (module docs).
fn content_seed(disk: &mut DiskReader) -> io::Result<[u8; 32]> {
    let size = disk.size();
    let mut h = Sha256::new();
    h.update(b"eflow-image convert seed v1");
    h.update(size.to_le_bytes());
    let span = SEED_SPAN.min(size);
    let mut buf = vec![0u8; span as usize];
    for at in [0, size - span] {
        disk.seek(SeekFrom::Start(at))?;
        disk.read_exact(&mut buf)?;
        h.update(&buf);
    }
    Ok(h.finalize().into())
}

/// The seed from the user's `--seed` text.
fn text_seed(text: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"eflow-image convert --seed v1");
    h.update(text.as_bytes());
    h.finalize().into()
}

/// Whether two paths name the same existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// Converts `input` (raw, VHDX or fixed VHD, recognized by content) into `output`, calling
/// `progress(bytes_done, bytes_total)` (virtual disk bytes) as it goes. The output is
/// written under a temporary name in its directory and renamed when complete.
pub fn convert(
    input: &Path,
    output: &Path,
    opts: &ConvertOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ConvertSummary, ConvertError> {
    let to =
        match opts.to {
            Some(OutputFormat::Tar) => return Err(ConvertError::Format(
                "a disk cannot be converted to a rootfs tar: choose raw, vhdx, vhdx-fixed or vhd"
                    .into(),
            )),
            Some(t) => t,
            None => OutputFormat::from_extension(output).ok_or_else(|| {
                ConvertError::Format(format!(
                "cannot tell the output format from the name {}: pass --to raw|vhdx|vhdx-fixed|vhd \
                 or use the extension .raw, .img, .vhdx or .vhd",
                output.display()
            ))
            })?,
        };
    if same_file(input, output) {
        return Err(ConvertError::SameFile(output.to_path_buf()));
    }
    let mut disk = open_disk(input)?;
    let input_format = disk.format();
    let io_err = |source| ConvertError::Io {
        input: input.to_path_buf(),
        output: output.to_path_buf(),
        source,
    };
    let w_err = |source| ConvertError::Write {
        input: input.to_path_buf(),
        output: output.to_path_buf(),
        source,
    };
    let seed = match (&opts.seed, to) {
        (_, OutputFormat::Raw) => None,
        (Some(t), _) => Some(text_seed(t)),
        (None, _) => Some(content_seed(&mut disk).map_err(io_err)?),
    };
    let virtual_size = disk.size();
    let mut src = disk.into_sparse().map_err(io_err)?;
    let mut pending = AtomicFile::create(output).map_err(io_err)?;
    let out = pending.file();
    let mut summary = ConvertSummary {
        input: input.to_path_buf(),
        input_format,
        output: output.to_path_buf(),
        output_format: to,
        virtual_size,
        file_size: 0,
        blocks_present: None,
        blocks_total: None,
        seed: seed.map(hex::encode),
    };
    let mut src = Progressed::new(&mut src, progress);
    match to {
        OutputFormat::Raw | OutputFormat::Tar => {
            write_raw(&mut src, out).map_err(io_err)?;
        }
        OutputFormat::Vhdx | OutputFormat::VhdxFixed => {
            let vopts = eflow_vhdx::Options {
                kind: if to == OutputFormat::Vhdx {
                    eflow_vhdx::Kind::Dynamic
                } else {
                    eflow_vhdx::Kind::Fixed
                },
                block_size: opts.block_size,
                logical_sector: opts.logical_sector,
                physical_sector: opts.physical_sector,
                seed: Seed(seed.unwrap_or_default()),
                ..eflow_vhdx::Options::default()
            };
            let s = eflow_vhdx::write(&mut src, out, &vopts).map_err(w_err)?;
            summary.blocks_present = Some(s.blocks_present);
            summary.blocks_total = Some(s.blocks_total);
        }
        OutputFormat::Vhd => {
            let sde =
                crate::stages::plan::source_date_epoch(VHD_EPOCH).map_err(ConvertError::Format)?;
            let vopts = eflow_vhdx::VhdOptions {
                seed: Seed(seed.unwrap_or_default()),
                timestamp: (sde - VHD_EPOCH).clamp(0, u32::MAX as i64) as u32,
                ..eflow_vhdx::VhdOptions::default()
            };
            eflow_vhdx::write_vhd_fixed(&mut src, out, &vopts).map_err(w_err)?;
        }
    }
    summary.file_size = out.metadata().map_err(io_err)?.len();
    pending.commit().map_err(io_err)?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_conversion_leaves_no_file() {
        let d = tempfile::tempdir().unwrap();
        let input = d.path().join("in.raw");
        // 1 MiB + 100 bytes: not a whole number of sectors, so the VHDX writer refuses.
        std::fs::write(&input, vec![1u8; (1 << 20) + 100]).unwrap();
        let out = d.path().join("out.vhdx");
        let e = convert(&input, &out, &ConvertOptions::default(), &mut |_, _| {}).unwrap_err();
        assert!(matches!(e, ConvertError::Write { .. }), "{e}");
        let left: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("in.raw")]);
        // Same file in and out.
        let e = convert(
            &input,
            &input,
            &ConvertOptions {
                to: Some(OutputFormat::Raw),
                ..ConvertOptions::default()
            },
            &mut |_, _| {},
        )
        .unwrap_err();
        assert!(matches!(e, ConvertError::SameFile(_)), "{e}");
    }

    #[test]
    fn seeds_follow_content_not_names() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a.raw");
        let mut bytes = vec![0u8; 3 << 20];
        bytes[10] = 1;
        std::fs::write(&a, &bytes).unwrap();
        let run = |name: &str, seed: Option<&str>| {
            let o = d.path().join(name);
            let opts = ConvertOptions {
                seed: seed.map(str::to_string),
                ..ConvertOptions::default()
            };
            convert(&a, &o, &opts, &mut |_, _| {}).unwrap();
            std::fs::read(o).unwrap()
        };
        let x = run("x.vhdx", None);
        assert!(x == run("y.vhdx", None));
        assert!(x != run("z.vhdx", Some("build 42")));
        bytes[(2 << 20) + 5] = 1; // in the last MiB
        std::fs::write(&a, &bytes).unwrap();
        assert!(x != run("w.vhdx", None));
    }
}
