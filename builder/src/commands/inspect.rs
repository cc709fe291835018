//! `inspect`: what a disk file is (raw, VHDX, fixed VHD, recognized by content), what its
//! container says about itself, and the partition table and filesystems of the disk inside.
//!
//! Also the random-access view of a disk file's virtual disk ([`DiskReader`]) that `convert`
//! shares. Every GUID is printed lowercase 8-4-4-4-12 (as systemd and blkid do), whatever
//! the container's own convention, so the JSON document is stable across formats.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use eflow_extents::{RawFile, Segment, SparseRead};
use serde::Serialize;

/// Size of a VHD footer (and of the copy a dynamic VHD keeps at its start).
const VHD_FOOTER: u64 = 512;
/// A VHDX file starts with this.
const VHDX_SIGNATURE: &[u8; 8] = b"vhdxfile";
/// A VHD footer starts with this.
const VHD_SIGNATURE: &[u8; 8] = b"conectix";
/// Where the two VHDX headers sit (MS-VHDX 2.2).
const VHDX_HEADER_OFFSETS: [u64; 2] = [64 * 1024, 128 * 1024];
/// Size of one VHDX header.
const VHDX_HEADER_SIZE: usize = 4096;

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
    /// The file claims to be a VHDX (its signature) but a structure is broken.
    #[error("{path}: {source}")]
    Vhdx {
        path: PathBuf,
        #[source]
        source: eflow_vhdx::Error,
    },
    /// The file ends in a VHD footer that is damaged or disagrees with the file.
    #[error("{path}: corrupt VHD footer: {problem}")]
    Vhd { path: PathBuf, problem: String },
    /// A valid VHD of a kind this tool does not read.
    #[error("{path}: {kind} VHD files are not supported (only fixed VHDs): convert it with another tool first")]
    UnsupportedVhd { path: PathBuf, kind: String },
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

/// The container format of a disk file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiskFormat {
    /// The bytes of the disk as they are.
    Raw,
    /// A VHDX file (dynamic or fixed).
    Vhdx,
    /// A fixed VHD: the raw disk followed by a 512-byte `conectix` footer.
    VhdFixed,
}

impl DiskFormat {
    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            DiskFormat::Raw => "raw",
            DiskFormat::Vhdx => "vhdx",
            DiskFormat::VhdFixed => "vhd-fixed",
        }
    }
}

/// The fields of a VHD footer that `inspect` shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VhdFooter {
    /// Size of the virtual disk.
    pub virtual_size: u64,
    /// Size when the disk was created.
    pub original_size: u64,
    /// "fixed", "dynamic", "differencing" or the number.
    pub disk_type: String,
    /// Creator application tag (like `win ` or `qemu`).
    pub creator_app: String,
    /// Creator host OS tag (like `Wi2k`).
    pub creator_host: String,
    /// Seconds since 2000-01-01 UTC.
    pub timestamp: u32,
    /// CHS geometry (cylinders, heads, sectors per track).
    pub geometry: (u16, u8, u8),
    /// The disk's unique id.
    pub unique_id: String,
}

/// Formats 16 bytes as a lowercase 8-4-4-4-12 string, in the order they are given.
fn uuid_text(b: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{x:02x}"));
    }
    s
}

/// A VHDX GUID (stored Microsoft-style) as lowercase text.
fn vhdx_guid(g: &eflow_vhdx::Guid) -> String {
    g.to_string().to_lowercase()
}

/// Text of a 4-byte tag, non-printable bytes as `.`.
fn tag(b: &[u8]) -> String {
    b.iter()
        .map(|c| {
            if c.is_ascii_graphic() || *c == b' ' {
                *c as char
            } else {
                '.'
            }
        })
        .collect()
}

