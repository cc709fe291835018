//! A writer that digests a file while it is written, so that nothing is read back to hash
//! or sign an output.
//!
//! Disk writers do not write strictly front to back: they skip zero ranges with forward
//! seeks (holes) and the VHDX writer goes back to fill its BAT at the end. Holes are hashed
//! as the zeros they read as; a write behind what has been hashed makes the running digest
//! useless, and [`DigestingFile::finish`] then reads the file once instead.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

use crate::{Digests, Hasher};

/// A file being written, with the digests of its bytes so far.
pub struct DigestingFile<'a> {
    file: &'a mut File,
    /// The file position.
    pos: u64,
    /// Bytes `0..hashed` have gone into the hasher.
    hashed: u64,
    hasher: Hasher,
    /// False once a write landed behind `hashed`.
    in_order: bool,
}

static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];

impl<'a> DigestingFile<'a> {
    /// Starts at the beginning of an empty file.
    pub fn new(file: &'a mut File) -> DigestingFile<'a> {
        DigestingFile {
            file,
            pos: 0,
            hashed: 0,
            hasher: Hasher::new(),
            in_order: true,
        }
    }

    fn hash_zeros_to(&mut self, end: u64) {
        while self.hashed < end {
            let n = (end - self.hashed).min(ZEROS.len() as u64) as usize;
            self.hasher.update(&ZEROS[..n]);
            self.hashed += n as u64;
        }
    }

    /// Whether every byte was written in order (holes allowed), so no read-back is needed.
    pub fn in_order(&self) -> bool {
        self.in_order
    }

    /// The digests of the whole file as it now is: from the running digest when it was
    /// written in order, else by reading it once.
    pub fn finish(mut self) -> io::Result<Digests> {
        self.file.flush()?;
        let len = self.file.metadata()?.len();
        if self.in_order && self.hashed <= len {
            self.hash_zeros_to(len);
            return Ok(self.hasher.finish());
        }
        self.file.seek(SeekFrom::Start(0))?;
        Hasher::digest_reader((&mut *self.file).take(len))
    }
}

impl Write for DigestingFile<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        if self.in_order {
            if self.pos < self.hashed {
                self.in_order = false;
            } else {
                self.hash_zeros_to(self.pos);
                self.hasher.update(&buf[..n]);
                self.hashed += n as u64;
            }
        }
        self.pos += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Seek for DigestingFile<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = self.file.seek(to)?;
        Ok(self.pos)
    }
}

impl eflow_extents::Output for DigestingFile<'_> {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        if len < self.hashed {
            self.in_order = false;
        }
        self.file.set_len(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eflow_extents::Output;

    fn digests_of(f: &mut File) -> Digests {
        f.seek(SeekFrom::Start(0)).unwrap();
        Hasher::digest_reader(&mut *f).unwrap()
    }

    #[test]
    fn holes_and_tail_are_hashed_as_zeros() {
        let mut f = tempfile::tempfile().unwrap();
        let mut w = DigestingFile::new(&mut f);
        w.set_len(0).unwrap();
        w.write_all(b"head").unwrap();
        w.seek(SeekFrom::Start(100_000)).unwrap();
        w.write_all(b"middle").unwrap();
        w.set_len(300_000).unwrap();
        assert!(w.in_order());
        let d = w.finish().unwrap();
        assert_eq!(d, digests_of(&mut f));
        assert_eq!(d.size, 300_000);
    }

    #[test]
    fn a_write_behind_falls_back_to_reading() {
        let mut f = tempfile::tempfile().unwrap();
        let mut w = DigestingFile::new(&mut f);
        w.seek(SeekFrom::Start(10)).unwrap();
        w.write_all(b"tail").unwrap();
        w.seek(SeekFrom::Start(2)).unwrap();
        w.write_all(b"xy").unwrap();
        assert!(!w.in_order());
        let d = w.finish().unwrap();
        assert_eq!(d, digests_of(&mut f));
    }
}
