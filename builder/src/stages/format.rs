//! The format stage: each partition's filesystem written from its content, as a sparse
//! stream: ext4 from its part of the Tree, FAT32 from the ESP's files. Nothing is held in
//! memory or written to a temporary file; the disk stage places the streams on the disk.
//!
//! [`split`] first gives each mounted partition its files: a path belongs to the partition
//! mounted at the deepest mount point above it, and every mount point stays behind as an
//! empty directory in its parent's filesystem.

use eflow_extents::SparseRead;
use eflow_id::Seed;
use eflow_tree::Tree;

use crate::stages::disk::PlannedPartition;
use crate::stages::plan::image::PartitionSection;
use crate::stages::plan::Size;

/// What one partition holds.
pub enum Content {
    /// The files of a mounted ext4 partition.
    Files(Tree),
    /// The ESP's boot files (a vfat partition).
    Esp,
    /// Nothing (a partition without filesystem, or an ext4 one that is not mounted).
    Empty,
}

/// Why a filesystem could not be written.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("ext4 root filesystem: {0}")]
    Ext4(#[from] eflow_ext4::Error),
    #[error("FAT32 ESP: {0}")]
    Fat(#[from] eflow_fat::FatError),
    #[error("splitting the guest files between partitions: {0}")]
    Split(#[from] eflow_tree::TreeError),
}

/// Splits the guest Tree between the partitions, in their order: deepest mount points first,
/// so /var/log's files leave /var's before /var's leave the root.
pub fn split(tree: &Tree, parts: &[PartitionSection]) -> Result<Vec<Content>, FormatError> {
    let mut rest = tree.clone();
    let mut order: Vec<usize> = (0..parts.len())
        .filter(|&i| parts[i].mount.as_deref().is_some_and(|m| m != "/"))
        .collect();
    order.sort_by_key(|&i| std::cmp::Reverse(parts[i].mount.as_deref().map_or(0, str::len)));
    let mut trees: Vec<Option<Tree>> = parts.iter().map(|_| None).collect();
    for i in order {
        let mount = parts[i]
            .mount
            .as_deref()
            .expect("filtered to mounted partitions");
        trees[i] = Some(rest.split_off(mount)?);
    }
    let mut rest = Some(rest);
    Ok(parts
        .iter()
        .zip(trees)
        .map(
            |(p, t)| match (p.filesystem.as_deref(), p.mount.as_deref(), t) {
                (_, _, Some(t)) => Content::Files(t),
                (Some("ext4"), Some("/"), None) => {
                    Content::Files(rest.take().expect("validated: one root"))
                }
                (Some("vfat"), _, _) => Content::Esp,
                _ => Content::Empty,
            },
        )
        .collect())
}

/// The smallest partition that holds a filesystem of this kind with this content.
pub fn min_size(
    filesystem: Option<&str>,
    content: &Content,
    esp_files: &[(String, Vec<u8>)],
) -> u64 {
    match (filesystem, content) {
        (Some("ext4"), Content::Files(tree)) => eflow_ext4::min_size(tree),
        (Some("ext4"), _) => eflow_ext4::min_size(&Tree::new()),
        (Some("vfat"), _) => eflow_fat::min_size(esp_files),
        _ => 0,
    }
}

/// The size the partition asks the disk for: fixed, "rest" (at least the minimum), or its
/// content's minimum plus the margin, rounded up to whole MiB.
pub fn requested_size(p: &PartitionSection, min: u64) -> eflow_gpt::Size {
    match p.size {
        Size::Bytes(b) => eflow_gpt::Size::Bytes(b),
        Size::Rest => eflow_gpt::Size::Rest,
        Size::Content => {
            let margin = p.margin.and_then(Size::bytes).unwrap_or(0);
            let mib = 1 << 20;
            eflow_gpt::Size::Bytes((min + margin).div_ceil(mib) * mib)
        }
    }
}

/// The filesystem of a planned partition as a stream of its bytes, or `None` for a
/// partition without one. Every id comes from the seed, every time stamp is `timestamp`.
pub fn filesystem(
    p: &PlannedPartition,
    content: &Content,
    esp_files: &[(String, Vec<u8>)],
    seed: &Seed,
    timestamp: i64,
) -> Result<Option<Box<dyn SparseRead + Send>>, FormatError> {
    let empty = Tree::new();
    let tree = match content {
        Content::Files(t) => t,
        _ => &empty,
    };
    Ok(match p.filesystem.as_deref() {
        Some("ext4") => Some(Box::new(eflow_ext4::write(
            tree,
            &eflow_ext4::Options {
                size: p.size / 4096 * 4096,
                uuid: seed.guid(&format!("ext4-uuid:{}", p.label)).0,
                hash_seed: seed.guid(&format!("ext4-hash-seed:{}", p.label)).0,
                label: p.label.chars().take(16).collect(),
                timestamp,
            },
        )?)),
        Some("vfat") => {
            let id = seed.derive(&format!("fat-volume-id:{}", p.label));
            Some(Box::new(eflow_fat::build_image(
                esp_files,
                &eflow_fat::FatOptions {
                    size: p.size,
                    volume_id: u32::from_le_bytes([id[0], id[1], id[2], id[3]]),
                    label: p.label.to_uppercase().chars().take(11).collect(),
                    timestamp,
                },
            )?))
        }
        _ => None,
    })
}
