//! Building the tree while the data streams by, and the finished hash device.
//!
//! The builder keeps the bottom level's digests only (1/128 of the data for 4 KiB blocks
//! and SHA-256) and one partial data block; the upper levels, each 1/128 of the one below,
//! are computed from them at the end. Nothing reads the data twice.

use std::io::{self, Write};
use std::sync::Arc;

use eflow_extents::{Segment, SparseRead};

use crate::error::VerityError;
use crate::geometry::Geometry;
use crate::hash::{BlockHasher, DataBlocks, Digest};
use crate::params::{Params, RootHash};
use crate::superblock::SUPERBLOCK_SIZE;
use crate::table::DmTable;

/// Computes a hash tree from the data device's bytes, fed in order in chunks of any size.
pub struct TreeBuilder {
    params: Params,
    geometry: Geometry,
    blocks: DataBlocks,
    fed: u64,
    /// Level 0: one digest slot per data block (or the single block's digest when the tree
    /// has no levels).
    bottom: Vec<u8>,
}

impl TreeBuilder {
    /// A builder for a data device of `params.data_blocks` blocks.
    pub fn new(params: Params) -> Result<TreeBuilder, VerityError> {
        params.validate()?;
        let geometry = params.geometry()?;
        let slot = geometry.digest_slot();
        let bottom_len = usize::try_from(params.data_blocks)
            .ok()
            .and_then(|n| n.checked_mul(slot))
            .ok_or_else(|| {
                VerityError::params(format!(
                    "{} data blocks need more digest memory than this host can address",
                    params.data_blocks
                ))
            })?;
        // Reserve what the bottom level will need, but never trust a huge count blindly:
        // the vector grows from there if the data really is that large.
        let bottom = Vec::with_capacity(bottom_len.min(256 << 20));
        Ok(TreeBuilder {
            blocks: DataBlocks::new(&params),
            geometry,
            params,
            fed: 0,
            bottom,
        })
    }

    /// The parameters the tree is built for.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Bytes fed so far.
    pub fn fed(&self) -> u64 {
        self.fed
    }

    fn count(&mut self, n: u64) -> Result<(), VerityError> {
        let expected = self.params.data_size();
        match self.fed.checked_add(n) {
            Some(total) if total <= expected => {
                self.fed = total;
                Ok(())
            }
            other => Err(VerityError::DataSize {
                expected,
                fed: other.unwrap_or(u64::MAX),
                how: "fed",
            }),
        }
    }

    /// Feeds the next bytes of the data device.
    pub fn update(&mut self, bytes: &[u8]) -> Result<(), VerityError> {
        self.count(bytes.len() as u64)?;
        let slot = self.geometry.digest_slot();
        let bottom = &mut self.bottom;
        self.blocks
            .data(bytes, &mut |_, d| push_digest(bottom, d, slot))
    }

    /// Feeds `n` zero bytes, hashing whole zero blocks without materializing them.
    pub fn update_zeros(&mut self, n: u64) -> Result<(), VerityError> {
        self.count(n)?;
        let slot = self.geometry.digest_slot();
        let bottom = &mut self.bottom;
        self.blocks
            .zeros(n, &mut |_, d| push_digest(bottom, d, slot))
    }

