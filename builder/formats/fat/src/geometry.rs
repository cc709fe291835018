//! FAT32 geometry: how many clusters a volume of a given size has for a cluster size, how
//! many clusters some files need, and so which cluster size to use.
//!
//! The formulas mirror how fatfs formats a FAT32 volume (8 reserved sectors, 2 FATs of 32-bit
//! entries, 512-byte sectors), so the numbers here are the ones the written volume has.

/// Bytes per sector.
pub const SECTOR: u64 = 512;
/// Sectors fatfs reserves before the FATs on FAT32.
const RESERVED: u64 = 8;
/// Number of FAT copies.
const FATS: u64 = 2;
/// A volume with fewer clusters is FAT16 by definition (Microsoft's FAT spec), whatever its
/// boot sector says; firmware decides the FAT type from this count.
pub const FAT32_MIN_CLUSTERS: u64 = 65_525;
/// Margin above the minimum: some implementations count clusters slightly differently, and
/// Microsoft advises staying clear of the exact boundary.
pub const MARGIN: u64 = 16;
/// Cluster numbers at or above this are reserved values on FAT32.
pub const FAT32_MAX_CLUSTERS: u64 = 0x0FFF_FFF5;
/// Cluster sizes to try, in order of preference: up to 4 KiB (the usual ESP choice), then
/// larger ones only for volumes too big for 4 KiB clusters.
pub const CLUSTER_SIZES: [u64; 7] = [4096, 2048, 1024, 512, 8192, 16384, 32768];

/// Sectors per FAT for `total` sectors and `spc` sectors per cluster.
fn sectors_per_fat(total: u64, spc: u64) -> u64 {
    let t1 = total.saturating_sub(RESERVED) + 2 * spc;
    let per = spc * SECTOR * 8 / 32 + FATS;
    t1.div_ceil(per)
}

/// Data clusters of a FAT32 volume of `total` sectors with `cluster` bytes per cluster.
pub fn clusters(total: u64, cluster: u64) -> u64 {
    let spc = cluster / SECTOR;
    let spf = sectors_per_fat(total, spc);
    total.saturating_sub(RESERVED + FATS * spf) / spc
}

/// A file or directory to be stored, as far as space is concerned.
pub struct Node {
    /// File size, or None for a directory.
    pub size: Option<u64>,
    /// For a directory, the directory entries its children take.
    pub child_entries: u64,
}

/// Directory entries (32 bytes each) a name takes: fatfs writes long-name entries of 13
/// UTF-16 units each for every name, plus the short entry.
pub fn entries_for_name(units: usize) -> u64 {
    units.div_ceil(13) as u64 + 1
}

/// Clusters needed to hold `nodes` and a root directory with `root_entries` entries.
pub fn clusters_needed(nodes: &[Node], root_entries: u64, cluster: u64) -> u64 {
    let dir = |entries: u64| (entries * 32).div_ceil(cluster).max(1);
    let mut n = dir(root_entries);
    for node in nodes {
        n += match node.size {
            Some(s) => s.div_ceil(cluster),
            // "." and ".." plus the children.
            None => dir(2 + node.child_entries),
        };
    }
    n
}

/// The cluster size for a volume of `total` sectors holding `need(cluster)` clusters:
/// the first of [`CLUSTER_SIZES`] that makes a proper FAT32 volume with room for the content.
pub fn choose(total: u64, need: impl Fn(u64) -> u64) -> Option<u64> {
    CLUSTER_SIZES.into_iter().find(|&c| {
        let n = clusters(total, c);
        (FAT32_MIN_CLUSTERS + MARGIN..=FAT32_MAX_CLUSTERS).contains(&n) && need(c) <= n
    })
}

/// The least size (whole MiB) of a FAT32 volume with 512-byte clusters holding `need` clusters.
pub fn min_bytes(need: u64) -> u64 {
    const MIB: u64 = 1 << 20;
    let want = need.max(FAT32_MIN_CLUSTERS + MARGIN);
    // Clusters, two FATs of 4 bytes per cluster, the reserved sectors: then round up to MiB.
    let mut total = want + RESERVED + FATS * (want + 2).div_ceil(SECTOR / 4);
    loop {
        let bytes = (total * SECTOR).div_ceil(MIB) * MIB;
        if clusters(bytes / SECTOR, SECTOR) >= want {
            return bytes;
        }
        total += MIB / SECTOR;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_64_mib_esp_is_fat32_with_512_byte_clusters() {
        let total = 64 * 2048;
        assert_eq!(choose(total, |_| 1), Some(512));
        assert!(clusters(total, 512) >= FAT32_MIN_CLUSTERS);
        assert!(clusters(total, 1024) < FAT32_MIN_CLUSTERS);
    }

    #[test]
    fn big_volumes_take_4k_clusters() {
        assert_eq!(choose(512 * 2048, |_| 1), Some(4096));
    }

    #[test]
    fn small_volumes_are_not_fat32() {
        assert_eq!(choose(32 * 2048, |_| 1), None);
        let min = min_bytes(0);
        assert_eq!(min % (1 << 20), 0);
        assert!(choose(min / SECTOR, |_| 1).is_some());
        assert!(choose(min / SECTOR - 2048, |_| 1).is_none());
    }
}
