//! Disk files whatever their container: a raw disk, a VHDX (dynamic or fixed) or a fixed VHD,
//! recognized by content rather than by name, so that a command can take any of them.
//!
//! [`detect`] tells which one a file is; [`DiskReader`] opens it and reads its virtual disk
//! by random access or as a sparse stream, and keeps what the container says about itself
//! ([`Container`]).

mod reader;

use std::io::{self, Read, Seek, SeekFrom};

use crate::error::Error;
use crate::ident;
use crate::reader::Info;
use crate::vhd_footer::{self, VhdDiskType, VhdFooter};

pub use reader::{DiskReader, DiskSlice};

/// The container format of a disk file: one name for it in `convert`'s input and output
/// and in `inspect`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "kebab-case")
)]
pub enum DiskFormat {
    /// The bytes of the disk as they are.
    Raw,
    /// A VHDX file (dynamic or fixed).
    Vhdx,
    /// A fixed VHD: the raw disk followed by a 512-byte `conectix` footer.
    VhdFixed,
}

impl DiskFormat {
    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            DiskFormat::Raw => "raw",
            DiskFormat::Vhdx => "vhdx",
            DiskFormat::VhdFixed => "vhd-fixed",
        }
    }
}

/// What the container of a disk file says about itself, for `inspect` to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Container {
    /// A raw disk says nothing.
    Raw,
    /// A VHDX: what its reader found (headers, metadata, BAT counts).
    Vhdx(Box<Info>),
    /// A fixed VHD: its footer.
    VhdFixed(VhdFooter),
}

impl Container {
    /// Which format this is.
    pub fn format(&self) -> DiskFormat {
        match self {
            Container::Raw => DiskFormat::Raw,
            Container::Vhdx(_) => DiskFormat::Vhdx,
            Container::VhdFixed(_) => DiskFormat::VhdFixed,
        }
    }
}

/// What the first and last bytes of a file announce; a VHDX is validated later, by its
/// reader, while a VHD footer is checked here because it decides where the disk ends.
pub(crate) enum Sniffed {
    Raw,
    Vhdx,
    VhdFixed(VhdFooter),
}