    /// Computes the upper levels and the root hash once every byte has been fed.
    pub fn finish(self) -> Result<Tree, VerityError> {
        let expected = self.params.data_size();
        if self.fed != expected || self.blocks.pending() != 0 {
            return Err(VerityError::DataSize {
                expected,
                fed: self.fed,
                how: "fed at the end",
            });
        }
        debug_assert_eq!(self.blocks.blocks_done(), self.params.data_blocks);
        let hasher = BlockHasher::new(&self.params);
        let slot = self.geometry.digest_slot();
        let hash_block = self.params.hash_block_size as usize;
        let levels_count = self.geometry.levels().len();
        let (root, levels) = if levels_count == 0 {
            // One data block: its digest is the root hash, and there is no tree.
            let mut root = [0u8; 32];
            root.copy_from_slice(&self.bottom[..32]);
            (root, Vec::new())
        } else {
            let mut levels = vec![self.bottom];
            let mut padded = vec![0u8; hash_block];
            let mut block_digest = |chunk: &[u8]| -> Digest {
                if chunk.len() == hash_block {
                    hasher.digest(chunk)
                } else {
                    padded[..chunk.len()].copy_from_slice(chunk);
                    padded[chunk.len()..].fill(0);
                    hasher.digest(&padded)
                }
            };
            while levels.len() < levels_count {
                let below = &levels[levels.len() - 1];
                let mut up = Vec::with_capacity(below.len().div_ceil(hash_block) * slot);
                for chunk in below.chunks(hash_block) {
                    push_digest(&mut up, &block_digest(chunk), slot)?;
                }
                levels.push(up);
            }
            let top = &levels[levels_count - 1];
            (block_digest(top), levels)
        };
        Ok(Tree {
            inner: Arc::new(TreeInner {
                superblock: self.params.superblock(),
                params: self.params,
                geometry: self.geometry,
                root: RootHash(root),
                levels,
            }),
        })
    }
}

fn push_digest(level: &mut Vec<u8>, d: &Digest, slot: usize) -> Result<(), VerityError> {
    level.extend_from_slice(d);
    if slot > d.len() {
        level.resize(level.len() + slot - d.len(), 0);
    }
    Ok(())
}

impl Write for TreeBuilder {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Builds the tree of a whole data stream (of exactly `params.data_size()` bytes).
pub fn build(params: Params, data: &mut dyn SparseRead) -> Result<Tree, VerityError> {
    if data.size() != params.data_size() {
        return Err(VerityError::params(format!(
            "the data stream is {} bytes, the parameters say {}",
            data.size(),
            params.data_size()
        )));
    }
    let mut b = TreeBuilder::new(params)?;
    let mut buf = vec![0u8; 1 << 20];
    while let Some(seg) = data.next_segment(&mut buf)? {
        match seg {
            Segment::Data(n) => b.update(&buf[..n])?,
            Segment::Zero(n) => b.update_zeros(n)?,
        }
    }
    b.finish()
}

struct TreeInner {
    params: Params,
    geometry: Geometry,
    root: RootHash,
    superblock: [u8; SUPERBLOCK_SIZE],
    /// Each level's digest slots, unpadded, index 0 being the bottom.
    levels: Vec<Vec<u8>>,
}

/// A finished hash tree: the root hash, and the hash device to write. Cheap to clone.
#[derive(Clone)]
pub struct Tree {
    inner: Arc<TreeInner>,
}

impl std::fmt::Debug for Tree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tree")
            .field("root", &self.inner.root)
            .field("params", &self.inner.params)
            .finish_non_exhaustive()
    }
}

impl Tree {
    /// The root hash, for the kernel command line or the dm table.
    pub fn root_hash(&self) -> RootHash {
        self.inner.root
    }

    /// The parameters the tree was built with.
    pub fn params(&self) -> &Params {
        &self.inner.params
    }

    /// Where the levels lie on the hash device.
    pub fn geometry(&self) -> &Geometry {
        &self.inner.geometry
    }

    /// Bytes of the hash device (superblock and levels).
    pub fn hash_device_size(&self) -> u64 {
        self.inner.geometry.hash_device_size()
    }

    /// The hash device as a sparse stream: padding comes as zero runs.
    pub fn hash_device(&self) -> HashDevice {
        HashDevice::new(self.clone())
    }

