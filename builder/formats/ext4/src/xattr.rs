//! Extended attributes: entries stored in the inode's spare space or in one shared,
//! checksummed xattr block; POSIX ACLs converted to ext4's own compact encoding.

use crate::bytes::{get16, get32, put16, put32};
use crate::checksum::crc32c_raw;
use crate::geometry::{BLOCK_SIZE, INODE_SIZE};
use crate::inode::XATTR_START;

/// Magic of the in-inode xattr header and of an xattr block.
pub const MAGIC: u32 = 0xEA02_0000;
/// Size of the xattr block header.
const BLOCK_HEADER: usize = 32;

/// Name prefixes and their on-disk index; longer prefixes first so they win.
const PREFIXES: [(&str, u8); 6] = [
    ("system.posix_acl_default", 3),
    ("system.posix_acl_access", 2),
    ("security.", 6),
    ("trusted.", 4),
    ("system.", 7),
    ("user.", 1),
];

/// One attribute in on-disk form: name index, name suffix, value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Attr {
    pub index: u8,
    pub name: Vec<u8>,
    pub value: Vec<u8>,
}

/// Converts full xattr names and VFS values into sorted on-disk attributes.
pub fn to_attrs<'a>(
    xattrs: impl Iterator<Item = (&'a String, &'a Vec<u8>)>,
) -> Result<Vec<Attr>, String> {
    let mut out = Vec::new();
    for (full, value) in xattrs {
        let (prefix, index) = PREFIXES
            .iter()
            .find(|(p, _)| full.starts_with(p))
            .ok_or_else(|| format!("extended attribute {full:?} has a namespace ext4 does not store (user., trusted., security., system.)"))?;
        let name = full.as_bytes()[prefix.len()..].to_vec();
        if (*index == 2 || *index == 3) && !name.is_empty() {
            return Err(format!("unknown extended attribute {full:?}"));
        }
        if name.len() > 255 {
            return Err(format!("extended attribute name {full:?} is too long"));
        }
        let value = if *index == 2 || *index == 3 {
            acl_to_disk(value).ok_or_else(|| format!("{full} is not a valid POSIX ACL"))?
        } else {
            value.clone()
        };
        out.push(Attr {
            index: *index,
            name,
            value,
        });
    }
    // The kernel keeps block entries sorted by (index, name length, name).
    out.sort_by(|a, b| (a.index, a.name.len(), &a.name).cmp(&(b.index, b.name.len(), &b.name)));
    Ok(out)
}

/// VFS ACL xattr (version 2, 8-byte entries) to ext4's on-disk ACL (version 1, short
/// entries for the owner/group/mask/other tags).
fn acl_to_disk(v: &[u8]) -> Option<Vec<u8>> {
    if v.len() < 4 || !(v.len() - 4).is_multiple_of(8) || get32(v, 0) != 2 {
        return None;
    }
    let mut out = 1u32.to_le_bytes().to_vec();
    for e in v[4..].chunks(8) {
        let tag = get16(e, 0);
        out.extend_from_slice(&e[0..4]);
        match tag {
            1 | 4 | 0x10 | 0x20 => {}
            2 | 8 => out.extend_from_slice(&e[4..8]),
            _ => return None,
        }
    }
    Some(out)
}

/// ext4's on-disk ACL back to the VFS xattr form (for the reader).
fn acl_from_disk(v: &[u8]) -> Vec<u8> {
    let mut out = 2u32.to_le_bytes().to_vec();
    let mut off = 4;
    while off + 4 <= v.len() {
        let tag = get16(v, off);
        out.extend_from_slice(&v[off..off + 4]);
        if tag == 2 || tag == 8 {
            out.extend_from_slice(&get32(v, off + 4).to_le_bytes());
            off += 8;
        } else {
            out.extend_from_slice(&u32::MAX.to_le_bytes());
            off += 4;
        }
    }
    out
}

fn entry_size(a: &Attr) -> usize {
    (16 + a.name.len() + 3) & !3
}

fn value_size(a: &Attr) -> usize {
    (a.value.len() + 3) & !3
}

/// The hash of one entry (name, then padded value words), as the kernel computes it.
fn entry_hash(a: &Attr) -> u32 {
    let mut h: u32 = 0;
    for c in &a.name {
        h = (h << 5) ^ (h >> 27) ^ (*c as u32);
    }
    let mut padded = a.value.clone();
    padded.resize(value_size(a), 0);
    for w in padded.chunks(4) {
        h = (h << 16) ^ (h >> 16) ^ get32(w, 0);
    }
    h
}

