//! A read-only ext4 reader for tests and `inspect`: superblock summary, stat, directory
//! listing, file contents, symlink targets and xattrs. Every on-disk number is checked before
//! use, so corrupt input gives [`Error::Corrupt`], never a panic or a runaway allocation.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};

use eflow_id::Guid;

use crate::checksum::fs_seed;
use crate::dir::{self, ParsedEntry};
use crate::error::Error;
use crate::extent;
use crate::group_desc::GroupDesc;
use crate::inode::{mode, Inode, FL_EXTENTS};
use crate::superblock::{Superblock, INCOMPAT_64BIT, RO_COMPAT_METADATA_CSUM};
use crate::xattr;

/// The inode number of the root directory.
const ROOT_INO: u32 = 2;
/// Largest file or directory the reader will load into memory.
const MAX_READ: u64 = 1 << 30;

/// What `dumpe2fs -h` would summarize.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Summary {
    /// Block size in bytes.
    pub block_size: u64,
    /// Blocks in the filesystem.
    pub block_count: u64,
    /// Free blocks (superblock count).
    pub free_blocks: u64,
    /// Blocks reserved for root.
    pub reserved_blocks: u64,
    /// Inodes in the filesystem.
    pub inode_count: u32,
    /// Free inodes (superblock count).
    pub free_inodes: u32,
    /// Filesystem UUID (stored in this byte order, as blkid prints it).
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::as_text"))]
    pub uuid: Guid,
    /// Volume label.
    pub label: String,
    /// Enabled features, spelled as dumpe2fs does.
    pub features: Vec<&'static str>,
}

impl Summary {
    /// The summary of a superblock.
    pub(crate) fn of(sb: &Superblock, block_size: u64) -> Summary {
        let label_len = sb.volume_name.iter().position(|c| *c == 0).unwrap_or(16);
        Summary {
            block_size,
            block_count: sb.blocks_count,
            free_blocks: sb.free_blocks,
            reserved_blocks: sb.r_blocks_count,
            inode_count: sb.inodes_count,
            free_inodes: sb.free_inodes,
            uuid: Guid(sb.uuid),
            label: String::from_utf8_lossy(&sb.volume_name[..label_len]).into_owned(),
            features: sb.feature_names(),
        }
    }
}

/// The superblock summary of the ext4 filesystem in `image` (a partition, an image file),
/// after the checks [`Ext4Reader::open`] makes: what `inspect` shows of an ext4 partition.
pub fn probe<R: Read + Seek>(image: R) -> Result<Summary, Error> {
    Ok(Ext4Reader::open(image)?.summary())
}

/// The type of an inode, with device numbers for devices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A character device.
    CharDevice {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
    /// A block device.
    BlockDevice {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
    /// A named pipe.
    Fifo,
    /// A unix socket.
    Socket,
}

/// Metadata of one inode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stat {
    /// Inode number.
    pub ino: u32,
    /// Type (and device numbers).
    pub file_type: FileType,
    /// Permission bits (mask 0o7777).
    pub mode: u32,
    /// Owner user id.
    pub uid: u32,
    /// Owner group id.
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
    /// Hard link count.
    pub links: u16,
}

/// A directory entry as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// Entry name (lossily decoded as UTF-8).
    pub name: String,
    /// Inode number it points at.
    pub ino: u32,
}

/// An ext4 filesystem opened for reading.
pub struct Ext4Reader<R> {
    r: R,
    sb: Superblock,
    block_size: u64,
    seed: u32,
    descs: Vec<GroupDesc>,
    csum: bool,
    /// Length of the underlying image: no file read may allocate more than this.
    len: u64,
}

fn corrupt(msg: impl Into<String>) -> Error {
    Error::Corrupt(msg.into())
}

