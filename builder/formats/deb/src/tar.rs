//! The tar archives inside a .deb (control.tar, data.tar), read the way dpkg reads them:
//! old, ustar and GNU headers, GNU long names and long links, base-256 numbers; no pax headers
//! (dpkg rejects them as an unknown entry type, so a package using them would not install).
//!
//! Written here rather than taken from a crate so that the reader follows dpkg's rules exactly
//! and knows where every member's data lies, which `DebSource` needs to reopen members.

use std::io::{self, Read};

/// The block size of tar.
pub const BLOCK: usize = 512;
/// GNU long names and links longer than this are rejected (PATH_MAX is 4096).
pub const MAX_LONG_NAME: u64 = 64 * 1024;

/// What a tar entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryType {
    File,
    HardLink,
    Symlink,
    CharDevice,
    BlockDevice,
    Dir,
    Fifo,
}

/// One decoded tar header (after GNU long names and links were applied).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The name as stored, with one trailing `/` of directories removed (as dpkg does).
    pub name: String,
    /// The link target of symlinks and hard links.
    pub link: String,
    pub kind: EntryType,
    /// Permission bits (0o7777).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    /// Bytes of data that follow (regular files only; 0 otherwise).
    pub size: u64,
    pub major: u32,
    pub minor: u32,
}

/// A malformed archive: the entry it happened at (when known) and what is wrong.
#[derive(Debug)]
pub struct TarError {
    pub entry: Option<String>,
    pub reason: String,
}

impl TarError {
    fn new(entry: Option<&str>, reason: impl Into<String>) -> Self {
        TarError {
            entry: entry.map(str::to_string),
            reason: reason.into(),
        }
    }
}

impl From<io::Error> for TarError {
    fn from(e: io::Error) -> Self {
        let reason = if e.kind() == io::ErrorKind::UnexpectedEof {
            "truncated archive (unexpected end of data)".to_string()
        } else {
            e.to_string()
        };
        TarError {
            entry: None,
            reason,
        }
    }
}

/// A C string field: the bytes up to the first NUL.
fn cstr(field: &[u8]) -> &[u8] {
    match field.iter().position(|&b| b == 0) {
        Some(i) => &field[..i],
        None => field,
    }
}

/// An octal field: leading spaces, digits, then NULs or spaces only.
fn octal(field: &[u8]) -> Option<u64> {
    let mut i = 0;
    while i < field.len() && field[i] == b' ' {
        i += 1;
    }
    if i == field.len() {
        return None;
    }
    let mut n: u64 = 0;
    while i < field.len() && field[i] != 0 && field[i] != b' ' {
        let d = field[i];
        if !(b'0'..=b'7').contains(&d) {
            return None;
        }
        n = n.checked_mul(8)?.checked_add(u64::from(d - b'0'))?;
        i += 1;
    }
    if field[i..].iter().any(|&b| b != 0 && b != b' ') {
        return None;
    }
    Some(n)
}

/// A numeric field: octal, or base-256 two's complement when the first byte is 0x80 or 0xff.
fn number(field: &[u8]) -> Option<i128> {
    match field.first() {
        Some(0x80) | Some(0xff) => {
            let negative = field[0] == 0xff;
            let mut n: i128 = if negative { -1 } else { 0 };
            for (i, &b) in field.iter().enumerate() {
                let b = if i == 0 && !negative { 0 } else { b };
                if n.unsigned_abs() > (u64::MAX as u128) << 8 {
                    return None;
                }
                n = (n << 8) | i128::from(b);
            }
            Some(n)
        }
        _ => octal(field).map(i128::from),
    }
}

fn unsigned<T: TryFrom<i128>>(field: &[u8], what: &str, entry: &str) -> Result<T, TarError> {
    number(field)
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| TarError::new(Some(entry), format!("invalid {what} field")))
}

fn checksum_ok(block: &[u8; BLOCK]) -> bool {
    let Some(stored) = octal(&block[148..156]) else {
        return false;
    };
    let sum: u64 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                u64::from(b' ')
            } else {
                u64::from(b)
            }
        })
        .sum();
    sum == stored
}

fn utf8(bytes: &[u8], what: &str, entry: Option<&str>) -> Result<String, TarError> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| TarError::new(entry, format!("{what} is not valid UTF-8")))
}

/// Reads headers and data of a tar stream in order, front to back.
pub struct TarReader<R> {
    inner: R,
    data_left: u64,
    pad_left: u64,
    done: bool,
}

impl<R: Read> TarReader<R> {
    /// Starts reading at the first header.
    pub fn new(inner: R) -> Self {
        TarReader {
            inner,
            data_left: 0,
            pad_left: 0,
            done: false,
        }
    }

