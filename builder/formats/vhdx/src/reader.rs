//! Opens a VHDX file, validates every structure it relies on, and reads the virtual disk as
//! a sparse stream (blocks that are not stored come back as zero runs, never read).

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use eflow_extents::{Segment, SparseRead};

use crate::bat::{self, Geometry};
use crate::bytes::MIB;
use crate::error::{corrupt, Error};
use crate::guid::{self, Guid};
use crate::header::{self, Header, HeaderSlot};
use crate::ident;
use crate::log;
use crate::metadata::{self, Metadata};
use crate::overlay::Image;
use crate::region;

/// How many payload blocks are in each state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct BlockCounts {
    /// Never written (zeros).
    pub not_present: u64,
    /// Undefined content (read as zeros).
    pub undefined: u64,
    /// Explicitly zero.
    pub zero: u64,
    /// Unmapped / trimmed (read as zeros).
    pub unmapped: u64,
    /// Stored in the file.
    pub fully_present: u64,
}

/// What `inspect` shows about a VHDX file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Info {
    /// Creator string from the file identifier.
    pub creator: String,
    /// Which header is current (1 or 2).
    pub current_header: u8,
    /// The current header's fields.
    pub header: Header,
    /// Both header slots as found, valid or not.
    pub headers: [HeaderSlot; 2],
    /// Length of the VHDX file.
    pub file_size: u64,
    /// Size of the virtual disk.
    pub virtual_size: u64,
    /// Payload block size.
    pub block_size: u32,
    /// Logical sector size.
    pub logical_sector: u32,
    /// Physical sector size.
    pub physical_sector: u32,
    /// LeaveBlockAllocated: a fixed disk.
    pub fixed: bool,
    /// Page 83 identifier of the virtual disk.
    pub disk_id: Guid,
    /// Where the BAT starts.
    pub bat_offset: u64,
    /// Number of BAT entries (payload and sector bitmap).
    pub bat_entries: u64,
    /// Where the metadata region starts.
    pub metadata_offset: u64,
    /// Payload blocks by state.
    pub blocks: BlockCounts,
    /// Bytes of payload stored in the file (present blocks times block size).
    pub allocated: u64,
    /// Log entries replayed (in memory; the file is not modified) when opening: non-zero
    /// only for a file left behind by a crash.
    pub log_entries_replayed: usize,
}

impl fmt::Display for Info {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (h, b) = (&self.header, &self.blocks);
        let kind = if self.fixed { "fixed" } else { "dynamic" };
        let rows = [
            ("format", format!("VHDX ({kind})")),
            ("creator", self.creator.clone()),
            ("virtual size", format!("{} bytes", self.virtual_size)),
            ("file size", format!("{} bytes", self.file_size)),
            ("allocated payload", format!("{} bytes", self.allocated)),
            ("block size", format!("{} bytes", self.block_size)),
            (
                "sector size",
                format!(
                    "{} logical, {} physical",
                    self.logical_sector, self.physical_sector
                ),
            ),
            ("disk id (page 83)", self.disk_id.to_string()),
            (
                "current header",
                format!("{} (sequence {})", self.current_header, h.sequence_number),
            ),
            ("file write guid", h.file_write_guid.to_string()),
            ("data write guid", h.data_write_guid.to_string()),
            ("log guid", h.log_guid.to_string()),
            ("log", format!("{} bytes at {}", h.log_length, h.log_offset)),
            ("metadata region", format!("at {}", self.metadata_offset)),
            (
                "BAT",
                format!("{} entries at {}", self.bat_entries, self.bat_offset),
            ),
            (
                "log replayed",
                format!("{} entries (in memory)", self.log_entries_replayed),
            ),
            (
                "blocks",
                format!(
                    "{} present, {} not present, {} zero, {} unmapped, {} undefined",
                    b.fully_present, b.not_present, b.zero, b.unmapped, b.undefined
                ),
            ),
        ];
        // One `name: value` line each, the values in one column; no newline after the last.
        for (i, (name, value)) in rows.iter().enumerate() {
            let sep = if i == 0 { "" } else { "\n" };
            write!(f, "{sep}{:<19}{value}", format!("{name}:"))?;
        }
        Ok(())
    }
}

/// A validated VHDX file, readable as a sparse stream of its virtual disk. Any seekable
/// byte source works (a `File` by default; a `Cursor` in tests and fuzzing).
pub struct Reader<F = File> {
    image: Image<F>,
    info: Info,
    geo: Geometry,
    bat: Vec<u64>,
    pos: u64,
}