    /// The whole hash device in memory (it is about 1/127 of the data).
    pub fn hash_device_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.hash_device_size() as usize);
        for part in self.parts() {
            match self.part(part) {
                Ok(b) => out.extend_from_slice(b),
                Err(n) => out.resize(out.len() + n as usize, 0),
            }
        }
        out
    }

    /// Writes the hash device to `w`, front to back.
    pub fn write_hash_device(&self, w: &mut dyn Write) -> io::Result<()> {
        const ZEROS: [u8; 4096] = [0; 4096];
        for part in self.parts() {
            match self.part(part) {
                Ok(b) => w.write_all(b)?,
                Err(mut n) => {
                    while n > 0 {
                        let k = n.min(ZEROS.len() as u64) as usize;
                        w.write_all(&ZEROS[..k])?;
                        n -= k as u64;
                    }
                }
            }
        }
        Ok(())
    }

    /// The dm-verity table for this tree, the hash device holding it from its start.
    pub fn dm_table(&self, data_device: &str, hash_device: &str) -> DmTable {
        self.inner
            .params
            .dm_table(&self.inner.root, data_device, hash_device)
    }

    /// The hash device as byte ranges and zero runs, front to back: the superblock, the
    /// rest of its block, then each level (top first) and the rest of its last block.
    fn parts(&self) -> Vec<Part> {
        let t = &*self.inner;
        let hash_block = u64::from(t.params.hash_block_size);
        let mut out = vec![Part::Superblock];
        let sb_end = t.geometry.hash_start_block() * hash_block;
        out.push(Part::Zero(sb_end - SUPERBLOCK_SIZE as u64));
        for (i, level) in t.geometry.levels().iter().enumerate().rev() {
            out.push(Part::Level(i));
            out.push(Part::Zero(
                level.blocks * hash_block - t.levels[i].len() as u64,
            ));
        }
        out.retain(|p| !matches!(p, Part::Zero(0)));
        out
    }

    /// A part's bytes, or its length when it is zeros.
    fn part(&self, part: Part) -> Result<&[u8], u64> {
        match part {
            Part::Superblock => Ok(&self.inner.superblock),
            Part::Level(i) => Ok(&self.inner.levels[i]),
            Part::Zero(n) => Err(n),
        }
    }
}

/// A piece of the hash device.
#[derive(Clone, Copy)]
enum Part {
    Superblock,
    /// A level's digests (index 0 the bottom).
    Level(usize),
    Zero(u64),
}

/// A finished tree's hash device read as a [`SparseRead`] stream: what the disk layout or a
/// raw writer consumes. Zero padding comes as [`Segment::Zero`].
pub struct HashDevice {
    tree: Tree,
    parts: Vec<Part>,
    /// Position as (part index, offset within the part).
    part: usize,
    offset: usize,
}

impl HashDevice {
    fn new(tree: Tree) -> Self {
        HashDevice {
            parts: tree.parts(),
            tree,
            part: 0,
            offset: 0,
        }
    }

    /// The tree the device belongs to.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }
}

impl SparseRead for HashDevice {
    fn size(&self) -> u64 {
        self.tree.hash_device_size()
    }

