//! `inspect`: what a disk file is, what its container says about itself, and the partition
//! table and filesystems of the disk inside, composed from the format crates: the container
//! view of eflow-vhdx, the GPT reader of eflow-gpt, the probes of eflow-ext4 and eflow-fat.
//!
//! Every GUID is printed lowercase 8-4-4-4-12 (as systemd and blkid do), whatever the
//! container's own convention, so the JSON document is stable across formats.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use eflow_vhdx::{BlockCounts, Container, DiskFormat, DiskReader, HeaderSlot, VhdFooter};
use serde::Serialize;

/// Why a disk file could not be inspected (or opened for conversion).
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The container is damaged (a VHDX structure, a VHD footer) or of a kind not read.
    #[error("{path}: {source}")]
    Container {
        path: PathBuf,
        #[source]
        source: eflow_vhdx::Error,
    },
    /// The disk has neither a valid GPT nor a filesystem spanning it.
    #[error("{path}: no partition table found and no filesystem spans the whole disk: {gpt}")]
    NoTable {
        path: PathBuf,
        gpt: eflow_gpt::GptError,
    },
    /// The GPT is there (its protective MBR and header signature) but damaged.
    #[error("{path}: partition table: {source}")]
    Gpt {
        path: PathBuf,
        #[source]
        source: eflow_gpt::GptError,
    },
}

/// Opens the disk file at `path` whatever its container (raw, VHDX, fixed VHD: recognized
/// by content), with errors that name the file; `convert` reads its input through this too.
pub fn open_disk(path: &Path) -> Result<DiskReader, InspectError> {
    let io_err = |source| InspectError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    if !file.metadata().map_err(io_err)?.is_file() {
        let e = io::Error::new(io::ErrorKind::InvalidInput, "not a regular file");
        return Err(io_err(e));
    }
    DiskReader::open(file).map_err(|e| match e {
        eflow_vhdx::Error::Io(source) => io_err(source),
        source => InspectError::Container {
            path: path.to_path_buf(),
            source,
        },
    })
}

/// The VHDX part of a report: the reader's facts with the current header's fields
/// alongside, as `inspect` has always shown them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VhdxReport {
    /// "dynamic" or "fixed" (LeaveBlockAllocated).
    pub kind: &'static str,
    pub creator: String,
    /// Which header is current (1 or 2).
    pub current_header: u8,
    /// Both header slots with their sequence numbers.
    pub headers: [HeaderSlot; 2],
    pub file_write_guid: String,
    pub data_write_guid: String,
    /// All zero when the log holds nothing to replay.
    pub log_guid: String,
    pub log_offset: u64,
    pub log_length: u32,
    pub block_size: u32,
    pub logical_sector_size: u32,
    pub physical_sector_size: u32,
    /// The Page 83 virtual disk id.
    pub disk_id: String,
    pub metadata_offset: u64,
    pub bat_offset: u64,
    pub bat_entries: u64,
    /// Bytes of payload stored in the file.
    pub allocated: u64,
    pub blocks: BlockCounts,
}

impl From<&eflow_vhdx::Info> for VhdxReport {
    fn from(info: &eflow_vhdx::Info) -> VhdxReport {
        let h = &info.header;
        VhdxReport {
            kind: if info.fixed { "fixed" } else { "dynamic" },
            creator: info.creator.clone(),
            current_header: info.current_header,
            headers: info.headers.clone(),
            file_write_guid: h.file_write_guid.to_string(),
            data_write_guid: h.data_write_guid.to_string(),
            log_guid: h.log_guid.to_string(),
            log_offset: h.log_offset,
            log_length: h.log_length,
            block_size: info.block_size,
            logical_sector_size: info.logical_sector,
            physical_sector_size: info.physical_sector,
            disk_id: info.disk_id.to_string(),
            metadata_offset: info.metadata_offset,
            bat_offset: info.bat_offset,
            bat_entries: info.bat_entries,
            allocated: info.allocated,
            blocks: info.blocks,
        }
    }
}

/// A filesystem found in a partition (or spanning the disk).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum FsReport {
    /// An ext2/3/4 superblock summary.
    Ext4(eflow_ext4::Summary),
    /// A FAT volume: boot sector facts and what it holds.
    Fat(eflow_fat::FatSummary),
    /// A filesystem was recognized but could not be read.
    Error {
        /// "ext4" or "fat".
        filesystem: &'static str,
        message: String,
    },
}

