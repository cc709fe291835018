//! The written filesystem as a sparse stream: metadata from memory, never-written ranges as
//! zero runs, and file data pulled, in content order, from a thread that opens each file's
//! Content once (decompressing streams only go forward cheaply).

use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use eflow_extents::{zeros_before, Segment, SparseRead};
use eflow_tree::Content;

use crate::error::Error;
use crate::geometry::BLOCK_SIZE;
use crate::reader::Summary;

/// Bytes per chunk handed from the content thread to the reader.
const CHUNK: usize = 1 << 20;
/// Chunks in flight between the threads (bounds memory to a few MiB).
const IN_FLIGHT: usize = 4;

/// A regular file whose blocks, padded to 4 KiB, appear in the data stream.
pub(crate) struct FileSource {
    pub path: String,
    pub content: Content,
    pub size: u64,
}

enum PieceData {
    Mem(Vec<u8>),
    /// The next `len` bytes of the file data stream.
    Data,
}

/// A byte range of the image with known contents.
pub(crate) struct Piece {
    start: u64,
    len: u64,
    data: PieceData,
}

impl Piece {
    /// Metadata bytes at byte offset `start`.
    pub fn mem(start: u64, data: Vec<u8>) -> Piece {
        Piece {
            start,
            len: data.len() as u64,
            data: PieceData::Mem(data),
        }
    }

    /// `len` bytes of file data at byte offset `start`.
    pub fn data(start: u64, len: u64) -> Piece {
        Piece {
            start,
            len,
            data: PieceData::Data,
        }
    }
}

/// A written ext4 filesystem, read front to back as a [`SparseRead`] stream.
pub struct Ext4Image {
    size: u64,
    pieces: Vec<Piece>,
    next: usize,
    pos: u64,
    sources: Option<Vec<FileSource>>,
    rx: Option<Receiver<io::Result<Vec<u8>>>>,
    worker: Option<JoinHandle<()>>,
    chunk: Vec<u8>,
    chunk_pos: usize,
    data_bytes: u64,
    summary: Summary,
}

impl Ext4Image {
    pub(crate) fn new(
        size: u64,
        mut pieces: Vec<Piece>,
        sources: Vec<FileSource>,
        summary: Summary,
    ) -> Result<Ext4Image, Error> {
        pieces.sort_by_key(|p| p.start);
        for w in pieces.windows(2) {
            if w[0].start + w[0].len > w[1].start {
                return Err(Error::Corrupt(format!(
                    "internal layout error: ranges at {} and {} overlap",
                    w[0].start, w[1].start
                )));
            }
        }
        if let Some(p) = pieces.last() {
            if p.start + p.len > size {
                return Err(Error::Corrupt("internal layout error: past the end".into()));
            }
        }
        let data_bytes = pieces
            .iter()
            .filter(|p| matches!(p.data, PieceData::Data))
            .map(|p| p.len)
            .sum();
        Ok(Ext4Image {
            size,
            pieces,
            next: 0,
            pos: 0,
            sources: Some(sources),
            rx: None,
            worker: None,
            chunk: Vec::new(),
            chunk_pos: 0,
            data_bytes,
            summary,
        })
    }

    /// What the filesystem holds: sizes, free blocks and inodes, identity, features (the
    /// superblock as written, as [`crate::Ext4Reader::summary`] would read it back).
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// Bytes of metadata held in memory (for diagnostics and the memory benchmark).
    pub fn metadata_bytes(&self) -> u64 {
        self.pieces
            .iter()
            .filter(|p| matches!(p.data, PieceData::Mem(_)))
            .map(|p| p.len)
            .sum()
    }

    /// Bytes of file data (whole blocks) the image holds.
    pub fn data_bytes(&self) -> u64 {
        self.data_bytes
    }

