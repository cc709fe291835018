//! The FAT32 EFI System Partition: built in memory with the `fatfs` crate from a list of
//! files, with every timestamp from SOURCE_DATE_EPOCH and the volume id from the caller,
//! so that the same inputs give the same bytes. Also a reader that lists an image, and
//! [`probe`] that summarizes one for `inspect` (serializable with the `serde` feature).

mod bpb;
mod dots;
mod fsinfo;
mod geometry;
mod image;
mod read;
mod time;

use std::collections::BTreeMap;
use std::io::{self, Write};

pub use geometry::FAT32_MIN_CLUSTERS;
pub use image::FatImage;
pub use read::{info, is_fat, list, probe, read_file, FatEntry, FatInfo, FatSummary};

/// What went wrong building or reading a FAT image.
#[derive(Debug, thiserror::Error)]
pub enum FatError {
    /// A file path cannot be stored on FAT.
    #[error("ESP path {path:?}: {reason}")]
    InvalidPath { path: String, reason: String },
    /// The volume label is not 11 FAT label characters.
    #[error("FAT volume label {label:?}: {reason}")]
    InvalidLabel { label: String, reason: &'static str },
    /// The size is not usable at all.
    #[error("ESP size {size}: {reason}")]
    InvalidSize { size: u64, reason: &'static str },
    /// The size is too small for a FAT32 volume (fewer than 65525 clusters even at 512 bytes).
    #[error("an ESP of {size} bytes is too small for FAT32 (fewer than {FAT32_MIN_CLUSTERS} clusters): make it at least {min} bytes ({} MiB)", min >> 20)]
    TooSmallForFat32 { size: u64, min: u64 },
    /// The files do not fit.
    #[error("the ESP files need a volume of at least {need} bytes ({} MiB), the ESP is {size} bytes: make it larger", need >> 20)]
    DoesNotFit { size: u64, need: u64 },
    /// The image is not a FAT filesystem fatfs can read, or a path in it is missing.
    #[error("reading the FAT image: {0}")]
    Read(String),
    /// fatfs failed while writing (not expected once sizes were checked).
    #[error("writing {what} into the FAT image: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
}

/// How to build the volume.
#[derive(Clone, Debug)]
pub struct FatOptions {
    /// Image size in bytes, a multiple of 512.
    pub size: u64,
    /// The volume serial number (derive it from the image seed).
    pub volume_id: u32,
    /// Volume label, up to 11 characters (uppercased); empty for "NO NAME".
    pub label: String,
    /// SOURCE_DATE_EPOCH: every created/modified/accessed time of every entry.
    pub timestamp: i64,
}

/// Characters FAT long names may not contain (besides control characters).
const FORBIDDEN: &[char] = &['"', '*', '/', ':', '<', '>', '?', '\\', '|'];

/// Splits and checks a path like `/EFI/BOOT/BOOTX64.EFI` into its components.
fn components(path: &str) -> Result<Vec<&str>, FatError> {
    let bad = |reason: &str| FatError::InvalidPath {
        path: path.to_string(),
        reason: reason.to_string(),
    };
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| bad("must start with /"))?;
    let comps: Vec<&str> = rest.split('/').collect();
    for c in &comps {
        if c.is_empty() || *c == "." || *c == ".." {
            return Err(bad("has an empty, \".\" or \"..\" component"));
        }
        if c.encode_utf16().count() > 255 {
            return Err(bad("has a component longer than 255 UTF-16 units"));
        }
        if let Some(ch) = c
            .chars()
            .find(|ch| (*ch as u32) < 0x20 || FORBIDDEN.contains(ch))
        {
            return Err(bad(&format!(
                "contains {ch:?}, which FAT names cannot hold"
            )));
        }
        if c.ends_with('.') || c.ends_with(' ') {
            return Err(bad("has a component ending in '.' or ' ', which FAT drops"));
        }
    }
    Ok(comps)
}

/// The directories and files to create, checked: parents before children, sorted by path,
/// no two paths equal when compared case-insensitively (FAT names are case-insensitive).
struct Plan<'a> {
    /// Directories, as component lists, parents first.
    dirs: Vec<Vec<&'a str>>,
    /// Files: components and contents, sorted by path.
    files: Vec<(Vec<&'a str>, &'a [u8])>,
}

fn fold(comps: &[&str]) -> String {
    comps.join("/").to_uppercase()
}

