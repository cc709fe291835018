//! The format stage: each partition's filesystem written from its content, as a sparse
//! stream: ext4 from the Tree, FAT32 from the ESP's files. Nothing is held in memory or
//! written to a temporary file; the disk stage places the streams on the disk.

use eflow_extents::SparseRead;
use eflow_id::Seed;
use eflow_tree::Tree;

use crate::stages::disk::PlannedPartition;

/// Why a filesystem could not be written.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("ext4 root filesystem: {0}")]
    Ext4(#[from] eflow_ext4::Error),
    #[error("FAT32 ESP: {0}")]
    Fat(#[from] eflow_fat::FatError),
}

/// The smallest partition that holds a filesystem of this kind with this content.
pub fn min_size(filesystem: Option<&str>, tree: &Tree, esp_files: &[(String, Vec<u8>)]) -> u64 {
    match filesystem {
        Some("ext4") => eflow_ext4::min_size(tree),
        Some("vfat") => eflow_fat::min_size(esp_files),
        _ => 0,
    }
}

/// The filesystem of a planned partition as a stream of its bytes, or `None` for a
/// partition without one. Every id comes from the seed, every time stamp is `timestamp`.
pub fn filesystem(
    p: &PlannedPartition,
    tree: &Tree,
    esp_files: &[(String, Vec<u8>)],
    seed: &Seed,
    timestamp: i64,
) -> Result<Option<Box<dyn SparseRead + Send>>, FormatError> {
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
