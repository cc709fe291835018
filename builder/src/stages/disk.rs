//! The disk stage: partitions sized and placed in a GPT disk, described as a stream of data
//! and zero ranges into which the format stage's filesystems are placed.
//!
//! A [`DiskPlan`] is decided once (sizes, offsets, GUIDs); [`DiskPlan::stream`] then produces
//! the disk as many times as outputs need it, each time streaming file contents afresh, so
//! no disk image is ever held in memory or written to a temporary file.

use eflow_extents::{Layout, SparseRead};
use eflow_gpt::{Gpt, Guid, PartSpec, Partition};
use eflow_id::Seed;
use eflow_tree::Tree;

use crate::stages::format::{self, FormatError};
use crate::stages::plan::image::PartitionSection;
use crate::stages::plan::{Image, Size};

/// Why the disk could not be planned or written.
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    #[error("the image defines no partitions: add [[partition]] sections to {0}")]
    NoPartitions(String),
    #[error("partition {label:?}: unknown type {kind:?} (esp, linux-root-x86-64, var, linux-data, swap, or a GUID)")]
    UnknownType { label: String, kind: String },
    #[error("the image needs exactly one ext4 partition of type linux-root-x86-64 for the root filesystem")]
    NoRoot,
    #[error("the disk layout does not fit: {0}")]
    Layout(#[from] eflow_gpt::GptError),
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error("placing partitions on the disk: {0}")]
    Place(#[from] std::io::Error),
}

/// One planned partition.
#[derive(Debug, Clone)]
pub struct PlannedPartition {
    pub label: String,
    pub type_guid: Guid,
    pub partuuid: Guid,
    pub filesystem: Option<String>,
    /// Byte offset on the disk.
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
}

/// Where everything goes on the disk, and with which ids.
#[derive(Debug, Clone)]
pub struct DiskPlan {
    pub disk_size: u64,
    pub disk_guid: Guid,
    pub partitions: Vec<PlannedPartition>,
    seed: Seed,
    timestamp: i64,
}

/// The root partition's GUID: derived from the image seed, known before the disk is laid
/// out so the boot stage can put it on the kernel command line.
pub fn root_partuuid(seed: &Seed) -> Guid {
    seed.gpt_guid("partition:root")
}

fn partuuid(seed: &Seed, p: &PartitionSection) -> Guid {
    if p.kind == "linux-root-x86-64" {
        root_partuuid(seed)
    } else {
        seed.gpt_guid(&format!("partition:{}", p.label))
    }
}

impl DiskPlan {
    /// Sizes each partition from the definition and the content it must hold: the root
    /// from the Tree, the ESP from its files. `disk_size` None makes the disk just large enough.
    pub fn new(
        image: &Image,
        tree: &Tree,
        esp_files: &[(String, Vec<u8>)],
        seed: Seed,
        timestamp: i64,
    ) -> Result<DiskPlan, DiskError> {
        let parts = &image.def.partitions;
        if parts.is_empty() {
            return Err(DiskError::NoPartitions(image.path.display().to_string()));
        }
        let roots = parts
            .iter()
            .filter(|p| p.kind == "linux-root-x86-64" && p.filesystem.as_deref() == Some("ext4"))
            .count();
        if roots != 1 {
            return Err(DiskError::NoRoot);
        }
        let specs: Vec<PartSpec> = parts
            .iter()
            .map(|p| PartSpec {
                size: match p.size {
                    Size::Bytes(b) => eflow_gpt::Size::Bytes(b),
                    Size::Rest => eflow_gpt::Size::Rest,
                },
                min: format::min_size(p.filesystem.as_deref(), tree, esp_files),
            })
            .collect();
        let planned = eflow_gpt::plan(image.def.image.disk_size.and_then(Size::bytes), &specs)?;
        let mut partitions = Vec::new();
        for (p, (first, last)) in parts.iter().zip(&planned.ranges) {
            let type_guid =
                eflow_gpt::types::by_name(&p.kind).ok_or_else(|| DiskError::UnknownType {
                    label: p.label.clone(),
                    kind: p.kind.clone(),
                })?;
            partitions.push(PlannedPartition {
                label: p.label.clone(),
                type_guid,
                partuuid: partuuid(&seed, p),
                filesystem: p.filesystem.clone(),
                offset: first * eflow_gpt::SECTOR,
                size: (last - first + 1) * eflow_gpt::SECTOR,
            });
        }
        Ok(DiskPlan {
            disk_size: planned.disk_size,
            disk_guid: seed.gpt_guid("disk"),
            partitions,
            seed,
            timestamp,
        })
    }

    /// The partition table.
    pub fn gpt(&self) -> Gpt {
        Gpt {
            disk_guid: self.disk_guid,
            disk_size: self.disk_size,
            partitions: self
                .partitions
                .iter()
                .map(|p| Partition {
                    type_guid: p.type_guid,
                    unique_guid: p.partuuid,
                    name: p.label.clone(),
                    first_lba: p.offset / eflow_gpt::SECTOR,
                    last_lba: (p.offset + p.size) / eflow_gpt::SECTOR - 1,
                    attributes: 0,
                })
                .collect(),
        }
    }

    /// The whole disk as a sparse stream: GPT, each filesystem written from its content.
    pub fn stream(
        &self,
        tree: &Tree,
        esp_files: &[(String, Vec<u8>)],
    ) -> Result<Box<dyn SparseRead + Send>, DiskError> {
        let mut layout = Layout::new(self.disk_size);
        self.gpt().place(&mut layout)?;
        for p in &self.partitions {
            let fs = format::filesystem(p, tree, esp_files, &self.seed, self.timestamp)?;
            if let Some(fs) = fs {
                layout.place(p.offset, fs)?;
            }
        }
        Ok(Box::new(layout))
    }
}