/// Parses and checks a VHD footer (512 bytes, big-endian).
fn parse_vhd_footer(f: &[u8; 512]) -> Result<VhdFooter, String> {
    let be32 = |o: usize| u32::from_be_bytes([f[o], f[o + 1], f[o + 2], f[o + 3]]);
    let be64 = |o: usize| (be32(o) as u64) << 32 | be32(o + 4) as u64;
    let stored = be32(64);
    let sum: u32 = f
        .iter()
        .enumerate()
        .filter(|(i, _)| !(64..68).contains(i))
        .map(|(_, b)| *b as u32)
        .sum();
    if stored != !sum {
        return Err(format!(
            "checksum mismatch: stored {stored:#010x}, computed {:#010x}",
            !sum
        ));
    }
    let version = be32(12);
    if version != 0x0001_0000 {
        return Err(format!("file format version {version:#010x} is not 1.0"));
    }
    let disk_type = match be32(60) {
        2 => "fixed".to_string(),
        3 => "dynamic".to_string(),
        4 => "differencing".to_string(),
        n => format!("type {n}"),
    };
    let mut id = [0u8; 16];
    id.copy_from_slice(&f[68..84]);
    Ok(VhdFooter {
        virtual_size: be64(48),
        original_size: be64(40),
        disk_type,
        creator_app: tag(&f[28..32]),
        creator_host: tag(&f[36..40]),
        timestamp: be32(24),
        geometry: (u16::from_be_bytes([f[56], f[57]]), f[58], f[59]),
        unique_id: uuid_text(&id),
    })
}

/// What the container of a disk file says about itself.
pub enum Container {
    /// A raw disk says nothing.
    Raw,
    /// A VHDX: its reader's facts and both headers as found.
    Vhdx(Box<eflow_vhdx::Info>, Vec<HeaderSlot>),
    /// A fixed VHD: its footer.
    Vhd(VhdFooter),
}

/// One of the two VHDX header slots, valid or not (only the current one need be valid).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HeaderSlot {
    /// 1 or 2.
    pub index: u8,
    /// Its sequence number, when valid.
    pub sequence_number: Option<u64>,
    /// Why it is not valid, when not.
    pub error: Option<String>,
}

/// Reads both VHDX header slots for display; the reader already chose the current one.
fn header_slots(file: &mut File) -> Vec<HeaderSlot> {
    VHDX_HEADER_OFFSETS
        .iter()
        .enumerate()
        .map(|(i, off)| {
            let name = format!("header {}", i + 1);
            let mut b = vec![0u8; VHDX_HEADER_SIZE];
            let parsed = file
                .seek(SeekFrom::Start(*off))
                .and_then(|_| file.read_exact(&mut b))
                .map_err(eflow_vhdx::Error::Io)
                .and_then(|_| eflow_vhdx::Header::parse(&b, &name, *off));
            HeaderSlot {
                index: i as u8 + 1,
                sequence_number: parsed.as_ref().ok().map(|h| h.sequence_number),
                error: parsed.err().map(|e| e.to_string()),
            }
        })
        .collect()
}

enum Inner {
    /// A raw file or the disk part of a fixed VHD: the first `size` bytes of the file.
    File(File),
    /// The virtual disk of a VHDX.
    Vhdx(Box<eflow_vhdx::Reader<File>>),
}

/// A disk file opened for reading its virtual disk, by random access ([`Read`] + [`Seek`]
/// over the virtual disk, never past it) or as a sparse stream ([`DiskReader::into_sparse`]).
pub struct DiskReader {
    inner: Inner,
    size: u64,
    pos: u64,
}

impl DiskReader {
    /// Size of the virtual disk.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The virtual disk as a sparse stream from its start: holes of a raw file (SEEK_HOLE)
    /// and blocks a VHDX does not store come back as zero runs, never read.
    pub fn into_sparse(self) -> io::Result<Box<dyn SparseRead>> {
        match self.inner {
            Inner::File(f) => Ok(Box::new(Prefix {
                inner: RawFile::new(f)?,
                size: self.size,
                pos: 0,
            })),
            Inner::Vhdx(mut r) => {
                r.seek(SeekFrom::Start(0))?;
                Ok(r)
            }
        }
    }
}

impl Read for DiskReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.size {
            return Ok(0);
        }
        let n = (self.size - self.pos).min(buf.len() as u64) as usize;
        let got = match &mut self.inner {
            Inner::File(f) => {
                f.seek(SeekFrom::Start(self.pos))?;
                f.read(&mut buf[..n])?
            }
            Inner::Vhdx(r) => r.read_at(self.pos, &mut buf[..n])?,
        };
        self.pos += got as u64;
        Ok(got)
    }
}

