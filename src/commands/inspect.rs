//! `eflow-image inspect DISK [--json]`

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use eflow_builder::commands::inspect::{inspect, FsReport, Report};

use crate::output::Output;

#[derive(Args)]
pub struct InspectArgs {
    /// The disk file: raw, VHDX or fixed VHD (recognized by content, not by extension).
    disk: PathBuf,
}

pub fn run(a: InspectArgs, out: &Output) -> anyhow::Result<ExitCode> {
    let r = inspect(&a.disk)?;
    out.result(&human(&r), serde_json::to_value(&r)?);
    if r.problems.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        for p in &r.problems {
            eprintln!("error: {}: {p}", a.disk.display());
        }
        Ok(ExitCode::FAILURE)
    }
}

/// `1073741824 (1.0 GiB)`: exact bytes, then a rounded binary size for the eye.
fn size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{n} ({v:.1} {})", UNITS[u])
    }
}

/// One `key: value` line, keys padded so values align.
fn line(s: &mut String, indent: usize, key: &str, value: impl std::fmt::Display) {
    let _ = writeln!(s, "{:indent$}{:<22}{value}", "", format!("{key}:"));
}

/// The report as aligned text.
fn human(r: &Report) -> String {
    let mut s = String::new();
    line(&mut s, 0, "file", r.path.display());
    line(&mut s, 0, "format", r.format.name());
    line(&mut s, 0, "file size", size(r.file_size));
    line(&mut s, 0, "virtual size", size(r.virtual_size));
    if let Some(v) = &r.vhdx {
        s.push_str("\nVHDX\n");
        line(&mut s, 2, "kind", v.kind);
        line(&mut s, 2, "creator", &v.creator);
        for h in &v.headers {
            let state = match (&h.sequence_number, &h.error) {
                (Some(n), _) => format!("sequence {n}"),
                (None, Some(e)) => format!("invalid ({e})"),
                _ => "invalid".into(),
            };
            let cur = if h.index == v.current_header {
                " (current)"
            } else {
                ""
            };
            line(
                &mut s,
                2,
                &format!("header {}", h.index),
                format!("{state}{cur}"),
            );
        }
        line(&mut s, 2, "file write guid", &v.file_write_guid);
        line(&mut s, 2, "data write guid", &v.data_write_guid);
        line(&mut s, 2, "log guid", &v.log_guid);
        line(
            &mut s,
            2,
            "log",
            format!("{} bytes at {}", v.log_length, v.log_offset),
        );
        line(&mut s, 2, "block size", size(v.block_size as u64));
        line(
            &mut s,
            2,
            "sector size",
            format!(
                "{} logical, {} physical",
                v.logical_sector_size, v.physical_sector_size
            ),
        );
        line(&mut s, 2, "disk id (page 83)", &v.disk_id);
        line(
            &mut s,
            2,
            "metadata region",
            format!("at {}", v.metadata_offset),
        );
        line(
            &mut s,
            2,
            "BAT",
            format!("{} entries at {}", v.bat_entries, v.bat_offset),
        );
        line(&mut s, 2, "allocated payload", size(v.allocated));
        let b = &v.blocks;
        line(
            &mut s,
            2,
            "blocks",
            format!(
                "{} present, {} not present, {} zero, {} unmapped, {} undefined",
                b.fully_present, b.not_present, b.zero, b.unmapped, b.undefined
            ),
        );
    }
    if let Some(v) = &r.vhd {
        s.push_str("\nVHD footer\n");
        line(&mut s, 2, "disk type", v.disk_type);
        line(&mut s, 2, "current size", size(v.virtual_size));
        line(&mut s, 2, "original size", size(v.original_size));
        line(
            &mut s,
            2,
            "creator",
            format!("{:?} on {:?}", v.creator_app, v.creator_host),
        );
        line(
            &mut s,
            2,
            "time stamp",
            format!("{} s after 2000-01-01", v.timestamp),
        );
        let (c, h, sp) = v.geometry;
        line(&mut s, 2, "geometry (C/H/S)", format!("{c}/{h}/{sp}"));
        line(&mut s, 2, "unique id", v.unique_id);
    }
    if let Some(t) = &r.partition_table {
        s.push_str(&format!(
            "\nPartition table: GPT, disk GUID {}\n",
            t.disk_guid
        ));
        let rows: Vec<[String; 8]> = t
            .partitions
            .iter()
            .map(|p| {
                [
                    p.number.to_string(),
                    p.name.clone(),
                    p.type_name.map(str::to_string).unwrap_or_default(),
                    p.type_guid.clone(),
                    p.partuuid.clone(),
                    p.start.to_string(),
                    p.size.to_string(),
                    p.mount.clone().unwrap_or_default(),
                ]
            })
            .collect();
        let head = [
            "#",
            "NAME",
            "TYPE",
            "TYPE GUID",
            "PARTUUID",
            "START",
            "SIZE",
            "MOUNT",
        ];
        let mut w: Vec<usize> = head.iter().map(|h| h.len()).collect();
        for r in &rows {
            for (i, c) in r.iter().enumerate() {
                w[i] = w[i].max(c.chars().count());
            }
        }
        let row = |s: &mut String, cells: &[&str]| {
            let mut l = String::from(" ");
            for (i, c) in cells.iter().enumerate() {
                // Numbers right-aligned, text left-aligned.
                if i == 0 || i == 5 || i == 6 {
                    let _ = write!(l, " {:>1$}", c, w[i]);
                } else {
                    let _ = write!(l, " {:<1$}", c, w[i]);
                }
            }
            s.push_str(l.trim_end());
            s.push('\n');
        };
        row(&mut s, &head);
        for r in &rows {
            let cells: Vec<&str> = r.iter().map(String::as_str).collect();
            row(&mut s, &cells);
        }
        for p in &t.partitions {
            s.push_str(&format!("\nPartition {} ({:?})\n", p.number, p.name));
            filesystem(&mut s, p.filesystem.as_ref());
        }
    }
    if let Some(fs) = &r.filesystem {
        s.push_str("\nNo partition table; a filesystem spans the disk\n");
        filesystem(&mut s, Some(fs));
    }
    s.trim_end().to_string()
}

