//! Writes a VHDX file from a sparse stream, front to back: the fixed structures first, then
//! the payload blocks in order, then the BAT (seeking back to its place).
//!
//! Layout of the files written here (every region 1 MiB aligned):
//! identifier, headers and region tables in the first MiB; the log (1 MiB, empty) at 1 MiB;
//! the metadata region (1 MiB) at 2 MiB; the BAT at 3 MiB; payload blocks after it, in
//! virtual order.
//!
//! Zero bytes inside the file (the empty log, the unused parts of regions, zero ranges inside
//! stored blocks) are not written but skipped over with seeks, and the file length is set at
//! the end: the bytes read back are identical either way, so output stays reproducible. On a
//! Linux host that leaves holes (fast, small on disk); a copy to Windows or to any NTFS volume
//! is written dense by the copying tool, which is what Hyper-V requires (it refuses files that
//! carry the NTFS sparse attribute, which nothing here can set). On Windows hosts, writing
//! past a gap fills it with zeros, so the file is dense there from the start.

use std::io::SeekFrom;

use eflow_extents::{is_zero, Segment, SparseRead};

use crate::bat::{self, Geometry};
use crate::bytes::MIB;
use crate::error::Error;
use crate::guid::{self, Guid};
use crate::header::{self, Header};
use crate::ident;
use crate::metadata::{check_sizes, check_virtual_size, Metadata};
use crate::region::{self, RegionEntry};

/// Where the log region starts and how long it is.
pub(crate) const LOG_OFFSET: u64 = MIB;
/// Length of the (always empty) log written here.
pub(crate) const LOG_LENGTH: u64 = MIB;
/// Where the metadata region starts.
pub(crate) const METADATA_OFFSET: u64 = 2 * MIB;
/// Length of the metadata region.
pub(crate) const METADATA_LENGTH: u64 = MIB;
/// Where the BAT starts; payload follows it.
pub(crate) const BAT_OFFSET: u64 = 3 * MIB;

/// Dynamic or fixed: whether zero blocks take space in the file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Kind {
    /// Only blocks holding data are stored; all-zero blocks are NOT_PRESENT.
    #[default]
    Dynamic,
    /// Every block is stored (LeaveBlockAllocated = 1), as some deployments require.
    Fixed,
}

/// How to write a VHDX file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Dynamic (default) or fixed.
    pub kind: Kind,
    /// Payload block size: a power of two from 1 MiB to 256 MiB (default 1 MiB, what
    /// Microsoft recommends for Linux guests).
    pub block_size: u32,
    /// Logical sector size, 512 (default) or 4096.
    pub logical_sector: u32,
    /// Physical sector size, 512 or 4096 (default, as Hyper-V's New-VHD).
    pub physical_sector: u32,
    /// Every GUID in the file derives from this, so equal inputs give equal files.
    pub seed: eflow_id::Seed,
    /// Stored in the file identifier (at most 256 UTF-16 units).
    pub creator: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            kind: Kind::Dynamic,
            block_size: MIB as u32,
            logical_sector: 512,
            physical_sector: 4096,
            seed: eflow_id::Seed::default(),
            creator: "eflow-image".into(),
        }
    }
}

/// What was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Size of the virtual disk in bytes.
    pub virtual_size: u64,
    /// Length of the VHDX file in bytes.
    pub file_size: u64,
    /// Payload blocks stored in the file (FULLY_PRESENT).
    pub blocks_present: u64,
    /// Payload blocks of the virtual disk.
    pub blocks_total: u64,
}

/// Writes `src` as a VHDX file into `out` (truncated first).
pub fn write(
    src: &mut dyn SparseRead,
    out: &mut dyn eflow_extents::Output,
    opts: &Options,
) -> Result<Summary, Error> {
    write_with_progress(src, out, opts, &mut |_, _| {})
}

