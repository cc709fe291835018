//! The symbols a module exports and those it needs, read from its ELF symbol table the way
//! libkmod reads them for depmod: exports are the `__crc_NAME` symbols (modversions), else the
//! strings of `__ksymtab_strings`; needs are the undefined symbols in table order, then the
//! `__versions` entries no undefined symbol named (`module_layout`).

use crate::elf::Elf;
use crate::KmodError;

const SYM_SIZE: usize = 24; // Elf64_Sym
const VERSION_SIZE: usize = 64; // u64 crc + 56-byte name
const CRC_PREFIX: &[u8] = b"__crc_";

/// A module's exported and needed symbols, in the order depmod sees them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Symbols {
    /// Symbols the module exports (for `modules.symbols` and other modules' dependencies).
    pub exports: Vec<String>,
    /// Symbols the module uses from elsewhere (the kernel or other modules).
    pub needs: Vec<String>,
}

/// The NUL-terminated string at `off` of `b` (to the end of `b` if unterminated).
fn cstr(b: &[u8], off: usize) -> &[u8] {
    let s = b.get(off..).unwrap_or(&[]);
    &s[..s.iter().position(|c| *c == 0).unwrap_or(s.len())]
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// (name offset, section index) of each symbol but the first (the null symbol).
fn entries(symtab: &[u8]) -> impl Iterator<Item = (usize, u16)> + '_ {
    symtab.chunks_exact(SYM_SIZE).skip(1).map(|e| {
        (
            u32::from_le_bytes([e[0], e[1], e[2], e[3]]) as usize,
            u16::from_le_bytes([e[6], e[7]]),
        )
    })
}

impl Symbols {
    /// Reads the symbols of an uncompressed module. A module without a symbol table has
    /// none (depmod skips what it cannot read, so this does too), only a malformed ELF
    /// header or section table is an error.
    pub fn from_elf(b: &[u8]) -> Result<Symbols, KmodError> {
        let elf = Elf::open(b)?;
        let tables = match (elf.section(".symtab"), elf.section(".strtab")) {
            (Ok(Some(sym)), Ok(Some(str))) if sym.len() % SYM_SIZE == 0 => Some((sym, str)),
            _ => None,
        };
        Ok(Symbols {
            exports: exports(&elf, tables),
            needs: tables.map(|t| needs(&elf, t)).unwrap_or_default(),
        })
    }
}

fn exports(elf: &Elf, tables: Option<(&[u8], &[u8])>) -> Vec<String> {
    if let Some((symtab, strtab)) = tables {
        if entries(symtab).all(|(name, _)| name < strtab.len()) {
            let crcs: Vec<String> = entries(symtab)
                .filter_map(|(name, _)| cstr(strtab, name).strip_prefix(CRC_PREFIX))
                .map(text)
                .collect();
            if !crcs.is_empty() {
                return crcs;
            }
        }
    }
    // No modversions: the names in __ksymtab_strings, empty strings skipped.
    match elf.section("__ksymtab_strings") {
        Ok(Some(s)) => s
            .split(|c| *c == 0)
            .filter(|n| !n.is_empty())
            .map(text)
            .collect(),
        _ => Vec::new(),
    }
}

fn needs(elf: &Elf, (symtab, strtab): (&[u8], &[u8])) -> Vec<String> {
    let undefined: Vec<usize> = entries(symtab)
        .filter(|(_, shndx)| *shndx == 0)
        .map(|(name, _)| name)
        .collect();
    if undefined.iter().any(|n| *n >= strtab.len()) {
        return Vec::new();
    }
    let mut out: Vec<String> = undefined
        .iter()
        .map(|n| cstr(strtab, *n))
        .filter(|n| !n.is_empty())
        .map(text)
        .collect();
    let versions = match elf.section("__versions") {
        Ok(Some(v)) if v.len() % VERSION_SIZE == 0 => v,
        _ => return out,
    };
    let names: Vec<&[u8]> = versions
        .chunks_exact(VERSION_SIZE)
        .map(|e| cstr(e, 8))
        .collect();
    // Each undefined symbol marks the first __versions entry of its name as seen.
    let mut seen = vec![false; names.len()];
    for n in &out {
        if let Some(i) = names.iter().position(|v| *v == n.as_bytes()) {
            seen[i] = true;
        }
    }
    out.extend(
        names
            .iter()
            .zip(seen)
            .filter(|(_, s)| !s)
            .map(|(n, _)| text(n)),
    );
    out
}
