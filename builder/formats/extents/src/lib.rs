//! A disk (or a filesystem image, or a partition) as a stream of segments: runs of zeros that
//! are never materialized, and data. Producers (the ext4 and FAT writers, the GPT disk, a raw
//! file, a VHDX reader) implement [`SparseRead`]; consumers (the raw and VHDX writers) pull
//! segments front to back, so a multi-GiB disk flows through a buffer of a few MiB.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

/// One step of a sparse stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment {
    /// The next `n` bytes are zero.
    Zero(u64),
    /// The next `n` bytes were written to the start of the caller's buffer.
    Data(usize),
}

/// Where a disk writer puts its bytes: a seekable writer whose length can be set. A `File`,
/// or a file wrapped to digest what is written (`eflow_outfile::DigestingFile`).
pub trait Output: Write + Seek {
    /// Truncates or extends to `len` bytes (extending reads as zeros).
    fn set_len(&mut self, len: u64) -> io::Result<()>;
}

impl Output for File {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        File::set_len(self, len)
    }
}

/// A sequential reader of a virtual byte range of known size that reports zero runs.
///
/// Contract: the segments' lengths add up to exactly [`SparseRead::size`]; `next_segment`
/// returns `Ok(None)` at the end; a `Data` segment is never empty and never longer than
/// `buf`; a `Zero` segment is never empty. A reader may report zeros as data (it need not
/// detect them), but never data as zeros.
pub trait SparseRead {
    /// The virtual size in bytes.
    fn size(&self) -> u64;
    /// The next segment; data goes into `buf` (callers pass at least 4 KiB).
    fn next_segment(&mut self, buf: &mut [u8]) -> io::Result<Option<Segment>>;
}

impl<T: SparseRead + ?Sized> SparseRead for Box<T> {
    fn size(&self) -> u64 {
        (**self).size()
    }
    fn next_segment(&mut self, buf: &mut [u8]) -> io::Result<Option<Segment>> {
        (**self).next_segment(buf)
    }
}

/// A zero-filled range of a given size.
pub struct Zeros {
    size: u64,
    done: bool,
}

impl Zeros {
    /// `size` zero bytes.
    pub fn new(size: u64) -> Self {
        Zeros {
            size,
            done: size == 0,
        }
    }
}

impl SparseRead for Zeros {
    fn size(&self) -> u64 {
        self.size
    }
    fn next_segment(&mut self, _buf: &mut [u8]) -> io::Result<Option<Segment>> {
        if self.done {
            return Ok(None);
        }
        self.done = true;
        Ok(Some(Segment::Zero(self.size)))
    }
}

/// An in-memory byte range, reported entirely as data.
pub struct Bytes {
    data: Vec<u8>,
    pos: usize,
}

impl Bytes {
    /// Wraps owned bytes.
    pub fn new(data: Vec<u8>) -> Self {
        Bytes { data, pos: 0 }
    }
}

impl SparseRead for Bytes {
    fn size(&self) -> u64 {
        self.data.len() as u64
    }
    fn next_segment(&mut self, buf: &mut [u8]) -> io::Result<Option<Segment>> {
        let n = (self.data.len() - self.pos).min(buf.len());
        if n == 0 {
            return Ok(None);
        }
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(Some(Segment::Data(n)))
    }
}

/// A plain reader of known length, reported entirely as data (zeros are not detected).
pub struct Stream<R> {
    inner: R,
    size: u64,
    left: u64,
}

impl<R: Read> Stream<R> {
    /// Wraps a reader that yields exactly `size` bytes; fewer is an error when read.
    pub fn new(inner: R, size: u64) -> Self {
        Stream {
            inner,
            size,
            left: size,
        }
    }
}

impl<R: Read> SparseRead for Stream<R> {
    fn size(&self) -> u64 {
        self.size
    }
    fn next_segment(&mut self, buf: &mut [u8]) -> io::Result<Option<Segment>> {
        if self.left == 0 {
            return Ok(None);
        }
        let want = (self.left.min(buf.len() as u64)) as usize;
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("stream ended {} bytes early", self.left),
            ));
        }
        self.left -= n as u64;
        Ok(Some(Segment::Data(n)))
    }
}

/// Pieces placed at offsets inside a larger virtual range; gaps read as zeros.
///
/// This is how a disk is described: the GPT structures and each partition's filesystem image
/// at their offsets, everything else zero.
pub struct Layout {
    size: u64,
    parts: Vec<(u64, Box<dyn SparseRead + Send>)>,
    next: usize,
    pos: u64,
    part_pos: u64,
}

impl Layout {
    /// An empty layout of `size` bytes (all zeros until parts are added).
    pub fn new(size: u64) -> Self {
        Layout {
            size,
            parts: Vec::new(),
            next: 0,
            pos: 0,
            part_pos: 0,
        }
    }