fn plan(files: &[(String, Vec<u8>)]) -> Result<Plan<'_>, FatError> {
    let mut sorted: Vec<&(String, Vec<u8>)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    // Case-folded path -> is a directory.
    let mut seen: BTreeMap<String, bool> = BTreeMap::new();
    let mut plan = Plan {
        dirs: Vec::new(),
        files: Vec::new(),
    };
    for (path, data) in sorted {
        let comps = components(path)?;
        for i in 1..comps.len() {
            let key = fold(&comps[..i]);
            match seen.get(&key) {
                Some(true) => {}
                Some(false) => {
                    return Err(FatError::InvalidPath {
                        path: path.clone(),
                        reason: format!("its parent /{} is also a file", comps[..i].join("/")),
                    })
                }
                None => {
                    seen.insert(key, true);
                    plan.dirs.push(comps[..i].to_vec());
                }
            }
        }
        if seen.insert(fold(&comps), false).is_some() {
            return Err(FatError::InvalidPath {
                path: path.clone(),
                reason: "is given twice, or clashes with another path that differs only in case"
                    .into(),
            });
        }
        plan.files.push((comps, data));
    }
    plan.dirs.sort();
    Ok(plan)
}

/// The space the planned entries take, as geometry nodes, and the root directory's entries.
fn nodes(files: &[(String, Vec<u8>)]) -> (Vec<geometry::Node>, u64) {
    // Directory (component list) -> entries its children take.
    let mut dirs: BTreeMap<Vec<String>, u64> = BTreeMap::new();
    dirs.insert(Vec::new(), 1); // the root holds the volume label entry
    let mut sizes = Vec::new();
    for (path, data) in files {
        let comps: Vec<String> = path
            .split('/')
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        for i in 0..comps.len() {
            let parent = comps[..i].to_vec();
            let here = comps[..=i].to_vec();
            let is_file = i + 1 == comps.len();
            if is_file || !dirs.contains_key(&here) {
                *dirs.entry(parent).or_default() +=
                    geometry::entries_for_name(comps[i].encode_utf16().count());
                if !is_file {
                    dirs.insert(here, 0);
                } else {
                    sizes.push(data.len() as u64);
                }
            }
        }
    }
    let root = dirs.remove(&Vec::new()).unwrap_or(1);
    let mut out: Vec<geometry::Node> = dirs
        .into_values()
        .map(|child_entries| geometry::Node {
            size: None,
            child_entries,
        })
        .collect();
    out.extend(sizes.into_iter().map(|s| geometry::Node {
        size: Some(s),
        child_entries: 0,
    }));
    (out, root)
}

/// The least image size (a whole number of MiB) of a FAT32 volume that holds `files`:
/// what the disk planner should reserve for the ESP at minimum.
pub fn min_size(files: &[(String, Vec<u8>)]) -> u64 {
    let (nodes, root) = nodes(files);
    geometry::min_bytes(geometry::clusters_needed(&nodes, root, geometry::SECTOR))
}

fn label_bytes(label: &str) -> Result<Option<[u8; 11]>, FatError> {
    let bad = |reason| FatError::InvalidLabel {
        label: label.to_string(),
        reason,
    };
    if label.is_empty() {
        return Ok(None);
    }
    if label.len() > 11 {
        return Err(bad("longer than 11 characters"));
    }
    let mut out = [b' '; 11];
    for (o, c) in out.iter_mut().zip(label.bytes()) {
        let c = c.to_ascii_uppercase();
        let ok = c.is_ascii_uppercase() || c.is_ascii_digit() || b" !#$%&'()-@^_`{}~".contains(&c);
        if !ok {
            return Err(bad("only A-Z, 0-9, space and !#$%&'()-@^_`{}~ are allowed"));
        }
        *o = c;
    }
    if out[0] == b' ' {
        return Err(bad("cannot start with a space"));
    }
    Ok(Some(out))
}

/// Builds a FAT32 image of `opts.size` bytes holding `files` (paths like
/// `/EFI/BOOT/BOOTX64.EFI`, any order; directories are created as needed).
///
/// The cluster size is the largest of 4096, 2048, 1024, 512 bytes that keeps the volume FAT32
/// (at least 65525 clusters, with a small margin) and fits the files; a 64 MiB ESP gets 512.
pub fn build(files: &[(String, Vec<u8>)], opts: &FatOptions) -> Result<Vec<u8>, FatError> {
    Ok(build_image(files, opts)?.to_vec())
}

