//! The SPDX 2.3 JSON software bill of materials of an image: one package per Debian package,
//! a root package for the image, and their relationships. Deterministic: the creation time is
//! SOURCE_DATE_EPOCH and the document namespace is derived from the image identity and a
//! build digest, never random.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::dep5::license_refs;

/// One Debian package of the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SbomPackage {
    /// Package name.
    pub name: String,
    /// Exact version.
    pub version: String,
    /// Debian architecture.
    pub architecture: String,
    /// SHA-256 of the .deb, lower-case hex.
    pub sha256: String,
    /// Organization that supplies it (the Release file's Origin); `None` means Debian.
    pub origin: Option<String>,
    /// Declared license as an SPDX expression, e.g. from
    /// [`licenses_from_copyright`](crate::licenses_from_copyright); `None` is NOASSERTION.
    pub license_declared: Option<String>,
    /// Where the .deb can be downloaded (a full URL); `None` is NOASSERTION.
    pub download_location: Option<String>,
    /// Names of packages of the image this one depends on (others are ignored).
    pub depends: Vec<String>,
}

impl SbomPackage {
    /// The SBOM entry of a manifest package record: origin from its archive, declared
    /// license from its Debian copyright file's text when given (see
    /// [`licenses_from_copyright`](crate::licenses_from_copyright)), no download location.
    pub fn from_record(
        record: &crate::manifest::PackageRecord,
        copyright_text: Option<&str>,
        depends: Vec<String>,
    ) -> SbomPackage {
        SbomPackage {
            name: record.name.clone(),
            version: record.version.clone(),
            architecture: record.architecture.clone(),
            sha256: record.sha256.clone(),
            origin: Some(record.source.origin.clone()).filter(|o| !o.trim().is_empty()),
            license_declared: copyright_text.and_then(crate::dep5::licenses_from_copyright),
            download_location: None,
            depends,
        }
    }
}

/// Everything the SBOM is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SbomInput {
    /// Image name.
    pub image_name: String,
    /// Image version.
    pub image_version: String,
    /// eflow-image version (the creator tool).
    pub tool_version: String,
    /// SOURCE_DATE_EPOCH: the document's creation time.
    pub source_date_epoch: u64,
    /// A digest identifying the build (e.g. the lockfile's SHA-256, or the outputs'), so
    /// different builds of one version get different namespaces.
    pub build_digest: String,
    /// The packages installed.
    pub packages: Vec<SbomPackage>,
}