    /// Places `part` at `offset`. Parts must not overlap nor pass the end.
    pub fn place(&mut self, offset: u64, part: Box<dyn SparseRead + Send>) -> io::Result<()> {
        let end = offset
            .checked_add(part.size())
            .filter(|e| *e <= self.size)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "a part of {} bytes at offset {offset} passes the end ({})",
                        part.size(),
                        self.size
                    ),
                )
            })?;
        for (o, p) in &self.parts {
            if offset < o + p.size() && *o < end {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("a part at {offset}..{end} overlaps one at {o}"),
                ));
            }
        }
        self.parts.push((offset, part));
        self.parts.sort_by_key(|(o, _)| *o);
        Ok(())
    }
}

impl SparseRead for Layout {
    fn size(&self) -> u64 {
        self.size
    }
    fn next_segment(&mut self, buf: &mut [u8]) -> io::Result<Option<Segment>> {
        loop {
            if self.pos >= self.size {
                return Ok(None);
            }
            let next = self.parts.get(self.next).map(|(off, _)| *off);
            if let Some(zeros) = zeros_before(&mut self.pos, self.size, next) {
                return Ok(Some(zeros));
            }
            let (_, part) = &mut self.parts[self.next];
            match part.next_segment(buf)? {
                Some(seg) => {
                    let n = match seg {
                        Segment::Zero(n) => n,
                        Segment::Data(n) => n as u64,
                    };
                    self.part_pos += n;
                    if self.part_pos > part.size() {
                        return Err(io::Error::other("a part yielded more than its size"));
                    }
                    self.pos += n;
                    return Ok(Some(seg));
                }
                None => {
                    if self.part_pos != part.size() {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "a part ended before its size",
                        ));
                    }
                    self.next += 1;
                    self.part_pos = 0;
                }
            }
        }
    }
}

/// For a stream of pieces placed at offsets: the zero run from `*pos` to the next piece's
/// start `next` (to `size` when no piece is left), `*pos` moved past it; None when a piece
/// starts at `*pos`.
pub fn zeros_before(pos: &mut u64, size: u64, next: Option<u64>) -> Option<Segment> {
    let end = next.unwrap_or(size);
    if *pos >= end {
        return None;
    }
    let n = end - *pos;
    *pos = end;
    Some(Segment::Zero(n))
}

/// A regular host file read sparsely: holes (found with SEEK_DATA/SEEK_HOLE where the
/// filesystem supports them) come back as zero runs, never read.
pub struct RawFile {
    file: File,
    size: u64,
    pos: u64,
    /// End of the current data run, or None when it must be looked up.
    data_end: Option<u64>,
}

impl RawFile {
    /// Opens a raw file for sparse reading; its whole length is the virtual size.
    pub fn new(file: File) -> io::Result<Self> {
        let size = file.metadata()?.len();
        Ok(RawFile {
            file,
            size,
            pos: 0,
            data_end: None,
        })
    }

    fn seek_data_hole(&mut self) -> io::Result<(u64, u64)> {
        use std::os::unix::io::AsRawFd;
        let fd = self.file.as_raw_fd();
        // SAFETY: lseek on a file descriptor we own; no memory is touched.
        let data = unsafe { libc::lseek(fd, self.pos as libc::off_t, libc::SEEK_DATA) };
        if data < 0 {
            let err = io::Error::last_os_error();
            return match err.raw_os_error() {
                // ENXIO: no data past pos, the rest is a hole.
                Some(libc::ENXIO) => Ok((self.size, self.size)),
                // Filesystems without hole support: everything is data.
                Some(libc::EINVAL) | Some(libc::EOPNOTSUPP) => Ok((self.pos, self.size)),
                _ => Err(err),
            };
        }
        // SAFETY: as above.
        let hole = unsafe { libc::lseek(fd, data, libc::SEEK_HOLE) };
        if hole < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(((data as u64).min(self.size), (hole as u64).min(self.size)))
    }
}

impl SparseRead for RawFile {
    fn size(&self) -> u64 {
        self.size
    }
    fn next_segment(&mut self, buf: &mut [u8]) -> io::Result<Option<Segment>> {
        if self.pos >= self.size {
            return Ok(None);
        }
        let end = match self.data_end {
            Some(e) if e > self.pos => e,
            _ => {
                let (data, hole) = self.seek_data_hole()?;
                if data > self.pos {
                    let n = data - self.pos;
                    self.pos = data;
                    self.data_end = None;
                    return Ok(Some(Segment::Zero(n)));
                }
                self.data_end = Some(hole);
                hole
            }
        };
        let want = ((end - self.pos).min(buf.len() as u64)) as usize;
        self.file.seek(SeekFrom::Start(self.pos))?;
        self.file.read_exact(&mut buf[..want])?;
        self.pos += want as u64;
        Ok(Some(Segment::Data(want)))
    }
}

/// True when every byte is zero.
pub fn is_zero(buf: &[u8]) -> bool {
    let (pre, mid, post) = unsafe { buf.align_to::<u128>() };
    pre.iter().all(|b| *b == 0) && mid.iter().all(|w| *w == 0) && post.iter().all(|b| *b == 0)
}