/// Reads `len` bytes at `off`, or says which structure the file ends inside.
fn read_at<F: Read + Seek>(
    image: &mut Image<F>,
    off: u64,
    len: usize,
    what: &str,
) -> Result<Vec<u8>, Error> {
    let size = image.size();
    match off.checked_add(len as u64) {
        Some(end) if end <= size => {}
        _ => {
            return Err(corrupt(
                what,
                off,
                format!("{len} bytes needed but the file ends at {size}"),
            ))
        }
    }
    let mut b = vec![0u8; len];
    image.read_exact_at(off, &mut b).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            corrupt(what, off, "the file ended while reading it")
        } else {
            Error::Io(e)
        }
    })?;
    Ok(b)
}

/// A named byte range of the file, for overlap checks.
struct Span {
    name: String,
    start: u64,
    end: u64,
}

impl<F: Read + Seek> Reader<F> {
    /// Opens and validates a VHDX file (read only; nothing is written to it).
    pub fn open(file: F) -> Result<Reader<F>, Error> {
        let mut image = Image::new(file)?;
        let fsz = image.file_size();
        let f = &mut image;
        let id = read_at(f, 0, ident::SIZE, "file type identifier")?;
        let creator = ident::parse(&id)?;

        // Headers: the valid one with the higher sequence number is current.
        let mut parsed = Vec::new();
        for (i, off) in header::OFFSETS.iter().enumerate() {
            let name = format!("header {}", i + 1);
            parsed.push(
                read_at(f, *off, header::SIZE, &name).and_then(|b| Header::parse(&b, &name, *off)),
            );
        }
        let (current_header, header) = match (&parsed[0], &parsed[1]) {
            (Ok(a), Ok(b)) if b.sequence_number > a.sequence_number => (2, b.clone()),
            (Ok(a), _) => (1, a.clone()),
            (Err(_), Ok(b)) => (2, b.clone()),
            (Err(a), Err(b)) => {
                return Err(corrupt(
                    "headers",
                    header::OFFSETS[0],
                    format!("neither header is valid ({a}; {b})"),
                ))
            }
        };
        let headers = [HeaderSlot::of(1, &parsed[0]), HeaderSlot::of(2, &parsed[1])];

        // Log: replay in memory what a crash left to replay, before reading anything the
        // log may update (region tables, metadata, BAT).
        // Where the log region ends; an error if past the end of the file (`fsz` bytes).
        let log_end = |fsz: u64| {
            let end = header.log_offset.saturating_add(header.log_length as u64);
            if end > fsz {
                return Err(corrupt(
                    format!("header {current_header}"),
                    header::OFFSETS[current_header as usize - 1],
                    format!("log region ends at {end}, past the end of the file ({fsz})"),
                ));
            }
            Ok(end)
        };
        let mut log_entries_replayed = 0;
        if !header.log_guid.is_zero() && header.log_length > 0 {
            log_end(fsz)?;
            let log = read_at(
                f,
                header.log_offset,
                header.log_length as usize,
                "log region",
            )?;
            if let Some(r) = log::replay(&log, header.log_guid, header.log_offset, fsz)? {
                log_entries_replayed = r.entries;
                f.apply(r);
            }
        }
        let fsz = f.size();

        // Region tables: the first valid copy.
        let r1 = read_at(f, region::OFFSETS[0], region::SIZE, "region table 1")
            .and_then(|b| region::parse(&b, "region table 1", region::OFFSETS[0]));
        let (regions, rt_off) = match r1 {
            Ok(r) => (r, region::OFFSETS[0]),
            Err(e1) => {
                match read_at(f, region::OFFSETS[1], region::SIZE, "region table 2")
                    .and_then(|b| region::parse(&b, "region table 2", region::OFFSETS[1]))
                {
                    Ok(r) => (r, region::OFFSETS[1]),
                    Err(e2) => {
                        return Err(corrupt(
                            "region tables",
                            region::OFFSETS[0],
                            format!("neither copy is valid ({e1}; {e2})"),
                        ))
                    }
                }
            }
        };
        let mut spans = vec![Span {
            name: "the first MiB (identifier, headers, region tables)".into(),
            start: 0,
            end: MIB,
        }];
        if header.log_length > 0 {
            let end = log_end(fsz)?;
            spans.push(Span {
                name: "the log".into(),
                start: header.log_offset,
                end,
            });
        }
        let mut bat_region = None;
        let mut meta_region = None;
        for (i, e) in regions.iter().enumerate() {
            let what = format!("region table entry {i}");
            let eoff = rt_off + 16 + 32 * i as u64;
            let name = if e.guid == guid::BAT_REGION {
                "the BAT region"
            } else if e.guid == guid::METADATA_REGION {
                "the metadata region"
            } else if e.required {
                return Err(Error::Unsupported(format!(
                    "region {} is marked required but is unknown to this reader",
                    e.guid
                )));
            } else {
                "an optional region"
            };
            if regions[..i].iter().any(|p| p.guid == e.guid) {
                return Err(corrupt(
                    what,
                    eoff,
                    format!("region {} listed twice", e.guid),
                ));
            }
            if e.file_offset % MIB != 0
                || e.file_offset < MIB
                || !(e.length as u64).is_multiple_of(MIB)
                || e.length == 0
            {
                return Err(corrupt(
                    what,
                    eoff,
                    format!(
                        "{name}: {} bytes at {} is not a non-empty 1 MiB aligned range past the first MiB",
                        e.length, e.file_offset
                    ),
                ));
            }
            let end = e.file_offset.saturating_add(e.length as u64);
            if end > fsz {
                return Err(corrupt(
                    what,
                    eoff,
                    format!("{name} ends at {end}, past the end of the file ({fsz})"),
                ));
            }
            if let Some(s) = spans
                .iter()
                .find(|s| e.file_offset < s.end && s.start < end)
            {
                return Err(corrupt(what, eoff, format!("{name} overlaps {}", s.name)));
            }
            spans.push(Span {
                name: name.into(),
                start: e.file_offset,
                end,
            });
            if e.guid == guid::BAT_REGION {
                bat_region = Some(e.clone());
            } else if e.guid == guid::METADATA_REGION {
                meta_region = Some(e.clone());
            }
        }
        let bat_region =
            bat_region.ok_or_else(|| corrupt("region table", rt_off, "no BAT region"))?;
        let meta_region =
            meta_region.ok_or_else(|| corrupt("region table", rt_off, "no metadata region"))?;

        // Metadata.
        let table = read_at(
            f,
            meta_region.file_offset,
            metadata::TABLE_SIZE.min(meta_region.length as usize),
            "metadata table",
        )?;
        let meta = {
            let mut read = |off: u64, len: usize, what: &str| read_at(f, off, len, what);
            Metadata::parse(
                &table,
                meta_region.file_offset,
                meta_region.length as u64,
                &mut read,
            )?
        };

        // BAT.
        let geo = Geometry::new(meta.virtual_size, meta.block_size, meta.logical_sector);
        let need = geo.entries * 8;
        if need > bat_region.length as u64 {
            return Err(corrupt(
                "BAT region",
                bat_region.file_offset,
                format!(
                    "{} bytes long, the disk's {} entries need {need}",
                    bat_region.length, geo.entries
                ),
            ));
        }
        let raw = read_at(f, bat_region.file_offset, need as usize, "BAT")?;
        let bat: Vec<u64> = raw
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect();
        let bs = meta.block_size as u64;
        let mut counts = BlockCounts::default();
        let mut placed: Vec<(u64, u64)> = Vec::new();
        for (i, e) in bat.iter().enumerate() {
            let i = i as u64;
            let eoff = bat_region.file_offset + 8 * i;
            let st = bat::state(*e);
            if geo.is_bitmap_index(i) {
                if st != bat::SB_NOT_PRESENT && st != bat::SB_PRESENT {
                    return Err(corrupt(
                        format!("BAT entry {i} (sector bitmap)"),
                        eoff,
                        format!("state {st} is not a sector bitmap state"),
                    ));
                }
                continue;
            }
            let what = || {
                format!(
                    "BAT entry {i} (payload block {})",
                    i - i / (geo.chunk_ratio + 1)
                )
            };
            match st {
                bat::PAYLOAD_NOT_PRESENT => counts.not_present += 1,
                bat::PAYLOAD_UNDEFINED => counts.undefined += 1,
                bat::PAYLOAD_ZERO => counts.zero += 1,
                bat::PAYLOAD_UNMAPPED => counts.unmapped += 1,
                bat::PAYLOAD_FULLY_PRESENT => {
                    counts.fully_present += 1;
                    let start = bat::offset(*e);
                    let end = start.saturating_add(bs);
                    if end > fsz {
                        return Err(corrupt(
                            what(),
                            eoff,
                            format!("block at {start}..{end} passes the end of the file ({fsz})"),
                        ));
                    }
                    if let Some(s) = spans.iter().find(|s| start < s.end && s.start < end) {
                        return Err(corrupt(
                            what(),
                            eoff,
                            format!("block at {start} overlaps {}", s.name),
                        ));
                    }
                    placed.push((start, i));
                }
                bat::PAYLOAD_PARTIALLY_PRESENT => {
                    return Err(corrupt(
                        what(),
                        eoff,
                        "PARTIALLY_PRESENT in a disk without parent",
                    ))
                }
                _ => {
                    return Err(corrupt(
                        what(),
                        eoff,
                        format!("state {st} is not a payload block state"),
                    ))
                }
            }
        }
        placed.sort_unstable();
        for w in placed.windows(2) {
            if w[1].0 < w[0].0 + bs {
                return Err(corrupt(
                    format!("BAT entry {}", w[1].1),
                    bat_region.file_offset + 8 * w[1].1,
                    format!(
                        "its block at {} overlaps the block of BAT entry {} at {}",
                        w[1].0, w[0].1, w[0].0
                    ),
                ));
            }
        }

        let info = Info {
            creator,
            current_header,
            header,
            headers,
            file_size: f.file_size(),
            virtual_size: meta.virtual_size,
            block_size: meta.block_size,
            logical_sector: meta.logical_sector,
            physical_sector: meta.physical_sector,
            fixed: meta.leave_block_allocated,
            disk_id: meta.disk_id,
            bat_offset: bat_region.file_offset,
            bat_entries: geo.entries,
            metadata_offset: meta_region.file_offset,
            blocks: counts,
            allocated: counts.fully_present * bs,
            log_entries_replayed,
        };
        Ok(Reader {
            image,
            info,
            geo,
            bat,
            pos: 0,
        })
    }

