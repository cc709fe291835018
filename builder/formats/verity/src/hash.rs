//! Salted block digests, and cutting a byte stream into data blocks to digest.

use sha2::{Digest as _, Sha256};

use crate::error::VerityError;
use crate::params::{HashType, Params};

/// A SHA-256 digest.
pub(crate) type Digest = [u8; 32];

/// Where [`DataBlocks`] hands each block's index and digest.
pub(crate) type Sink<'a> = dyn FnMut(u64, &Digest) -> Result<(), VerityError> + 'a;

/// Digests blocks with the salt where the hash type puts it.
#[derive(Clone)]
pub(crate) struct BlockHasher {
    /// The state after the salt (type 1), or the initial state (type 0).
    start: Sha256,
    /// The salt to append after the block (type 0), or nothing.
    suffix: Vec<u8>,
}

impl BlockHasher {
    pub(crate) fn new(params: &Params) -> Self {
        let mut start = Sha256::new();
        let suffix = match params.hash_type {
            HashType::Normal => {
                start.update(&params.salt);
                Vec::new()
            }
            HashType::ChromeOs => params.salt.clone(),
        };
        BlockHasher { start, suffix }
    }

    /// The digest of one block.
    pub(crate) fn digest(&self, block: &[u8]) -> Digest {
        let mut h = self.start.clone();
        h.update(block);
        if !self.suffix.is_empty() {
            h.update(&self.suffix);
        }
        h.finalize().into()
    }
}

/// Cuts the data device's bytes, fed in any chunks, into data blocks and digests each one,
/// handing the digests in order to a sink. All-zero blocks (zero runs, or data that is zero)
/// take a digest computed once.
pub(crate) struct DataBlocks {
    hasher: BlockHasher,
    zero: Digest,
    block: Vec<u8>,
    filled: usize,
    /// Index of the next block to complete.
    next: u64,
}

impl DataBlocks {
    pub(crate) fn new(params: &Params) -> Self {
        let hasher = BlockHasher::new(params);
        let size = params.data_block_size as usize;
        let block = vec![0u8; size];
        let zero = hasher.digest(&block);
        DataBlocks {
            hasher,
            zero,
            block,
            filled: 0,
            next: 0,
        }
    }

    /// Blocks completed so far.
    pub(crate) fn blocks_done(&self) -> u64 {
        self.next
    }

    /// Bytes of an incomplete block waiting for more.
    pub(crate) fn pending(&self) -> usize {
        self.filled
    }

    fn digest_of(&self, block: &[u8]) -> Digest {
        if eflow_extents::is_zero(block) {
            self.zero
        } else {
            self.hasher.digest(block)
        }
    }

    /// Feeds bytes; calls `sink(index, digest)` for each block they complete.
    pub(crate) fn data(
        &mut self,
        mut bytes: &[u8],
        sink: &mut Sink<'_>,
    ) -> Result<(), VerityError> {
        let size = self.block.len();
        if self.filled > 0 {
            let n = (size - self.filled).min(bytes.len());
            self.block[self.filled..self.filled + n].copy_from_slice(&bytes[..n]);
            self.filled += n;
            bytes = &bytes[n..];
            if self.filled < size {
                return Ok(());
            }
            self.filled = 0;
            let d = self.digest_of(&self.block);
            self.emit(&d, sink)?;
        }
        let mut whole = bytes.chunks_exact(size);
        for block in &mut whole {
            let d = self.digest_of(block);
            self.emit(&d, sink)?;
        }
        let rest = whole.remainder();
        self.block[..rest.len()].copy_from_slice(rest);
        self.filled = rest.len();
        Ok(())
    }

    /// Feeds `n` zero bytes without a buffer for them.
    pub(crate) fn zeros(&mut self, mut n: u64, sink: &mut Sink<'_>) -> Result<(), VerityError> {
        let size = self.block.len();
        if self.filled > 0 {
            let k = ((size - self.filled) as u64).min(n) as usize;
            self.block[self.filled..self.filled + k].fill(0);
            self.filled += k;
            n -= k as u64;
            if self.filled < size {
                return Ok(());
            }
            self.filled = 0;
            let d = self.digest_of(&self.block);
            self.emit(&d, sink)?;
        }
        let zero = self.zero;
        for _ in 0..n / size as u64 {
            self.emit(&zero, sink)?;
        }
        let rest = (n % size as u64) as usize;
        self.block[..rest].fill(0);
        self.filled = rest;
        Ok(())
    }

    fn emit(&mut self, d: &Digest, sink: &mut Sink<'_>) -> Result<(), VerityError> {
        let i = self.next;
        self.next += 1;
        sink(i, d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(hash_type: HashType) -> Params {
        Params {
            hash_type,
            ..Params::new(4096 * 4, b"salt", eflow_id::Guid::ZERO).unwrap()
        }
    }

    #[test]
    fn the_salt_goes_where_the_hash_type_says() {
        let block = [5u8; 4096];
        let v1 = BlockHasher::new(&params(HashType::Normal)).digest(&block);
        let v0 = BlockHasher::new(&params(HashType::ChromeOs)).digest(&block);
        let expect1: Digest = Sha256::digest([&b"salt"[..], &block].concat()).into();
        let expect0: Digest = Sha256::digest([&block[..], b"salt"].concat()).into();
        assert_eq!(v1, expect1);
        assert_eq!(v0, expect0);
    }

    #[test]
    fn chunking_and_zero_runs_do_not_change_digests() {
        let p = params(HashType::Normal);
        let mut data = vec![0u8; 4096 * 4];
        data[5000] = 1;
        data[4096 * 3 + 17] = 9;
        let collect = |feed: &dyn Fn(&mut DataBlocks, &mut Sink<'_>)| {
            let mut blocks = DataBlocks::new(&p);
            let mut out = Vec::new();
            feed(&mut blocks, &mut |i, d| {
                out.push((i, *d));
                Ok(())
            });
            assert_eq!(blocks.pending(), 0);
            out
        };
        let whole = collect(&|b, s| b.data(&data, s).unwrap());
        assert_eq!(whole.len(), 4);
        let h = BlockHasher::new(&p);
        for (i, d) in &whole {
            let i = *i as usize;
            assert_eq!(*d, h.digest(&data[i * 4096..(i + 1) * 4096]));
        }
        for chunk in [1, 7, 4095, 4097, 10000] {
            assert_eq!(
                collect(&|b, s| {
                    for c in data.chunks(chunk) {
                        b.data(c, s).unwrap();
                    }
                }),
                whole,
                "chunk {chunk}"
            );
        }
        // The same bytes with their zero ranges given as zero runs.
        let mixed = collect(&|b, s| {
            b.zeros(5000, s).unwrap();
            b.data(&data[5000..5001], s).unwrap();
            b.zeros(4096 * 3 + 17 - 5001, s).unwrap();
            b.data(&data[4096 * 3 + 17..], s).unwrap();
        });
        assert_eq!(mixed, whole);
    }
}
