//! The sign stage on a real guest: the minimal image's packages fetched (from the cache, or
//! the mirror), assembled and configured as `build` does, then `release::finish` with a key.
//! Checks the SBOM's licenses come from the packages' real Debian copyright files and that
//! `pyspdxtools` accepts it, and that `minisign` and `eflow-image verify` accept the release.
//!
//! Needs the package cache or the network (about 30 s from a warm cache).

use crate::util::*;
use eflow_builder::stages::fetch::{self, Cache, Fetcher};
use eflow_builder::stages::package::Staged;
use eflow_builder::stages::plan::Plan;
use eflow_testkit::{outcome, path_str as s};

#[test]
fn minimal_image_release_files() {
    let plan = Plan::load(&minimal()).unwrap();
    let fetcher = Fetcher::new(Cache::new(Cache::default_dir()), false, None, false);
    let debs = fetch::run(&plan, &fetcher, None, &|m| eprintln!("{m}")).unwrap();
    let mut assembled = eflow_builder::stages::assemble::assemble(
        &debs,
        &fetcher.cache().contents(),
        &plan.overrides(),
        &plan.architecture(),
        plan.source_date_epoch,
    )
    .unwrap();
    eflow_builder::stages::configure::run(
        &mut assembled.tree,
        &plan,
        &assembled.packages,
        &assembled.owners,
    )
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let keys = tempfile::tempdir().unwrap();
    let (sk_path, pk) = (keys.path().join("k.key"), keys.path().join("k.pub"));
    keygen(&sk_path, &pk);
    let sk = eflow_signing::load_secret_key_file(&sk_path, None).unwrap();
    let raw = dir.path().join("minimal.raw");
    let output = Staged::bytes(&raw, b"stand-in for the disk").unwrap();
    let files = eflow_builder::stages::sign::stage(
        &plan,
        &assembled.tree,
        std::slice::from_ref(&output),
        None,
        dir.path(),
        Some(&sk),
    )
    .unwrap()
    .commit(vec![output])
    .unwrap();
    assert!(files.signed);

    // Licenses come from the real copyright files: most packages declare one.
    let sbom: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&files.sbom).unwrap()).unwrap();
    let packages = sbom["packages"].as_array().unwrap();
    assert_eq!(packages.len(), plan.lock.packages.len() + 1);
    let declared = packages
        .iter()
        .filter(|p| p["licenseDeclared"] != "NOASSERTION")
        .count();
    eprintln!(
        "{declared} of {} packages declare a license",
        plan.lock.packages.len()
    );
    for p in packages.iter().take(12) {
        eprintln!("  {} {}", p["name"], p["licenseDeclared"]);
    }
    assert!(
        declared * 10 >= plan.lock.packages.len() * 8,
        "only {declared} of {} packages have a declared license",
        plan.lock.packages.len()
    );
    let relationships = sbom["relationships"].as_array().unwrap();
    assert!(relationships
        .iter()
        .any(|r| r["relationshipType"] == "DEPENDS_ON"));

    let v = pyspdxtools(&files.sbom);
    assert_eq!(v.code, 0, "pyspdxtools rejected the SBOM: {}", v.all());
    for f in [&raw, &files.sbom, &files.manifest] {
        let m = minisign_verify(f, &pk);
        assert_eq!(m.code, 0, "{}", m.all());
    }
    let r = outcome(eflow().args(["verify", s(&files.manifest), "--pubkey", s(&pk)]));
    assert_eq!(r.code, 0, "{}", r.all());
}