    fn next_chunk(&mut self) -> io::Result<()> {
        if self.rx.is_none() {
            let sources = self.sources.take().unwrap_or_default();
            let (tx, rx) = sync_channel(IN_FLIGHT);
            self.worker = Some(std::thread::spawn(move || produce(sources, tx)));
            self.rx = Some(rx);
        }
        let rx = self.rx.as_ref().expect("started above");
        match rx.recv() {
            Ok(Ok(c)) => {
                self.chunk = c;
                self.chunk_pos = 0;
                Ok(())
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file contents ended before the image's data blocks",
            )),
        }
    }
}

impl Drop for Ext4Image {
    fn drop(&mut self) {
        // Closing the channel makes the content thread stop at its next send.
        self.rx = None;
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// Reads every file's content in order, padded to whole blocks, and sends it in chunks.
fn produce(sources: Vec<FileSource>, tx: SyncSender<io::Result<Vec<u8>>>) {
    let mut chunk = Vec::with_capacity(CHUNK);
    for f in &sources {
        if f.size == 0 {
            continue;
        }
        if let Err(e) = copy_file(f, &mut chunk, &tx) {
            let _ = tx.send(Err(io::Error::new(
                e.kind(),
                format!("reading the contents of {}: {e}", f.path),
            )));
            return;
        }
        let padded = chunk.len().next_multiple_of(BLOCK_SIZE as usize);
        chunk.resize(padded, 0);
        if chunk.len() >= CHUNK && !flush(&mut chunk, &tx) {
            return;
        }
    }
    if !chunk.is_empty() {
        let _ = tx.send(Ok(chunk));
    }
}

fn flush(chunk: &mut Vec<u8>, tx: &SyncSender<io::Result<Vec<u8>>>) -> bool {
    let full = std::mem::replace(chunk, Vec::with_capacity(CHUNK));
    tx.send(Ok(full)).is_ok()
}

fn copy_file(
    f: &FileSource,
    chunk: &mut Vec<u8>,
    tx: &SyncSender<io::Result<Vec<u8>>>,
) -> io::Result<()> {
    let mut r = f.content.open()?;
    let mut left = f.size;
    while left > 0 {
        if chunk.len() == CHUNK && !flush(chunk, tx) {
            return Err(io::Error::other("image reader went away"));
        }
        let room = (CHUNK - chunk.len()).min(left.min(usize::MAX as u64) as usize);
        let at = chunk.len();
        chunk.resize(at + room, 0);
        let n = r.read(&mut chunk[at..])?;
        chunk.truncate(at + n);
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "content ended {left} bytes before its recorded size {}",
                    f.size
                ),
            ));
        }
        left -= n as u64;
    }
    let mut probe = [0u8; 1];
    if r.read(&mut probe)? != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("content is longer than its recorded size {}", f.size),
        ));
    }
    Ok(())
}

impl SparseRead for Ext4Image {
    fn size(&self) -> u64 {
        self.size
    }

    fn next_segment(&mut self, buf: &mut [u8]) -> io::Result<Option<Segment>> {
        loop {
            if self.pos >= self.size {
                return Ok(None);
            }
            let next = self.pieces.get(self.next).map(|p| p.start);
            if let Some(zeros) = zeros_before(&mut self.pos, self.size, next) {
                return Ok(Some(zeros));
            }
            let p = &self.pieces[self.next];
            let off = self.pos - p.start;
            if off >= p.len {
                self.next += 1;
                continue;
            }
            let want = ((p.len - off).min(buf.len() as u64)) as usize;
            match &p.data {
                PieceData::Mem(v) => {
                    buf[..want].copy_from_slice(&v[off as usize..off as usize + want]);
                    self.pos += want as u64;
                    return Ok(Some(Segment::Data(want)));
                }
                PieceData::Data => {
                    if self.chunk_pos >= self.chunk.len() {
                        self.next_chunk()?;
                        continue;
                    }
                    let n = want.min(self.chunk.len() - self.chunk_pos);
                    buf[..n].copy_from_slice(&self.chunk[self.chunk_pos..self.chunk_pos + n]);
                    self.chunk_pos += n;
                    self.pos += n as u64;
                    return Ok(Some(Segment::Data(n)));
                }
            }
        }
    }
}