/// Like [`build`], but keeps the image sparse: memory holds only the written 64 KiB chunks,
/// and the result streams into a disk layout as a [`eflow_extents::SparseRead`].
pub fn build_image(files: &[(String, Vec<u8>)], opts: &FatOptions) -> Result<FatImage, FatError> {
    let size = opts.size;
    if size % geometry::SECTOR != 0 {
        return Err(FatError::InvalidSize {
            size,
            reason: "not a multiple of 512",
        });
    }
    let total = size / geometry::SECTOR;
    if total > u32::MAX as u64 {
        return Err(FatError::InvalidSize {
            size,
            reason: "more than 2^32 sectors",
        });
    }
    let label = label_bytes(&opts.label)?;
    let plan = plan(files)?;
    let (nodes, root_entries) = nodes(files);
    let need = |c| geometry::clusters_needed(&nodes, root_entries, c);
    let cluster = match geometry::choose(total, need) {
        Some(c) => c,
        None => {
            let min_fat32 = geometry::min_bytes(0);
            if geometry::choose(total, |_| 0).is_none() && size < min_fat32 {
                return Err(FatError::TooSmallForFat32 {
                    size,
                    min: min_fat32,
                });
            }
            return Err(FatError::DoesNotFit {
                size,
                need: min_size(files),
            });
        }
    };

    let io_err = |what: &str| {
        let what = what.to_string();
        move |source| FatError::Io { what, source }
    };
    let mut image = FatImage::new(size);
    let mut fmt = fatfs::FormatVolumeOptions::new()
        .bytes_per_sector(geometry::SECTOR as u16)
        .bytes_per_cluster(cluster as u32)
        .fat_type(fatfs::FatType::Fat32)
        .total_sectors(total as u32)
        .volume_id(opts.volume_id);
    if let Some(l) = label {
        fmt = fmt.volume_label(l);
    }
    fatfs::format_volume(&mut image, fmt).map_err(io_err("the boot sector and FATs"))?;
    {
        let fs_opts = fatfs::FsOptions::new()
            .update_accessed_date(false)
            .time_provider(time::provider(opts.timestamp));
        let fs = fatfs::FileSystem::new(&mut image, fs_opts)
            .map_err(io_err("mounting the new volume"))?;
        if fs.fat_type() != fatfs::FatType::Fat32 {
            return Err(FatError::Io {
                what: "the volume".into(),
                source: io::Error::other(format!("fatfs formatted {:?}, not FAT32", fs.fat_type())),
            });
        }
        let root = fs.root_dir();
        for d in &plan.dirs {
            let p = d.join("/");
            root.create_dir(&p)
                .map_err(io_err(&format!("directory /{p}")))?;
        }
        for (comps, data) in &plan.files {
            let p = comps.join("/");
            let mut f = root
                .create_file(&p)
                .map_err(io_err(&format!("file /{p}")))?;
            f.truncate().map_err(io_err(&format!("file /{p}")))?;
            f.write_all(data).map_err(io_err(&format!("file /{p}")))?;
            f.flush().map_err(io_err(&format!("file /{p}")))?;
        }
        drop(root);
        fs.unmount().map_err(io_err("the FSInfo sector"))?;
    }
    dots::fix(&mut image)?;
    fsinfo::fill(&mut image)?;
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(size: u64) -> FatOptions {
        FatOptions {
            size,
            volume_id: 0x1234_5678,
            label: "ESP".into(),
            timestamp: 1_700_000_000,
        }
    }

    #[test]
    fn bad_paths_are_refused() {
        for p in ["EFI/x", "/a//b", "/a/../b", "/a/b:c", "/a.", "/a\u{1}"] {
            let e = build(&[(p.into(), vec![1])], &opts(64 << 20)).unwrap_err();
            assert!(matches!(e, FatError::InvalidPath { .. }), "{p}: {e}");
        }
        let dup = [
            ("/EFI/a".to_string(), vec![]),
            ("/efi/A".to_string(), vec![]),
        ];
        assert!(build(&dup, &opts(64 << 20)).is_err());
        let clash = [("/a".to_string(), vec![]), ("/a/b".to_string(), vec![])];
        assert!(build(&clash, &opts(64 << 20)).is_err());
    }

    #[test]
    fn sizes_are_checked() {
        let e = build(&[], &opts(16 << 20)).unwrap_err();
        assert!(matches!(e, FatError::TooSmallForFat32 { .. }), "{e}");
        assert!(e.to_string().contains("at least"));
        let e = build(&[], &opts((64 << 20) + 1)).unwrap_err();
        assert!(matches!(e, FatError::InvalidSize { .. }), "{e}");
        let big = vec![("/big".to_string(), vec![7u8; 70 << 20])];
        let e = build(&big, &opts(64 << 20)).unwrap_err();
        assert!(matches!(e, FatError::DoesNotFit { .. }), "{e}");
        let need = min_size(&big);
        assert!(need >= 70 << 20);
        build(&big, &opts(need)).unwrap();
    }

    #[test]
    fn labels_are_checked() {
        assert!(label_bytes("twelve chars").is_err());
        assert!(label_bytes("a.b").is_err());
        assert_eq!(label_bytes("esp").unwrap().unwrap(), *b"ESP        ");
        assert_eq!(label_bytes("").unwrap(), None);
    }
}
