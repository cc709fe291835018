//! The GUIDs the VHDX specification defines (region and metadata item ids). VHDX stores
//! GUIDs in Microsoft's mixed-endian order (`Guid::to_mixed_endian`).

pub use eflow_id::Guid;

/// Region table entry of the Block Allocation Table.
pub const BAT_REGION: Guid = Guid::from_text_const("2DC27766-F623-4200-9D64-115E9BFD4A08");
/// Region table entry of the metadata region.
pub const METADATA_REGION: Guid = Guid::from_text_const("8B7CA206-4790-4B9A-B8FE-575F050F886E");
/// Metadata item: block size and flags.
pub const FILE_PARAMETERS: Guid = Guid::from_text_const("CAA16737-FA36-4D43-B3B6-33F0AA44E76B");
/// Metadata item: the virtual disk's size in bytes.
pub const VIRTUAL_DISK_SIZE: Guid = Guid::from_text_const("2FA54224-CD1B-4876-B211-5DBED83BF4B8");
/// Metadata item: the SCSI page 83 identifier of the virtual disk.
pub const PAGE83_DATA: Guid = Guid::from_text_const("BECA12AB-B2E6-4523-93EF-C309E000C746");
/// Metadata item: logical sector size.
pub const LOGICAL_SECTOR_SIZE: Guid = Guid::from_text_const("8141BF1D-A96F-4709-BA47-F233A8FAAB5F");
/// Metadata item: physical sector size.
pub const PHYSICAL_SECTOR_SIZE: Guid =
    Guid::from_text_const("CDA348C7-445D-4471-9CC9-E9885251C556");
/// Metadata item: parent locator (differencing disks only).
pub const PARENT_LOCATOR: Guid = Guid::from_text_const("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bat_guid_on_disk_bytes() {
        assert_eq!(
            BAT_REGION.to_mixed_endian(),
            [
                0x66, 0x77, 0xC2, 0x2D, 0x23, 0xF6, 0x00, 0x42, 0x9D, 0x64, 0x11, 0x5E, 0x9B, 0xFD,
                0x4A, 0x08
            ]
        );
        assert_eq!(
            BAT_REGION.to_upper(),
            "2DC27766-F623-4200-9D64-115E9BFD4A08"
        );
    }
}
