//! The block allocator: a bitmap of the whole filesystem, filled front to back so that the
//! image is laid out in the order it is built (and file data in content order).

use crate::geometry::BLOCK_SIZE;

/// Block usage bitmap with a forward-moving cursor.
pub struct Alloc {
    bits: Vec<u64>,
    blocks: u64,
    cursor: u64,
}

impl Alloc {
    /// All `blocks` free.
    pub fn new(blocks: u64) -> Self {
        Alloc {
            bits: vec![0; blocks.div_ceil(64) as usize],
            blocks,
            cursor: 0,
        }
    }

    /// True when block `b` is used.
    pub fn is_used(&self, b: u64) -> bool {
        self.bits[(b / 64) as usize] >> (b % 64) & 1 == 1
    }

    /// Marks `len` blocks from `start` used.
    pub fn mark(&mut self, start: u64, len: u64) {
        for b in start..start + len {
            self.bits[(b / 64) as usize] |= 1 << (b % 64);
        }
    }

    /// Moves the cursor that [`Alloc::alloc_runs`] starts from.
    pub fn set_cursor(&mut self, b: u64) {
        self.cursor = b;
    }

    /// Free blocks in `start..start+len`.
    pub fn free_in(&self, start: u64, len: u64) -> u64 {
        (start..start + len).filter(|b| !self.is_used(*b)).count() as u64
    }

    /// Blocks still free.
    pub fn free(&self) -> u64 {
        self.blocks - self.bits.iter().map(|w| w.count_ones() as u64).sum::<u64>()
    }

    fn next_free(&self, mut b: u64) -> Option<u64> {
        while b < self.blocks {
            let w = self.bits[(b / 64) as usize];
            if w == u64::MAX && b.is_multiple_of(64) {
                b += 64;
                continue;
            }
            if !self.is_used(b) {
                return Some(b);
            }
            b += 1;
        }
        None
    }

    /// `n` contiguous free blocks at or after `goal` (first fit), marked used.
    pub fn alloc_contiguous(&mut self, goal: u64, n: u64) -> Option<u64> {
        let mut b = goal;
        loop {
            let start = self.next_free(b)?;
            let mut end = start;
            while end < self.blocks && end - start < n && !self.is_used(end) {
                end += 1;
            }
            if end - start == n {
                self.mark(start, n);
                return Some(start);
            }
            if end >= self.blocks {
                return None;
            }
            b = end;
        }
    }

    /// `n` blocks from the cursor on, as runs (start, len), skipping used blocks; marked used.
    /// None when the filesystem is full.
    pub fn alloc_runs(&mut self, n: u64) -> Option<Vec<(u64, u64)>> {
        let mut runs = Vec::new();
        let mut left = n;
        while left > 0 {
            let start = self.next_free(self.cursor)?;
            let mut end = start;
            while end < self.blocks && end - start < left && !self.is_used(end) {
                end += 1;
            }
            self.mark(start, end - start);
            runs.push((start, end - start));
            left -= end - start;
            self.cursor = end;
        }
        Some(runs)
    }

    /// The bitmap block of blocks `start..start+len` (bits past `len` set, as e2fsck wants).
    pub fn bitmap(&self, start: u64, len: u64) -> (Vec<u8>, u64) {
        let mut b = vec![0xFFu8; BLOCK_SIZE as usize];
        let mut free = 0;
        for i in 0..len {
            if !self.is_used(start + i) {
                b[(i / 8) as usize] &= !(1 << (i % 8));
                free += 1;
            }
        }
        (b, free)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_skip_used_blocks() {
        let mut a = Alloc::new(1000);
        a.mark(10, 5);
        let r = a.alloc_runs(20).unwrap();
        assert_eq!(r, vec![(0, 10), (15, 10)]);
        assert_eq!(a.alloc_contiguous(0, 100), Some(25));
        assert_eq!(a.free(), 1000 - 5 - 20 - 100);
        assert!(a.alloc_runs(10_000).is_none());
    }
}
