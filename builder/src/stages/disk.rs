//! The disk stage: partitions sized and placed in a GPT disk, described as a stream of data
//! and zero ranges into which the format stage's filesystems are placed.
//!
//! A [`DiskPlan`] is decided once (sizes, offsets, GUIDs); [`DiskPlan::stream`] then produces
//! the disk as many times as outputs need it, each time streaming file contents afresh, so
//! no disk image is ever held in memory or written to a temporary file.

use eflow_extents::{Layout, SparseRead};
use eflow_gpt::{Gpt, Guid, PartSpec, Partition};
use eflow_id::Seed;

use crate::stages::configure::mounts::partuuid;
use crate::stages::format::{self, Content, FormatError};
use crate::stages::plan::{Image, Size};

/// Why the disk could not be planned or written.
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    #[error("the image defines no partitions: add [[partition]] sections to {0}")]
    NoPartitions(String),
    #[error("partition {label:?}: unknown type {kind:?} (esp, linux-root-x86-64, var, linux-data, swap, or a GUID)")]
    UnknownType { label: String, kind: String },
    #[error("the image needs exactly one ext4 partition mounted at / for the root filesystem")]
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
    /// Where the guest mounts it, if anywhere.
    pub mount: Option<String>,
    /// Mounted read-only.
    pub read_only: bool,
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

impl DiskPlan {
    /// Sizes each partition from the definition and the content it must hold (the
    /// [`format::split`] of the guest files, the ESP's files). `disk_size` None makes the disk
    /// just large enough.
    pub fn new(
        image: &Image,
        contents: &[Content],
        esp_files: &[(String, Vec<u8>)],
        seed: Seed,
        timestamp: i64,
    ) -> Result<DiskPlan, DiskError> {
        let parts = &image.def.partitions;
        if parts.is_empty() {
            return Err(DiskError::NoPartitions(image.path.display().to_string()));
        }
        if image.root_partition().and_then(|p| p.filesystem.as_deref()) != Some("ext4") {
            return Err(DiskError::NoRoot);
        }
        let specs: Vec<PartSpec> = parts
            .iter()
            .zip(contents)
            .map(|(p, content)| {
                let min = format::min_size(p.filesystem.as_deref(), content, esp_files);
                PartSpec {
                    size: format::requested_size(p, min),
                    min,
                }
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
                mount: p.mount.clone(),
                read_only: p.read_only,
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

    /// The partitions as the manifest lists them.
    pub fn records(&self) -> Vec<eflow_signing::PartitionRecord> {
        self.partitions
            .iter()
            .zip(1..)
            .map(|(p, number)| eflow_signing::PartitionRecord {
                number,
                label: p.label.clone(),
                type_guid: p.type_guid.to_string(),
                partuuid: p.partuuid.to_string(),
                offset: p.offset,
                size: p.size,
                filesystem: p.filesystem.clone(),
                mount: p.mount.clone(),
                read_only: p.read_only,
            })
            .collect()
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
        contents: &[Content],
        esp_files: &[(String, Vec<u8>)],
    ) -> Result<Box<dyn SparseRead + Send>, DiskError> {
        let mut layout = Layout::new(self.disk_size);
        self.gpt().place(&mut layout)?;
        for (p, content) in self.partitions.iter().zip(contents) {
            let fs = format::filesystem(p, content, esp_files, &self.seed, self.timestamp)?;
            if let Some(fs) = fs {
                layout.place(p.offset, fs)?;
            }
        }
        Ok(Box::new(layout))
    }
}
