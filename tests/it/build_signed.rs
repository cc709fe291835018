//! `build --sign` with the key from $EFLOW_SIGNING_KEY (a CI secret): every output, the SBOM
//! and the manifest are signed, `minisign` accepts them and `verify` checks the whole release.

use crate::util::*;
use eflow_testkit::{ok, require_tool};
use std::process::Command;

#[test]
fn build_signs_with_a_key_from_the_environment() {
    require_tool("minisign");
    let d = tempfile::tempdir().unwrap();
    let (sk, pk) = (d.path().join("k.key"), d.path().join("k.pub"));
    keygen(&sk, &pk);
    let key_text = std::fs::read_to_string(&sk).unwrap();
    let out_dir = d.path().join("out");
    let out = ok(eflow()
        .args(["build", "--format", "tar", "--sign", "--out"])
        .arg(&out_dir)
        .arg("--cache")
        .arg(cache())
        .arg(minimal())
        .env("EFLOW_SIGNING_KEY", &key_text));
    let printed =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let secret_line = key_text.lines().nth(1).unwrap();
    assert!(
        !printed.contains(secret_line),
        "the build printed the secret key"
    );
    for f in [
        "minimal.rootfs.tar",
        "minimal.spdx.json",
        "minimal.manifest.json",
    ] {
        ok(Command::new("minisign")
            .arg("-Vm")
            .arg(out_dir.join(f))
            .arg("-p")
            .arg(&pk));
    }
    ok(eflow()
        .arg("verify")
        .arg(out_dir.join("minimal.manifest.json"))
        .arg("--pubkey")
        .arg(&pk));
}