fn filesystem(s: &mut String, fs: Option<&FsReport>) {
    match fs {
        None => line(s, 2, "filesystem", "none recognized"),
        Some(FsReport::Error {
            filesystem,
            message,
        }) => line(
            s,
            2,
            "filesystem",
            format!("{filesystem}, UNREADABLE: {message}"),
        ),
        Some(FsReport::Ext4(e)) => {
            line(s, 2, "filesystem", "ext4");
            line(s, 2, "uuid", e.uuid);
            line(s, 2, "label", format!("{:?}", e.label));
            line(s, 2, "features", e.features.join(" "));
            line(s, 2, "block size", e.block_size);
            line(
                s,
                2,
                "blocks",
                format!(
                    "{} total, {} free, {} reserved",
                    e.block_count, e.free_blocks, e.reserved_blocks
                ),
            );
            line(
                s,
                2,
                "inodes",
                format!("{} total, {} free", e.inode_count, e.free_inodes),
            );
        }
        Some(FsReport::Fat(f)) => {
            let v = &f.volume;
            line(s, 2, "filesystem", v.fat_type);
            line(s, 2, "label", format!("{:?}", v.label));
            line(s, 2, "volume id", v.volume_id_text());
            line(s, 2, "cluster size", v.cluster_size);
            line(
                s,
                2,
                "clusters",
                format!("{} total, {} free", v.total_clusters, v.free_clusters),
            );
            line(
                s,
                2,
                "contents",
                format!(
                    "{} files ({} bytes), {} directories",
                    f.files, f.file_bytes, f.directories
                ),
            );
        }
    }
}
