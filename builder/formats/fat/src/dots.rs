//! Repairs the "." and ".." entries fatfs 0.3 writes.
//!
//! fatfs 0.3.6 (the newest release) precedes "." and ".." with long-name entries, so they sit
//! in slots 1 and 3 of a new directory instead of 0 and 1, and its ".." of a top-level
//! directory points at cluster 2 instead of 0 as the FAT spec requires. dosfstools reports
//! both. This walks the directories of the freshly built FAT32 image and rewrites the first
//! four slots of each as ".", "..", then two deleted (free) entries, and sets ".." of
//! top-level directories to cluster 0. Only images this crate just built are touched, so any
//! unexpected layout is reported as an error rather than guessed at.

use crate::bpb::{u16_at, u32_at, Bpb};
use crate::{FatError, FatImage};

const ENTRY: usize = 32;
const ATTR_DIR: u8 = 0x10;
const ATTR_LFN: u8 = 0x0F;
const FREE: u8 = 0xE5;
const DOT: &[u8; 11] = b".          ";
const DOTDOT: &[u8; 11] = b"..         ";

struct Geo {
    cluster: usize,
    data_off: u64,
    root: u32,
    /// The first FAT, read once.
    fat: Vec<u8>,
}

fn bad(detail: String) -> FatError {
    FatError::Io {
        what: "the directory dot entries".into(),
        source: std::io::Error::other(detail),
    }
}

fn io(e: std::io::Error) -> FatError {
    FatError::Io {
        what: "the directory dot entries".into(),
        source: e,
    }
}

impl Geo {
    fn read(img: &FatImage) -> Result<Geo, FatError> {
        let b = Bpb::read(img).map_err(io)?;
        Ok(Geo {
            cluster: b.sector * b.spc,
            data_off: ((b.reserved + b.fats * b.spf) * b.sector) as u64,
            root: b.root,
            fat: b.fat,
        })
    }

    fn offset(&self, cluster: u32) -> u64 {
        self.data_off + (cluster as u64 - 2) * self.cluster as u64
    }

    /// The clusters of a chain, guarded against loops.
    fn chain(&self, first: u32) -> Result<Vec<u32>, FatError> {
        let mut out = vec![first];
        let mut c = first;
        loop {
            let o = 4 * c as usize;
            if o + 4 > self.fat.len() {
                return Err(bad(format!("cluster {c} is past the FAT")));
            }
            let next = u32_at(&self.fat, o) & 0x0FFF_FFFF;
            if next >= 0x0FFF_FFF8 {
                return Ok(out);
            }
            if next < 2 || out.len() > self.fat.len() / 4 {
                return Err(bad(format!("broken cluster chain at {c}")));
            }
            out.push(next);
            c = next;
        }
    }

    /// First clusters of the subdirectories of the directory starting at `dir`.
    fn subdirs(&self, img: &FatImage, dir: u32) -> Result<Vec<u32>, FatError> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; self.cluster];
        for c in self.chain(dir)? {
            img.read_at(self.offset(c), &mut buf).map_err(io)?;
            for e in buf.chunks_exact(ENTRY) {
                if e[0] == 0 {
                    return Ok(out);
                }
                let is_sub = e[0] != FREE
                    && e[11] != ATTR_LFN
                    && e[11] & ATTR_DIR != 0
                    && &e[..11] != DOT
                    && &e[..11] != DOTDOT;
                if is_sub {
                    out.push(first_cluster(e));
                }
            }
        }
        Ok(out)
    }
}

fn first_cluster(e: &[u8]) -> u32 {
    ((u16_at(e, 20) as u32) << 16) | u16_at(e, 26) as u32
}

fn set_first_cluster(e: &mut [u8], c: u32) {
    e[20..22].copy_from_slice(&((c >> 16) as u16).to_le_bytes());
    e[26..28].copy_from_slice(&(c as u16).to_le_bytes());
}

/// Rewrites "." and ".." of every directory below the root of a FAT32 image fatfs built.
pub fn fix(img: &mut FatImage) -> Result<(), FatError> {
    let g = Geo::read(img)?;
    // (directory's first cluster, is a top-level directory)
    let mut todo: Vec<(u32, bool)> = g
        .subdirs(img, g.root)?
        .into_iter()
        .map(|c| (c, true))
        .collect();
    while let Some((dir, top)) = todo.pop() {
        let base = g.offset(dir);
        let mut slots = [0u8; 4 * ENTRY];
        img.read_at(base, &mut slots).map_err(io)?;
        let (lfn1, dot, lfn2, dotdot) = (
            &slots[0..32],
            &slots[32..64],
            &slots[64..96],
            &slots[96..128],
        );
        if lfn1[11] != ATTR_LFN
            || &dot[..11] != DOT
            || lfn2[11] != ATTR_LFN
            || &dotdot[..11] != DOTDOT
        {
            return Err(bad(format!(
                "directory at cluster {dir} does not start with fatfs 0.3's dot entries"
            )));
        }
        let mut fixed = [0u8; 4 * ENTRY];
        fixed[..32].copy_from_slice(dot);
        fixed[32..64].copy_from_slice(dotdot);
        if top {
            set_first_cluster(&mut fixed[32..64], 0);
        }
        fixed[64] = FREE;
        fixed[96] = FREE;
        img.write_at(base, &fixed).map_err(io)?;
        todo.extend(g.subdirs(img, dir)?.into_iter().map(|c| (c, false)));
    }
    Ok(())
}