    /// Reads a whole block; Ok(false) at a clean end of stream before the block.
    fn read_block(&mut self, block: &mut [u8; BLOCK]) -> Result<bool, TarError> {
        let mut got = 0;
        while got < BLOCK {
            match self.inner.read(&mut block[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        match got {
            0 => Ok(false),
            BLOCK => Ok(true),
            _ => Err(TarError::new(
                None,
                "partially read tar header (truncated archive)",
            )),
        }
    }

    /// Skips what is left of the current entry's data and padding.
    pub fn skip_data(&mut self) -> Result<(), TarError> {
        let n = self.data_left + self.pad_left;
        if n > 0 {
            let copied = io::copy(&mut (&mut self.inner).take(n), &mut io::sink())?;
            if copied != n {
                return Err(TarError::new(
                    None,
                    "truncated archive (entry data cut short)",
                ));
            }
        }
        self.data_left = 0;
        self.pad_left = 0;
        Ok(())
    }

    /// Passes the current entry's data to `f`, a `buf` at a time, to its end.
    pub fn each_chunk(&mut self, buf: &mut [u8], mut f: impl FnMut(&[u8])) -> io::Result<()> {
        loop {
            let n = self.read_data(buf)?;
            if n == 0 {
                return Ok(());
            }
            f(&buf[..n]);
        }
    }

    /// Reads the current entry's data; 0 at its end.
    pub fn read_data(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.data_left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.data_left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "truncated archive (entry data cut short)",
            ));
        }
        self.data_left -= n as u64;
        Ok(n)
    }

    /// The end of the archive: no more entries, and an error if a GNU long name or link
    /// (`pending_long`) was left without the entry it names.
    fn end(&mut self, pending_long: bool) -> Result<Option<Header>, TarError> {
        self.done = true;
        if pending_long {
            return Err(TarError::new(
                None,
                "GNU long name not followed by an entry",
            ));
        }
        Ok(None)
    }