impl Seek for DiskReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let p = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let p = p.ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "seek before the disk start")
        })?;
        self.pos = p;
        Ok(p)
    }
}

/// The first `size` bytes of a sparse stream (a fixed VHD without its footer).
struct Prefix<S> {
    inner: S,
    size: u64,
    pos: u64,
}

impl<S: SparseRead> SparseRead for Prefix<S> {
    fn size(&self) -> u64 {
        self.size
    }
    fn next_segment(&mut self, buf: &mut [u8]) -> io::Result<Option<Segment>> {
        let left = self.size - self.pos;
        if left == 0 {
            return Ok(None);
        }
        let seg = match self.inner.next_segment(buf)? {
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("the file ended {left} bytes before the disk's end"),
                ))
            }
            Some(Segment::Zero(n)) => Segment::Zero(n.min(left)),
            Some(Segment::Data(n)) => Segment::Data((n as u64).min(left) as usize),
        };
        self.pos += match seg {
            Segment::Zero(n) => n,
            Segment::Data(n) => n as u64,
        };
        Ok(Some(seg))
    }
}

/// Recognizes a disk file by its content: `vhdxfile` at the start is a VHDX, a `conectix`
/// footer at the end is a fixed VHD (at the start too: a dynamic VHD, refused), else raw.
/// Opens it and returns its format, what its container says, and a reader of its disk.
pub fn open_disk(path: &Path) -> Result<(DiskFormat, Container, DiskReader), InspectError> {
    let io_err = |source| InspectError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    if !meta.is_file() {
        return Err(io_err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        )));
    }
    let len = meta.len();
    let mut head = [0u8; 8];
    let got = read_up_to(&mut file, 0, &mut head).map_err(io_err)?;
    if got == 8 && &head == VHDX_SIGNATURE {
        let slots = header_slots(&mut file);
        let reader = eflow_vhdx::Reader::open(file).map_err(|source| InspectError::Vhdx {
            path: path.to_path_buf(),
            source,
        })?;
        let info = reader.info().clone();
        let size = info.virtual_size;
        return Ok((
            DiskFormat::Vhdx,
            Container::Vhdx(Box::new(info), slots),
            DiskReader {
                inner: Inner::Vhdx(Box::new(reader)),
                size,
                pos: 0,
            },
        ));
    }
    if got == 8 && &head == VHD_SIGNATURE {
        return Err(InspectError::UnsupportedVhd {
            path: path.to_path_buf(),
            kind: "dynamic or differencing".into(),
        });
    }
    if len >= VHD_FOOTER {
        let mut foot = [0u8; VHD_FOOTER as usize];
        read_up_to(&mut file, len - VHD_FOOTER, &mut foot).map_err(io_err)?;
        if &foot[..8] == VHD_SIGNATURE {
            let bad = |problem: String| InspectError::Vhd {
                path: path.to_path_buf(),
                problem,
            };
            let footer = parse_vhd_footer(&foot).map_err(bad)?;
            if footer.disk_type != "fixed" {
                return Err(InspectError::UnsupportedVhd {
                    path: path.to_path_buf(),
                    kind: footer.disk_type,
                });
            }
            if footer.virtual_size != len - VHD_FOOTER {
                return Err(bad(format!(
                    "it says the disk is {} bytes, the file holds {} before the footer \
                     (truncated or padded?)",
                    footer.virtual_size,
                    len - VHD_FOOTER
                )));
            }
            let size = footer.virtual_size;
            return Ok((
                DiskFormat::VhdFixed,
                Container::Vhd(footer),
                DiskReader {
                    inner: Inner::File(file),
                    size,
                    pos: 0,
                },
            ));
        }
    }
    Ok((
        DiskFormat::Raw,
        Container::Raw,
        DiskReader {
            inner: Inner::File(file),
            size: len,
            pos: 0,
        },
    ))
}

/// Reads at `off` until `buf` is full or the file ends; returns the bytes read.
fn read_up_to(f: &mut File, off: u64, buf: &mut [u8]) -> io::Result<usize> {
    f.seek(SeekFrom::Start(off))?;
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// A byte range of a disk seen as a file of its own (a partition for a filesystem reader).
struct Slice<'a, R> {
    disk: &'a mut R,
    start: u64,
    len: u64,
    pos: u64,
}

