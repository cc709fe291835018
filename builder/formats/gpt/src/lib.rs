//! GUID Partition Table (UEFI spec, chapter 5): the writer that lays out eflow-image disks and
//! a reader that checks one (for `inspect` and for tests).
//!
//! Sector size is 512 bytes. The primary copy is a protective MBR (LBA 0), the header (LBA 1)
//! and 128 entries of 128 bytes (LBA 2..34); the backup copy is the entry array followed by
//! the header in the disk's last LBA. [`plan`] places partitions on 1 MiB boundaries.

mod entry;

mod header;
mod mbr;
mod plan;
pub mod types;

use std::io::{self, Read, Seek, SeekFrom};

use eflow_extents::{Bytes, Layout};

pub use eflow_id::{Guid, ParseGuidError};
pub use header::Header;
pub use plan::{plan, PartSpec, Planned, Size, ALIGN};

/// The sector (logical block) size of every disk this crate writes.
pub const SECTOR: u64 = 512;
/// Entries in the partition entry array.
pub const NUM_ENTRIES: u32 = 128;
/// Sectors taken by the entry array (128 x 128 bytes).
pub const ENTRY_SECTORS: u64 = NUM_ENTRIES as u64 * entry::ENTRY_SIZE as u64 / SECTOR;
/// The first LBA a partition may use (after MBR, header and entries).
pub const FIRST_USABLE_LBA: u64 = 2 + ENTRY_SECTORS;

/// What went wrong writing or reading a GPT.
#[derive(Debug, thiserror::Error)]
pub enum GptError {
    /// The described table cannot be written as it is.
    #[error("invalid partition table: {0}")]
    Invalid(String),
    /// Partitions do not fit the disk (from [`plan`]).
    #[error("partitions do not fit: {0}")]
    DoesNotFit(String),
    /// A structure read from a disk is damaged or not a GPT.
    #[error("{what}: {detail}")]
    Corrupt {
        /// Which structure (protective MBR, primary header, backup header, partition entry).
        what: &'static str,
        detail: String,
    },
    /// Reading the disk failed.
    #[error("reading the disk: {0}")]
    Io(#[from] io::Error),
}

/// One partition of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partition {
    /// What the partition holds (see [`types`]).
    pub type_guid: Guid,
    /// This partition's own GUID (PARTUUID).
    pub unique_guid: Guid,
    /// The partition label (PARTLABEL), at most 36 UTF-16 code units.
    pub name: String,
    /// First sector of the partition.
    pub first_lba: u64,
    /// Last sector of the partition, inclusive.
    pub last_lba: u64,
    /// Attribute bits (bit 0 required, bit 2 legacy BIOS bootable, 48..63 type-specific).
    pub attributes: u64,
}

impl Partition {
    /// Byte offset of the partition on the disk.
    pub fn offset(&self) -> u64 {
        self.first_lba * SECTOR
    }

    /// Size of the partition in bytes.
    pub fn size(&self) -> u64 {
        (self.last_lba + 1 - self.first_lba) * SECTOR
    }
}

/// A whole partition table: what the writer writes and the reader returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gpt {
    /// The disk's GUID.
    pub disk_guid: Guid,
    /// Disk size in bytes, a multiple of 512.
    pub disk_size: u64,
    /// Partitions, in entry order (partition 1 first).
    pub partitions: Vec<Partition>,
}

impl Gpt {
    /// The disk's last LBA (where the backup header goes).
    pub fn last_lba(&self) -> u64 {
        self.disk_size / SECTOR - 1
    }

    /// The last LBA a partition may use (before the backup entry array).
    pub fn last_usable_lba(&self) -> u64 {
        self.last_lba().saturating_sub(ENTRY_SECTORS + 1)
    }