/// Lays entries and values into `area` (entries from `entries_at`, values from the end down,
/// value offsets relative to `base`). False when they do not fit.
fn lay_out(attrs: &[Attr], area: &mut [u8], entries_at: usize, base: usize) -> Option<Vec<u32>> {
    let mut e = entries_at;
    let mut v = area.len();
    let mut hashes = Vec::new();
    for a in attrs {
        let es = entry_size(a);
        let vs = value_size(a);
        if v < vs || e + es + 4 > v - vs {
            return None;
        }
        v -= vs;
        area[v..v + a.value.len()].copy_from_slice(&a.value);
        let h = entry_hash(a);
        hashes.push(h);
        area[e] = a.name.len() as u8;
        area[e + 1] = a.index;
        put16(
            area,
            e + 2,
            if a.value.is_empty() {
                0
            } else {
                (v - base) as u16
            },
        );
        put32(area, e + 4, 0);
        put32(area, e + 8, a.value.len() as u32);
        put32(area, e + 12, h);
        area[e + 16..e + 16 + a.name.len()].copy_from_slice(&a.name);
        e += es;
    }
    Some(hashes)
}

/// The in-inode xattr area (bytes 160..256 of the inode) holding `attrs`, or None if they
/// do not fit there.
pub fn encode_in_inode(attrs: &[Attr]) -> Option<Vec<u8>> {
    let mut area = vec![0u8; INODE_SIZE as usize - XATTR_START];
    put32(&mut area, 0, MAGIC);
    let (head, rest) = area.split_at_mut(4);
    let _ = head;
    lay_out(attrs, rest, 0, 0)?;
    Some(area)
}

/// An xattr block holding `attrs`, shared by `refcount` inodes, stored at block `blocknr`.
pub fn encode_block(attrs: &[Attr], refcount: u32, blocknr: u64, fs_seed: u32) -> Option<Vec<u8>> {
    let mut b = vec![0u8; BLOCK_SIZE as usize];
    let hashes = lay_out(attrs, &mut b, BLOCK_HEADER, 0)?;
    put32(&mut b, 0, MAGIC);
    put32(&mut b, 4, refcount);
    put32(&mut b, 8, 1);
    let mut h: u32 = 0;
    for eh in hashes {
        h = (h << 16) ^ (h >> 16) ^ eh;
    }
    put32(&mut b, 12, h);
    let c = crc32c_raw(fs_seed, &blocknr.to_le_bytes());
    let c = crc32c_raw(c, &b);
    put32(&mut b, 16, c);
    Some(b)
}

/// Full attribute name from index and suffix, or None for unknown indexes.
fn full_name(index: u8, name: &[u8]) -> Option<String> {
    let prefix = PREFIXES.iter().find(|(_, i)| *i == index)?.0;
    Some(format!("{prefix}{}", String::from_utf8_lossy(name)))
}

/// Parses entries starting at `entries_at` in `region`, values relative to `base`.
/// Malformed entries end the list; nothing panics.
pub fn parse(region: &[u8], entries_at: usize, base: usize) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut e = entries_at;
    while e + 16 <= region.len() && get32(region, e) != 0 {
        let nl = region[e] as usize;
        let index = region[e + 1];
        let voff = get16(region, e + 2) as usize;
        let vsize = get32(region, e + 8) as usize;
        let Some(name) = region.get(e + 16..e + 16 + nl) else {
            break;
        };
        let value = region
            .get(base + voff..(base + voff).saturating_add(vsize))
            .map(|v| v.to_vec())
            .unwrap_or_default();
        if let Some(n) = full_name(index, name) {
            let value = if index == 2 || index == 3 {
                acl_from_disk(&value)
            } else {
                value
            };
            out.push((n, value));
        }
        e += (16 + nl + 3) & !3;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn in_inode_and_block_round_trip() {
        let mut x = BTreeMap::new();
        x.insert("security.capability".to_string(), vec![1u8; 20]);
        x.insert("user.a".to_string(), b"hello".to_vec());
        let attrs = to_attrs(x.iter()).unwrap();
        let area = encode_in_inode(&attrs).unwrap();
        let back = parse(&area, 4, 4);
        assert_eq!(back.len(), 2);
        let b = encode_block(&attrs, 1, 99, 5).unwrap();
        let back2 = parse(&b, 32, 0);
        assert_eq!(back, back2);
        x.insert("user.big".to_string(), vec![7u8; 200]);
        assert!(encode_in_inode(&to_attrs(x.iter()).unwrap()).is_none());
        assert!(to_attrs(
            [("foo.bar".to_string(), vec![])]
                .iter()
                .map(|(a, b)| (a, b))
        )
        .is_err());
    }

    #[test]
    fn acl_conversion_round_trips() {
        let mut v = 2u32.to_le_bytes().to_vec();
        for (tag, perm, id) in [
            (1u16, 7u16, u32::MAX),
            (2, 5, 1000),
            (4, 5, u32::MAX),
            (0x10, 7, u32::MAX),
            (0x20, 0, u32::MAX),
        ] {
            v.extend_from_slice(&tag.to_le_bytes());
            v.extend_from_slice(&perm.to_le_bytes());
            v.extend_from_slice(&id.to_le_bytes());
        }
        let d = acl_to_disk(&v).unwrap();
        assert_eq!(d.len(), 4 + 4 * 4 + 8);
        assert_eq!(acl_from_disk(&d), v);
    }
}
