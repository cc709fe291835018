//! Raw disks as the independent tools see them: the partition table by `sfdisk`, a partition
//! copied out by `dd`, so a test checks one filesystem with e2fsck, debugfs or fsck.vfat.

use std::path::Path;
use std::process::Command;

use crate::command::ok;

/// A partition of a raw disk as `sfdisk --json` reports it, in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// Offset of its first byte on the disk.
    pub start: u64,
    /// Its length.
    pub size: u64,
    /// The partition type GUID, as sfdisk prints it (upper case).
    pub type_guid: String,
    /// The GPT partition name (empty when it has none).
    pub name: String,
}

/// The partitions of a raw disk in table order, as `sfdisk --json` (not our reader) sees them.
pub fn partitions(disk: &Path) -> Vec<Partition> {
    let out = ok(Command::new("sfdisk").arg("--json").arg(disk));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("sfdisk --json {}: {e}", disk.display()));
    let table = &v["partitiontable"];
    let sector = table["sectorsize"].as_u64().unwrap_or(512);
    table["partitions"]
        .as_array()
        .unwrap_or_else(|| panic!("sfdisk finds no partitions on {}: {v}", disk.display()))
        .iter()
        .map(|p| Partition {
            start: p["start"].as_u64().expect("start") * sector,
            size: p["size"].as_u64().expect("size") * sector,
            type_guid: p["type"].as_str().expect("type").to_string(),
            name: p["name"].as_str().unwrap_or_default().to_string(),
        })
        .collect()
}

/// The partition named `label` of a raw disk, by [`partitions`]; fails the test if there is none.
pub fn partition(disk: &Path, label: &str) -> Partition {
    partitions(disk)
        .into_iter()
        .find(|p| p.name == label)
        .unwrap_or_else(|| panic!("no partition named {label} in {}", disk.display()))
}

/// Copies `len` bytes at `start` of `from` to a new sparse file `to` with `dd`: a range as a file.
pub fn copy_range(from: &Path, start: u64, len: u64, to: &Path) {
    ok(Command::new("dd")
        .arg(format!("if={}", from.display()))
        .arg(format!("of={}", to.display()))
        .args([
            "bs=1M",
            "iflag=skip_bytes,count_bytes",
            "conv=sparse",
            "status=none",
        ])
        .arg(format!("skip={start}"))
        .arg(format!("count={len}")));
}

/// Converts a raw disk to VHDX with `qemu-img convert -o OPTIONS` (`block_size=1M`,
/// `subformat=fixed`, ...): a VHDX file that our writer did not make, for readers to read.
pub fn qemu_img_vhdx(raw: &Path, vhdx: &Path, options: &str) {
    ok(Command::new("qemu-img")
        .args(["convert", "-f", "raw", "-O", "vhdx", "-o", options])
        .arg(raw)
        .arg(vhdx));
}

/// Converts the disk in `image` (format `fmt`: vhdx, vpc) to the raw file `raw` with qemu-img:
/// the bytes another reader than ours finds.
pub fn qemu_img_raw(fmt: &str, image: &Path, raw: &Path) {
    ok(Command::new("qemu-img")
        .args(["convert", "-f", fmt, "-O", "raw"])
        .arg(image)
        .arg(raw));
}

/// Requires `qemu-img compare -f FMT -F raw` to find the disk in `image` (raw, vhdx, vpc)
/// byte for byte the same as the raw disk `raw`.
pub fn qemu_img_same(fmt: &str, image: &Path, raw: &Path) {
    let out = ok(Command::new("qemu-img")
        .args(["compare", "-f", fmt, "-F", "raw"])
        .arg(image)
        .arg(raw));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Images are identical"),
        "qemu-img compare {} {}: {text}",
        image.display(),
        raw.display()
    );
}

/// Copies the partition `label` of a raw disk to the file `to`, for the filesystem checkers.
pub fn extract_partition(disk: &Path, label: &str, to: &Path) -> Partition {
    let p = partition(disk, label);
    copy_range(disk, p.start, p.size, to);
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::require_tools;

    #[test]
    fn partitions_are_found_and_copied_out() {
        require_tools(&["sfdisk", "dd"]);
        let dir = tempfile::tempdir().unwrap();
        let disk = dir.path().join("disk.raw");
        crate::fixture::sparse_file(&disk, 8 << 20, &[(6144 * 512 + 3, b"root data")]);
        let script = "label: gpt\nstart=2048, size=4096, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=esp\nstart=6144, size=8192, name=root\n";
        crate::command::ok_with_input(
            Command::new("sfdisk").arg("--quiet").arg(&disk),
            script.as_bytes(),
        );
        let parts = partitions(&disk);
        assert_eq!(parts.len(), 2);
        assert_eq!((parts[0].start, parts[0].size), (1 << 20, 2 << 20));
        assert_eq!(parts[0].type_guid, "C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
        assert_eq!(parts[0].name, "esp");
        let root = dir.path().join("root.img");
        let p = extract_partition(&disk, "root", &root);
        assert_eq!(p, parts[1]);
        let data = std::fs::read(&root).unwrap();
        assert_eq!(data.len() as u64, 4 << 20);
        assert_eq!(&data[3..12], b"root data");
        let e = std::panic::catch_unwind(|| partition(&disk, "nope")).unwrap_err();
        assert!(e
            .downcast_ref::<String>()
            .unwrap()
            .contains("no partition named nope"));
    }
}