    /// Checks that the table can be written: disk size, partition bounds, overlaps, names.
    pub fn validate(&self) -> Result<(), GptError> {
        let inv = |s: String| Err(GptError::Invalid(s));
        if self.disk_size % SECTOR != 0 {
            return inv(format!(
                "disk size {} is not a multiple of {SECTOR}",
                self.disk_size
            ));
        }
        // MBR + header + entries, the same at the end, and at least one usable sector.
        let min = (2 * (1 + ENTRY_SECTORS) + 2) * SECTOR;
        if self.disk_size < min {
            return inv(format!(
                "disk size {} is below the {min} bytes the two GPT copies need",
                self.disk_size
            ));
        }
        if self.partitions.len() > NUM_ENTRIES as usize {
            return inv(format!(
                "{} partitions, at most {NUM_ENTRIES} fit",
                self.partitions.len()
            ));
        }
        let (lo, hi) = (FIRST_USABLE_LBA, self.last_usable_lba());
        for (i, p) in self.partitions.iter().enumerate() {
            let n = i + 1;
            if p.type_guid == Guid::ZERO {
                return inv(format!(
                    "partition {n} ({:?}) has the zero type GUID",
                    p.name
                ));
            }
            if p.name.encode_utf16().count() > entry::NAME_UNITS {
                return inv(format!(
                    "partition {n} name {:?} is longer than {} UTF-16 units",
                    p.name,
                    entry::NAME_UNITS
                ));
            }
            if p.name.contains('\0') {
                return inv(format!("partition {n} name {:?} contains NUL", p.name));
            }
            if p.first_lba > p.last_lba || p.first_lba < lo || p.last_lba > hi {
                return inv(format!(
                    "partition {n} ({:?}) spans LBA {}..={}, outside the usable {lo}..={hi}",
                    p.name, p.first_lba, p.last_lba
                ));
            }
            for (j, q) in self.partitions.iter().enumerate().take(i) {
                if p.first_lba <= q.last_lba && q.first_lba <= p.last_lba {
                    return inv(format!(
                        "partition {n} ({:?}) overlaps partition {} ({:?})",
                        p.name,
                        j + 1,
                        q.name
                    ));
                }
            }
        }
        Ok(())
    }

    /// The partition entry array (128 entries of 128 bytes; unused ones zero).
    fn entries(&self) -> Vec<u8> {
        let mut out = vec![0u8; NUM_ENTRIES as usize * entry::ENTRY_SIZE];
        for (p, slot) in self
            .partitions
            .iter()
            .zip(out.chunks_exact_mut(entry::ENTRY_SIZE))
        {
            entry::write(p, slot);
        }
        out
    }

    fn header(&self, primary: bool, entries_crc: u32) -> Header {
        let last = self.last_lba();
        Header {
            my_lba: if primary { 1 } else { last },
            alternate_lba: if primary { last } else { 1 },
            first_usable_lba: FIRST_USABLE_LBA,
            last_usable_lba: self.last_usable_lba(),
            disk_guid: self.disk_guid,
            entries_lba: if primary { 2 } else { last - ENTRY_SECTORS },
            num_entries: NUM_ENTRIES,
            entry_size: entry::ENTRY_SIZE as u32,
            entries_crc,
        }
    }

    /// The first 34 sectors of the disk: protective MBR, primary header, entry array.
    /// Call [`Gpt::validate`] first: out-of-range values are written as they are.
    pub fn primary(&self) -> Vec<u8> {
        let entries = self.entries();
        let crc = crc32fast::hash(&entries);
        let mut out = Vec::with_capacity(((2 + ENTRY_SECTORS) * SECTOR) as usize);
        out.extend_from_slice(&mbr::protective(self.disk_size / SECTOR));
        out.extend_from_slice(&self.header(true, crc).to_sector());
        out.extend_from_slice(&entries);
        out
    }

    /// The last 33 sectors of the disk: the entry array, then the backup header.
    pub fn backup(&self) -> Vec<u8> {
        let entries = self.entries();
        let crc = crc32fast::hash(&entries);
        let mut out = entries;
        out.extend_from_slice(&self.header(false, crc).to_sector());
        out
    }

    /// Byte offset of [`Gpt::backup`] on the disk.
    pub fn backup_offset(&self) -> u64 {
        (self.last_lba() - ENTRY_SECTORS) * SECTOR
    }

    /// Validates the table and places both copies in a disk layout of `disk_size` bytes.
    pub fn place(&self, layout: &mut Layout) -> Result<(), GptError> {
        self.validate()?;
        layout.place(0, Box::new(Bytes::new(self.primary())))?;
        layout.place(self.backup_offset(), Box::new(Bytes::new(self.backup())))?;
        Ok(())
    }

