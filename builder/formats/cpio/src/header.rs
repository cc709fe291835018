//! The newc ("new ASCII", magic 070701) member header: 110 bytes of ASCII hex fields,
//! then the NUL-terminated name, padded to a multiple of 4 bytes.

use std::io::{self, Write};

/// The newc magic.
pub const MAGIC: &[u8; 6] = b"070701";
/// Size of the fixed part of a header.
pub const LEN: usize = 110;
/// The name of the member that ends an archive.
pub const TRAILER: &str = "TRAILER!!!";

/// The fields of one header (the `check` field is always 0 in newc).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    pub ino: u32,
    /// st_mode: type bits and permission bits.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub mtime: u32,
    pub filesize: u32,
    pub devmajor: u32,
    pub devminor: u32,
    pub rdevmajor: u32,
    pub rdevminor: u32,
}

/// Zero bytes to reach the next multiple of 4.
pub fn pad4(n: u64) -> usize {
    ((4 - n % 4) % 4) as usize
}

impl Header {
    /// Writes the header, the name and its padding. Returns the bytes written.
    pub fn write(&self, name: &str, out: &mut impl Write) -> io::Result<u64> {
        let namesize = name.len() + 1;
        let fields = [
            self.ino,
            self.mode,
            self.uid,
            self.gid,
            self.nlink,
            self.mtime,
            self.filesize,
            self.devmajor,
            self.devminor,
            self.rdevmajor,
            self.rdevminor,
            namesize as u32,
            0,
        ];
        let mut h = Vec::with_capacity(LEN + namesize + 3);
        h.extend_from_slice(MAGIC);
        for f in fields {
            write!(h, "{f:08X}")?;
        }
        h.extend_from_slice(name.as_bytes());
        h.push(0);
        h.resize(h.len() + pad4(h.len() as u64), 0);
        out.write_all(&h)?;
        Ok(h.len() as u64)
    }

    /// Parses the fixed 110 bytes; returns the header and the name size (NUL included).
    pub fn parse(b: &[u8]) -> Result<(Header, u32), String> {
        if b.len() < LEN {
            return Err(format!("header of {} bytes, expected {LEN}", b.len()));
        }
        if &b[..6] != MAGIC {
            return Err(format!(
                "magic {:?} is not newc's 070701",
                String::from_utf8_lossy(&b[..6])
            ));
        }
        let mut f = [0u32; 13];
        for (i, v) in f.iter_mut().enumerate() {
            let s = &b[6 + 8 * i..14 + 8 * i];
            let s = std::str::from_utf8(s).map_err(|_| format!("field {i} is not ASCII"))?;
            *v = u32::from_str_radix(s, 16).map_err(|_| format!("field {i} {s:?} is not hex"))?;
        }
        Ok((
            Header {
                ino: f[0],
                mode: f[1],
                uid: f[2],
                gid: f[3],
                nlink: f[4],
                mtime: f[5],
                filesize: f[6],
                devmajor: f[7],
                devminor: f[8],
                rdevmajor: f[9],
                rdevminor: f[10],
            },
            f[11],
        ))
    }
}
