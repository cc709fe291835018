//! Building the tree while the root filesystem's stream is written elsewhere.
//!
//! [`Tee`] wraps the data stream (the ext4 image as the format stage produces it), hands
//! every segment on unchanged and feeds it to a [`TreeBuilder`]; when the stream ends the
//! tree is finished and put in a [`TreeSlot`]. A disk layout that places the data partition
//! before the hash partition can take [`TreeSlot::hash_device`]: a stream of known size that
//! yields the hash device once the data has gone by, so a disk is written in one pass.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use eflow_extents::{Segment, SparseRead};

use crate::builder::{HashDevice, Tree, TreeBuilder};
use crate::error::VerityError;
use crate::params::Params;

/// A pass-through [`SparseRead`] that builds the hash tree of what it passes.
pub struct Tee<S> {
    inner: S,
    builder: Option<TreeBuilder>,
    slot: TreeSlot,
}

impl<S: SparseRead> Tee<S> {
    /// Wraps `inner`, whose size must be `params.data_size()`.
    pub fn new(inner: S, params: Params) -> Result<Tee<S>, VerityError> {
        if inner.size() != params.data_size() {
            return Err(VerityError::params(format!(
                "the data stream is {} bytes, the parameters say {}",
                inner.size(),
                params.data_size()
            )));
        }
        let builder = TreeBuilder::new(params)?;
        let slot = TreeSlot {
            tree: Arc::new(Mutex::new(None)),
            hash_device_size: builder.params().geometry()?.hash_device_size(),
        };
        Ok(Tee {
            inner,
            builder: Some(builder),
            slot,
        })
    }

    /// A handle on the tree, filled when the stream has been read to its end.
    pub fn slot(&self) -> TreeSlot {
        self.slot.clone()
    }

    /// The tree, once the stream has been read to its end.
    pub fn finish(self) -> Result<Tree, VerityError> {
        self.slot.get().ok_or_else(|| {
            VerityError::params("the data stream was not read to its end before finishing")
        })
    }
}

impl<S: SparseRead> SparseRead for Tee<S> {
    fn size(&self) -> u64 {
        self.inner.size()
    }

    fn next_segment(&mut self, buf: &mut [u8]) -> io::Result<Option<Segment>> {
        let seg = self.inner.next_segment(buf)?;
        let Some(builder) = self.builder.as_mut() else {
            return Ok(seg);
        };
        match seg {
            Some(Segment::Data(n)) => {
                let bytes = buf
                    .get(..n)
                    .ok_or_else(|| io::Error::other("a data segment was longer than the buffer"))?;
                builder.update(bytes)?;
            }
            Some(Segment::Zero(n)) => builder.update_zeros(n)?,
            None => {}
        }
        // Finish with the last byte, not at the end marker: a consumer that stops once it
        // has its bytes still gets the tree. The end marker reports a short stream.
        if seg.is_none() || builder.fed() == builder.params().data_size() {
            if let Some(b) = self.builder.take() {
                let tree = b.finish()?;
                *self.slot.lock() = Some(tree);
            }
        }
        Ok(seg)
    }
}

/// A shared handle on a [`Tee`]'s tree: empty until the data stream has gone by.
#[derive(Clone)]
pub struct TreeSlot {
    tree: Arc<Mutex<Option<Tree>>>,
    hash_device_size: u64,
}

impl TreeSlot {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Tree>> {
        self.tree.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The finished tree, if the data stream has been read to its end.
    pub fn get(&self) -> Option<Tree> {
        self.lock().clone()
    }

    /// Bytes the hash device will have (known before the data is read).
    pub fn hash_device_size(&self) -> u64 {
        self.hash_device_size
    }

    /// The hash device as a stream of known size, to place after the data in a layout:
    /// reading it before the data stream has ended is an error.
    pub fn hash_device(&self) -> PendingHashDevice {
        PendingHashDevice {
            slot: self.clone(),
            device: None,
        }
    }
}

/// The hash device of a tree still being built: its size is known up front, its bytes once
/// the [`Tee`] has passed the whole data stream.
pub struct PendingHashDevice {
    slot: TreeSlot,
    device: Option<HashDevice>,
}

impl SparseRead for PendingHashDevice {
    fn size(&self) -> u64 {
        self.slot.hash_device_size
    }

