//! Reading a newc archive back (for tests, `inspect` and checking initramfs contents).

use std::io::Read;

use crate::header::{pad4, Header, LEN, TRAILER};
use crate::CpioError;

/// Longest member name accepted (the kernel's PATH_MAX).
const MAX_NAME: u32 = 4096;

/// One member of an archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The name as stored (no leading `/` in archives this crate writes).
    pub name: String,
    pub header: Header,
    /// The member's data: file contents, or a symlink's target.
    pub data: Vec<u8>,
}

impl Member {
    /// Permission and type bits.
    pub fn mode(&self) -> u32 {
        self.header.mode
    }
}

fn read_exact_at(
    r: &mut impl Read,
    buf: &mut [u8],
    offset: u64,
    what: &str,
) -> Result<(), CpioError> {
    r.read_exact(buf).map_err(|e| CpioError::Truncated {
        offset,
        what: format!("{what}: {e}"),
    })
}

/// Reads every member up to `TRAILER!!!` (not included). Data is read into memory, so this is
/// for archives of reasonable size; `max_total` bounds the bytes of data accepted in all.
pub fn read_newc(mut r: impl Read, max_total: u64) -> Result<Vec<Member>, CpioError> {
    let mut out = Vec::new();
    let mut pos = 0u64;
    let mut total = 0u64;
    loop {
        let mut h = [0u8; LEN];
        read_exact_at(&mut r, &mut h, pos, "member header")?;
        let (header, namesize) = Header::parse(&h).map_err(|detail| CpioError::Corrupt {
            offset: pos,
            detail,
        })?;
        if namesize == 0 || namesize > MAX_NAME {
            return Err(CpioError::Corrupt {
                offset: pos,
                detail: format!("name size {namesize} is outside 1..={MAX_NAME}"),
            });
        }
        let start = pos;
        pos += LEN as u64;
        let mut name = vec![0u8; namesize as usize + pad4(pos + namesize as u64)];
        read_exact_at(&mut r, &mut name, pos, "member name")?;
        pos += name.len() as u64;
        name.truncate(namesize as usize);
        if name.pop() != Some(0) {
            return Err(CpioError::Corrupt {
                offset: start,
                detail: "name is not NUL-terminated".into(),
            });
        }
        let name = String::from_utf8(name).map_err(|_| CpioError::Corrupt {
            offset: start,
            detail: "name is not UTF-8".into(),
        })?;
        if name == TRAILER {
            return Ok(out);
        }
        let size = header.filesize as u64;
        total += size;
        if total > max_total {
            return Err(CpioError::Corrupt {
                offset: start,
                detail: format!("more than {max_total} bytes of data"),
            });
        }
        let mut data = Vec::new();
        (&mut r)
            .take(size)
            .read_to_end(&mut data)
            .map_err(|e| CpioError::Truncated {
                offset: pos,
                what: format!("data of {name}: {e}"),
            })?;
        if data.len() as u64 != size {
            return Err(CpioError::Truncated {
                offset: pos,
                what: format!("data of {name}: {} of {size} bytes", data.len()),
            });
        }
        pos += size;
        let mut pad = [0u8; 3];
        let p = pad4(pos);
        read_exact_at(&mut r, &mut pad[..p], pos, "data padding")?;
        pos += p as u64;
        out.push(Member { name, header, data });
    }
}