/// As [`write`], calling `progress(bytes_done, bytes_total)` (virtual bytes) as it goes, so a
/// command line can draw a progress bar.
pub fn write_with_progress(
    src: &mut dyn SparseRead,
    out: &mut dyn eflow_extents::Output,
    opts: &Options,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Summary, Error> {
    check_sizes(opts.block_size, opts.logical_sector, opts.physical_sector)
        .map_err(Error::InvalidOption)?;
    let size = src.size();
    check_virtual_size(size, opts.logical_sector).map_err(Error::InvalidOption)?;
    let ident = ident::build(&opts.creator)?;
    let geo = Geometry::new(size, opts.block_size, opts.logical_sector);
    let bat_len = geo.region_len();
    if bat_len > u32::MAX as u64 {
        return Err(Error::InvalidOption(format!(
            "the BAT would take {bat_len} bytes, more than a region can hold: use a larger block size"
        )));
    }
    let payload_start = BAT_OFFSET + bat_len;

    out.set_len(0)?;
    let mut w = Out { file: out, pos: 0 };
    w.write_at(0, &ident)?;
    let h = |seq| Header {
        sequence_number: seq,
        file_write_guid: opts.seed.guid("vhdx file write guid"),
        data_write_guid: opts.seed.guid("vhdx data write guid"),
        log_guid: Guid::ZERO,
        log_version: 0,
        version: 1,
        log_length: LOG_LENGTH as u32,
        log_offset: LOG_OFFSET,
    };
    w.write_at(header::OFFSETS[0], &h(1).to_bytes())?;
    w.write_at(header::OFFSETS[1], &h(2).to_bytes())?;
    let regions = region::build(&[
        RegionEntry {
            guid: guid::BAT_REGION,
            file_offset: BAT_OFFSET,
            length: bat_len as u32,
            required: true,
        },
        RegionEntry {
            guid: guid::METADATA_REGION,
            file_offset: METADATA_OFFSET,
            length: METADATA_LENGTH as u32,
            required: true,
        },
    ]);
    w.write_at(region::OFFSETS[0], &regions)?;
    w.write_at(region::OFFSETS[1], &regions)?;
    let meta = Metadata {
        block_size: opts.block_size,
        leave_block_allocated: opts.kind == Kind::Fixed,
        has_parent: false,
        virtual_size: size,
        logical_sector: opts.logical_sector,
        physical_sector: opts.physical_sector,
        disk_id: opts.seed.guid("vhdx page83 disk id"),
    };
    w.write_at(METADATA_OFFSET, &meta.build())?;

    // Payload: block k's bytes arrive in order; a dynamic block is placed in the file only
    // when its first non-zero byte arrives (so all-zero blocks, whether reported as Zero
    // segments or as zero-filled data, stay NOT_PRESENT).
    let bs = opts.block_size as u64;
    let mut bat_entries = vec![0u64; geo.entries as usize];
    let mut next_free = payload_start;
    let mut placed: Option<u64> = None; // file offset of the current block, once placed
    let mut pos = 0u64;
    let mut present = 0u64;
    let fixed = opts.kind == Kind::Fixed;
    let mut buf = vec![0u8; 4 << 20];
    while let Some(seg) = src.next_segment(&mut buf).map_err(Error::Io)? {
        let (len, data) = match seg {
            Segment::Zero(n) => (n, false),
            Segment::Data(n) if n <= buf.len() && n > 0 => (n as u64, true),
            Segment::Data(n) => {
                return Err(Error::Input(format!(
                    "a data segment of {n} bytes for a {}-byte buffer",
                    buf.len()
                )))
            }
        };
        match pos.checked_add(len) {
            Some(end) if len > 0 && end <= size => {}
            _ => {
                return Err(Error::Input(format!(
                    "segments pass the declared size {size} (at {pos}, a {len}-byte segment)"
                )))
            }
        }
        let mut done = 0u64;
        while done < len {
            let k = pos / bs;
            let in_block = pos % bs;
            let n = (bs - in_block).min(len - done);
            if in_block == 0 {
                placed = None;
                if fixed {
                    placed = Some(next_free);
                    bat_entries[geo.payload_index(k) as usize] =
                        bat::entry(bat::PAYLOAD_FULLY_PRESENT, next_free);
                    next_free += bs;
                    present += 1;
                }
            }
            if data {
                let piece = &buf[done as usize..(done + n) as usize];
                if placed.is_none() && !is_zero(piece) {
                    placed = Some(next_free);
                    bat_entries[geo.payload_index(k) as usize] =
                        bat::entry(bat::PAYLOAD_FULLY_PRESENT, next_free);
                    next_free += bs;
                    present += 1;
                }
                if let Some(base) = placed {
                    w.write_at(base + in_block, piece)?;
                }
            }
            pos += n;
            done += n;
        }
        progress(pos, size);
    }
    if pos != size {
        return Err(Error::Input(format!(
            "the stream ended at {pos} bytes, its declared size is {size}"
        )));
    }
    // The BAT, in 1 MiB pieces (it can be large: 8 bytes per block of the virtual disk).
    let mut at = BAT_OFFSET;
    for chunk in bat_entries.chunks(MIB as usize / 8) {
        let bytes: Vec<u8> = chunk.iter().flat_map(|e| e.to_le_bytes()).collect();
        w.write_at(at, &bytes)?;
        at += bytes.len() as u64;
    }
    let file_size = next_free;
    w.file.set_len(file_size)?;
    w.file.flush()?;
    Ok(Summary {
        virtual_size: size,
        file_size,
        blocks_present: present,
        blocks_total: geo.payload_blocks,
    })
}

/// The output file with its current position, so that sequential writes need no seek.
struct Out<'a> {
    file: &'a mut dyn eflow_extents::Output,
    pos: u64,
}

impl Out<'_> {
    fn write_at(&mut self, at: u64, b: &[u8]) -> Result<(), Error> {
        if at != self.pos {
            self.file.seek(SeekFrom::Start(at))?;
        }
        self.file.write_all(b)?;
        self.pos = at + b.len() as u64;
        Ok(())
    }
}
