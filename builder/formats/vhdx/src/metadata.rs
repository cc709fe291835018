//! The metadata region: a 64 KiB table of items (file parameters, virtual disk size,
//! page 83 id, sector sizes) followed by the items' values.

use crate::bytes::{put_u16, put_u32, u16_at, u32_at, u64_at, MIB};
use crate::error::{corrupt, Error};
use crate::guid::{self, Guid};

/// Size of the table at the start of the region.
pub const TABLE_SIZE: usize = 64 * 1024;
/// `metadata` signature.
const SIGNATURE: &[u8; 8] = b"metadata";
/// The format's limit on entries.
const MAX_ENTRIES: u16 = 2047;
/// Largest virtual disk the format allows (64 TiB).
pub const MAX_VIRTUAL_SIZE: u64 = 64 << 40;
/// Smallest and largest block sizes the format allows.
pub const BLOCK_SIZE_RANGE: (u32, u32) = (1 << 20, 256 << 20);

/// Entry flag: the item is a user item.
const IS_USER: u32 = 1;
/// Entry flag: the item describes the virtual disk (copied into differencing children).
const IS_VIRTUAL_DISK: u32 = 2;
/// Entry flag: a reader must understand the item.
const IS_REQUIRED: u32 = 4;

/// The values the metadata region carries that a reader or writer needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// Payload block size in bytes.
    pub block_size: u32,
    /// Set on fixed disks: blocks stay allocated.
    pub leave_block_allocated: bool,
    /// Set on differencing disks.
    pub has_parent: bool,
    /// Virtual disk size in bytes.
    pub virtual_size: u64,
    /// Logical sector size (512 or 4096).
    pub logical_sector: u32,
    /// Physical sector size (512 or 4096).
    pub physical_sector: u32,
    /// The SCSI page 83 identifier of the virtual disk.
    pub disk_id: Guid,
}

/// Checks that a block size and sector sizes are what the format allows.
pub fn check_sizes(block_size: u32, logical: u32, physical: u32) -> Result<(), String> {
    if !block_size.is_power_of_two()
        || block_size < BLOCK_SIZE_RANGE.0
        || block_size > BLOCK_SIZE_RANGE.1
    {
        return Err(format!(
            "block size {block_size} is not a power of two from 1 MiB to 256 MiB"
        ));
    }
    if logical != 512 && logical != 4096 {
        return Err(format!("logical sector size {logical} is not 512 or 4096"));
    }
    if physical != 512 && physical != 4096 {
        return Err(format!(
            "physical sector size {physical} is not 512 or 4096"
        ));
    }
    Ok(())
}

/// Checks a virtual size against the logical sector size and the format's limit.
pub fn check_virtual_size(size: u64, logical: u32) -> Result<(), String> {
    if size == 0 {
        return Err("virtual disk size is 0".into());
    }
    if !size.is_multiple_of(logical as u64) {
        return Err(format!(
            "virtual disk size {size} is not a multiple of the logical sector size {logical}"
        ));
    }
    if size > MAX_VIRTUAL_SIZE {
        return Err(format!("virtual disk size {size} exceeds 64 TiB"));
    }
    Ok(())
}

/// Fetches `len` bytes at a file offset; the `&str` names the structure for errors.
pub type ReadItem<'a> = dyn FnMut(u64, usize, &str) -> Result<Vec<u8>, Error> + 'a;