    fn next_segment(&mut self, buf: &mut [u8]) -> io::Result<Option<Segment>> {
        if self.device.is_none() {
            let tree = self.slot.get().ok_or_else(|| {
                io::Error::other(
                    "the hash device was read before the data stream it verifies had ended",
                )
            })?;
            self.device = Some(tree.hash_device());
        }
        match self.device.as_mut() {
            Some(d) => d.next_segment(buf),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::build;
    use eflow_extents::{read_all, Bytes, Layout, Zeros};

    fn params(blocks: u64) -> Params {
        Params::new(blocks * 4096, &[9; 32], eflow_id::Guid::ZERO).unwrap()
    }

    #[test]
    fn passes_the_stream_unchanged_and_builds_the_tree() {
        let mut data = vec![0u8; 300 * 4096];
        for (i, b) in data.iter_mut().enumerate().skip(4096 * 200) {
            *b = (i * 31 % 251) as u8;
        }
        // A stream with a zero run in the middle.
        let mut l = Layout::new(data.len() as u64);
        l.place(0, Box::new(Bytes::new(data[..1000].to_vec())))
            .unwrap();
        l.place(1000, Box::new(Zeros::new(4096 * 200 - 1000)))
            .unwrap();
        l.place(
            4096 * 200,
            Box::new(Bytes::new(data[4096 * 200..].to_vec())),
        )
        .unwrap();
        let mut tee = Tee::new(l, params(300)).unwrap();
        let slot = tee.slot();
        assert!(slot.get().is_none());
        let passed = read_all(&mut tee).unwrap();
        assert_eq!(passed, data);
        let tree = tee.finish().unwrap();
        let expect = build(params(300), &mut Bytes::new(data)).unwrap();
        assert_eq!(tree.root_hash(), expect.root_hash());
        assert_eq!(slot.get().unwrap().root_hash(), expect.root_hash());
        assert_eq!(tree.hash_device_bytes(), expect.hash_device_bytes());
    }

    #[test]
    fn a_layout_writes_data_then_its_hash_device_in_one_pass() {
        let data: Vec<u8> = (0..129 * 4096).map(|i| (i % 253) as u8).collect();
        let tee = Tee::new(Bytes::new(data.clone()), params(129)).unwrap();
        let slot = tee.slot();
        let hash_size = slot.hash_device_size();
        let mut disk = Layout::new(data.len() as u64 + hash_size);
        disk.place(0, Box::new(tee)).unwrap();
        disk.place(data.len() as u64, Box::new(slot.hash_device()))
            .unwrap();
        let all = read_all(&mut disk).unwrap();
        let expect = build(params(129), &mut Bytes::new(data.clone())).unwrap();
        assert_eq!(&all[..data.len()], &data[..]);
        assert_eq!(&all[data.len()..], &expect.hash_device_bytes()[..]);
    }

    #[test]
    fn misuse_is_an_error() {
        assert!(Tee::new(Bytes::new(vec![0; 4096]), params(2)).is_err());
        let tee = Tee::new(Bytes::new(vec![0; 8192]), params(2)).unwrap();
        let mut early = tee.slot().hash_device();
        assert!(early.next_segment(&mut [0u8; 4096]).is_err());
        assert!(tee.finish().is_err());
    }

    /// Claims 8 KiB, yields 4 KiB.
    struct Short(bool);

    impl SparseRead for Short {
        fn size(&self) -> u64 {
            8192
        }
        fn next_segment(&mut self, buf: &mut [u8]) -> io::Result<Option<Segment>> {
            if std::mem::replace(&mut self.0, true) {
                return Ok(None);
            }
            buf[..4096].fill(1);
            Ok(Some(Segment::Data(4096)))
        }
    }

    #[test]
    fn a_short_stream_is_an_error_at_its_end() {
        let mut tee = Tee::new(Short(false), params(2)).unwrap();
        let mut buf = vec![0u8; 8192];
        assert_eq!(
            tee.next_segment(&mut buf).unwrap(),
            Some(Segment::Data(4096))
        );
        let err = tee.next_segment(&mut buf).unwrap_err();
        assert!(err.to_string().contains("8192"), "{err}");
        assert!(tee.finish().is_err());
    }

    #[test]
    fn the_tree_is_ready_with_the_last_byte() {
        let mut tee = Tee::new(Bytes::new(vec![5; 8192]), params(2)).unwrap();
        let mut buf = vec![0u8; 1 << 20];
        assert_eq!(
            tee.next_segment(&mut buf).unwrap(),
            Some(Segment::Data(8192))
        );
        assert!(tee.slot().get().is_some());
        assert_eq!(tee.next_segment(&mut buf).unwrap(), None);
        tee.finish().unwrap();
    }
}