/// Reads at `off` until `buf` is full or the input ends; returns the bytes read.
fn read_up_to<R: Read + Seek>(r: &mut R, off: u64, buf: &mut [u8]) -> io::Result<usize> {
    r.seek(SeekFrom::Start(off))?;
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Recognizes the container of `len` bytes of `r`: `vhdxfile` at the start is a VHDX, a
/// `conectix` footer at the end is a fixed VHD (at the start too: a dynamic or differencing
/// VHD, refused), anything else is raw.
pub(crate) fn sniff<R: Read + Seek>(r: &mut R, len: u64) -> Result<Sniffed, Error> {
    let mut head = [0u8; 8];
    let got = read_up_to(r, 0, &mut head)?;
    if got == 8 && &head == ident::SIGNATURE {
        return Ok(Sniffed::Vhdx);
    }
    if got == 8 && &head == vhd_footer::SIGNATURE {
        return Err(Error::UnsupportedVhd("dynamic or differencing".into()));
    }
    let size = vhd_footer::SIZE as u64;
    if len < size {
        return Ok(Sniffed::Raw);
    }
    let mut foot = [0u8; vhd_footer::SIZE];
    read_up_to(r, len - size, &mut foot)?;
    if &foot[..8] != vhd_footer::SIGNATURE {
        return Ok(Sniffed::Raw);
    }
    let footer = VhdFooter::parse(&foot)?;
    if footer.disk_type != VhdDiskType::Fixed {
        return Err(Error::UnsupportedVhd(footer.disk_type.to_string()));
    }
    if footer.virtual_size != len - size {
        return Err(Error::CorruptVhd(format!(
            "it says the disk is {} bytes, the file holds {} before the footer \
             (truncated or padded?)",
            footer.virtual_size,
            len - size
        )));
    }
    Ok(Sniffed::VhdFixed(footer))
}

/// Tells a disk file's container by its content (see [`DiskReader::open`] for the rules);
/// for callers that only need the name, such as a converter choosing its reader.
pub fn detect<R: Read + Seek>(r: &mut R) -> Result<DiskFormat, Error> {
    let len = r.seek(SeekFrom::End(0))?;
    Ok(match sniff(r, len)? {
        Sniffed::Raw => DiskFormat::Raw,
        Sniffed::Vhdx => DiskFormat::Vhdx,
        Sniffed::VhdFixed(_) => DiskFormat::VhdFixed,
    })
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::vhd::VhdOptions;

    /// A fixed VHD footer for a disk of `size` bytes, its type changed to `disk_type`.
    pub(crate) fn footer(size: u64, disk_type: u32) -> [u8; 512] {
        let mut f = vhd_footer::build(size, &VhdOptions::default());
        f[60..64].copy_from_slice(&disk_type.to_be_bytes());
        f[64..68].fill(0);
        let sum: u32 = f.iter().map(|b| *b as u32).sum();
        f[64..68].copy_from_slice(&(!sum).to_be_bytes());
        f
    }

    fn detect_bytes(b: Vec<u8>) -> Result<DiskFormat, Error> {
        detect(&mut Cursor::new(b))
    }

    #[test]
    fn recognized_by_content() {
        assert_eq!(detect_bytes(Vec::new()).unwrap(), DiskFormat::Raw);
        assert_eq!(detect_bytes(vec![0; 1 << 20]).unwrap(), DiskFormat::Raw);
        let mut v = b"vhdxfile".to_vec();
        v.resize(4096, 0);
        assert_eq!(detect_bytes(v).unwrap(), DiskFormat::Vhdx);
        let mut vhd = vec![7u8; 1 << 20];
        vhd.extend_from_slice(&footer(1 << 20, 2));
        assert_eq!(detect_bytes(vhd).unwrap(), DiskFormat::VhdFixed);
        let names: Vec<_> = [DiskFormat::Raw, DiskFormat::Vhdx, DiskFormat::VhdFixed]
            .iter()
            .map(|f| f.name())
            .collect();
        assert_eq!(names, ["raw", "vhdx", "vhd-fixed"]);
    }

    #[test]
    fn vhds_that_are_not_fixed_or_do_not_fit_are_errors() {
        // A footer whose size disagrees with the file.
        let mut v = vec![0u8; 1 << 20];
        v.extend_from_slice(&footer(2 << 20, 2));
        let e = detect_bytes(v).unwrap_err();
        assert!(matches!(e, Error::CorruptVhd(_)), "{e}");
        assert!(e.to_string().contains("truncated or padded"), "{e}");
        // A dynamic VHD: the footer copy at the start.
        let mut v = footer(1 << 20, 3).to_vec();
        v.extend_from_slice(&[0; 4096]);
        v.extend_from_slice(&footer(1 << 20, 3));
        let e = detect_bytes(v).unwrap_err();
        assert!(matches!(e, Error::UnsupportedVhd(_)), "{e}");
        // A dynamic footer at the end only.
        let mut v = vec![0u8; 1 << 20];
        v.extend_from_slice(&footer(1 << 20, 3));
        let e = detect_bytes(v).unwrap_err();
        assert_eq!(
            e.to_string(),
            "dynamic VHD files are not supported (only fixed VHDs): convert it with another \
             tool first"
        );
        // A damaged footer.
        let mut v = vec![0u8; 1 << 20];
        let mut f = footer(1 << 20, 2);
        f[30] ^= 1;
        v.extend_from_slice(&f);
        let e = detect_bytes(v).unwrap_err();
        assert!(
            e.to_string().starts_with("corrupt VHD footer: checksum"),
            "{e}"
        );
    }
}