    /// The next entry's header, or None at the end of the archive.
    pub fn next_header(&mut self) -> Result<Option<Header>, TarError> {
        self.skip_data()?;
        if self.done {
            return Ok(None);
        }
        let mut long_name: Option<String> = None;
        let mut long_link: Option<String> = None;
        let mut block = [0u8; BLOCK];
        loop {
            if !self.read_block(&mut block)? {
                // dpkg accepts an archive that simply ends without the zero blocks.
                return self.end(long_name.is_some() || long_link.is_some());
            }
            let raw_name = cstr(&block[0..100]);
            if !checksum_ok(&block) {
                if raw_name.is_empty() {
                    return self.end(long_name.is_some() || long_link.is_some());
                }
                let shown = String::from_utf8_lossy(raw_name).into_owned();
                return Err(TarError::new(Some(&shown), "invalid tar header checksum"));
            }
            let ustar = &block[257..263] == b"ustar\0";
            let mut name = match &long_name {
                Some(n) => n.clone(),
                None => {
                    let prefix = cstr(&block[345..500]);
                    if ustar && !prefix.is_empty() {
                        let mut v = prefix.to_vec();
                        v.push(b'/');
                        v.extend_from_slice(raw_name);
                        utf8(&v, "entry name", None)?
                    } else {
                        utf8(raw_name, "entry name", None)?
                    }
                }
            };
            let typeflag = block[156];
            let size: u64 = unsigned(&block[124..136], "size", &name)?;
            if typeflag == b'L' || typeflag == b'K' {
                if size > MAX_LONG_NAME {
                    return Err(TarError::new(
                        Some(&name),
                        format!("GNU long name of {size} bytes is absurd"),
                    ));
                }
                let mut data = vec![0u8; size as usize];
                self.inner.read_exact(&mut data)?;
                let pad = (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64;
                self.data_left = 0;
                self.pad_left = pad;
                self.skip_data()?;
                let text = utf8(cstr(&data), "GNU long name", None)?;
                if typeflag == b'L' {
                    long_name = Some(text);
                } else {
                    long_link = Some(text);
                }
                continue;
            }
            if name.is_empty() {
                return Err(TarError::new(None, "tar header with an empty name"));
            }
            let kind = match typeflag {
                b'0' | 0 if name.ends_with('/') => EntryType::Dir,
                b'0' | 0 => EntryType::File,
                b'1' => EntryType::HardLink,
                b'2' => EntryType::Symlink,
                b'3' => EntryType::CharDevice,
                b'4' => EntryType::BlockDevice,
                b'5' => EntryType::Dir,
                b'6' => EntryType::Fifo,
                other => {
                    return Err(TarError::new(
                        Some(&name),
                        format!(
                            "unknown tar entry type {:?} (dpkg does not accept it)",
                            other as char
                        ),
                    ))
                }
            };
            if kind == EntryType::Dir && name.ends_with('/') {
                name.pop();
            }
            if kind != EntryType::File && size != 0 {
                return Err(TarError::new(
                    Some(&name),
                    format!("a non-regular entry declares {size} bytes of data"),
                ));
            }
            let link = match long_link.take() {
                Some(l) => l,
                None => utf8(cstr(&block[157..257]), "link target", Some(&name))?,
            };
            let mode: u64 = unsigned(&block[100..108], "mode", &name)?;
            let uid: u32 = unsigned(&block[108..116], "uid", &name)?;
            let gid: u32 = unsigned(&block[116..124], "gid", &name)?;
            let mtime: i64 = number(&block[136..148])
                .and_then(|n| i64::try_from(n).ok())
                .ok_or_else(|| TarError::new(Some(&name), "invalid mtime field"))?;
            let (major, minor) = match kind {
                EntryType::CharDevice | EntryType::BlockDevice => (
                    unsigned(&block[329..337], "device major", &name)?,
                    unsigned(&block[337..345], "device minor", &name)?,
                ),
                _ => (0, 0),
            };
            self.data_left = size;
            self.pad_left = (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64;
            return Ok(Some(Header {
                name,
                link,
                kind,
                mode: (mode & 0o7777) as u32,
                uid,
                gid,
                mtime,
                size,
                major,
                minor,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(octal(b"0000644\0"), Some(0o644));
        assert_eq!(octal(b"  644 \0\0"), Some(0o644));
        assert_eq!(octal(b"64x\0"), None);
        assert_eq!(octal(b"        "), None);
        let mut big = [0u8; 12];
        big[0] = 0x80;
        big[11] = 5;
        assert_eq!(number(&big), Some(5));
        assert_eq!(number(&[0xff; 12]), Some(-1));
        assert_eq!(number(&[0xff; 40]), Some(-1));
        let mut huge = [0x7fu8; 40];
        huge[0] = 0x80;
        assert_eq!(number(&huge), None);
    }

    fn header(name: &str, typeflag: u8, size: usize) -> Vec<u8> {
        let mut h = vec![0u8; BLOCK];
        h[..name.len()].copy_from_slice(name.as_bytes());
        for (range, v) in [
            (100..108, 0o644),
            (108..116, 0),
            (116..124, 0),
            (124..136, size),
            (136..148, 1),
        ] {
            let s = format!("{:0w$o}", v, w = range.len() - 1);
            h[range.start..range.start + s.len()].copy_from_slice(s.as_bytes());
        }
        h[156] = typeflag;
        h[257..265].copy_from_slice(b"ustar  \0");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        h
    }

    fn sample() -> Vec<u8> {
        let mut v = header("./", b'5', 0);
        v.extend(header("./f", b'0', 600));
        v.extend(vec![3u8; 600]);
        v.resize(v.len().next_multiple_of(BLOCK), 0);
        let long = "x".repeat(150);
        v.extend(header("././@LongLink", b'L', long.len() + 1));
        v.extend(long.as_bytes());
        v.push(0);
        v.resize(v.len().next_multiple_of(BLOCK), 0);
        v.extend(header("short", b'0', 0));
        v.extend([0u8; 1024]);
        v
    }

    fn drain(data: &[u8]) -> Result<Vec<Header>, TarError> {
        let mut t = TarReader::new(data);
        let mut out = Vec::new();
        let mut buf = [0u8; 100];
        while let Some(h) = t.next_header()? {
            while t.read_data(&mut buf)? > 0 {}
            out.push(h);
        }
        Ok(out)
    }

    #[test]
    fn reads_entries_and_long_names() {
        let hs = drain(&sample()).unwrap();
        assert_eq!(hs.len(), 3);
        assert_eq!((hs[0].name.as_str(), hs[0].kind), (".", EntryType::Dir));
        assert_eq!((hs[1].name.as_str(), hs[1].size), ("./f", 600));
        assert_eq!(hs[2].name, "x".repeat(150));
    }

    #[test]
    fn garbage_truncation_and_bit_flips_never_panic() {
        let good = sample();
        for cut in 0..good.len() {
            let _ = drain(&good[..cut]);
        }
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0xa5;
            let _ = drain(&bad);
        }
        let mut x: u32 = 12345;
        let noise: Vec<u8> = (0..8192)
            .map(|_| {
                x = x.wrapping_mul(1103515245).wrapping_add(12345);
                (x >> 16) as u8
            })
            .collect();
        assert!(drain(&noise).is_err());
        // A cut inside the data is an error, not a short file.
        assert!(drain(&good[..BLOCK * 2 + 100]).is_err());
    }
}
