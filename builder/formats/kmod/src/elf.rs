//! Just enough ELF64 to find one section's bytes: the header, the section header table and
//! the section name string table. Every offset is bounds-checked; nothing is trusted.

use crate::KmodError;

const SHT_NOBITS: u32 = 8;
const SHN_XINDEX: u16 = 0xFFFF;

fn bad(detail: impl Into<String>) -> KmodError {
    KmodError::BadElf(detail.into())
}

fn slice<'a>(b: &'a [u8], off: u64, len: u64, what: &str) -> Result<&'a [u8], KmodError> {
    let end = off
        .checked_add(len)
        .filter(|e| *e <= b.len() as u64)
        .ok_or_else(|| {
            bad(format!(
                "{what} at {off}+{len} passes the end of the file ({} bytes)",
                b.len()
            ))
        })?;
    Ok(&b[off as usize..end as usize])
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[o..o + 8]);
    u64::from_le_bytes(a)
}

struct Section {
    name: u32,
    kind: u32,
    offset: u64,
    size: u64,
    link: u32,
}

fn section(b: &[u8], shoff: u64, entsize: u64, i: u64) -> Result<Section, KmodError> {
    let off = i
        .checked_mul(entsize)
        .and_then(|x| x.checked_add(shoff))
        .ok_or_else(|| bad("section header offset overflows"))?;
    let s = slice(b, off, 64, "section header")?;
    Ok(Section {
        name: u32_at(s, 0),
        kind: u32_at(s, 4),
        offset: u64_at(s, 24),
        size: u64_at(s, 32),
        link: u32_at(s, 40),
    })
}

/// An ELF64 little-endian file whose section header table has been checked.
pub struct Elf<'a> {
    b: &'a [u8],
    shoff: u64,
    entsize: u64,
    shnum: u64,
    names: &'a [u8],
}

impl<'a> Elf<'a> {
    /// Checks the header and the section header table of `b`.
    pub fn open(b: &'a [u8]) -> Result<Elf<'a>, KmodError> {
        let h = slice(b, 0, 64, "ELF header").map_err(|_| {
            bad(format!(
                "{} bytes is too short for an ELF64 header",
                b.len()
            ))
        })?;
        if &h[..4] != b"\x7fELF" {
            return Err(bad("no ELF magic (not a kernel module?)"));
        }
        if h[4] != 2 {
            return Err(bad(format!("ELF class {} is not ELF64", h[4])));
        }
        if h[5] != 1 {
            return Err(bad(format!(
                "ELF data encoding {} is not little-endian",
                h[5]
            )));
        }
        let shoff = u64_at(h, 0x28);
        let entsize = u16_at(h, 0x3A) as u64;
        let mut shnum = u16_at(h, 0x3C) as u64;
        let mut shstrndx = u16_at(h, 0x3E) as u64;
        if shoff == 0 {
            return Err(bad("no section header table"));
        }
        if entsize < 64 {
            return Err(bad(format!("section header size {entsize} is below 64")));
        }
        // Extended numbering: the real counts live in section 0.
        if shnum == 0 || shstrndx == SHN_XINDEX as u64 {
            let s0 = section(b, shoff, entsize, 0)?;
            if shnum == 0 {
                shnum = s0.size;
            }
            if shstrndx == SHN_XINDEX as u64 {
                shstrndx = s0.link as u64;
            }
        }
        // Every header must be inside the file, which also bounds the loops over them.
        slice(
            b,
            shoff,
            shnum
                .checked_mul(entsize)
                .ok_or_else(|| bad("section header table size overflows"))?,
            "section header table",
        )?;
        if shstrndx >= shnum {
            return Err(bad(format!(
                "section name table index {shstrndx} is not below {shnum}"
            )));
        }
        let strtab = section(b, shoff, entsize, shstrndx)?;
        let names = slice(b, strtab.offset, strtab.size, "section name table")?;
        Ok(Elf {
            b,
            shoff,
            entsize,
            shnum,
            names,
        })
    }

    /// The bytes of the first section called `want`, or None if there is none.
    pub fn section(&self, want: &str) -> Result<Option<&'a [u8]>, KmodError> {
        for i in 0..self.shnum {
            let s = section(self.b, self.shoff, self.entsize, i)?;
            let name = self
                .names
                .get(s.name as usize..)
                .and_then(|n| n.iter().position(|c| *c == 0).map(|e| &n[..e]));
            if name != Some(want.as_bytes()) {
                continue;
            }
            if s.kind == SHT_NOBITS {
                return Ok(Some(&[]));
            }
            return Ok(Some(slice(self.b, s.offset, s.size, want)?));
        }
        Ok(None)
    }
}

/// The bytes of the section called `want` in a little-endian ELF64 file, or None if absent.
pub fn section_bytes<'a>(b: &'a [u8], want: &str) -> Result<Option<&'a [u8]>, KmodError> {
    Elf::open(b)?.section(want)
}
