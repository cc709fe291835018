//! The `ar` container of a .deb: the global header, then members with 60-byte headers,
//! each member's data padded to an even length.
//!
//! Written here rather than taken from a crate so that every size is checked against the file
//! length before anything is allocated or read.

use std::io::{Read, Seek, SeekFrom};

/// The 8-byte global header of every `ar` archive.
pub const MAGIC: &[u8; 8] = b"!<arch>\n";
/// The size of a member header.
pub const HEADER_LEN: u64 = 60;
/// More members than this is no Debian package (they have 3, plus a few signatures at most).
pub const MAX_MEMBERS: usize = 64;

/// One member of the archive: its name and where its data lies in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The name with the padding spaces and a GNU-style trailing `/` removed.
    pub name: String,
    /// Offset of the member's data from the start of the file.
    pub offset: u64,
    /// Length of the member's data (without the padding byte).
    pub size: u64,
}

/// Parses one 60-byte member header; `at` is its offset (for messages), `remaining` the bytes
/// of the file after the header.
pub fn parse_header(h: &[u8; 60], at: u64, remaining: u64) -> Result<(String, u64), String> {
    if &h[58..60] != b"`\n" {
        return Err(format!(
            "member header at offset {at} lacks the `\\n terminator"
        ));
    }
    let raw_name = &h[0..16];
    let name = std::str::from_utf8(raw_name)
        .map_err(|_| format!("member name at offset {at} is not ASCII"))?
        .trim_end_matches(' ');
    let name = name.strip_suffix('/').unwrap_or(name);
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!("member name {name:?} at offset {at} is invalid"));
    }
    let size_field = std::str::from_utf8(&h[48..58])
        .map_err(|_| format!("size of member {name} is not ASCII"))?
        .trim_end_matches(' ');
    if size_field.is_empty() || !size_field.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "size of member {name} is not a decimal number: {size_field:?}"
        ));
    }
    let size: u64 = size_field
        .parse()
        .map_err(|_| format!("size of member {name} is out of range"))?;
    if size > remaining {
        return Err(format!(
            "member {name} declares {size} bytes but only {remaining} remain in the file (truncated?)"
        ));
    }
    Ok((name.to_string(), size))
}

/// Lists the members of an archive of `len` bytes.
pub fn members<R: Read + Seek>(r: &mut R, len: u64) -> Result<Vec<Member>, String> {
    let mut magic = [0u8; 8];
    r.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    r.read_exact(&mut magic)
        .map_err(|_| "file is shorter than the ar magic".to_string())?;
    if &magic != MAGIC {
        return Err("missing the !<arch> magic".into());
    }
    let mut out = Vec::new();
    let mut pos = MAGIC.len() as u64;
    while pos < len {
        if out.len() >= MAX_MEMBERS {
            return Err(format!("more than {MAX_MEMBERS} members"));
        }
        if len - pos < HEADER_LEN {
            return Err(format!("truncated member header at offset {pos}"));
        }
        let mut h = [0u8; 60];
        r.seek(SeekFrom::Start(pos)).map_err(|e| e.to_string())?;
        r.read_exact(&mut h)
            .map_err(|e| format!("reading member header at offset {pos}: {e}"))?;
        let data = pos + HEADER_LEN;
        let (name, size) = parse_header(&h, pos, len - data)?;
        out.push(Member {
            name,
            offset: data,
            size,
        });
        // Data is padded to an even length; the padding byte may be missing at the very end.
        pos = data + size + (size & 1);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn member(name: &str, data: &[u8]) -> Vec<u8> {
        let mut v = format!(
            "{name:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            0,
            0,
            0,
            100644,
            data.len()
        )
        .into_bytes();
        v.extend_from_slice(data);
        if data.len() % 2 == 1 {
            v.push(b'\n');
        }
        v
    }

    #[test]
    fn lists_members_with_padding() {
        let mut f = MAGIC.to_vec();
        f.extend(member("debian-binary", b"2.0\n"));
        f.extend(member("odd/", b"abc"));
        f.extend(member("last", b"z"));
        let len = f.len() as u64;
        let m = members(&mut Cursor::new(f), len).unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(m[1].name, "odd");
        assert_eq!((m[1].offset, m[1].size), (8 + 60 + 4 + 60, 3));
        assert_eq!(m[2].size, 1);
    }

    #[test]
    fn rejects_bad_input_without_panicking() {
        let mut f = MAGIC.to_vec();
        f.extend(member("debian-binary", b"2.0\n"));
        let len = f.len() as u64;
        // Every truncation and every single-byte corruption gives Ok or Err, never a panic.
        for cut in 0..f.len() {
            let _ = members(&mut Cursor::new(&f[..cut]), cut as u64);
        }
        for i in 0..f.len() {
            for b in [0u8, b' ', b'9', 0xff] {
                let mut g = f.clone();
                g[i] = b;
                let _ = members(&mut Cursor::new(g), len);
            }
        }
        // A size larger than the file is an error, not an allocation.
        let mut g = MAGIC.to_vec();
        g.extend(
            format!(
                "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
                "x", 0, 0, 0, 0, 9999999999u64
            )
            .bytes(),
        );
        let len = g.len() as u64;
        assert!(members(&mut Cursor::new(g), len)
            .unwrap_err()
            .contains("declares"));
        assert!(members(&mut Cursor::new(b"garbage!".to_vec()), 8).is_err());
    }
}
