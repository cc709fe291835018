//! Partition type GUIDs from the UEFI spec and the Discoverable Partitions Specification,
//! so that systemd-gpt-auto-generator and firmware recognize each partition by its type alone.

use crate::Guid;

/// EFI System Partition.
pub const ESP: Guid = Guid::from_text_const("C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
/// Root partition for x86-64.
pub const LINUX_ROOT_X86_64: Guid = Guid::from_text_const("4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709");
/// Variable data partition, mounted on /var.
pub const VAR: Guid = Guid::from_text_const("4D21B016-B534-45C2-A9FB-5C16E091FD2D");
/// Generic Linux data partition (no automatic mount point).
pub const LINUX_DATA: Guid = Guid::from_text_const("0FC63DAF-8483-4772-8E79-3D69D8477DE4");
/// Swap partition.
pub const SWAP: Guid = Guid::from_text_const("0657FD6D-A4AB-43C4-84E5-0933C84B4F4F");

/// The names recipes use for partition types, with their GUIDs.
pub const NAMED: &[(&str, Guid)] = &[
    ("esp", ESP),
    ("linux-root-x86-64", LINUX_ROOT_X86_64),
    ("var", VAR),
    ("linux-data", LINUX_DATA),
    ("swap", SWAP),
];

/// The type GUID for a recipe's type name (`esp`, `linux-root-x86-64`, `var`, `linux-data`,
/// `swap`), or for a GUID written out in text.
pub fn by_name(name: &str) -> Option<Guid> {
    NAMED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, g)| *g)
        .or_else(|| name.parse().ok())
}

/// The recipe name of a known type GUID, for `inspect`.
pub fn name_of(guid: &Guid) -> Option<&'static str> {
    NAMED.iter().find(|(_, g)| g == guid).map(|(n, _)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve() {
        assert_eq!(by_name("esp"), Some(ESP));
        assert_eq!(by_name("swap"), Some(SWAP));
        assert_eq!(
            by_name("0fc63daf-8483-4772-8e79-3d69d8477de4"),
            Some(LINUX_DATA)
        );
        assert_eq!(by_name("nope"), None);
        assert_eq!(name_of(&VAR), Some("var"));
    }
}
