//! Fixture archives shared by the resolver tests.

/// A Packages stanza, ending with its blank line; `extra` holds additional fields, one per
/// line (an `Architecture:` among them replaces the default amd64).
pub fn pkg(name: &str, version: &str, extra: &str) -> String {
    let arch = if extra.contains("Architecture:") {
        ""
    } else {
        "Architecture: amd64\n"
    };
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!("{extra}\n")
    };
    format!(
        "Package: {name}\nVersion: {version}\n{arch}Filename: pool/main/{name}_{version}.deb\nSize: 1000\nSHA256: {}\n{extra}\n",
        "0f".repeat(32)
    )
}