    /// What the file says about itself.
    pub fn info(&self) -> &Info {
        &self.info
    }

    /// Starts the sparse stream over from the beginning of the virtual disk.
    pub fn rewind(&mut self) {
        self.pos = 0;
    }

    /// The BAT entry of payload block `k`.
    fn block_entry(&self, k: u64) -> u64 {
        self.bat[self.geo.payload_index(k) as usize]
    }

    /// Reads virtual-disk bytes at `offset` into `buf`, as many as fit before the end of the
    /// disk (0 at or past the end); blocks not stored read as zeros. Random access for the
    /// partition-table and filesystem readers of `inspect`; it does not move the stream
    /// position.
    pub fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let size = self.info.virtual_size;
        if offset >= size {
            return Ok(0);
        }
        let want = (size - offset).min(buf.len() as u64) as usize;
        let bs = self.info.block_size as u64;
        let mut done = 0usize;
        while done < want {
            let pos = offset + done as u64;
            let in_block = pos % bs;
            let n = ((bs - in_block) as usize).min(want - done);
            let e = self.block_entry(pos / bs);
            let piece = &mut buf[done..done + n];
            if bat::state(e) == bat::PAYLOAD_FULLY_PRESENT {
                // `open` checked that every present block lies inside the file; reads go
                // through the image so that replayed log data is seen.
                self.image.read_exact_at(bat::offset(e) + in_block, piece)?;
            } else {
                piece.fill(0);
            }
            done += n;
        }
        Ok(want)
    }
}