impl Metadata {
    /// Serializes the table and the items; the result is shorter than the region (the rest
    /// of the region is zero).
    pub fn build(&self) -> Vec<u8> {
        // Items live right after the table, each on its own 4 KiB so that every value is
        // sector aligned whatever the sector size.
        let fp = (self.leave_block_allocated as u32) | ((self.has_parent as u32) << 1);
        let mut items: Vec<(Guid, u32, Vec<u8>)> = vec![
            (guid::FILE_PARAMETERS, IS_REQUIRED, {
                let mut v = self.block_size.to_le_bytes().to_vec();
                v.extend_from_slice(&fp.to_le_bytes());
                v
            }),
            (
                guid::VIRTUAL_DISK_SIZE,
                IS_VIRTUAL_DISK | IS_REQUIRED,
                self.virtual_size.to_le_bytes().to_vec(),
            ),
            (
                guid::PAGE83_DATA,
                IS_VIRTUAL_DISK | IS_REQUIRED,
                self.disk_id.to_mixed_endian().to_vec(),
            ),
            (
                guid::LOGICAL_SECTOR_SIZE,
                IS_VIRTUAL_DISK | IS_REQUIRED,
                self.logical_sector.to_le_bytes().to_vec(),
            ),
            (
                guid::PHYSICAL_SECTOR_SIZE,
                IS_VIRTUAL_DISK | IS_REQUIRED,
                self.physical_sector.to_le_bytes().to_vec(),
            ),
        ];
        let mut b = vec![0u8; TABLE_SIZE + items.len() * 4096];
        b[..8].copy_from_slice(SIGNATURE);
        put_u16(&mut b, 10, items.len() as u16);
        for (i, (g, flags, value)) in items.iter_mut().enumerate() {
            let at = 32 + 32 * i;
            let off = TABLE_SIZE + 4096 * i;
            b[at..at + 16].copy_from_slice(&g.to_mixed_endian());
            put_u32(&mut b, at + 16, off as u32);
            put_u32(&mut b, at + 20, value.len() as u32);
            put_u32(&mut b, at + 24, *flags);
            b[off..off + value.len()].copy_from_slice(value);
        }
        b
    }

