//! An image definition's `[provisioning]` section becomes /etc/aziot/config.toml (root, 0600),
//! and its secret appears nowhere but there: not in the build's output nor its manifest.

use crate::util::*;
use eflow_testkit::ok;
use std::process::Command;

const SECRET: &str = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seQ==";

#[test]
fn provisioning_section_renders_config_toml_and_keeps_the_secret_in() {
    let d = tempfile::tempdir().unwrap();
    let image = d.path().join("prov.toml");
    let reference = std::fs::read_to_string(minimal()).unwrap();
    let text = reference.replace(
        "[image]\n",
        &format!(
            "[image]\nrecipe-dir = \"{}\"\nfiles-dir = \"{}\"\n",
            root().join("recipes").display(),
            root().join("guest-rootfs").display()
        ),
    ) + &format!(
        "\n[provisioning]\nkind = \"dps_symmetric_key\"\nid_scope = \"0ne00000001\"\n\
         registration_id = \"device-1\"\nsymmetric_key = \"{SECRET}\"\n"
    );
    std::fs::write(&image, text).unwrap();
    std::fs::copy(
        minimal().with_extension("lock"),
        image.with_extension("lock"),
    )
    .unwrap();

    let out_dir = d.path().join("out");
    let out = ok(eflow()
        .args(["build", "--format", "tar", "--out"])
        .arg(&out_dir)
        .arg("--cache")
        .arg(cache())
        .arg(&image));
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!printed.contains(SECRET), "the build printed the secret");
    for f in ["minimal.manifest.json", "minimal.spdx.json"] {
        let text = std::fs::read_to_string(out_dir.join(f)).unwrap();
        assert!(!text.contains(SECRET), "{f} contains the secret");
    }

    let tar = out_dir.join("minimal.rootfs.tar");
    let list = ok(Command::new("tar")
        .arg("-tvf")
        .arg(&tar)
        .arg("--numeric-owner")
        .arg("etc/aziot/config.toml"));
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(list.starts_with("-rw------- 0/0 "), "{list}");
    let config = ok(Command::new("tar")
        .arg("-xOf")
        .arg(&tar)
        .arg("etc/aziot/config.toml"));
    let config: toml::Value = toml::from_str(&String::from_utf8_lossy(&config.stdout)).unwrap();
    assert_eq!(config["hostname"].as_str(), Some("eflow-minimal"));
    assert_eq!(config["provisioning"]["source"].as_str(), Some("dps"));
    assert_eq!(
        config["provisioning"]["id_scope"].as_str(),
        Some("0ne00000001")
    );
    assert_eq!(
        config["provisioning"]["attestation"]["method"].as_str(),
        Some("symmetric_key")
    );
}
