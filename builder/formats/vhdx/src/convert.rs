//! File-to-file conversions for the command line (raw <-> VHDX, raw -> VHD), with progress
//! reporting, writing to a temporary name next to the target and renaming when complete.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use eflow_extents::{write_raw, Progressed, RawFile};

use crate::error::Error;
use crate::reader::{Info, Reader};
use crate::vhd::{write_vhd_fixed, VhdOptions, VhdSummary};
use crate::writer::{Options, Summary};

/// The temporary name a conversion writes to before renaming to `target`.
fn partial_name(target: &Path) -> PathBuf {
    let mut name = target
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".partial");
    target.with_file_name(name)
}

/// Runs `body` on a fresh temporary file next to `target`, then renames it into place;
/// on failure the temporary file is removed so no half-written output remains.
fn atomically<T>(
    target: &Path,
    body: impl FnOnce(&mut File) -> Result<T, Error>,
) -> Result<T, Error> {
    let tmp = partial_name(target);
    let result = (|| {
        let mut f = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        let r = body(&mut f)?;
        f.sync_all()?;
        Ok(r)
    })();
    match result {
        Ok(r) => {
            fs::rename(&tmp, target)?;
            Ok(r)
        }
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Converts a raw disk image (read sparsely) into a VHDX file.
pub fn raw_to_vhdx(
    input: &Path,
    output: &Path,
    opts: &Options,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Summary, Error> {
    let mut src = RawFile::new(File::open(input)?)?;
    atomically(output, |out| {
        crate::writer::write_with_progress(&mut src, out, opts, progress)
    })
}

/// Converts a VHDX file into a sparse raw disk image; returns what the VHDX said about itself.
pub fn vhdx_to_raw(
    input: &Path,
    output: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Info, Error> {
    let mut reader = Reader::open(File::open(input)?)?;
    let info = reader.info().clone();
    atomically(output, |out| {
        let mut p = Progressed::new(&mut reader, progress);
        write_raw(&mut p, out)?;
        Ok(())
    })?;
    Ok(info)
}

/// Converts a raw disk image into a fixed VHD (its size must be a whole number of MiB).
pub fn raw_to_vhd(
    input: &Path,
    output: &Path,
    opts: &VhdOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<VhdSummary, Error> {
    let mut src = RawFile::new(File::open(input)?)?;
    atomically(output, |out| {
        let mut p = Progressed::new(&mut src, progress);
        write_vhd_fixed(&mut p, out, opts)
    })
}