const NOASSERTION: &str = "NOASSERTION";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    spdx_version: &'static str,
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: String,
    document_namespace: String,
    creation_info: CreationInfo,
    packages: Vec<Package>,
    relationships: Vec<Relationship>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    has_extracted_licensing_infos: Vec<ExtractedLicense>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreationInfo {
    created: String,
    creators: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Package {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    name: String,
    version_info: String,
    supplier: String,
    download_location: String,
    files_analyzed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checksums: Vec<Checksum>,
    license_concluded: &'static str,
    license_declared: String,
    copyright_text: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_package_purpose: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Checksum {
    algorithm: &'static str,
    checksum_value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: String,
}

#[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    spdx_element_id: String,
    relationship_type: &'static str,
    related_spdx_element: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExtractedLicense {
    license_id: String,
    extracted_text: String,
    name: String,
}

/// `YYYY-MM-DDThh:mm:ssZ` for seconds since the Unix epoch (proleptic Gregorian, UTC).
pub fn iso8601_utc(epoch: u64) -> String {
    format!(
        "{}Z",
        eflow_time::Civil::from_unix(epoch as i64).format('T')
    )
}

/// An SPDX id: `SPDXRef-` then letters, digits, `.` and `-` only.
fn spdx_ref(parts: &[&str]) -> String {
    let mut id = String::from("SPDXRef");
    for part in parts {
        id.push('-');
        for c in part.chars() {
            match c {
                'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' => id.push(c),
                '+' => id.push_str("plus"),
                _ => id.push('-'),
            }
        }
    }
    id
}

/// Percent-encodes a purl component (everything but unreserved characters).
fn purl_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `Organization: NAME` with characters SPDX's actor syntax reserves removed.
fn supplier(origin: Option<&str>) -> String {
    let name: String = origin
        .unwrap_or("Debian")
        .chars()
        .filter(|c| !matches!(c, '(' | ')' | '\n' | '\r'))
        .collect();
    let name = name.trim();
    if name.is_empty() {
        NOASSERTION.to_string()
    } else {
        format!("Organization: {name}")
    }
}

/// A single-line value (SPDX tag-value fields must not span lines).
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The deterministic document namespace: a name-based UUID (version 8, SHA-256) of the image
/// identity and build digest.
fn namespace(input: &SbomInput) -> String {
    let mut h = Sha256::new();
    for part in [
        "eflow-image SPDX namespace",
        &input.image_name,
        &input.image_version,
        &input.build_digest,
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    let d = h.finalize();
    let mut u = [0u8; 16];
    u.copy_from_slice(&d[..16]);
    u[6] = (u[6] & 0x0f) | 0x80;
    u[8] = (u[8] & 0x3f) | 0x80;
    let hex = eflow_outfile::hex(&u);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Builds the SPDX document.
fn document(input: &SbomInput) -> Document {
    let mut pkgs: Vec<&SbomPackage> = input.packages.iter().collect();
    pkgs.sort_by(|a, b| {
        (&a.name, &a.architecture, &a.version).cmp(&(&b.name, &b.architecture, &b.version))
    });
    let root_id = "SPDXRef-Image".to_string();
    let mut used_ids = BTreeSet::from([root_id.clone()]);
    let mut id_by_name: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut packages = vec![Package {
        spdx_id: root_id.clone(),
        name: one_line(&input.image_name),
        version_info: one_line(&input.image_version),
        supplier: NOASSERTION.to_string(),
        download_location: NOASSERTION.to_string(),
        files_analyzed: false,
        checksums: Vec::new(),
        license_concluded: NOASSERTION,
        license_declared: NOASSERTION.to_string(),
        copyright_text: NOASSERTION,
        external_refs: Vec::new(),
        primary_package_purpose: Some("OPERATING-SYSTEM"),
    }];
    let mut relationships = vec![Relationship {
        spdx_element_id: "SPDXRef-DOCUMENT".to_string(),
        relationship_type: "DESCRIBES",
        related_spdx_element: root_id.clone(),
    }];
    let mut refs = BTreeSet::new();
    let mut ids = Vec::new();
    for p in &pkgs {
        let base = spdx_ref(&["deb", &p.name, &p.architecture]);
        let mut id = base.clone();
        let mut n = 2;
        while !used_ids.insert(id.clone()) {
            id = format!("{base}-{n}");
            n += 1;
        }
        id_by_name
            .entry(p.name.as_str())
            .or_default()
            .push(id.clone());
        ids.push(id.clone());
        let license = p
            .license_declared
            .as_deref()
            .map(one_line)
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| NOASSERTION.to_string());
        refs.extend(license_refs(&license));
        packages.push(Package {
            spdx_id: id.clone(),
            name: one_line(&p.name),
            version_info: one_line(&p.version),
            supplier: supplier(p.origin.as_deref()),
            download_location: p
                .download_location
                .as_deref()
                .map(one_line)
                .unwrap_or_else(|| NOASSERTION.to_string()),
            files_analyzed: false,
            checksums: vec![Checksum {
                algorithm: "SHA256",
                checksum_value: p.sha256.to_ascii_lowercase(),
            }],
            license_concluded: NOASSERTION,
            license_declared: license,
            copyright_text: NOASSERTION,
            external_refs: vec![ExternalRef {
                reference_category: "PACKAGE-MANAGER",
                reference_type: "purl",
                reference_locator: format!(
                    "pkg:deb/debian/{}@{}?arch={}",
                    purl_encode(&p.name),
                    purl_encode(&p.version),
                    purl_encode(&p.architecture)
                ),
            }],
            // Debian does not say whether a package is a library or an application.
            primary_package_purpose: None,
        });
        relationships.push(Relationship {
            spdx_element_id: root_id.clone(),
            relationship_type: "CONTAINS",
            related_spdx_element: id,
        });
    }
    let mut depends = BTreeSet::new();
    for (p, id) in pkgs.iter().zip(&ids) {
        for dep in &p.depends {
            for dep_id in id_by_name.get(dep.as_str()).into_iter().flatten() {
                if dep_id != id {
                    depends.insert(Relationship {
                        spdx_element_id: id.clone(),
                        relationship_type: "DEPENDS_ON",
                        related_spdx_element: dep_id.clone(),
                    });
                }
            }
        }
    }
    relationships.extend(depends);
    let has_extracted_licensing_infos = refs
        .into_iter()
        .map(|id: String| {
            let name = id.trim_start_matches("LicenseRef-").to_string();
            ExtractedLicense {
                extracted_text: format!(
                    "License named \"{name}\" in the Debian copyright file of the packages that \
                     declare it; its text is in /usr/share/doc/PACKAGE/copyright in the image."
                ),
                license_id: id,
                name,
            }
        })
        .collect();
    Document {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: "SPDXRef-DOCUMENT",
        name: one_line(&format!("{}-{}", input.image_name, input.image_version)),
        document_namespace: namespace(input),
        creation_info: CreationInfo {
            created: iso8601_utc(input.source_date_epoch),
            creators: vec![format!(
                "Tool: eflow-image-{}",
                one_line(&input.tool_version)
            )],
        },
        packages,
        relationships,
        has_extracted_licensing_infos,
    }
}

/// The SBOM as SPDX 2.3 JSON text: fixed field order, sorted packages and relationships,
/// pretty-printed with a trailing newline. Same input, same bytes.
pub fn spdx_sbom_json(input: &SbomInput) -> String {
    // Serializing plain structs of strings cannot fail.
    let mut text = serde_json::to_string_pretty(&document(input)).unwrap_or_default();
    text.push('\n');
    text
}

/// The SBOM as a JSON value (for callers that inspect or extend it).
pub fn spdx_sbom(input: &SbomInput) -> serde_json::Value {
    serde_json::to_value(document(input)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601() {
        assert_eq!(iso8601_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601_utc(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(iso8601_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601_utc(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn from_manifest_record() {
        let record = crate::manifest::PackageRecord {
            name: "zlib1g".into(),
            version: "1:1.2.13.dfsg-1".into(),
            architecture: "amd64".into(),
            sha256: "0".repeat(64),
            source: crate::manifest::PackageSource {
                suite: "bookworm".into(),
                origin: "Debian".into(),
            },
        };
        let copyright =
            "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n\
                         Files: *\nCopyright: 1995 A\nLicense: Zlib\n";
        let p = SbomPackage::from_record(&record, Some(copyright), vec![]);
        assert_eq!(p.license_declared.as_deref(), Some("Zlib"));
        assert_eq!(p.origin.as_deref(), Some("Debian"));
        assert_eq!(
            SbomPackage::from_record(&record, None, vec![]).license_declared,
            None
        );
    }

    #[test]
    fn ids_and_purls() {
        assert_eq!(
            spdx_ref(&["deb", "g++", "amd64"]),
            "SPDXRef-deb-gplusplus-amd64"
        );
        assert_eq!(purl_encode("1:2.3+dfsg~1"), "1%3A2.3%2Bdfsg~1");
    }

    /// A realistic set of packages, plus one whose license uses every SPDX id and exception
    /// the Debian mapping can produce (so the external validator checks the tables too).
    fn sample_input() -> SbomInput {
        let pkg =
            |name: &str, version: &str, license: Option<String>, depends: &[&str]| SbomPackage {
                name: name.into(),
                version: version.into(),
                architecture: "amd64".into(),
                sha256: eflow_outfile::hex(&Sha256::digest(name.as_bytes())),
                origin: None,
                license_declared: license,
                download_location: None,
                depends: depends.iter().map(|s| s.to_string()).collect(),
            };
        let copyright =
            "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n\
Files: *\nCopyright: 2001 A\nLicense: GPL-3+\n\n\
Files: lib/*\nCopyright: 2002 B\nLicense: LGPL-2.1+ or BSD-3-clause\n\n\
Files: doc/*\nCopyright: none\nLicense: public-domain\n\n\
Files: x.c\nCopyright: 2003 C\nLicense: GPL-2+ with OpenSSL exception\n";
        let all_ids = crate::spdx_license::all_ids().join(" AND ");
        let all_exceptions = crate::spdx_license::all_exceptions()
            .iter()
            .map(|e| format!("GPL-2.0-or-later WITH {e}"))
            .collect::<Vec<_>>()
            .join(" AND ");
        let mut origin_pkg = pkg(
            "moby-engine",
            "24.0.9-1",
            Some("Apache-2.0".into()),
            &["libc6"],
        );
        origin_pkg.origin = Some("Microsoft (packages)".into());
        origin_pkg.architecture = "amd64".into();
        SbomInput {
            image_name: "eflow".into(),
            image_version: "1.0.0".into(),
            tool_version: "0.1.0".into(),
            source_date_epoch: 1_700_000_000,
            build_digest: "ab".repeat(32),
            packages: vec![
                pkg(
                    "bash",
                    "5.2.15-2+b2",
                    crate::licenses_from_copyright(copyright),
                    &["libc6", "base-files", "missing"],
                ),
                pkg(
                    "libc6",
                    "2.36-9+deb12u4",
                    Some("LGPL-2.1-or-later".into()),
                    &[],
                ),
                pkg("g++", "4:12.2.0-3", None, &["libc6"]),
                pkg(
                    "base-files",
                    "12.4+deb12u5",
                    Some(
                        crate::licenses_from_copyright(
                            "Format: copyright-format/1.0\n\nFiles: *\nLicense: Perl\n",
                        )
                        .unwrap(),
                    ),
                    &[],
                ),
                pkg("all-ids", "1", Some(all_ids), &[]),
                pkg("all-exceptions", "1", Some(all_exceptions), &[]),
                origin_pkg,
            ],
        }
    }

    #[test]
    fn deterministic_and_order_independent() {
        let input = sample_input();
        let a = spdx_sbom_json(&input);
        let mut shuffled = input.clone();
        shuffled.packages.reverse();
        assert_eq!(spdx_sbom_json(&shuffled), a);
        assert!(a.contains("\"created\": \"2023-11-14T22:13:20Z\""));
        assert!(a.contains("\"Tool: eflow-image-0.1.0\""));
        assert!(a.contains("pkg:deb/debian/g%2B%2B@4%3A12.2.0-3?arch=amd64"));
        assert!(a.contains("\"Organization: Microsoft packages\""));
        let mut other_build = input.clone();
        other_build.build_digest = "cd".repeat(32);
        assert_ne!(
            spdx_sbom(&other_build)["documentNamespace"],
            spdx_sbom(&input)["documentNamespace"]
        );
        let v = spdx_sbom(&input);
        let rels = v["relationships"].as_array().unwrap();
        assert!(rels
            .iter()
            .any(|r| r["spdxElementId"] == "SPDXRef-deb-bash-amd64"
                && r["relationshipType"] == "DEPENDS_ON"
                && r["relatedSpdxElement"] == "SPDXRef-deb-libc6-amd64"));
        let refs: Vec<&str> = v["hasExtractedLicensingInfos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["licenseId"].as_str().unwrap())
            .collect();
        assert_eq!(
            refs,
            [
                "LicenseRef-GPL-2-plus-with-OpenSSL-exception",
                "LicenseRef-public-domain"
            ]
        );
    }

    /// The SPDX validator of the `spdx-tools` Python package (`pip install spdx-tools`), or the
    /// command in $PYSPDXTOOLS.
    fn pyspdxtools() -> String {
        std::env::var("PYSPDXTOOLS").unwrap_or_else(|_| "pyspdxtools".to_string())
    }

    #[test]
    fn sbom_validates_with_spdx_tools() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("eflow.spdx.json");
        std::fs::write(&path, spdx_sbom_json(&sample_input())).unwrap();
        let out = eflow_testkit::outcome(
            std::process::Command::new(pyspdxtools())
                .arg("-i")
                .arg(&path),
        );
        let text = out.all();
        assert!(out.success(), "pyspdxtools rejected the SBOM:\n{text}");
        assert!(
            !text.contains("ERROR") && !text.to_lowercase().contains("invalid"),
            "{text}"
        );
    }
}