impl<R: Read + Seek> Ext4Reader<R> {
    /// Reads and checks the superblock and group descriptors.
    pub fn open(mut r: R) -> Result<Self, Error> {
        let len = r.seek(SeekFrom::End(0))?;
        let mut b = vec![0u8; 1024];
        r.seek(SeekFrom::Start(1024))?;
        r.read_exact(&mut b)?;
        let sb = Superblock::decode(&b)?;
        if sb.log_block_size > 6 {
            return Err(corrupt("block size larger than 64 KiB"));
        }
        let block_size = 1024u64 << sb.log_block_size;
        if sb.blocks_per_group == 0 || sb.inodes_per_group == 0 || sb.blocks_count == 0 {
            return Err(corrupt("zero blocks or inodes per group"));
        }
        let isz = sb.inode_size as u64;
        if sb.rev_level > 0 && (isz < 128 || isz > block_size || !isz.is_power_of_two()) {
            return Err(corrupt(format!("bad inode size {isz}")));
        }
        let desc_size = if sb.feature_incompat & INCOMPAT_64BIT != 0 {
            sb.desc_size as u64
        } else {
            32
        };
        if !(32..=1024).contains(&desc_size) || !desc_size.is_power_of_two() {
            return Err(corrupt(format!("bad group descriptor size {desc_size}")));
        }
        let groups = sb
            .blocks_count
            .saturating_sub(sb.first_data_block as u64)
            .div_ceil(sb.blocks_per_group as u64);
        if groups == 0 || groups * desc_size > 64 << 20 {
            return Err(corrupt(format!("implausible group count {groups}")));
        }
        if groups * sb.inodes_per_group as u64 != sb.inodes_count as u64 {
            return Err(corrupt("inode count does not match groups"));
        }
        let csum = sb.feature_ro_compat & RO_COMPAT_METADATA_CSUM != 0;
        let seed = fs_seed(&sb.uuid);
        let mut table = vec![0u8; (groups * desc_size) as usize];
        r.seek(SeekFrom::Start(
            (sb.first_data_block as u64 + 1) * block_size,
        ))?;
        r.read_exact(&mut table)?;
        let mut descs = Vec::with_capacity(groups as usize);
        for (g, d) in table.chunks(desc_size as usize).enumerate() {
            let (desc, ok) = GroupDesc::decode(g as u32, seed, d);
            let desc = if desc_size < 64 {
                // 32-byte descriptors have no high halves.
                GroupDesc {
                    block_bitmap: desc.block_bitmap & 0xFFFF_FFFF,
                    inode_bitmap: desc.inode_bitmap & 0xFFFF_FFFF,
                    inode_table: desc.inode_table & 0xFFFF_FFFF,
                    ..desc
                }
            } else {
                desc
            };
            if csum && desc_size == 64 && !ok {
                return Err(corrupt(format!("group descriptor {g} checksum mismatch")));
            }
            descs.push(desc);
        }
        Ok(Ext4Reader {
            r,
            sb,
            block_size,
            seed,
            descs,
            csum,
            len,
        })
    }

    /// The superblock summary.
    pub fn summary(&self) -> Summary {
        Summary::of(&self.sb, self.block_size)
    }

    fn read_block(&mut self, b: u64) -> Result<Vec<u8>, Error> {
        if b >= self.sb.blocks_count {
            return Err(corrupt(format!(
                "block {b} is past the end of the filesystem"
            )));
        }
        let mut buf = vec![0u8; self.block_size as usize];
        self.r.seek(SeekFrom::Start(b * self.block_size))?;
        self.r.read_exact(&mut buf)?;
        Ok(buf)
    }

    fn inode(&mut self, ino: u32) -> Result<Inode, Error> {
        if ino == 0 || ino > self.sb.inodes_count {
            return Err(corrupt(format!("inode number {ino} out of range")));
        }
        let ipg = self.sb.inodes_per_group;
        let g = ((ino - 1) / ipg) as usize;
        let idx = ((ino - 1) % ipg) as u64;
        let isz = if self.sb.rev_level == 0 {
            128
        } else {
            self.sb.inode_size as u64
        };
        let table = self
            .descs
            .get(g)
            .ok_or_else(|| corrupt("no group descriptor"))?
            .inode_table;
        let off = table
            .checked_mul(self.block_size)
            .and_then(|o| o.checked_add(idx * isz))
            .ok_or_else(|| corrupt("inode table offset overflows"))?;
        if table >= self.sb.blocks_count {
            return Err(corrupt(format!("inode table of group {g} is past the end")));
        }
        let mut buf = vec![0u8; isz as usize];
        self.r.seek(SeekFrom::Start(off))?;
        self.r.read_exact(&mut buf)?;
        let (inode, ok) = Inode::decode(&buf, ino, self.seed);
        if self.csum && isz == 256 && !ok {
            return Err(corrupt(format!("inode {ino} checksum mismatch")));
        }
        Ok(inode)
    }

    fn stat_of(ino: u32, i: &Inode) -> Result<Stat, Error> {
        let dev = || {
            let w0 = u32::from_le_bytes([i.block[0], i.block[1], i.block[2], i.block[3]]);
            let w1 = u32::from_le_bytes([i.block[4], i.block[5], i.block[6], i.block[7]]);
            if w0 != 0 {
                (w0 >> 8 & 0xFF, w0 & 0xFF)
            } else {
                ((w1 & 0xFFF00) >> 8, (w1 & 0xFF) | ((w1 >> 12) & 0xFFF00))
            }
        };
        let file_type = match i.mode & mode::S_IFMT {
            mode::S_IFREG => FileType::File,
            mode::S_IFDIR => FileType::Dir,
            mode::S_IFLNK => FileType::Symlink,
            mode::S_IFCHR => {
                let (major, minor) = dev();
                FileType::CharDevice { major, minor }
            }
            mode::S_IFBLK => {
                let (major, minor) = dev();
                FileType::BlockDevice { major, minor }
            }
            mode::S_IFIFO => FileType::Fifo,
            mode::S_IFSOCK => FileType::Socket,
            m => return Err(corrupt(format!("inode {ino} has unknown type {m:o}"))),
        };
        Ok(Stat {
            ino,
            file_type,
            mode: (i.mode & 0o7777) as u32,
            uid: i.uid,
            gid: i.gid,
            size: i.size,
            mtime: i.time,
            links: i.links,
        })
    }

