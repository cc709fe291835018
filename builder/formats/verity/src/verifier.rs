//! Offline verification of a data device against its hash device and a root hash.
//!
//! The check trusts only the root hash and goes down the tree as the kernel does: the top
//! hash block must hash to the root, every block below to its digest in the verified level
//! above, every data block to its digest in verified level 0. So the block it names is the
//! damaged one, whether on the data or the hash device. Both devices are read front to back
//! once: the upper levels (1/16384 of the data) are kept, level 0 is read in step with the
//! data, one hash block at a time.

use std::io;

use eflow_extents::{Segment, SparseRead};

use crate::error::{Corruption, VerityError};
use crate::hash::{BlockHasher, DataBlocks, Digest};
use crate::params::{Params, RootHash};
use crate::superblock::SUPERBLOCK_SIZE;

/// Verifies `data` against the hash device `hash` (superblock first, as veritysetup writes
/// it) and the trusted root hash. Returns the superblock's parameters when every block
/// matches; a [`VerityError::Corrupt`] names the first block that does not. Bytes past the
/// tree on the hash device and past the covered blocks on the data device are not read.
pub fn verify(
    hash: &mut dyn SparseRead,
    data: &mut dyn SparseRead,
    root: &RootHash,
) -> Result<Params, VerityError> {
    let hash_size = hash.size();
    let mut hash = Reader::new(hash);
    let head = hash.read(SUPERBLOCK_SIZE as u64)?;
    let params = Params::from_superblock(&head)?;
    let g = params.geometry()?;
    let need = g.hash_device_size();
    if hash_size < need {
        return Err(VerityError::Truncated {
            what: "hash device",
            need,
            have: hash_size,
        });
    }
    if data.size() < params.data_size() {
        return Err(VerityError::Truncated {
            what: "data device",
            need: params.data_size(),
            have: data.size(),
        });
    }
    let hash_block = u64::from(params.hash_block_size);
    hash.skip(g.hash_start_block() * hash_block - SUPERBLOCK_SIZE as u64)?;

    let hasher = BlockHasher::new(&params);
    let slot = g.digest_slot();
    let levels = g.levels();
    // The verified digests of the level being read: the root, then each level's blocks.
    let mut parent = Expected::Root(root.0);
    for level in (1..levels.len()).rev() {
        let bytes = hash.read(levels[level].blocks * hash_block)?;
        for (j, block) in bytes.chunks(hash_block as usize).enumerate() {
            let d = hasher.digest(block);
            check_hash_block(&parent, &d, level, levels.len(), j as u64, slot, || {
                g.block_offset(level, j as u64)
            })?;
        }
        parent = Expected::Level(bytes);
    }

    // Level 0 in step with the data, one hash block at a time.
    let hashes_per_block = g.hashes_per_block();
    let data_block = u64::from(params.data_block_size);
    let mut current: Option<(u64, Vec<u8>)> = None;
    let mut blocks = DataBlocks::new(&params);
    let mut sink = |k: u64, d: &Digest| -> Result<(), VerityError> {
        if levels.is_empty() {
            // One data block: its digest is the root hash.
            if d != &root.0 {
                return Err(VerityError::Corrupt(Corruption::RootHash {
                    computed: RootHash(*d),
                }));
            }
            return Ok(());
        }
        let j = k / hashes_per_block;
        if !matches!(&current, Some((i, _)) if *i == j) {
            let block = hash.read(hash_block)?;
            let bd = hasher.digest(&block);
            check_hash_block(&parent, &bd, 0, levels.len(), j, slot, || {
                g.block_offset(0, j)
            })?;
            current = Some((j, block));
        }
        let at = (k % hashes_per_block) as usize * slot;
        let stored = current.as_ref().map(|(_, b)| &b[at..at + d.len()]);
        if stored != Some(&d[..]) {
            return Err(VerityError::Corrupt(Corruption::DataBlock {
                index: k,
                offset: k * data_block,
            }));
        }
        Ok(())
    };
    let mut left = params.data_size();
    let mut buf = vec![0u8; 1 << 20];
    while left > 0 {
        let Some(seg) = data.next_segment(&mut buf)? else {
            break;
        };
        match seg {
            Segment::Data(n) => {
                let bytes = buf
                    .get(..n)
                    .ok_or_else(|| io::Error::other("a data segment was longer than the buffer"))?;
                let take = (n as u64).min(left) as usize;
                blocks.data(&bytes[..take], &mut sink)?;
                left -= take as u64;
            }
            Segment::Zero(n) => {
                let take = n.min(left);
                blocks.zeros(take, &mut sink)?;
                left -= take;
            }
        }
    }
    if left > 0 {
        return Err(VerityError::Truncated {
            what: "data device",
            need: params.data_size(),
            have: params.data_size() - left,
        });
    }
    Ok(params)
}

