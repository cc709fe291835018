//! Every package of the reference lockfile unpacked into the Tree gives the same paths,
//! contents, modes, owners and link targets as `dpkg-deb -x` / `dpkg-deb --fsys-tarfile`.

mod common;

use common::*;

#[test]
fn every_locked_package_unpacks_like_dpkg_deb() {
    require_tool("dpkg-deb");
    // A build fills the cache with every locked package, verified.
    let out = tempfile::tempdir().unwrap();
    build_minimal(out.path(), "tar");

    let lock = std::fs::read_to_string(root().join("recipes/images/minimal.lock")).unwrap();
    let digests: Vec<(&str, &str)> = lock
        .split("[[package]]")
        .skip(1)
        .map(|stanza| {
            let field = |k: &str| {
                stanza
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{k} = \"")))
                    .map(|v| v.trim_end_matches('"'))
                    .unwrap()
            };
            (field("name"), field("sha256"))
        })
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
