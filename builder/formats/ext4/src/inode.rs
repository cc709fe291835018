//! The 256-byte on-disk inode (128-byte base plus 32 bytes of extra fields, the rest free for
//! in-inode extended attributes) and its checksum.

use crate::bytes::{get16, get32, put16, put32};
use crate::checksum::{crc32c_raw, inode_seed};
use crate::geometry::INODE_SIZE;

/// i_flags: the inode uses an extent tree.
pub const FL_EXTENTS: u32 = 0x80000;
/// i_flags: a directory with a hash index (htree).
pub const FL_INDEX: u32 = 0x1000;
/// Bytes of extra inode fields (mke2fs default, s_want_extra_isize).
pub const EXTRA_ISIZE: u16 = 32;
/// Offset where in-inode extended attributes start (128 + extra).
pub const XATTR_START: usize = 128 + EXTRA_ISIZE as usize;

/// File type bits of i_mode.
pub mod mode {
    pub const S_IFMT: u16 = 0o170000;
    pub const S_IFSOCK: u16 = 0o140000;
    pub const S_IFLNK: u16 = 0o120000;
    pub const S_IFREG: u16 = 0o100000;
    pub const S_IFBLK: u16 = 0o060000;
    pub const S_IFDIR: u16 = 0o040000;
    pub const S_IFCHR: u16 = 0o020000;
    pub const S_IFIFO: u16 = 0o010000;
}

/// The fields of an inode this crate writes and reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inode {
    pub mode: u16,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    /// atime, ctime, mtime and crtime are all this time (seconds since the epoch).
    pub time: i64,
    pub links: u16,
    /// i_blocks in 512-byte units.
    pub blocks_512: u64,
    pub flags: u32,
    pub block: [u8; 60],
    pub file_acl: u64,
    /// Whether the extra fields are present (false only for some reserved inodes).
    pub extra: bool,
    /// In-inode xattr area (from offset 160 to 256), already encoded; empty for none.
    pub xattr_area: Vec<u8>,
}

impl Default for Inode {
    fn default() -> Self {
        Inode {
            mode: 0,
            uid: 0,
            gid: 0,
            size: 0,
            time: 0,
            links: 0,
            blocks_512: 0,
            flags: 0,
            block: [0; 60],
            file_acl: 0,
            extra: false,
            xattr_area: Vec::new(),
        }
    }
}

/// Splits a time into the 32-bit seconds field and the 2 epoch bits of the *_extra field.
pub fn encode_time(t: i64) -> (u32, u32) {
    let lo = t as i32;
    let epoch = ((t - lo as i64) >> 32) & 3;
    (lo as u32, epoch as u32)
}

/// Rebuilds a time from its 32-bit seconds field and *_extra field.
pub fn decode_time(lo: u32, extra: u32) -> i64 {
    lo as i32 as i64 + (((extra & 3) as i64) << 32)
}

impl Inode {
    /// Encodes the inode with its checksum for inode number `ino` (generation 0).
    pub fn encode(&self, ino: u32, fs_seed: u32) -> [u8; INODE_SIZE as usize] {
        let mut b = [0u8; INODE_SIZE as usize];
        let (t, te) = encode_time(self.time);
        put16(&mut b, 0x00, self.mode);
        put16(&mut b, 0x02, self.uid as u16);
        put32(&mut b, 0x04, self.size as u32);
        put32(&mut b, 0x08, t);
        put32(&mut b, 0x0C, t);
        put32(&mut b, 0x10, t);
        put16(&mut b, 0x18, self.gid as u16);
        put16(&mut b, 0x1A, self.links);
        put32(&mut b, 0x1C, self.blocks_512 as u32);
        put32(&mut b, 0x20, self.flags);
        b[0x28..0x64].copy_from_slice(&self.block);
        put32(&mut b, 0x68, self.file_acl as u32);
        put32(&mut b, 0x6C, (self.size >> 32) as u32);
        put16(&mut b, 0x74, (self.blocks_512 >> 32) as u16);
        put16(&mut b, 0x76, (self.file_acl >> 32) as u16);
        put16(&mut b, 0x78, (self.uid >> 16) as u16);
        put16(&mut b, 0x7A, (self.gid >> 16) as u16);
        if self.extra {
            put16(&mut b, 0x80, EXTRA_ISIZE);
            put32(&mut b, 0x84, te);
            put32(&mut b, 0x88, te);
            put32(&mut b, 0x8C, te);
            put32(&mut b, 0x90, t);
            put32(&mut b, 0x94, te);
            let n = self.xattr_area.len().min(INODE_SIZE as usize - XATTR_START);
            b[XATTR_START..XATTR_START + n].copy_from_slice(&self.xattr_area[..n]);
        }
        let c = checksum(&b, ino, fs_seed);
        put16(&mut b, 0x7C, c as u16);
        if self.extra {
            put16(&mut b, 0x82, (c >> 16) as u16);
        }
        b
    }