/// [`verify`] on devices in memory.
pub fn verify_bytes(hash: &[u8], data: &[u8], root: &RootHash) -> Result<Params, VerityError> {
    verify(&mut Slice(hash), &mut Slice(data), root)
}

/// What a level's blocks must hash to.
enum Expected {
    /// The top level's single block: the root hash.
    Root([u8; 32]),
    /// The verified level above, as stored (one digest slot per block).
    Level(Vec<u8>),
}

fn check_hash_block(
    parent: &Expected,
    d: &Digest,
    level: usize,
    levels: usize,
    index: u64,
    slot: usize,
    offset: impl Fn() -> u64,
) -> Result<(), VerityError> {
    let ok = match parent {
        Expected::Root(r) => index == 0 && r == d,
        Expected::Level(bytes) => {
            let at = index as usize * slot;
            bytes.get(at..at + d.len()) == Some(&d[..])
        }
    };
    if ok {
        return Ok(());
    }
    Err(VerityError::Corrupt(if level + 1 == levels {
        Corruption::RootHash {
            computed: RootHash(*d),
        }
    } else {
        Corruption::HashBlock {
            level,
            index,
            offset: offset(),
        }
    }))
}

/// Bytes handed on by [`Reader::take`].
enum Piece<'a> {
    Bytes(&'a [u8]),
    Zeros(u64),
}

/// Reads exact byte counts from a sparse stream, keeping what a segment gave beyond them.
struct Reader<'a> {
    src: &'a mut dyn SparseRead,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    zeros: u64,
    pos: u64,
}

impl<'a> Reader<'a> {
    fn new(src: &'a mut dyn SparseRead) -> Self {
        Reader {
            src,
            buf: vec![0u8; 1 << 20],
            start: 0,
            end: 0,
            zeros: 0,
            pos: 0,
        }
    }

    /// Makes something available; false at the end of the stream.
    fn fill(&mut self) -> io::Result<bool> {
        if self.start < self.end || self.zeros > 0 {
            return Ok(true);
        }
        match self.src.next_segment(&mut self.buf)? {
            None => Ok(false),
            Some(Segment::Data(n)) if n <= self.buf.len() => {
                self.start = 0;
                self.end = n;
                Ok(true)
            }
            Some(Segment::Data(_)) => Err(io::Error::other(
                "a data segment was longer than the buffer",
            )),
            Some(Segment::Zero(n)) => {
                self.zeros = n;
                Ok(true)
            }
        }
    }

    /// Exactly `n` bytes.
    fn read(&mut self, n: u64) -> Result<Vec<u8>, VerityError> {
        let mut out = Vec::with_capacity(n.min(16 << 20) as usize);
        self.take(n, &mut |piece| match piece {
            Piece::Bytes(b) => out.extend_from_slice(b),
            Piece::Zeros(z) => out.resize(out.len() + z as usize, 0),
        })?;
        Ok(out)
    }

    /// Passes over `n` bytes.
    fn skip(&mut self, n: u64) -> Result<(), VerityError> {
        self.take(n, &mut |_| ())
    }

    fn take(&mut self, n: u64, f: &mut dyn FnMut(Piece<'_>)) -> Result<(), VerityError> {
        let mut left = n;
        while left > 0 {
            if !self.fill()? {
                return Err(VerityError::Truncated {
                    what: "hash device",
                    need: self.pos + left,
                    have: self.pos,
                });
            }
            if self.start < self.end {
                let k = ((self.end - self.start) as u64).min(left) as usize;
                f(Piece::Bytes(&self.buf[self.start..self.start + k]));
                self.start += k;
                left -= k as u64;
                self.pos += k as u64;
            } else {
                let k = self.zeros.min(left);
                f(Piece::Zeros(k));
                self.zeros -= k;
                left -= k;
                self.pos += k;
            }
        }
        Ok(())
    }
}

/// A borrowed byte slice as a sparse stream.
struct Slice<'a>(&'a [u8]);