impl<R: Read + Seek> Read for Slice<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len {
            return Ok(0);
        }
        let n = (self.len - self.pos).min(buf.len() as u64) as usize;
        self.disk.seek(SeekFrom::Start(self.start + self.pos))?;
        let got = self.disk.read(&mut buf[..n])?;
        self.pos += got as u64;
        Ok(got)
    }
}

impl<R: Seek> Seek for Slice<'_, R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let p = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = p.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the partition start",
            )
        })?;
        Ok(self.pos)
    }
}

/// The VHDX part of a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VhdxReport {
    /// "dynamic" or "fixed" (LeaveBlockAllocated).
    pub kind: &'static str,
    pub creator: String,
    /// Which header is current (1 or 2).
    pub current_header: u8,
    /// Both header slots with their sequence numbers.
    pub headers: Vec<HeaderSlot>,
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
    pub blocks: BlockReport,
}

/// Payload blocks by BAT state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BlockReport {
    pub fully_present: u64,
    pub not_present: u64,
    pub zero: u64,
    pub unmapped: u64,
    pub undefined: u64,
}

fn vhdx_report(info: &eflow_vhdx::Info, headers: Vec<HeaderSlot>) -> VhdxReport {
    let h = &info.header;
    let b = &info.blocks;
    VhdxReport {
        kind: if info.fixed { "fixed" } else { "dynamic" },
        creator: info.creator.clone(),
        current_header: info.current_header,
        headers,
        file_write_guid: vhdx_guid(&h.file_write_guid),
        data_write_guid: vhdx_guid(&h.data_write_guid),
        log_guid: vhdx_guid(&h.log_guid),
        log_offset: h.log_offset,
        log_length: h.log_length,
        block_size: info.block_size,
        logical_sector_size: info.logical_sector,
        physical_sector_size: info.physical_sector,
        disk_id: vhdx_guid(&info.disk_id),
        metadata_offset: info.metadata_offset,
        bat_offset: info.bat_offset,
        bat_entries: info.bat_entries,
        allocated: info.allocated,
        blocks: BlockReport {
            fully_present: b.fully_present,
            not_present: b.not_present,
            zero: b.zero,
            unmapped: b.unmapped,
            undefined: b.undefined,
        },
    }
}

/// A filesystem found in a partition (or spanning the disk).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum FsReport {
    /// An ext2/3/4 superblock.
    Ext4(Ext4Report),
    /// A FAT boot sector.
    Fat(FatReport),
    /// A filesystem was recognized but could not be read.
    Error {
        /// "ext4" or "fat".
        filesystem: &'static str,
        message: String,
    },
}

/// An ext4 superblock summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ext4Report {
    pub uuid: String,
    pub label: String,
    pub features: Vec<&'static str>,
    pub block_size: u64,
    pub block_count: u64,
    pub free_blocks: u64,
    pub reserved_blocks: u64,
    pub inode_count: u32,
    pub free_inodes: u32,
}

/// A FAT volume: boot sector facts and what it holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FatReport {
    /// FAT12, FAT16 or FAT32.
    pub fat_type: &'static str,
    pub label: String,
    /// The volume serial number as `XXXX-XXXX` (how Windows and blkid show it).
    pub volume_id: String,
    pub cluster_size: u32,
    pub total_clusters: u32,
    pub free_clusters: u32,
    pub files: u64,
    pub directories: u64,
    /// Sum of the files' sizes.
    pub file_bytes: u64,
    /// Every file and directory, depth first.
    pub entries: Vec<FatEntryReport>,
}

/// One FAT directory entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FatEntryReport {
    pub path: String,
    pub size: u64,
    pub is_dir: bool,
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

/// Which filesystem the first 4 KiB of a partition announce, by their magic numbers.
fn probe(first: &[u8]) -> Option<&'static str> {
    if first.len() >= 1082 && first[1080..1082] == [0x53, 0xEF] {
        return Some("ext4");
    }
    if first.len() >= 512 && first[510..512] == [0x55, 0xAA] {
        let fat32 = first.get(82..87) == Some(b"FAT32".as_slice());
        let fat16 = first.get(54..57) == Some(b"FAT".as_slice());
        if fat32 || fat16 {
            return Some("fat");
        }
    }
    None
}