    /// Decodes an inode; returns it and whether its checksum matched.
    pub fn decode(b: &[u8], ino: u32, fs_seed: u32) -> (Inode, bool) {
        let extra_isize = get16(b, 0x80);
        let extra = b.len() > 128 && extra_isize >= 4;
        let mut block = [0u8; 60];
        if let Some(s) = b.get(0x28..0x64) {
            block.copy_from_slice(s);
        }
        let xattr_area = if extra && b.len() == INODE_SIZE as usize {
            let start = 128 + extra_isize as usize;
            b.get(start..).map(|s| s.to_vec()).unwrap_or_default()
        } else {
            Vec::new()
        };
        let inode = Inode {
            mode: get16(b, 0x00),
            uid: get16(b, 0x02) as u32 | (get16(b, 0x78) as u32) << 16,
            gid: get16(b, 0x18) as u32 | (get16(b, 0x7A) as u32) << 16,
            size: get32(b, 0x04) as u64 | (get32(b, 0x6C) as u64) << 32,
            time: decode_time(get32(b, 0x10), if extra { get32(b, 0x88) } else { 0 }),
            links: get16(b, 0x1A),
            blocks_512: get32(b, 0x1C) as u64 | (get16(b, 0x74) as u64) << 32,
            flags: get32(b, 0x20),
            block,
            file_acl: get32(b, 0x68) as u64 | (get16(b, 0x76) as u64) << 32,
            extra,
            xattr_area,
        };
        let ok = if b.len() == INODE_SIZE as usize {
            let c = checksum(b, ino, fs_seed);
            let stored = get16(b, 0x7C) as u32
                | if extra {
                    (get16(b, 0x82) as u32) << 16
                } else {
                    0
                };
            let want = if extra { c } else { c & 0xFFFF };
            stored == want || b[..128].iter().all(|x| *x == 0)
        } else {
            false
        };
        (inode, ok)
    }
}

/// crc32c over the whole inode with both checksum fields zeroed, seeded per inode.
fn checksum(b: &[u8], ino: u32, fs_seed: u32) -> u32 {
    let seed = inode_seed(fs_seed, ino, get32(b, 0x64));
    let c = crc32c_raw(seed, &b[..0x7C]);
    let c = crc32c_raw(c, &[0, 0]);
    let c = crc32c_raw(c, &b[0x7E..0x82]);
    let has_hi = get16(b, 0x80) >= 4;
    let c = crc32c_raw(c, if has_hi { &[0, 0] } else { &b[0x82..0x84] });
    crc32c_raw(c, &b[0x84..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_round_trip_beyond_2038_and_before_1970() {
        for t in [0i64, -1, 1 << 31, (1 << 32) + 5, 1_700_000_000, -(1 << 31)] {
            let (lo, ex) = encode_time(t);
            assert_eq!(decode_time(lo, ex), t, "{t}");
        }
    }

    #[test]
    fn encode_decode_with_checksum() {
        let i = Inode {
            mode: mode::S_IFREG | 0o644,
            uid: 70000,
            gid: 5,
            size: 5 << 32,
            time: 1_600_000_000,
            links: 1,
            blocks_512: 8,
            flags: FL_EXTENTS,
            extra: true,
            ..Default::default()
        };
        let b = i.encode(12, 0x1234);
        let (d, ok) = Inode::decode(&b, 12, 0x1234);
        assert!(ok);
        assert_eq!(d.uid, 70000);
        assert_eq!(d.size, 5 << 32);
        let (_, ok) = Inode::decode(&b, 13, 0x1234);
        assert!(!ok);
    }
}
