//! Reading a FAT image (for `inspect` and tests): volume facts, the file list, one file's bytes,
//! and the probe that tells and summarizes a FAT partition.
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
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct FatInfo {
    /// "FAT12", "FAT16" or "FAT32", from the cluster count.
    pub fat_type: &'static str,
    /// Bytes per cluster.
    pub cluster_size: u32,
    /// Clusters of the data area.
    pub total_clusters: u32,
    /// Clusters not in use.
    pub free_clusters: u32,
    /// The volume serial number (serialized as `XXXX-XXXX`, see [`FatInfo::volume_id_text`]).
    #[cfg_attr(feature = "serde", serde(serialize_with = "volume_id_text"))]
    pub volume_id: u32,
    /// The label in the boot sector, trailing spaces removed.
    pub label: String,
}

impl FatInfo {
    /// The volume serial number as `XXXX-XXXX`: how Windows, blkid and `/dev/disk/by-uuid`
    /// show it, so that what `inspect` prints can be searched for on the guest.
    pub fn volume_id_text(&self) -> String {
        serial_text(self.volume_id)
    }
}

/// A volume serial number as `XXXX-XXXX`.
fn serial_text(id: u32) -> String {
    format!("{:04X}-{:04X}", id >> 16, id & 0xFFFF)
}

/// Serializes a volume id as its `XXXX-XXXX` text.
#[cfg(feature = "serde")]
fn volume_id_text<S: serde::Serializer>(id: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&serial_text(*id))
}

/// A file or directory of the image.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct FatEntry {
    /// Absolute path with the long names, like `/EFI/BOOT/BOOTX64.EFI`.
    pub path: String,
    /// Size in bytes (0 for directories).
    pub size: u64,
    /// A directory rather than a file.
    pub is_dir: bool,
}

/// What `inspect` shows of a FAT volume: its boot sector facts and what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct FatSummary {
    /// The boot sector facts (flattened into the summary when serialized).
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub volume: FatInfo,
    /// How many files.
    pub files: u64,
    /// How many directories (the root not counted).
    pub directories: u64,
    /// Sum of the files' sizes.
    pub file_bytes: u64,
    /// Every file and directory, depth first.
    pub entries: Vec<FatEntry>,
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

/// The boot sector facts of a mounted volume, free clusters counted.
fn info_of<T: fatfs::ReadWriteSeek>(fs: &fatfs::FileSystem<T>) -> Result<FatInfo, FatError> {
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
}

/// Every entry of a mounted volume, depth first.
fn list_of<T: fatfs::ReadWriteSeek>(fs: &fatfs::FileSystem<T>) -> Result<Vec<FatEntry>, FatError> {
    let mut out = Vec::new();
    walk(&fs.root_dir(), "", 0, &mut out)?;
    Ok(out)
}

/// Reads the boot sector facts and counts free clusters.
pub fn info<R: Read + Seek>(image: R) -> Result<FatInfo, FatError> {
    guarded(|| info_of(&mount(image)?))
}

/// Every file and directory, depth first, in directory order.
pub fn list<R: Read + Seek>(image: R) -> Result<Vec<FatEntry>, FatError> {
    guarded(|| list_of(&mount(image)?))
}

/// Whether the first sector of a partition (at least 512 bytes) is a FAT boot sector: the
/// 0x55AA signature and the file system type string of FAT32 (at 82) or FAT12/16 (at 54).
/// How a partition's filesystem is told before it is read.
pub fn is_fat(head: &[u8]) -> bool {
    head.len() >= 512
        && head[510..512] == [0x55, 0xAA]
        && (head.get(82..87) == Some(b"FAT32".as_slice())
            || head.get(54..57) == Some(b"FAT".as_slice()))
}

/// The facts and contents of the FAT volume in `image`, read in one mount: what `inspect`
/// shows of a FAT partition.
pub fn probe<R: Read + Seek>(image: R) -> Result<FatSummary, FatError> {
    guarded(|| {
        let fs = mount(image)?;
        let volume = info_of(&fs)?;
        let entries = list_of(&fs)?;
        let files = entries.iter().filter(|e| !e.is_dir).count() as u64;
        Ok(FatSummary {
            volume,
            files,
            directories: entries.len() as u64 - files,
            file_bytes: entries.iter().filter(|e| !e.is_dir).map(|e| e.size).sum(),
            entries,
        })
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
