//! The file's bytes as seen after replaying its log: the host file (opened read only) with
//! the log's updates laid over it, zero extended to the length the log asks for.

use std::io::{self, Read, Seek, SeekFrom};

use crate::log::{Replay, Update};

/// A read-only view of a VHDX file with replayed log updates applied on the fly.
pub(crate) struct Image<F> {
    file: F,
    file_size: u64,
    size: u64,
    updates: Vec<Update>,
}

impl<F: Read + Seek> Image<F> {
    /// Wraps a file; with no replay applied, the view is the file itself.
    pub(crate) fn new(mut file: F) -> io::Result<Self> {
        let file_size = file.seek(SeekFrom::End(0))?;
        Ok(Image {
            file,
            file_size,
            size: file_size,
            updates: Vec::new(),
        })
    }

    /// The length of the view (at least the host file's length).
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// The host file's own length.
    pub(crate) fn file_size(&self) -> u64 {
        self.file_size
    }

    /// Lays a log replay over the file.
    pub(crate) fn apply(&mut self, r: Replay) {
        let end = r.updates.iter().map(|u| u.range().1).max().unwrap_or(0);
        self.size = self.size.max(r.last_file_offset).max(end);
        self.updates = r.updates;
    }

    /// Fills `buf` from offset `off` of the view; the caller keeps the range within size.
    pub(crate) fn read_exact_at(&mut self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        let end = off + buf.len() as u64;
        let real = self.file_size.saturating_sub(off).min(buf.len() as u64) as usize;
        if real > 0 {
            self.file.seek(SeekFrom::Start(off))?;
            self.file.read_exact(&mut buf[..real])?;
        }
        buf[real..].fill(0);
        for u in &self.updates {
            let (s, e) = u.range();
            if e <= off || s >= end {
                continue;
            }
            let from = s.max(off);
            let to = e.min(end);
            let dst = &mut buf[(from - off) as usize..(to - off) as usize];
            match u {
                Update::Sector(_, d) => {
                    dst.copy_from_slice(&d[(from - s) as usize..(to - s) as usize])
                }
                Update::Zero(..) => dst.fill(0),
            }
        }
        Ok(())
    }
}
