//! The volume under construction: a fixed-size byte range kept as 64 KiB chunks allocated
//! on first write, so a 512 MiB ESP holding 20 MiB of files costs about 20 MiB of memory,
//! and unwritten ranges stream out as zero runs.

use std::collections::BTreeMap;
use std::io::{self, Read, Seek, SeekFrom, Write};

use eflow_extents::{is_zero, Segment, SparseRead};

const CHUNK: u64 = 64 << 10;

/// How `len` bytes at `off` fall into chunks: (chunk index, offset in the chunk, offset in
/// the caller's buffer, length), front to back.
fn pieces(off: u64, len: usize) -> impl Iterator<Item = (u64, usize, usize, usize)> {
    let mut done = 0usize;
    std::iter::from_fn(move || {
        if done >= len {
            return None;
        }
        let p = off + done as u64;
        let (idx, within) = (p / CHUNK, (p % CHUNK) as usize);
        let n = (CHUNK as usize - within).min(len - done);
        let piece = (idx, within, done, n);
        done += n;
        Some(piece)
    })
}

/// A FAT image in memory: what [`crate::build_image`] returns. Read it as a [`SparseRead`]
/// stream (to place it in a disk layout) or as plain bytes with [`FatImage::to_vec`].
pub struct FatImage {
    size: u64,
    chunks: BTreeMap<u64, Box<[u8]>>,
    /// Position for Read/Write/Seek (fatfs's view).
    pos: u64,
    /// Position of the SparseRead stream.
    stream: u64,
}

impl FatImage {
    /// An all-zero image of `size` bytes.
    pub fn new(size: u64) -> Self {
        FatImage {
            size,
            chunks: BTreeMap::new(),
            pos: 0,
            stream: 0,
        }
    }

    /// Whether `len` bytes at `off` lie inside the image.
    fn holds(&self, off: u64, len: usize) -> bool {
        off.checked_add(len as u64).is_some_and(|e| e <= self.size)
    }

    /// Copies bytes at `off` into `buf` (zeros where nothing was written).
    pub fn read_at(&self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        if !self.holds(off, buf.len()) {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "read past the image end",
            ));
        }
        for (idx, within, done, n) in pieces(off, buf.len()) {
            match self.chunks.get(&idx) {
                Some(c) => buf[done..done + n].copy_from_slice(&c[within..within + n]),
                None => buf[done..done + n].fill(0),
            }
        }
        Ok(())
    }

    /// Writes `data` at `off`; the image never grows.
    pub fn write_at(&mut self, off: u64, data: &[u8]) -> io::Result<()> {
        if !self.holds(off, data.len()) {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "no space left: write past the image end",
            ));
        }
        for (idx, within, done, n) in pieces(off, data.len()) {
            let src = &data[done..done + n];
            match self.chunks.get_mut(&idx) {
                Some(c) => c[within..within + n].copy_from_slice(src),
                // Zeros written where nothing was need no chunk.
                None if is_zero(src) => {}
                None => {
                    let mut c = vec![0u8; CHUNK as usize].into_boxed_slice();
                    c[within..within + n].copy_from_slice(src);
                    self.chunks.insert(idx, c);
                }
            }
        }
        Ok(())
    }

    /// The whole image as bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.size as usize];
        for (idx, c) in &self.chunks {
            let start = (idx * CHUNK) as usize;
            let n = c.len().min(out.len() - start);
            out[start..start + n].copy_from_slice(&c[..n]);
        }
        out
    }

    /// Bytes of memory the written chunks take.
    pub fn resident(&self) -> u64 {
        self.chunks.len() as u64 * CHUNK
    }
}

impl Read for FatImage {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (self.size.saturating_sub(self.pos)).min(buf.len() as u64) as usize;
        self.read_at(self.pos, &mut buf[..n])?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Write for FatImage {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_at(self.pos, buf)?;
        self.pos += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for FatImage {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let p = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        self.pos = p;
        Ok(p)
    }
}

impl SparseRead for FatImage {
    fn size(&self) -> u64 {
        self.size
    }

    fn next_segment(&mut self, buf: &mut [u8]) -> io::Result<Option<Segment>> {
        if self.stream >= self.size {
            return Ok(None);
        }
        let idx = self.stream / CHUNK;
        if !self.chunks.contains_key(&idx) {
            // Zero run up to the next written chunk (or the end).
            let next = self
                .chunks
                .range(idx..)
                .next()
                .map_or(self.size, |(i, _)| (i * CHUNK).min(self.size));
            let n = next - self.stream;
            self.stream = next;
            return Ok(Some(Segment::Zero(n)));
        }
        let chunk_end = ((idx + 1) * CHUNK).min(self.size);
        let n = (chunk_end - self.stream).min(buf.len() as u64) as usize;
        self.read_at(self.stream, &mut buf[..n])?;
        self.stream += n as u64;
        Ok(Some(Segment::Data(n)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_store_reads_back_and_streams() {
        let mut img = FatImage::new(1 << 20);
        img.write_at(100, &[0; 5000]).unwrap();
        assert_eq!(img.resident(), 0);
        img.write_at(CHUNK - 2, &[1, 2, 3, 4]).unwrap();
        img.write_at(900_000, &[9]).unwrap();
        assert!(img.write_at((1 << 20) - 1, &[1, 2]).is_err());
        let v = img.to_vec();
        assert_eq!(&v[CHUNK as usize - 2..CHUNK as usize + 2], &[1, 2, 3, 4]);
        assert_eq!(v[900_000], 9);
        let streamed = eflow_extents::read_all(&mut img).unwrap();
        assert_eq!(streamed, v);
        assert_eq!(img.resident(), 3 * CHUNK);
    }
}
