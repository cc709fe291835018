//! Checks the DEP-5 license mapping against the real copyright files of the host:
//! builds an SBOM with one package per `/usr/share/doc/*/copyright` and writes it to the path
//! given, for an SPDX validator:
//!
//! ```sh
//! cargo run -p eflow-signing --example host_copyright_sbom -- /tmp/host.spdx.json
//! pyspdxtools -i /tmp/host.spdx.json
//! ```

use std::fs;

use eflow_signing::{licenses_from_copyright, spdx_sbom_json, SbomInput, SbomPackage};

fn main() {
    let out = std::env::args()
        .nth(1)
        .expect("usage: host_copyright_sbom OUTPUT.spdx.json");
    let mut names: Vec<String> = fs::read_dir("/usr/share/doc")
        .expect("/usr/share/doc")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut packages = Vec::new();
    let (mut dep5, mut other) = (0, 0);
    for name in names {
        let Ok(text) = fs::read_to_string(format!("/usr/share/doc/{name}/copyright")) else {
            continue;
        };
        let license = licenses_from_copyright(&text);
        if license.is_some() {
            dep5 += 1;
        } else {
            other += 1;
        }
        packages.push(SbomPackage {
            name: name.clone(),
            version: "0".into(),
            architecture: "amd64".into(),
            sha256: "0".repeat(64),
            origin: None,
            license_declared: license,
            download_location: None,
            depends: Vec::new(),
        });
    }
    let input = SbomInput {
        image_name: "host".into(),
        image_version: "0".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        source_date_epoch: 0,
        build_digest: "0".repeat(64),
        packages,
    };
    fs::write(&out, spdx_sbom_json(&input)).expect("write");
    eprintln!("{dep5} machine-readable copyright files, {other} others; wrote {out}");
}