    fn next_segment(&mut self, buf: &mut [u8]) -> io::Result<Option<Segment>> {
        let Some(part) = self.parts.get(self.part) else {
            return Ok(None);
        };
        let seg = match self.tree.part(*part) {
            Ok(bytes) => {
                let rest = &bytes[self.offset..];
                let n = rest.len().min(buf.len());
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "an empty buffer was passed to the hash device stream",
                    ));
                }
                buf[..n].copy_from_slice(&rest[..n]);
                self.offset += n;
                if self.offset == bytes.len() {
                    self.part += 1;
                    self.offset = 0;
                }
                Segment::Data(n)
            }
            Err(n) => {
                self.part += 1;
                self.offset = 0;
                Segment::Zero(n)
            }
        };
        Ok(Some(seg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eflow_extents::{read_all, Bytes};

    fn params(blocks: u64) -> Params {
        Params::new(blocks * 4096, &[3; 32], eflow_id::Guid::ZERO).unwrap()
    }

    fn data(blocks: u64) -> Vec<u8> {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        (0..blocks * 4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// The tree computed the slow, obvious way: level by level, whole blocks in memory.
    fn reference(p: &Params, data: &[u8]) -> (RootHash, Vec<u8>) {
        let h = BlockHasher::new(p);
        let mut level: Vec<u8> = data.chunks(4096).flat_map(|b| h.digest(b)).collect();
        if data.len() == 4096 {
            let mut dev = p.superblock().to_vec();
            dev.resize(4096, 0);
            return (RootHash(level[..32].try_into().unwrap()), dev);
        }
        let mut stored = Vec::new();
        loop {
            level.resize(level.len().div_ceil(4096) * 4096, 0);
            stored.push(level.clone());
            if level.len() == 4096 {
                break;
            }
            level = level.chunks(4096).flat_map(|b| h.digest(b)).collect();
        }
        let root = RootHash(h.digest(stored.last().unwrap()));
        let mut dev = p.superblock().to_vec();
        dev.resize(4096, 0);
        for l in stored.iter().rev() {
            dev.extend_from_slice(l);
        }
        (root, dev)
    }

    #[test]
    fn matches_the_obvious_computation() {
        for blocks in [1, 2, 127, 128, 129, 300, 128 * 128 + 1] {
            let p = params(blocks);
            let d = data(blocks);
            let tree = build(p.clone(), &mut Bytes::new(d.clone())).unwrap();
            let (root, dev) = reference(&p, &d);
            assert_eq!(tree.root_hash(), root, "{blocks} blocks");
            assert_eq!(tree.hash_device_size(), dev.len() as u64);
            assert_eq!(tree.hash_device_bytes(), dev, "{blocks} blocks");
            assert_eq!(read_all(&mut tree.hash_device()).unwrap(), dev);
            let mut w = Vec::new();
            tree.write_hash_device(&mut w).unwrap();
            assert_eq!(w, dev);
        }
    }

    #[test]
    fn hash_device_stream_pads_with_zero_runs() {
        let tree = build(params(129), &mut Bytes::new(data(129))).unwrap();
        let mut dev = tree.hash_device();
        let mut buf = vec![0u8; 100];
        let mut segs = Vec::new();
        while let Some(s) = dev.next_segment(&mut buf).unwrap() {
            segs.push(s);
        }
        // Superblock (512 in 100-byte pieces), its block's padding, level 1 (2 digests),
        // its padding, level 0 (129 digests in 100-byte pieces), its padding.
        assert_eq!(segs[5], Segment::Data(12));
        assert_eq!(segs[6], Segment::Zero(4096 - 512));
        assert_eq!(segs[7], Segment::Data(64));
        assert_eq!(segs[8], Segment::Zero(4096 - 64));
        assert_eq!(*segs.last().unwrap(), Segment::Zero(8192 - 129 * 32));
        let total: u64 = segs
            .iter()
            .map(|s| match s {
                Segment::Data(n) => *n as u64,
                Segment::Zero(n) => *n,
            })
            .sum();
        assert_eq!(total, 4 * 4096);
    }

    #[test]
    fn wrong_amounts_of_data_are_errors() {
        let mut b = TreeBuilder::new(params(2)).unwrap();
        b.update(&[1; 4096]).unwrap();
        assert!(b.update(&[1; 4097]).is_err());
        assert!(b.update_zeros(u64::MAX).is_err());
        b.update(&[1; 4095]).unwrap();
        assert!(matches!(b.finish(), Err(VerityError::DataSize { .. })));
        let b = TreeBuilder::new(params(1)).unwrap();
        assert!(b.finish().is_err());
        assert!(build(params(2), &mut Bytes::new(vec![0; 4096])).is_err());
    }

    #[test]
    fn io_write_feeds_the_builder() {
        let d = data(3);
        let mut b = TreeBuilder::new(params(3)).unwrap();
        std::io::copy(&mut &d[..], &mut b).unwrap();
        assert_eq!(b.fed(), 3 * 4096);
        let t = b.finish().unwrap();
        assert_eq!(t.root_hash(), reference(&params(3), &d).0);
    }

    #[test]
    fn zero_blocks_take_the_fast_path_with_the_same_result() {
        let p = params(200);
        let mut d = data(200);
        d[4096 * 10..4096 * 150].fill(0);
        let slow = reference(&p, &d);
        let mut b = TreeBuilder::new(p).unwrap();
        b.update(&d[..4096 * 10 + 5]).unwrap();
        b.update_zeros(4096 * 140 - 5).unwrap();
        b.update(&d[4096 * 150..]).unwrap();
        let t = b.finish().unwrap();
        assert_eq!((t.root_hash(), t.hash_device_bytes()), slow);
    }
}
