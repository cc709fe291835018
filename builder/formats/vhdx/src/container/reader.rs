//! The virtual disk of a disk file, whatever its container: random access for readers of
//! partition tables and filesystems, a sparse stream for converters.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use eflow_extents::{RawFile, Segment, SparseRead};

use super::{sniff, Container, DiskFormat, Sniffed};
use crate::error::Error;
use crate::reader::Reader;

/// Where the virtual disk's bytes come from.
enum Inner {
    /// A raw file, or the disk part of a fixed VHD: the first `size` bytes of the file.
    File(File),
    /// The virtual disk of a VHDX.
    Vhdx(Box<Reader<File>>),
}

/// A disk file opened for reading its virtual disk, by random access ([`Read`] + [`Seek`]
/// over the virtual disk, never past it) or as a sparse stream ([`DiskReader::into_sparse`]).
pub struct DiskReader {
    inner: Inner,
    container: Container,
    file_size: u64,
    size: u64,
    pos: u64,
}

impl DiskReader {
    /// Opens a disk file recognized by its content: `vhdxfile` at the start is a VHDX
    /// (validated by [`Reader::open`]), a `conectix` footer at the end is a fixed VHD (whose
    /// size must match the file), anything else is a raw disk. Dynamic and differencing VHDs
    /// are refused ([`Error::UnsupportedVhd`]), as is a damaged footer ([`Error::CorruptVhd`]).
    pub fn open(mut file: File) -> Result<DiskReader, Error> {
        let file_size = file.seek(SeekFrom::End(0))?;
        let (inner, container, size) = match sniff(&mut file, file_size)? {
            Sniffed::Raw => (Inner::File(file), Container::Raw, file_size),
            Sniffed::VhdFixed(footer) => {
                let size = footer.virtual_size;
                (Inner::File(file), Container::VhdFixed(footer), size)
            }
            Sniffed::Vhdx => {
                let reader = Reader::open(file)?;
                let info = reader.info().clone();
                let size = info.virtual_size;
                (
                    Inner::Vhdx(Box::new(reader)),
                    Container::Vhdx(Box::new(info)),
                    size,
                )
            }
        };
        Ok(DiskReader {
            inner,
            container,
            file_size,
            size,
            pos: 0,
        })
    }

    /// The container's format.
    pub fn format(&self) -> DiskFormat {
        self.container.format()
    }

    /// What the container says about itself.
    pub fn container(&self) -> &Container {
        &self.container
    }

    /// Length of the file, container included.
    pub fn file_size(&self) -> u64 {
        self.file_size
    }

    /// Size of the virtual disk.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// `len` bytes of the virtual disk from `start`, as a file of their own: a partition
    /// handed to a filesystem reader, which then cannot read past it.
    pub fn slice(&mut self, start: u64, len: u64) -> DiskSlice<'_> {
        DiskSlice {
            disk: self,
            start,
            len,
            pos: 0,
        }
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

/// Reads the virtual disk from the current position; 0 bytes at and past its end (the
/// footer of a fixed VHD is never returned).
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

/// Moves in the virtual disk; `End` is relative to the virtual size.
impl Seek for DiskReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = seek_within(self.size, self.pos, to, "the disk")?;
        Ok(self.pos)
    }
}

/// The position `to` leads to from `pos` in a range of `len` bytes; past the end is allowed
/// (reads there return nothing), before the start is an error.
fn seek_within(len: u64, pos: u64, to: SeekFrom, what: &str) -> io::Result<u64> {
    let p = match to {
        SeekFrom::Start(n) => Some(n),
        SeekFrom::End(d) => len.checked_add_signed(d),
        SeekFrom::Current(d) => pos.checked_add_signed(d),
    };
    p.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("seek before the start of {what}"),
        )
    })
}

/// A byte range of a [`DiskReader`] seen as a file of its own ([`DiskReader::slice`]).
pub struct DiskSlice<'a> {
    disk: &'a mut DiskReader,
    start: u64,
    len: u64,
    pos: u64,
}

impl Read for DiskSlice<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len {
            return Ok(0);
        }
        let n = (self.len - self.pos).min(buf.len() as u64) as usize;
        let at = self.start.checked_add(self.pos).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "slice past the disk's end")
        })?;
        self.disk.seek(SeekFrom::Start(at))?;
        let got = self.disk.read(&mut buf[..n])?;
        self.pos += got as u64;
        Ok(got)
    }
}

impl Seek for DiskSlice<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = seek_within(self.len, self.pos, to, "the partition")?;
        Ok(self.pos)
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

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::super::tests::footer;
    use super::*;

    /// `n` bytes that are not all alike, so that a misplaced read shows.
    fn body(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn fixed_vhd_reads_without_its_footer() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("d.vhd");
        let mut f = File::create(&p).unwrap();
        let body = body(1 << 20);
        f.write_all(&body).unwrap();
        f.write_all(&footer(1 << 20, 2)).unwrap();
        drop(f);
        let mut r = DiskReader::open(File::open(&p).unwrap()).unwrap();
        assert_eq!(r.format(), DiskFormat::VhdFixed);
        assert!(matches!(r.container(), Container::VhdFixed(f) if f.virtual_size == 1 << 20));
        assert_eq!((r.size(), r.file_size()), (1 << 20, (1 << 20) + 512));
        let mut all = Vec::new();
        r.read_to_end(&mut all).unwrap();
        assert!(all == body);
        let mut s = r.into_sparse().unwrap();
        assert!(eflow_extents::read_all(&mut s).unwrap() == body);
    }

    #[test]
    fn slices_read_their_range_only() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("d.raw");
        let body = body(100_000);
        std::fs::write(&p, &body).unwrap();
        let mut r = DiskReader::open(File::open(&p).unwrap()).unwrap();
        assert_eq!(r.format(), DiskFormat::Raw);
        let mut s = r.slice(1000, 5000);
        assert_eq!(s.seek(SeekFrom::End(0)).unwrap(), 5000);
        s.seek(SeekFrom::Start(10)).unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        assert!(got == body[1010..6000]);
        assert!(s.seek(SeekFrom::Current(-6000)).is_err());
        // Reads at or past the disk's end return nothing.
        r.seek(SeekFrom::End(5)).unwrap();
        assert_eq!(r.read(&mut [0; 10]).unwrap(), 0);
    }

    #[test]
    fn a_vhdx_signature_over_garbage_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("b.img");
        let mut g = b"vhdxfile".to_vec();
        g.resize(300 << 10, 0x5A);
        std::fs::write(&p, g).unwrap();
        let e = DiskReader::open(File::open(&p).unwrap()).err().unwrap();
        assert!(matches!(e, Error::Corrupt { .. }), "{e}");
    }
}