/// Reads the virtual disk from the current position (shared with the sparse stream).
impl<F: Read + Seek> Read for Reader<F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.read_at(self.pos, buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Moves the position in the virtual disk (shared with the sparse stream); `End` is relative
/// to the virtual size. Seeking past the end is allowed (reads there return 0 bytes).
impl<F: Read + Seek> Seek for Reader<F> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let (base, delta) = match to {
            SeekFrom::Start(n) => {
                self.pos = n;
                return Ok(n);
            }
            SeekFrom::End(d) => (self.info.virtual_size, d),
            SeekFrom::Current(d) => (self.pos, d),
        };
        match base.checked_add_signed(delta) {
            Some(p) => {
                self.pos = p;
                Ok(p)
            }
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek to a negative or overflowing position",
            )),
        }
    }
}

impl<F: Read + Seek> SparseRead for Reader<F> {
    fn size(&self) -> u64 {
        self.info.virtual_size
    }

    fn next_segment(&mut self, buf: &mut [u8]) -> io::Result<Option<Segment>> {
        let size = self.info.virtual_size;
        if self.pos >= size {
            return Ok(None);
        }
        if buf.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty buffer"));
        }
        let bs = self.info.block_size as u64;
        let k = self.pos / bs;
        let in_block = self.pos % bs;
        let e = self.block_entry(k);
        if bat::state(e) == bat::PAYLOAD_FULLY_PRESENT {
            let n = (bs - in_block).min(size - self.pos).min(buf.len() as u64) as usize;
            self.image
                .read_exact_at(bat::offset(e) + in_block, &mut buf[..n])?;
            self.pos += n as u64;
            return Ok(Some(Segment::Data(n)));
        }
        // Every other state reads as zeros; merge consecutive such blocks into one run.
        let mut k2 = k + 1;
        while k2 < self.geo.payload_blocks
            && bat::state(self.block_entry(k2)) != bat::PAYLOAD_FULLY_PRESENT
        {
            k2 += 1;
        }
        let end = (k2 * bs).min(size);
        let n = end - self.pos;
        self.pos = end;
        Ok(Some(Segment::Zero(n)))
    }
}