/// Recognizes and summarizes the filesystem in `len` bytes at `start` of `disk`.
fn filesystem<R: Read + Seek>(disk: &mut R, start: u64, len: u64) -> Option<FsReport> {
    let mut first = vec![0u8; 4096.min(len) as usize];
    let mut s = Slice {
        disk,
        start,
        len,
        pos: 0,
    };
    if s.read_exact(&mut first).is_err() {
        return None;
    }
    let kind = probe(&first)?;
    s.pos = 0;
    let result = match kind {
        "ext4" => ext4_report(s),
        _ => fat_report(s),
    };
    Some(result.unwrap_or_else(|message| FsReport::Error {
        filesystem: kind,
        message,
    }))
}

fn ext4_report<R: Read + Seek>(s: R) -> Result<FsReport, String> {
    let r = eflow_ext4::Ext4Reader::open(s).map_err(|e| e.to_string())?;
    let m = r.summary();
    Ok(FsReport::Ext4(Ext4Report {
        uuid: m.uuid.to_string(),
        label: m.label,
        features: m.features,
        block_size: m.block_size,
        block_count: m.block_count,
        free_blocks: m.free_blocks,
        reserved_blocks: m.reserved_blocks,
        inode_count: m.inode_count,
        free_inodes: m.free_inodes,
    }))
}

