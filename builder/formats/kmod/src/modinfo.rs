//! A module's `.modinfo` section: NUL-separated `key=value` strings (name, depends, alias,
//! softdep, vermagic, license, ...), as `modinfo(8)` shows them.

use crate::{decompress, elf, KmodError};

/// Soft dependencies (`softdep=pre: a b post: c`): modules modprobe loads before or after
/// this one when they exist, without the module needing them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SoftDeps {
    pub pre: Vec<String>,
    pub post: Vec<String>,
}

/// The metadata of one module.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModInfo {
    /// `name=`: the module's name (modules built before Linux 4.x may lack it).
    pub name: Option<String>,
    /// `depends=`: modules whose symbols this one uses, comma separated in the file.
    pub depends: Vec<String>,
    /// `alias=`: device and other aliases modprobe matches.
    pub aliases: Vec<String>,
    /// `softdep=`.
    pub softdeps: SoftDeps,
    /// `vermagic=`: the kernel release and build options the module was built for.
    pub vermagic: Option<String>,
    /// `license=`.
    pub license: Option<String>,
    /// Every key=value pair in file order, the ones above included.
    pub fields: Vec<(String, String)>,
}

impl ModInfo {
    /// Parses the contents of a `.modinfo` section. Strings without `=` are skipped (the
    /// kernel ignores them too); values must be UTF-8.
    pub fn parse(section: &[u8]) -> Result<ModInfo, KmodError> {
        let mut m = ModInfo::default();
        for raw in section.split(|b| *b == 0).filter(|s| !s.is_empty()) {
            let s = std::str::from_utf8(raw).map_err(|_| {
                KmodError::BadModinfo(format!(
                    "entry {:?} is not UTF-8",
                    String::from_utf8_lossy(raw)
                ))
            })?;
            let Some((k, v)) = s.split_once('=') else {
                continue;
            };
            match k {
                "name" => m.name = Some(v.to_string()),
                "depends" => m.depends.extend(
                    v.split(',')
                        .map(str::trim)
                        .filter(|d| !d.is_empty())
                        .map(str::to_string),
                ),
                "alias" => m.aliases.push(v.to_string()),
                "softdep" => parse_softdep(v, &mut m.softdeps),
                "vermagic" => m.vermagic = Some(v.trim_end().to_string()),
                "license" => m.license = Some(v.to_string()),
                _ => {}
            }
            m.fields.push((k.to_string(), v.to_string()));
        }
        Ok(m)
    }
}

/// `pre: a b post: c d` (either part optional, several softdep= lines add up).
fn parse_softdep(v: &str, into: &mut SoftDeps) {
    let mut post = false;
    for word in v.split_whitespace() {
        match word {
            "pre:" => post = false,
            "post:" => post = true,
            w => {
                if post {
                    into.post.push(w.to_string())
                } else {
                    into.pre.push(w.to_string())
                }
            }
        }
    }
}

/// Reads the metadata of a module file: a plain `.ko`, or one compressed with xz, zstd or
/// gzip (`.ko.xz`, `.ko.zst`, `.ko.gz`; recognized by their magic, not their name).
pub fn modinfo(ko: &[u8]) -> Result<ModInfo, KmodError> {
    let plain = decompress::maybe(ko)?;
    let section = elf::section_bytes(&plain, ".modinfo")?.ok_or(KmodError::NoModinfo)?;
    ModInfo::parse(section)
}

/// Reads the metadata and the symbols of a module file (plain or compressed, like
/// [`modinfo`]), decompressing it once: what depmod reads of each module.
pub fn module(ko: &[u8]) -> Result<(ModInfo, crate::Symbols), KmodError> {
    let plain = decompress::maybe(ko)?;
    let section = elf::section_bytes(&plain, ".modinfo")?.ok_or(KmodError::NoModinfo)?;
    Ok((ModInfo::parse(section)?, crate::Symbols::from_elf(&plain)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys() {
        let m = ModInfo::parse(
            b"license=GPL\0depends=virtio_ring,virtio\0\0alias=virtio:d00000002v*\0\
              softdep=pre: crc32c post: x\0junk\0name=virtio_blk\0vermagic=6.1.0 SMP \0",
        )
        .unwrap();
        assert_eq!(m.name.as_deref(), Some("virtio_blk"));
        assert_eq!(m.depends, ["virtio_ring", "virtio"]);
        assert_eq!(m.aliases, ["virtio:d00000002v*"]);
        assert_eq!(m.softdeps.pre, ["crc32c"]);
        assert_eq!(m.softdeps.post, ["x"]);
        assert_eq!(m.vermagic.as_deref(), Some("6.1.0 SMP"));
        assert_eq!(m.fields.len(), 6);
        assert!(ModInfo::parse(b"depends=\0").unwrap().depends.is_empty());
        assert!(ModInfo::parse(b"name=\xff\0").is_err());
    }
}