impl SparseRead for Slice<'_> {
    fn size(&self) -> u64 {
        self.0.len() as u64
    }

    fn next_segment(&mut self, buf: &mut [u8]) -> io::Result<Option<Segment>> {
        let n = self.0.len().min(buf.len());
        if n == 0 {
            return Ok(None);
        }
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(Some(Segment::Data(n)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::build;
    use eflow_extents::{Bytes, Layout, Zeros};

    fn params(blocks: u64) -> Params {
        Params::new(blocks * 4096, &[4; 32], eflow_id::Guid::ZERO).unwrap()
    }

    fn sample(blocks: u64) -> (Vec<u8>, Vec<u8>, RootHash) {
        let data: Vec<u8> = (0..blocks * 4096)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let tree = build(params(blocks), &mut Bytes::new(data.clone())).unwrap();
        (data, tree.hash_device_bytes(), tree.root_hash())
    }

    fn corruption(r: Result<Params, VerityError>) -> Corruption {
        match r {
            Err(VerityError::Corrupt(c)) => c,
            other => panic!("expected a corruption, got {other:?}"),
        }
    }

    #[test]
    fn good_devices_pass() {
        for blocks in [1, 2, 128, 129, 16385] {
            let (data, hash, root) = sample(blocks);
            assert_eq!(verify_bytes(&hash, &data, &root).unwrap(), params(blocks));
        }
    }

    #[test]
    fn names_the_bad_data_block() {
        let (mut data, hash, root) = sample(300);
        data[4096 * 257 + 5] ^= 1;
        assert_eq!(
            corruption(verify_bytes(&hash, &data, &root)),
            Corruption::DataBlock {
                index: 257,
                offset: 4096 * 257
            }
        );
        let (mut one, hash, root) = sample(1);
        one[0] ^= 1;
        assert!(matches!(
            corruption(verify_bytes(&hash, &one, &root)),
            Corruption::RootHash { .. }
        ));
    }

    #[test]
    fn names_the_bad_hash_block() {
        // 16385 blocks: level 2 (1 block) at 1, level 1 (2 blocks) at 2, level 0 at 4.
        let (data, hash, root) = sample(16385);
        for (at, expect) in [
            (4096 + 7, Corruption::RootHash { computed: root }),
            (
                2 * 4096 + 4095,
                Corruption::HashBlock {
                    level: 1,
                    index: 0,
                    offset: 2 * 4096,
                },
            ),
            (
                (4 + 100) * 4096 + 40,
                Corruption::HashBlock {
                    level: 0,
                    index: 100,
                    offset: 104 * 4096,
                },
            ),
        ] {
            let mut h = hash.clone();
            h[at] ^= 0x80;
            let c = corruption(verify_bytes(&h, &data, &root));
            match (&c, &expect) {
                (Corruption::RootHash { computed }, Corruption::RootHash { .. }) => {
                    assert_ne!(*computed, root)
                }
                _ => assert_eq!(c, expect, "byte {at}"),
            }
        }
        // A wrong root hash is reported at the top.
        let mut wrong = root;
        wrong.0[0] ^= 1;
        assert_eq!(
            corruption(verify_bytes(&hash, &data, &wrong)),
            Corruption::RootHash { computed: root }
        );
    }

    #[test]
    fn short_and_garbage_devices_are_errors_not_panics() {
        let (data, hash, root) = sample(129);
        assert!(matches!(
            verify_bytes(&hash[..hash.len() - 1], &data, &root),
            Err(VerityError::Truncated {
                what: "hash device",
                ..
            })
        ));
        assert!(matches!(
            verify_bytes(&hash, &data[..data.len() - 4096], &root),
            Err(VerityError::Truncated {
                what: "data device",
                ..
            })
        ));
        assert!(verify_bytes(&[], &data, &root).is_err());
        assert!(verify_bytes(&data, &data, &root).is_err());
        // Longer devices are fine: only what the tree covers is read.
        let mut longer = data.clone();
        longer.extend_from_slice(&[1; 8192]);
        let mut hash_longer = hash.clone();
        hash_longer.extend_from_slice(&[1; 100]);
        verify_bytes(&hash_longer, &longer, &root).unwrap();
    }

    #[test]
    fn sparse_streams_verify() {
        let p = params(20000);
        let mut l = Layout::new(p.data_size());
        l.place(4096 * 3 + 1, Box::new(Bytes::new(vec![1; 10])))
            .unwrap();
        let tree = build(p.clone(), &mut l).unwrap();
        let mut l = Layout::new(p.data_size());
        l.place(4096 * 3 + 1, Box::new(Bytes::new(vec![1; 10])))
            .unwrap();
        verify(&mut tree.hash_device(), &mut l, &tree.root_hash()).unwrap();
        // All zeros is a different device.
        let err = verify(
            &mut tree.hash_device(),
            &mut Zeros::new(p.data_size()),
            &tree.root_hash(),
        );
        assert_eq!(
            corruption(err),
            Corruption::DataBlock {
                index: 3,
                offset: 3 * 4096
            }
        );
    }
}