    /// Parses the region whose 64 KiB table is `table`; `read` fetches `len` bytes at a file
    /// offset (for the items' values). Checks every entry and every value.
    pub fn parse(
        table: &[u8],
        region_offset: u64,
        region_len: u64,
        read: &mut ReadItem<'_>,
    ) -> Result<Metadata, Error> {
        let name = "metadata table";
        if table.len() < TABLE_SIZE {
            return Err(corrupt(name, region_offset, "file ends inside the table"));
        }
        if &table[..8] != SIGNATURE {
            return Err(corrupt(name, region_offset, "signature `metadata` missing"));
        }
        let count = u16_at(table, 10);
        if count > MAX_ENTRIES {
            return Err(corrupt(
                name,
                region_offset,
                format!("{count} entries, the format allows at most {MAX_ENTRIES}"),
            ));
        }
        let mut seen: Vec<(Guid, bool, u64, u64)> = Vec::new();
        let mut values: Vec<(Guid, Vec<u8>)> = Vec::new();
        for i in 0..count as usize {
            let at = 32 + 32 * i;
            let what = format!("metadata entry {i}");
            let eoff = region_offset + at as u64;
            let g = Guid::read_mixed_endian(table, at);
            let off = u32_at(table, at + 16) as u64;
            let len = u32_at(table, at + 20) as u64;
            let flags = u32_at(table, at + 24);
            let is_user = flags & IS_USER != 0;
            if seen.iter().any(|(sg, su, _, _)| *sg == g && *su == is_user) {
                return Err(corrupt(what, eoff, format!("item {g} appears twice")));
            }
            if len > 0 {
                if off < TABLE_SIZE as u64 {
                    return Err(corrupt(
                        what,
                        eoff,
                        format!("item {g} at offset {off}, inside the 64 KiB table"),
                    ));
                }
                if len > MIB || off + len > region_len {
                    return Err(corrupt(
                        what,
                        eoff,
                        format!(
                            "item {g} ({len} bytes at {off}) passes the end of the {region_len}-byte region"
                        ),
                    ));
                }
                if let Some((og, ..)) = seen
                    .iter()
                    .find(|(_, _, o, l)| *l > 0 && off < o + l && *o < off + len)
                {
                    return Err(corrupt(what, eoff, format!("item {g} overlaps item {og}")));
                }
            }
            seen.push((g, is_user, off, len));
            let known = !is_user
                && [
                    guid::FILE_PARAMETERS,
                    guid::VIRTUAL_DISK_SIZE,
                    guid::PAGE83_DATA,
                    guid::LOGICAL_SECTOR_SIZE,
                    guid::PHYSICAL_SECTOR_SIZE,
                ]
                .contains(&g);
            if known {
                let v = if len == 0 {
                    Vec::new()
                } else {
                    read(region_offset + off, len as usize, &what)?
                };
                values.push((g, v));
            } else if flags & IS_REQUIRED != 0 {
                if g == guid::PARENT_LOCATOR {
                    return Err(Error::Unsupported(
                        "differencing disk (it has a parent locator): merge it into its parent first"
                            .into(),
                    ));
                }
                return Err(Error::Unsupported(format!(
                    "metadata item {g} is marked required but is unknown to this reader"
                )));
            }
        }
        let get = |g: Guid, item: &str, want: usize| -> Result<&[u8], Error> {
            let v = values
                .iter()
                .find(|(vg, _)| *vg == g)
                .map(|(_, v)| v.as_slice())
                .ok_or_else(|| {
                    corrupt(name, region_offset, format!("required item {item} missing"))
                })?;
            if v.len() != want {
                return Err(corrupt(
                    name,
                    region_offset,
                    format!("item {item} is {} bytes, expected {want}", v.len()),
                ));
            }
            Ok(v)
        };
        let fp = get(guid::FILE_PARAMETERS, "File Parameters", 8)?;
        let block_size = u32_at(fp, 0);
        let flags = u32_at(fp, 4);
        let virtual_size = u64_at(get(guid::VIRTUAL_DISK_SIZE, "Virtual Disk Size", 8)?, 0);
        let disk_id = Guid::read_mixed_endian(get(guid::PAGE83_DATA, "Page 83 Data", 16)?, 0);
        let logical_sector = u32_at(get(guid::LOGICAL_SECTOR_SIZE, "Logical Sector Size", 4)?, 0);
        let physical_sector = u32_at(
            get(guid::PHYSICAL_SECTOR_SIZE, "Physical Sector Size", 4)?,
            0,
        );
        let m = Metadata {
            block_size,
            leave_block_allocated: flags & 1 != 0,
            has_parent: flags & 2 != 0,
            virtual_size,
            logical_sector,
            physical_sector,
            disk_id,
        };
        if m.has_parent {
            return Err(Error::Unsupported(
                "differencing disk (HasParent is set): merge it into its parent first".into(),
            ));
        }
        check_sizes(block_size, logical_sector, physical_sector)
            .map_err(|p| corrupt("metadata items", region_offset, p))?;
        check_virtual_size(virtual_size, logical_sector)
            .map_err(|p| corrupt("metadata items", region_offset, p))?;
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Metadata {
        Metadata {
            block_size: 1 << 20,
            leave_block_allocated: false,
            has_parent: false,
            virtual_size: 10 << 20,
            logical_sector: 512,
            physical_sector: 4096,
            disk_id: Guid([9; 16]),
        }
    }

    #[test]
    fn round_trip() {
        let b = sample().build();
        let mut read =
            |off: u64, len: usize, _: &str| Ok(b[off as usize..off as usize + len].to_vec());
        let m = Metadata::parse(&b[..TABLE_SIZE], 0, MIB, &mut read).unwrap();
        assert_eq!(m, sample());
    }

    #[test]
    fn has_parent_refused() {
        let mut s = sample();
        s.has_parent = true;
        let b = s.build();
        let mut read =
            |off: u64, len: usize, _: &str| Ok(b[off as usize..off as usize + len].to_vec());
        assert!(matches!(
            Metadata::parse(&b[..TABLE_SIZE], 0, MIB, &mut read),
            Err(Error::Unsupported(_))
        ));
    }
}