    /// Reads and checks the table of a disk: protective MBR, both headers and their CRCs,
    /// both entry arrays, and that the partitions lie in the usable range without overlapping.
    /// Unused entries are skipped, so partition numbers are only kept for packed tables.
    pub fn read<R: Read + Seek>(disk: &mut R) -> Result<Gpt, GptError> {
        let disk_size = disk.seek(SeekFrom::End(0))?;
        if disk_size < 2 * SECTOR * (2 + ENTRY_SECTORS) {
            return Err(GptError::Corrupt {
                what: "disk",
                detail: format!("{disk_size} bytes is too small to hold a GPT"),
            });
        }
        let sectors = disk_size / SECTOR;
        let mut head = vec![0u8; 2 * SECTOR as usize];
        disk.seek(SeekFrom::Start(0))?;
        disk.read_exact(&mut head)?;
        mbr::check(&head[..SECTOR as usize])?;
        let primary = Header::parse(&head[SECTOR as usize..], "primary GPT header")?;
        let mut last = vec![0u8; SECTOR as usize];
        disk.seek(SeekFrom::Start((sectors - 1) * SECTOR))?;
        disk.read_exact(&mut last)?;
        let backup = Header::parse(&last, "backup GPT header")?;

        let corrupt = |what, detail: String| GptError::Corrupt { what, detail };
        if primary.my_lba != 1 || primary.alternate_lba != sectors - 1 {
            return Err(corrupt(
                "primary GPT header",
                format!(
                    "says it is at LBA {} with its backup at {}, expected 1 and {} (was the disk resized?)",
                    primary.my_lba,
                    primary.alternate_lba,
                    sectors - 1
                ),
            ));
        }
        if backup.my_lba != sectors - 1 || backup.alternate_lba != 1 {
            return Err(corrupt(
                "backup GPT header",
                format!(
                    "says it is at LBA {} with the primary at {}, expected {} and 1",
                    backup.my_lba,
                    backup.alternate_lba,
                    sectors - 1
                ),
            ));
        }
        let same = |a: &Header, b: &Header| {
            a.first_usable_lba == b.first_usable_lba
                && a.last_usable_lba == b.last_usable_lba
                && a.disk_guid == b.disk_guid
                && a.num_entries == b.num_entries
                && a.entry_size == b.entry_size
                && a.entries_crc == b.entries_crc
        };
        if !same(&primary, &backup) {
            return Err(corrupt(
                "GPT headers",
                "primary and backup headers disagree".into(),
            ));
        }
        if primary.first_usable_lba > primary.last_usable_lba || primary.last_usable_lba >= sectors
        {
            return Err(corrupt(
                "primary GPT header",
                format!(
                    "usable range {}..={} does not fit a disk of {sectors} sectors",
                    primary.first_usable_lba, primary.last_usable_lba
                ),
            ));
        }
        let esize = primary.entry_size as usize;
        if esize < entry::ENTRY_SIZE || esize % 8 != 0 || esize > 4096 {
            return Err(corrupt(
                "primary GPT header",
                format!("partition entry size {esize} is not a multiple of 8 in 128..=4096"),
            ));
        }
        let array_len = esize as u64 * primary.num_entries as u64;
        if array_len > 4 << 20 {
            return Err(corrupt(
                "primary GPT header",
                format!("partition entry array of {array_len} bytes is implausibly large"),
            ));
        }
        let mut arrays = Vec::with_capacity(2);
        for h in [&primary, &backup] {
            let which = if h.my_lba == 1 {
                "primary partition entries"
            } else {
                "backup partition entries"
            };
            let end = h
                .entries_lba
                .checked_mul(SECTOR)
                .and_then(|o| o.checked_add(array_len))
                .filter(|e| *e <= disk_size)
                .ok_or_else(|| {
                    corrupt(
                        which,
                        format!("array at LBA {} passes the disk end", h.entries_lba),
                    )
                })?;
            let mut buf = vec![0u8; array_len as usize];
            disk.seek(SeekFrom::Start(end - array_len))?;
            disk.read_exact(&mut buf)?;
            let crc = crc32fast::hash(&buf);
            if crc != h.entries_crc {
                return Err(corrupt(
                    which,
                    format!(
                        "CRC32 is {crc:#010x}, the header says {:#010x}",
                        h.entries_crc
                    ),
                ));
            }
            arrays.push(buf);
        }
        let mut partitions = Vec::new();
        for (i, e) in arrays[0].chunks_exact(esize).enumerate() {
            if let Some(p) = entry::parse(e, i)? {
                if p.first_lba > p.last_lba
                    || p.first_lba < primary.first_usable_lba
                    || p.last_lba > primary.last_usable_lba
                {
                    return Err(corrupt(
                        "partition entry",
                        format!(
                            "entry {} spans LBA {}..={}, outside the usable {}..={}",
                            i + 1,
                            p.first_lba,
                            p.last_lba,
                            primary.first_usable_lba,
                            primary.last_usable_lba
                        ),
                    ));
                }
                if let Some(q) = partitions
                    .iter()
                    .find(|q: &&Partition| p.first_lba <= q.last_lba && q.first_lba <= p.last_lba)
                {
                    return Err(corrupt(
                        "partition entry",
                        format!("entry {} ({:?}) overlaps {:?}", i + 1, p.name, q.name),
                    ));
                }
                partitions.push(p);
            }
        }
        Ok(Gpt {
            disk_guid: primary.disk_guid,
            disk_size,
            partitions,
        })
    }
}