/// One partition of the table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PartitionReport {
    /// 1-based position among the used entries.
    pub number: usize,
    /// PARTLABEL.
    pub name: String,
    pub type_guid: String,
    /// The recipe name of the type (esp, linux-root-x86-64, ...), when known.
    pub type_name: Option<&'static str>,
    /// PARTUUID.
    pub partuuid: String,
    pub first_lba: u64,
    pub last_lba: u64,
    /// Byte offset on the disk.
    pub start: u64,
    /// Size in bytes.
    pub size: u64,
    pub attributes: u64,
    /// What the partition holds, when recognized.
    pub filesystem: Option<FsReport>,
    /// Where the guest mounts it: `/` for the ext4 holding /etc/fstab, else from that fstab's
    /// `PARTUUID=` lines.
    pub mount: Option<String>,
}

/// The partition table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TableReport {
    /// Always "gpt".
    pub kind: &'static str,
    pub disk_guid: String,
    pub partitions: Vec<PartitionReport>,
}

/// Everything `inspect` found; serialized as the `--json` document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    pub path: PathBuf,
    pub format: DiskFormat,
    /// Length of the file.
    pub file_size: u64,
    /// Size of the disk inside.
    pub virtual_size: u64,
    pub vhdx: Option<VhdxReport>,
    pub vhd: Option<VhdFooter>,
    /// None when a filesystem spans the whole disk instead.
    pub partition_table: Option<TableReport>,
    /// A filesystem spanning the whole disk (no partition table).
    pub filesystem: Option<FsReport>,
    /// Problems found below the container (a damaged filesystem): `inspect` exits 1 when
    /// there is any, after printing the report.
    pub problems: Vec<String>,
}

/// Recognizes and summarizes the filesystem in `len` bytes at `start` of `disk`; a damaged
/// one becomes [`FsReport::Error`] and a line of `problems` saying `where_`.
fn filesystem(
    disk: &mut DiskReader,
    start: u64,
    len: u64,
    where_: &str,
    problems: &mut Vec<String>,
) -> Option<FsReport> {
    let mut part = disk.slice(start, len);
    let mut head = vec![0u8; 4096.min(len) as usize];
    part.read_exact(&mut head).ok()?;
    let (kind, read) = if eflow_ext4::is_ext4(&head) {
        let r = eflow_ext4::probe(part).map(FsReport::Ext4);
        ("ext4", r.map_err(|e| e.to_string()))
    } else if eflow_fat::is_fat(&head) {
        let r = eflow_fat::probe(part).map(FsReport::Fat);
        ("fat", r.map_err(|e| e.to_string()))
    } else {
        return None;
    };
    Some(read.unwrap_or_else(|message| {
        problems.push(format!("{where_}: {kind}: {message}"));
        FsReport::Error {
            filesystem: kind,
            message,
        }
    }))
}

/// Fills in each partition's mount point from the root filesystem's /etc/fstab. A partition
/// whose ext4 cannot be read, or a disk without fstab, just shows none.
fn mount_points(disk: &mut DiskReader, partitions: &mut [PartitionReport]) {
    let fstab = partitions.iter().enumerate().find_map(|(i, p)| {
        if !matches!(p.filesystem, Some(FsReport::Ext4(_))) {
            return None;
        }
        let mut fs = eflow_ext4::Ext4Reader::open(disk.slice(p.start, p.size)).ok()?;
        let bytes = fs.read_file("/etc/fstab").ok()?;
        Some((i, String::from_utf8_lossy(&bytes).into_owned()))
    });
    let Some((root, fstab)) = fstab else { return };
    partitions[root].mount = Some("/".into());
    for line in fstab.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
        let mut f = line.split_whitespace();
        let (Some(spec), Some(target)) = (f.next(), f.next()) else {
            continue;
        };
        let Some(uuid) = spec.strip_prefix("PARTUUID=") else {
            continue;
        };
        if let Some(p) = partitions
            .iter_mut()
            .find(|p| p.partuuid.eq_ignore_ascii_case(uuid))
        {
            // fstab escapes spaces as \040.
            p.mount = Some(target.replace("\\040", " "));
        }
    }
}