    /// The contents of an extent-mapped inode (file, directory, slow symlink).
    fn data(&mut self, i: &Inode) -> Result<Vec<u8>, Error> {
        if i.size > MAX_READ.min(self.len) {
            return Err(corrupt(format!(
                "size {} is larger than the image or than the reader loads into memory",
                i.size
            )));
        }
        if i.flags & FL_EXTENTS == 0 {
            return Err(corrupt("only extent-mapped files are supported"));
        }
        let mut read = |b: u64| self.read_block_raw(b);
        let extents = extent::decode(&i.block, &mut read)?;
        let mut out = vec![0u8; i.size as usize];
        let bs = self.block_size;
        for e in extents {
            for k in 0..e.len as u64 {
                let off = (e.logical as u64 + k) * bs;
                if off >= i.size {
                    break;
                }
                let b = self.read_block(e.start + k)?;
                let n = (i.size - off).min(bs) as usize;
                out[off as usize..off as usize + n].copy_from_slice(&b[..n]);
            }
        }
        Ok(out)
    }

    fn read_block_raw(&mut self, b: u64) -> Result<Vec<u8>, Error> {
        self.read_block(b)
    }

    fn dir_entries(&mut self, ino: u32) -> Result<Vec<ParsedEntry>, Error> {
        let i = self.inode(ino)?;
        if i.mode & mode::S_IFMT != mode::S_IFDIR {
            return Err(corrupt(format!("inode {ino} is not a directory")));
        }
        let data = self.data(&i)?;
        let mut out = Vec::new();
        for b in data.chunks(self.block_size as usize) {
            dir::parse_block(b, &mut out);
        }
        Ok(out)
    }

    fn lookup(&mut self, path: &str) -> Result<u32, Error> {
        let mut ino = ROOT_INO;
        for comp in path.split('/').filter(|c| !c.is_empty()) {
            let entries = self.dir_entries(ino)?;
            ino = entries
                .iter()
                .find(|e| e.name == comp.as_bytes())
                .map(|e| e.ino)
                .ok_or_else(|| Error::NotFound(path.to_string()))?;
        }
        Ok(ino)
    }

    /// Metadata of the entry at `path` (symlinks are not followed).
    pub fn stat(&mut self, path: &str) -> Result<Stat, Error> {
        let ino = self.lookup(path)?;
        let i = self.inode(ino)?;
        Self::stat_of(ino, &i)
    }

    /// The entries of a directory, `.` and `..` excluded, in on-disk order.
    pub fn list_dir(&mut self, path: &str) -> Result<Vec<DirEntry>, Error> {
        let ino = self.lookup(path)?;
        Ok(self
            .dir_entries(ino)?
            .into_iter()
            .filter(|e| e.name != b"." && e.name != b"..")
            .map(|e| DirEntry {
                name: String::from_utf8_lossy(&e.name).into_owned(),
                ino: e.ino,
            })
            .collect())
    }

    /// The contents of a regular file.
    pub fn read_file(&mut self, path: &str) -> Result<Vec<u8>, Error> {
        let ino = self.lookup(path)?;
        let i = self.inode(ino)?;
        if i.mode & mode::S_IFMT != mode::S_IFREG {
            return Err(corrupt(format!("{path} is not a regular file")));
        }
        self.data(&i)
    }

    /// The target of a symbolic link.
    pub fn read_link(&mut self, path: &str) -> Result<String, Error> {
        let ino = self.lookup(path)?;
        let i = self.inode(ino)?;
        if i.mode & mode::S_IFMT != mode::S_IFLNK {
            return Err(corrupt(format!("{path} is not a symbolic link")));
        }
        let bytes = if i.flags & FL_EXTENTS == 0 && i.size < 60 {
            i.block[..i.size as usize].to_vec()
        } else {
            self.data(&i)?
        };
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The extended attributes of an entry, by full name.
    pub fn xattrs(&mut self, path: &str) -> Result<BTreeMap<String, Vec<u8>>, Error> {
        let ino = self.lookup(path)?;
        let i = self.inode(ino)?;
        let mut out = BTreeMap::new();
        if i.xattr_area.len() >= 4 && crate::bytes::get32(&i.xattr_area, 0) == xattr::MAGIC {
            out.extend(xattr::parse(&i.xattr_area, 4, 4));
        }
        if i.file_acl != 0 {
            let b = self.read_block(i.file_acl)?;
            if crate::bytes::get32(&b, 0) != xattr::MAGIC {
                return Err(corrupt(format!("bad xattr block magic for {path}")));
            }
            out.extend(xattr::parse(&b, 32, 0));
        }
        Ok(out)
    }
}
