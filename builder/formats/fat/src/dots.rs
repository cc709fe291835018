//! Repairs the "." and ".." entries fatfs 0.3 writes.
//!
//! fatfs 0.3.6 (the newest release) precedes "." and ".." with long-name entries, so they sit
//! in slots 1 and 3 of a new directory instead of 0 and 1, and its ".." of a top-level
//! directory points at cluster 2 instead of 0 as the FAT spec requires. dosfstools reports
//! both. This walks the directories of the freshly built FAT32 image and rewrites the first
//! four slots of each as ".", "..", then two deleted (free) entries, and sets ".." of
//! top-level directories to cluster 0. Only images this crate just built are touched, so any
//! unexpected layout is reported as an error rather than guessed at.

use crate::FatError;

const ENTRY: usize = 32;
const ATTR_DIR: u8 = 0x10;
const ATTR_LFN: u8 = 0x0F;
const FREE: u8 = 0xE5;
const DOT: &[u8; 11] = b".          ";
const DOTDOT: &[u8; 11] = b"..         ";

struct Geo {
    cluster: usize,
    fat_off: usize,
    data_off: usize,
    root: u32,
}

fn u16_at(b: &[u8], o: usize) -> usize {
    u16::from_le_bytes([b[o], b[o + 1]]) as usize
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

fn bad(detail: String) -> FatError {
    FatError::Io {
        what: "the directory dot entries".into(),
        source: std::io::Error::other(detail),
    }
}

impl Geo {
    fn read(img: &[u8]) -> Geo {
        let sector = u16_at(img, 11);
        let spc = img[13] as usize;
        let reserved = u16_at(img, 14);
        let fats = img[16] as usize;
        let spf = u32_at(img, 36) as usize;
        Geo {
            cluster: sector * spc,
            fat_off: reserved * sector,
            data_off: (reserved + fats * spf) * sector,
            root: u32_at(img, 44),
        }
    }

    fn offset(&self, cluster: u32) -> usize {
        self.data_off + (cluster as usize - 2) * self.cluster
    }

    /// The clusters of a chain, guarded against loops.
    fn chain(&self, img: &[u8], first: u32) -> Result<Vec<u32>, FatError> {
        let mut out = vec![first];
        let mut c = first;
        loop {
            let o = self.fat_off + 4 * c as usize;
            let next = u32_at(img, o) & 0x0FFF_FFFF;
            if next >= 0x0FFF_FFF8 {
                return Ok(out);
            }
            if next < 2 || out.len() > img.len() / self.cluster {
                return Err(bad(format!("broken cluster chain at {c}")));
            }
            out.push(next);
            c = next;
        }
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
pub fn fix(img: &mut [u8]) -> Result<(), FatError> {
    let g = Geo::read(img);
    // (directory's first cluster, is a top-level directory)
    let mut todo: Vec<(u32, bool)> = Vec::new();
    let subdirs = |img: &[u8], dir: u32, top: bool, todo: &mut Vec<(u32, bool)>| {
        for c in g.chain(img, dir)? {
            let base = g.offset(c);
            for e in img[base..base + g.cluster].chunks_exact(ENTRY) {
                if e[0] == 0 {
                    return Ok(());
                }
                let is_sub = e[0] != FREE
                    && e[11] != ATTR_LFN
                    && e[11] & ATTR_DIR != 0
                    && &e[..11] != DOT
                    && &e[..11] != DOTDOT;
                if is_sub {
                    todo.push((first_cluster(e), top));
                }
            }
        }
        Ok::<(), FatError>(())
    };
    subdirs(img, g.root, true, &mut todo)?;
    while let Some((dir, top)) = todo.pop() {
        let base = g.offset(dir);
        let slots = &img[base..base + 4 * ENTRY];
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
        let dot = dot.to_vec();
        let mut dotdot = dotdot.to_vec();
        if top {
            set_first_cluster(&mut dotdot, 0);
        }
        let mut free = [0u8; ENTRY];
        free[0] = FREE;
        img[base..base + 32].copy_from_slice(&dot);
        img[base + 32..base + 64].copy_from_slice(&dotdot);
        img[base + 64..base + 96].copy_from_slice(&free);
        img[base + 96..base + 128].copy_from_slice(&free);
        subdirs(img, dir, false, &mut todo)?;
    }
    Ok(())
}