/// Whether a GPT error means "there is no GPT here" rather than "a GPT is damaged": the
/// protective MBR or the primary header signature is missing, or the disk is too small.
fn no_gpt_at_all(e: &eflow_gpt::GptError, disk: &mut DiskReader) -> bool {
    if matches!(e, eflow_gpt::GptError::Corrupt { what: "disk", .. }) {
        return true;
    }
    let mut sig = [0u8; 8];
    disk.seek(SeekFrom::Start(512)).is_ok()
        && disk.read_exact(&mut sig).is_ok()
        && &sig != b"EFI PART"
}

/// Inspects the disk file at `path`. Errors in the container or the partition table are
/// errors; a damaged filesystem is reported in the result (see [`Report::problems`]).
pub fn inspect(path: &Path) -> Result<Report, InspectError> {
    let mut disk = open_disk(path)?;
    let (vhdx, vhd) = match disk.container() {
        Container::Raw => (None, None),
        Container::Vhdx(info) => (Some(VhdxReport::from(&**info)), None),
        Container::VhdFixed(f) => (None, Some(f.clone())),
    };
    let mut report = Report {
        path: path.to_path_buf(),
        format: disk.format(),
        file_size: disk.file_size(),
        virtual_size: disk.size(),
        vhdx,
        vhd,
        partition_table: None,
        filesystem: None,
        problems: Vec::new(),
    };
    let problems = &mut report.problems;
    match eflow_gpt::Gpt::read(&mut disk) {
        Ok(gpt) => {
            let mut partitions = Vec::new();
            for (i, p) in gpt.partitions.iter().enumerate() {
                let where_ = format!("partition {} ({:?})", i + 1, p.name);
                partitions.push(PartitionReport {
                    number: i + 1,
                    name: p.name.clone(),
                    type_guid: p.type_guid.to_string(),
                    type_name: eflow_gpt::types::name_of(&p.type_guid),
                    partuuid: p.unique_guid.to_string(),
                    first_lba: p.first_lba,
                    last_lba: p.last_lba,
                    start: p.offset(),
                    size: p.size(),
                    attributes: p.attributes,
                    filesystem: filesystem(&mut disk, p.offset(), p.size(), &where_, problems),
                    mount: None,
                });
            }
            mount_points(&mut disk, &mut partitions);
            report.partition_table = Some(TableReport {
                kind: "gpt",
                disk_guid: gpt.disk_guid.to_string(),
                partitions,
            });
        }
        Err(e) if !no_gpt_at_all(&e, &mut disk) => {
            return Err(InspectError::Gpt {
                path: path.to_path_buf(),
                source: e,
            })
        }
        Err(e) => {
            let size = disk.size();
            report.filesystem = filesystem(&mut disk, 0, size, "whole disk", problems);
            if report.filesystem.is_none() {
                return Err(InspectError::NoTable {
                    path: path.to_path_buf(),
                    gpt: e,
                });
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_file() {
        let d = tempfile::tempdir().unwrap();
        // Nothing recognizable, no table: an error naming the path.
        let raw = d.path().join("x.vhdx");
        std::fs::write(&raw, vec![0u8; 1 << 20]).unwrap();
        let e = inspect(&raw).unwrap_err();
        assert!(matches!(e, InspectError::NoTable { .. }), "{e}");
        assert!(e.to_string().contains("x.vhdx"), "{e}");
        // An empty file: raw, no table.
        let empty = d.path().join("e");
        std::fs::write(&empty, b"").unwrap();
        assert!(matches!(inspect(&empty), Err(InspectError::NoTable { .. })));
        // A directory, a missing file: I/O errors naming them.
        let e = open_disk(d.path()).err().unwrap();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let e = open_disk(&d.path().join("missing")).err().unwrap();
        assert!(matches!(e, InspectError::Io { .. }) && e.to_string().contains("missing"));
        // A VHDX signature followed by garbage: the container's error, with the path.
        let bad = d.path().join("b.img");
        let mut g = b"vhdxfile".to_vec();
        g.resize(300 << 10, 0x5A);
        std::fs::write(&bad, g).unwrap();
        let e = open_disk(&bad).err().unwrap();
        assert!(matches!(e, InspectError::Container { .. }), "{e}");
        assert!(e
            .to_string()
            .starts_with(&format!("{}: corrupt VHDX", bad.display())));
    }
}
