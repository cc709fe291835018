//! The package stage: the files a build delivers (rootfs tar, raw disk, VHDX, VHD), each
//! written under a temporary name and digested as it is written. They are [`Staged`]: the
//! build renames them into place together with the manifest, once everything succeeded.

pub mod disk;
pub mod tar;

use std::io;
use std::path::{Path, PathBuf};

use eflow_extents::SparseRead;
use eflow_id::Seed;
use eflow_outfile::{AtomicFile, Digests};
use eflow_tree::Tree;

use crate::stages::plan::OutputFormat;

/// A file written under its temporary name, with its digests, waiting to be committed.
pub struct Staged {
    pub file: AtomicFile,
    pub digests: Digests,
}

impl Staged {
    /// Stages `bytes` (a manifest, an SBOM, a signature) for `target`.
    pub fn bytes(target: &Path, bytes: &[u8]) -> io::Result<Staged> {
        Staged::write(target, |w| io::Write::write_all(w, bytes))
    }

    /// Writes a file through `body` and digests it.
    pub fn write(
        target: &Path,
        body: impl FnOnce(&mut eflow_outfile::DigestingFile<'_>) -> io::Result<()>,
    ) -> io::Result<Staged> {
        let mut file = AtomicFile::create(target)?;
        let mut w = file.digesting();
        body(&mut w)?;
        let digests = w.finish()?;
        Ok(Staged { file, digests })
    }

    /// Where it goes.
    pub fn target(&self) -> PathBuf {
        self.file.target().to_path_buf()
    }

    /// Renames it into place.
    pub fn commit(self) -> io::Result<()> {
        self.file.commit()
    }
}

/// Writes the rootfs tar of `tree` to (a temporary name next to) `target`.
pub fn write_tar(tree: &Tree, source_date_epoch: i64, target: &Path) -> io::Result<Staged> {
    Staged::write(target, |w| {
        let buffered = tar::write_tar(tree, source_date_epoch, io::BufWriter::new(w))?;
        buffered.into_inner().map_err(|e| e.into_error())?;
        Ok(())
    })
}

/// Writes the disk stream in a disk `format` to (a temporary name next to) `target`.
pub fn write_disk(
    format: OutputFormat,
    stream: &mut dyn SparseRead,
    target: &Path,
    seed: &Seed,
    source_date_epoch: i64,
) -> io::Result<Staged> {
    Staged::write(target, |w| {
        disk::write(format, stream, w, seed, source_date_epoch)
    })
}