fn fat_report<R: Read + Seek>(mut s: R) -> Result<FsReport, String> {
    let info = eflow_fat::info(&mut s).map_err(|e| e.to_string())?;
    let list = eflow_fat::list(&mut s).map_err(|e| e.to_string())?;
    let files = list.iter().filter(|e| !e.is_dir).count() as u64;
    Ok(FsReport::Fat(FatReport {
        fat_type: info.fat_type,
        label: info.label,
        volume_id: format!(
            "{:04X}-{:04X}",
            info.volume_id >> 16,
            info.volume_id & 0xFFFF
        ),
        cluster_size: info.cluster_size,
        total_clusters: info.total_clusters,
        free_clusters: info.free_clusters,
        files,
        directories: list.len() as u64 - files,
        file_bytes: list.iter().filter(|e| !e.is_dir).map(|e| e.size).sum(),
        entries: list
            .into_iter()
            .map(|e| FatEntryReport {
                path: e.path,
                size: e.size,
                is_dir: e.is_dir,
            })
            .collect(),
    }))
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
    let (format, container, mut disk) = open_disk(path)?;
    let file_size = std::fs::metadata(path)
        .map_err(|source| InspectError::Io {
            path: path.to_path_buf(),
            source,
        })?
        .len();
    let (vhdx, vhd) = match container {
        Container::Raw => (None, None),
        Container::Vhdx(info, slots) => (Some(vhdx_report(&info, slots)), None),
        Container::Vhd(f) => (None, Some(f)),
    };
    let size = disk.size();
    let mut report = Report {
        path: path.to_path_buf(),
        format,
        file_size,
        virtual_size: size,
        vhdx,
        vhd,
        partition_table: None,
        filesystem: None,
        problems: Vec::new(),
    };
    match eflow_gpt::Gpt::read(&mut disk) {
        Ok(gpt) => {
            let mut parts = Vec::new();
            for (i, p) in gpt.partitions.iter().enumerate() {
                let fs = filesystem(&mut disk, p.offset(), p.size());
                if let Some(FsReport::Error {
                    filesystem,
                    message,
                }) = &fs
                {
                    report.problems.push(format!(
                        "partition {} ({:?}): {filesystem}: {message}",
                        i + 1,
                        p.name
                    ));
                }
                parts.push(PartitionReport {
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
                    filesystem: fs,
                });
            }
            report.partition_table = Some(TableReport {
                kind: "gpt",
                disk_guid: gpt.disk_guid.to_string(),
                partitions: parts,
            });
        }
        Err(e) => {
            if !no_gpt_at_all(&e, &mut disk) {
                return Err(InspectError::Gpt {
                    path: path.to_path_buf(),
                    source: e,
                });
            }
            match filesystem(&mut disk, 0, size) {
                Some(fs) => {
                    if let FsReport::Error {
                        filesystem,
                        message,
                    } = &fs
                    {
                        report
                            .problems
                            .push(format!("whole disk: {filesystem}: {message}"));
                    }
                    report.filesystem = Some(fs);
                }
                None => {
                    return Err(InspectError::NoTable {
                        path: path.to_path_buf(),
                        gpt: e,
                    })
                }
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn footer(size: u64, disk_type: u32) -> [u8; 512] {
        let mut f = [0u8; 512];
        f[..8].copy_from_slice(VHD_SIGNATURE);
        f[12..16].copy_from_slice(&0x0001_0000u32.to_be_bytes());
        f[40..48].copy_from_slice(&size.to_be_bytes());
        f[48..56].copy_from_slice(&size.to_be_bytes());
        f[60..64].copy_from_slice(&disk_type.to_be_bytes());
        let sum: u32 = f.iter().map(|b| *b as u32).sum();
        f[64..68].copy_from_slice(&(!sum).to_be_bytes());
        f
    }

    #[test]
    fn vhd_footer_is_checked() {
        let f = footer(1 << 20, 2);
        let p = parse_vhd_footer(&f).unwrap();
        assert_eq!(p.virtual_size, 1 << 20);
        assert_eq!(p.disk_type, "fixed");
        for i in [0usize, 30, 50, 64, 100, 511] {
            let mut g = f;
            g[i] ^= 0x10;
            assert!(parse_vhd_footer(&g).is_err(), "flip at {i}");
        }
    }

    #[test]
    fn detection_by_content_and_clean_errors() {
        let d = tempfile::tempdir().unwrap();
        // Raw: nothing recognizable, no table: an error naming the path.
        let raw = d.path().join("x.vhdx");
        std::fs::write(&raw, vec![0u8; 1 << 20]).unwrap();
        let e = inspect(&raw).unwrap_err();
        assert!(matches!(e, InspectError::NoTable { .. }), "{e}");
        assert!(e.to_string().contains("x.vhdx"), "{e}");
        // A fixed VHD footer whose size disagrees with the file.
        let vhd = d.path().join("a.raw");
        let mut f = File::create(&vhd).unwrap();
        f.write_all(&vec![0u8; 1 << 20]).unwrap();
        f.write_all(&footer(2 << 20, 2)).unwrap();
        drop(f);
        let e = open_disk(&vhd).err().unwrap();
        assert!(matches!(e, InspectError::Vhd { .. }), "{e}");
        // A dynamic VHD.
        let mut f = File::create(&vhd).unwrap();
        f.write_all(&footer(1 << 20, 3)).unwrap();
        f.write_all(&vec![0u8; 4096]).unwrap();
        f.write_all(&footer(1 << 20, 3)).unwrap();
        drop(f);
        let e = open_disk(&vhd).err().unwrap();
        assert!(matches!(e, InspectError::UnsupportedVhd { .. }), "{e}");
        // A VHDX signature followed by garbage.
        let bad = d.path().join("b.img");
        let mut g = b"vhdxfile".to_vec();
        g.resize(300 << 10, 0x5A);
        std::fs::write(&bad, g).unwrap();
        let e = open_disk(&bad).err().unwrap();
        assert!(matches!(e, InspectError::Vhdx { .. }), "{e}");
        // Empty file: raw, no table.
        let empty = d.path().join("e");
        std::fs::write(&empty, b"").unwrap();
        assert!(inspect(&empty).is_err());
    }

    #[test]
    fn fixed_vhd_reads_without_its_footer() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("d.vhd");
        let mut f = File::create(&p).unwrap();
        let body: Vec<u8> = (0..(1u32 << 20)).map(|i| (i % 251) as u8).collect();
        f.write_all(&body).unwrap();
        f.write_all(&footer(1 << 20, 2)).unwrap();
        drop(f);
        let (fmt, _, mut r) = open_disk(&p).unwrap();
        assert_eq!(fmt, DiskFormat::VhdFixed);
        assert_eq!(r.size(), 1 << 20);
        let mut all = Vec::new();
        r.read_to_end(&mut all).unwrap();
        assert!(all == body);
        let mut s = r.into_sparse().unwrap();
        assert!(eflow_extents::read_all(&mut s).unwrap() == body);
    }
}