/// Writes a sparse stream to a file as a sparse raw image: data blocks that are all zero
/// and zero runs become holes; the file's length is set to the virtual size.
/// Returns the number of data bytes actually written.
pub fn write_raw(src: &mut dyn SparseRead, out: &mut dyn Output) -> io::Result<u64> {
    const HOLE_GRAIN: usize = 4096;
    let mut buf = vec![0u8; 4 << 20];
    let mut pos = 0u64;
    let mut written = 0u64;
    out.set_len(0)?;
    while let Some(seg) = src.next_segment(&mut buf)? {
        match seg {
            Segment::Zero(n) => pos += n,
            Segment::Data(n) => {
                // Skip all-zero 4 KiB grains inside data so the output stays sparse.
                let mut i = 0;
                while i < n {
                    let j = (i + HOLE_GRAIN).min(n);
                    if !is_zero(&buf[i..j]) {
                        let mut k = j;
                        while k < n {
                            let l = (k + HOLE_GRAIN).min(n);
                            if is_zero(&buf[k..l]) {
                                break;
                            }
                            k = l;
                        }
                        out.seek(SeekFrom::Start(pos + i as u64))?;
                        out.write_all(&buf[i..k])?;
                        written += (k - i) as u64;
                        i = k;
                    } else {
                        i = j;
                    }
                }
                pos += n as u64;
            }
        }
    }
    if pos != src.size() {
        return Err(io::Error::other(format!(
            "sparse stream yielded {pos} bytes, expected {}",
            src.size()
        )));
    }
    out.set_len(pos)?;
    Ok(written)
}

/// Wraps a sparse stream and reports `(bytes_done, bytes_total)` after every segment, so any
/// consumer (`write_raw`, the VHDX and VHD writers) can drive a progress bar without each
/// taking a callback of its own.
pub struct Progressed<'a, S: SparseRead + ?Sized> {
    inner: &'a mut S,
    done: u64,
    progress: &'a mut dyn FnMut(u64, u64),
}

impl<'a, S: SparseRead + ?Sized> Progressed<'a, S> {
    /// Wraps `inner`; `progress` is called as segments pass.
    pub fn new(inner: &'a mut S, progress: &'a mut dyn FnMut(u64, u64)) -> Self {
        Progressed {
            inner,
            done: 0,
            progress,
        }
    }
}

impl<S: SparseRead + ?Sized> SparseRead for Progressed<'_, S> {
    fn size(&self) -> u64 {
        self.inner.size()
    }
    fn next_segment(&mut self, buf: &mut [u8]) -> io::Result<Option<Segment>> {
        let seg = self.inner.next_segment(buf)?;
        if let Some(s) = seg {
            self.done += match s {
                Segment::Zero(n) => n,
                Segment::Data(n) => n as u64,
            };
            (self.progress)(self.done, self.inner.size());
        }
        Ok(seg)
    }
}

/// Reads a whole sparse stream into memory (for tests and small images).
pub fn read_all(src: &mut dyn SparseRead) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(src.size().min(1 << 30) as usize);
    let mut buf = vec![0u8; 1 << 20];
    while let Some(seg) = src.next_segment(&mut buf)? {
        match seg {
            Segment::Zero(n) => out.resize(out.len() + n as usize, 0),
            Segment::Data(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_fills_gaps_with_zeros() {
        let mut l = Layout::new(100);
        l.place(10, Box::new(Bytes::new(vec![1; 5]))).unwrap();
        l.place(50, Box::new(Zeros::new(10))).unwrap();
        l.place(90, Box::new(Bytes::new(vec![2; 10]))).unwrap();
        assert!(l.place(12, Box::new(Bytes::new(vec![3; 2]))).is_err());
        let all = read_all(&mut l).unwrap();
        assert_eq!(all.len(), 100);
        assert_eq!(&all[10..15], &[1; 5]);
        assert_eq!(&all[90..], &[2; 10]);
        assert!(all[..10].iter().all(|b| *b == 0));
    }

    #[test]
    fn progress_follows_segments_to_the_total() {
        let mut l = Layout::new(100);
        l.place(10, Box::new(Bytes::new(vec![1; 5]))).unwrap();
        let mut seen = Vec::new();
        let mut report = |done, total| seen.push((done, total));
        let mut p = Progressed::new(&mut l, &mut report);
        assert_eq!(p.size(), 100);
        let all = read_all(&mut p).unwrap();
        assert_eq!(&all[10..15], &[1; 5]);
        assert_eq!(seen, vec![(10, 100), (15, 100), (100, 100)]);
    }

    #[test]
    fn raw_round_trip_is_sparse() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk.raw");
        let mut l = Layout::new(64 << 20);
        l.place(1 << 20, Box::new(Bytes::new(vec![7; 8192])))
            .unwrap();
        let mut f = File::create(&path).unwrap();
        let written = write_raw(&mut l, &mut f).unwrap();
        assert_eq!(written, 8192);
        drop(f);
        let mut r = RawFile::new(File::open(&path).unwrap()).unwrap();
        let back = read_all(&mut r).unwrap();
        assert_eq!(back.len(), 64 << 20);
        assert_eq!(&back[(1 << 20)..(1 << 20) + 8192], &[7; 8192][..]);
    }
}
