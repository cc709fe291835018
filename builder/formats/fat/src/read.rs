//! Reading a FAT image (for `inspect` and tests): volume facts, the file list, one file's bytes.
//! The image is opened read-only: nothing is written back, not even the dirty flag.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::FatError;

/// Guards against directory loops in damaged images.
const MAX_DEPTH: usize = 64;
const MAX_ENTRIES: usize = 1_000_000;

/// A Read + Seek that refuses writes, so fatfs cannot change the image it reads.
struct ReadOnly<R>(R);

impl<R: Read> Read for ReadOnly<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}
impl<R: Seek> Seek for ReadOnly<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.0.seek(pos)
    }
}
impl<R> Write for ReadOnly<R> {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "read-only FAT image",
        ))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Facts about a volume, from its boot sector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FatInfo {
    /// "FAT12", "FAT16" or "FAT32", from the cluster count.
    pub fat_type: &'static str,
    pub cluster_size: u32,
    pub total_clusters: u32,
    pub free_clusters: u32,
    pub volume_id: u32,
    /// The label in the boot sector, trailing spaces removed.
    pub label: String,
}

/// A file or directory of the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FatEntry {
    /// Absolute path with the long names, like `/EFI/BOOT/BOOTX64.EFI`.
    pub path: String,
    /// Size in bytes (0 for directories).
    pub size: u64,
    pub is_dir: bool,
}

fn read_err(e: impl std::fmt::Display) -> FatError {
    FatError::Read(e.to_string())
}

/// Runs a fatfs read, turning a panic inside fatfs on damaged input into an error.
fn guarded<T>(f: impl FnOnce() -> Result<T, FatError>) -> Result<T, FatError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(FatError::Read(
            "the image is damaged (fatfs gave up)".into(),
        ))
    })
}

fn mount<R: Read + Seek>(mut image: R) -> Result<fatfs::FileSystem<ReadOnly<R>>, FatError> {
    image.seek(SeekFrom::Start(0)).map_err(read_err)?;
    let opts = fatfs::FsOptions::new().update_accessed_date(false);
    fatfs::FileSystem::new(ReadOnly(image), opts).map_err(read_err)
}

/// Reads the boot sector facts and counts free clusters.
pub fn info<R: Read + Seek>(image: R) -> Result<FatInfo, FatError> {
    guarded(|| {
        let fs = mount(image)?;
        let stats = fs.stats().map_err(read_err)?;
        Ok(FatInfo {
            fat_type: match fs.fat_type() {
                fatfs::FatType::Fat12 => "FAT12",
                fatfs::FatType::Fat16 => "FAT16",
                fatfs::FatType::Fat32 => "FAT32",
            },
            cluster_size: stats.cluster_size(),
            total_clusters: stats.total_clusters(),
            free_clusters: stats.free_clusters(),
            volume_id: fs.volume_id(),
            label: fs.volume_label().trim_end().to_string(),
        })
    })
}

/// Every file and directory, depth first, in directory order.
pub fn list<R: Read + Seek>(image: R) -> Result<Vec<FatEntry>, FatError> {
    guarded(|| {
        let fs = mount(image)?;
        let mut out = Vec::new();
        walk(&fs.root_dir(), "", 0, &mut out)?;
        Ok(out)
    })
}

fn walk<T: fatfs::ReadWriteSeek>(
    dir: &fatfs::Dir<'_, T>,
    prefix: &str,
    depth: usize,
    out: &mut Vec<FatEntry>,
) -> Result<(), FatError> {
    if depth > MAX_DEPTH {
        return Err(FatError::Read(format!(
            "directories nest deeper than {MAX_DEPTH} at {prefix} (a loop?)"
        )));
    }
    for e in dir.iter() {
        let e = e.map_err(read_err)?;
        let name = e.file_name();
        if name == "." || name == ".." {
            continue;
        }
        if out.len() >= MAX_ENTRIES {
            return Err(FatError::Read(format!("more than {MAX_ENTRIES} entries")));
        }
        let path = format!("{prefix}/{name}");
        let is_dir = e.is_dir();
        out.push(FatEntry {
            path: path.clone(),
            size: if is_dir { 0 } else { e.len() },
            is_dir,
        });
        if is_dir {
            walk(&e.to_dir(), &path, depth + 1, out)?;
        }
    }
    Ok(())
}

/// The bytes of the file at `path` (like `/EFI/BOOT/BOOTX64.EFI`).
pub fn read_file<R: Read + Seek>(image: R, path: &str) -> Result<Vec<u8>, FatError> {
    guarded(|| {
        let fs = mount(image)?;
        let rel = path.trim_start_matches('/');
        let mut f = fs
            .root_dir()
            .open_file(rel)
            .map_err(|e| FatError::Read(format!("{path}: {e}")))?;
        let mut out = Vec::new();
        f.read_to_end(&mut out)
            .map_err(|e| FatError::Read(format!("{path}: {e}")))?;
        Ok(out)
    })
}
