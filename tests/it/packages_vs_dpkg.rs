//! Every package of the reference lockfile unpacked into the Tree gives the same paths,
//! contents, modes, owners and link targets as `dpkg-deb -x` / `dpkg-deb --fsys-tarfile`.

use crate::util::*;
use eflow_testkit::require_tool;

#[test]
fn every_locked_package_unpacks_like_dpkg_deb() {
    require_tool("dpkg-deb");
    // A build fills the cache with every locked package, verified.
    let out = tempfile::tempdir().unwrap();
    build_minimal(out.path(), "tar");

    let lock = lockfile("minimal");
    let digests: Vec<(&str, &str)> = locked_packages(&lock)
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["sha256"].as_str().unwrap()))
        .collect();
    assert!(
        digests.len() > 100,
        "the reference lock has the whole closure"
    );
    let mut failures = Vec::new();
    for (name, sha) in &digests {
        let deb = cache().join("sha256").join(&sha[..2]).join(sha);
        if let Err(e) = eflow_deb::testing::compare_with_dpkg_deb(&deb) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
