//! The sign stage of a build (`eflow_builder::stages::sign`): manifest, SBOM and signatures,
//! checked with tools nobody here wrote (`minisign -V`, `pyspdxtools -i`) and with
//! `eflow-image verify` on the manifest: every output's signature and digest, and tampering
//! named per file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use eflow_builder::stages::sign::{self as release, PlanRecords, ReleaseInput};
use eflow_signing::{
    FileDigest, Hasher, InputDigests, Manifest, PackageRecord, PackageSource, RecipeDigest,
};
use eflow_testkit::{flip_byte, outcome, path_str as s, Outcome};

use crate::util::{keygen, minimal, minisign_verify, pyspdxtools};

/// Runs `eflow-image ARGS`.
fn eflow(args: &[&str]) -> Outcome {
    outcome(crate::util::eflow().args(args))
}

fn sha256_hex(bytes: &[u8]) -> String {
    eflow_signing::Hasher::digest_reader(bytes)
        .unwrap()
        .sha256_hex()
}

/// Copyright files in Debian's machine-readable format, as packages ship them.
const COPYRIGHTS: &[(&str, &str)] = &[
    (
        "bash",
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\
Upstream-Name: bash\n\nFiles: *\nCopyright: 1987-2022 Free Software Foundation, Inc.\n\
License: GPL-3+\n\nFiles: lib/sh/*\nCopyright: 1999 Someone\nLicense: BSD-3-clause\n",
    ),
    (
        "libc6",
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n\
Files: *\nCopyright: 1991-2023 Free Software Foundation, Inc.\n\
License: LGPL-2.1+ and GPL-2+ with GCC-Runtime-3.1 exception\n\n\
Files: debian/*\nCopyright: 2000 Debian\nLicense: Some-Custom-License\n",
    ),
];

/// A release directory with a fake disk image and tar, an input describing them, and an
/// unencrypted key pair made with `eflow-image keygen`.
fn setup(dir: &Path) -> (ReleaseInput, PathBuf, PathBuf) {
    let vhdx: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 253) as u8).collect();
    let tar = b"rootfs tar bytes".to_vec();
    std::fs::write(dir.join("demo.vhdx"), &vhdx).unwrap();
    std::fs::write(dir.join("demo.rootfs.tar"), &tar).unwrap();
    let record = |name: &str, c: char| PackageRecord {
        name: name.into(),
        version: "1.0-1".into(),
        architecture: "amd64".into(),
        sha256: c.to_string().repeat(64),
        source: PackageSource {
            suite: "bookworm".into(),
            origin: "Debian".into(),
        },
    };
    let input = ReleaseInput {
        partitions: Vec::new(),
        image_name: "demo".into(),
        image_version: "1.2.3".into(),
        records: PlanRecords {
            tool_version: "0.1.0".into(),
            tool_digest: "9".repeat(64),
            source_date_epoch: 1_700_000_000,
            packages: vec![
                record("bash", 'a'),
                record("libc6", 'b'),
                record("no-copyright", 'c'),
            ],
            recipes: vec![RecipeDigest {
                name: "base".into(),
                sha256: "d".repeat(64),
            }],
            inputs: InputDigests {
                image_definition: FileDigest {
                    path: "recipes/images/demo.toml".into(),
                    sha256: "e".repeat(64),
                },
                lockfile: FileDigest {
                    path: "recipes/images/demo.lock".into(),
                    sha256: "f".repeat(64),
                },
                guest_rootfs: vec![FileDigest {
                    path: "guest-rootfs/etc/hostname".into(),
                    sha256: "1".repeat(64),
                }],
            },
        },
        outputs: vec![
            (
                "demo.vhdx".into(),
                Hasher::digest_reader(&vhdx[..]).unwrap(),
            ),
            (
                "demo.rootfs.tar".into(),
                Hasher::digest_reader(&tar[..]).unwrap(),
            ),
        ],
        copyrights: COPYRIGHTS
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect(),
        depends: BTreeMap::from([("bash".to_string(), vec!["libc6".to_string()])]),
    };
    let keys = dir.join("keys");
    std::fs::create_dir(&keys).unwrap();
    let sk = keys.join("release.key");
    let pk = keys.join("release.pub");
    keygen(&sk, &pk);
    (input, sk, pk)
}

/// Flips a bit of the byte at `at`; flipping it again restores the file.
fn flip(path: &Path, at: usize) {
    flip_byte(path, at as u64, 0x20);
}

#[test]
fn signed_release_verifies_with_minisign_and_verify_names_tampered_files() {
    let dir = tempfile::tempdir().unwrap();
    let (input, sk_path, pk) = setup(dir.path());
    let sk = eflow_signing::load_secret_key_file(&sk_path, None).unwrap();
    let files = release::write_release(&input, dir.path(), Some(&sk)).unwrap();
    assert!(files.signed);
    let manifest = dir.path().join("demo.manifest.json");
    assert_eq!(files.manifest, manifest);

    // Every file the stage wrote and every output verifies with the stock minisign.
    for name in [
        "demo.vhdx",
        "demo.rootfs.tar",
        "demo.spdx.json",
        "demo.manifest.json",
    ] {
        let m = minisign_verify(&dir.path().join(name), &pk);
        assert_eq!(m.code, 0, "minisign refused {name}: {}", m.all());
        assert!(
            m.all().contains(&format!("file:{name} sha256:")),
            "{}",
            m.all()
        );
    }

    // The manifest lists the SBOM with its digest; it parses back.
    let m = Manifest::from_json(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    let sbom = std::fs::read(dir.path().join("demo.spdx.json")).unwrap();
    let entry = m
        .outputs
        .iter()
        .find(|o| o.name == "demo.spdx.json")
        .unwrap();
    assert_eq!(entry.sha256, sha256_hex(&sbom));

    // Both ways of asking for a manifest check.
    for args in [
        vec!["verify", s(&manifest), "--pubkey", s(&pk)],
        vec!["verify", "--manifest", s(&manifest), "--pubkey", s(&pk)],
    ] {
        let r = eflow(&args);
        assert_eq!(r.code, 0, "{}", r.all());
        for name in ["demo.vhdx", "demo.rootfs.tar", "demo.spdx.json"] {
            assert!(
                r.stdout.contains(&format!("OK     {name}: signature")),
                "{}",
                r.all()
            );
            assert!(
                r.stdout.contains(&format!("OK     {name}: sha256")),
                "{}",
                r.all()
            );
        }
    }

    // A flipped byte in the VHDX: minisign refuses it; verify fails (3) naming the file and
    // both its checks, and still passes the others.
    let vhdx = dir.path().join("demo.vhdx");
    flip(&vhdx, 150_000);
    let mm = minisign_verify(&vhdx, &pk);
    assert_ne!(mm.code, 0, "minisign accepted a modified VHDX");
    let r = eflow(&["verify", s(&manifest), "--pubkey", s(&pk)]);
    assert_eq!(r.code, 3, "{}", r.all());
    assert!(
        r.stderr.contains("signature failed for demo.vhdx"),
        "{}",
        r.all()
    );
    assert!(
        r.stderr.contains("sha256 failed for demo.vhdx"),
        "{}",
        r.all()
    );
    assert!(
        r.stdout.contains("OK     demo.rootfs.tar: sha256"),
        "{}",
        r.all()
    );
    let json = eflow(&["verify", s(&manifest), "--pubkey", s(&pk), "--json"]);
    assert_eq!(json.code, 3);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["ok"], false);
    flip(&vhdx, 150_000);

    // A file replaced together with a fresh signature from another key: the signature check
    // names the key mismatch, the manifest digest check the content.
    let other = tempfile::tempdir().unwrap();
    let (_, other_sk, _) = setup(other.path());
    let tar = dir.path().join("demo.rootfs.tar");
    let saved_tar = std::fs::read(&tar).unwrap();
    let saved_sig = std::fs::read(dir.path().join("demo.rootfs.tar.minisig")).unwrap();
    std::fs::write(&tar, b"evil tar bytes!!").unwrap();
    let r = eflow(&["sign", s(&tar), "--secret-key", s(&other_sk)]);
    assert_eq!(r.code, 0, "{}", r.all());
    let r = eflow(&["verify", s(&manifest), "--pubkey", s(&pk)]);
    assert_eq!(r.code, 3, "{}", r.all());
    assert!(
        r.stderr
            .contains("signature failed for demo.rootfs.tar: key id mismatch"),
        "{}",
        r.all()
    );
    assert!(
        r.stderr.contains("sha256 failed for demo.rootfs.tar"),
        "{}",
        r.all()
    );
    std::fs::write(&tar, saved_tar).unwrap();
    std::fs::write(dir.path().join("demo.rootfs.tar.minisig"), saved_sig).unwrap();

    // A flipped byte in the manifest: both tools refuse it and verify stops there.
    let saved = std::fs::read(&manifest).unwrap();
    let at = String::from_utf8_lossy(&saved).find("1.2.3").unwrap();
    flip(&manifest, at);
    let mm = minisign_verify(&manifest, &pk);
    assert_ne!(mm.code, 0, "minisign accepted a modified manifest");
    let r = eflow(&["verify", s(&manifest), "--pubkey", s(&pk)]);
    assert_eq!(r.code, 3, "{}", r.all());
    assert!(
        r.stderr.contains("signature failed for demo.manifest.json"),
        "{}",
        r.all()
    );
    assert!(!r.stdout.contains("demo.vhdx"), "{}", r.all());
    std::fs::write(&manifest, saved).unwrap();

    // A missing output: an error (1) naming it.
    std::fs::remove_file(dir.path().join("demo.rootfs.tar")).unwrap();
    let r = eflow(&["verify", s(&manifest), "--pubkey", s(&pk)]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stderr.contains("demo.rootfs.tar"), "{}", r.all());
    assert!(r.stderr.contains("no such file"), "{}", r.all());
}

#[test]
fn sbom_passes_the_spdx_validator_and_release_is_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _, _) = setup(dir.path());
    let files = release::write_release(&input, dir.path(), None).unwrap();
    assert!(!files.signed && files.signatures.is_empty());
    let v = pyspdxtools(&files.sbom);
    assert_eq!(v.code, 0, "pyspdxtools rejected the SBOM: {}", v.all());
    let text = std::fs::read_to_string(&files.sbom).unwrap();
    assert!(text.contains("GPL-3.0-or-later"), "{text}");
    assert!(text.contains("LGPL-2.1-or-later"), "{text}");
    assert!(text.contains("LicenseRef-"), "{text}");
    assert!(text.contains("DEPENDS_ON"), "{text}");

    // A second run in another directory writes the same bytes.
    let dir2 = tempfile::tempdir().unwrap();
    let (input2, _, _) = setup(dir2.path());
    let files2 = release::write_release(&input2, dir2.path(), None).unwrap();
    for (a, b) in [
        (&files.manifest, &files2.manifest),
        (&files.sbom, &files2.sbom),
    ] {
        assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    }
}

/// The manifest inputs of the project's own image definition: project-relative paths only,
/// every recipe and guest-rootfs file digested, and the SBOM of its locked packages valid.
#[test]
fn release_input_of_the_minimal_image() {
    let image = minimal();
    let plan = eflow_builder::stages::plan::Plan::load(&image).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("minimal.raw");
    let outputs = [eflow_builder::stages::package::Staged::bytes(&raw, b"raw").unwrap()];
    let tree = eflow_tree::Tree::new();
    let input = release::release_input(&plan, &tree, &outputs).unwrap();
    assert_eq!(
        input.records.inputs.image_definition.path,
        "recipes/images/minimal.toml"
    );
    assert_eq!(
        input.records.inputs.lockfile.path,
        "recipes/images/minimal.lock"
    );
    let lock = std::fs::read(image.with_extension("lock")).unwrap();
    assert_eq!(input.records.inputs.lockfile.sha256, sha256_hex(&lock));
    assert_eq!(input.records.packages.len(), plan.lock.packages.len());
    assert_eq!(input.records.recipes.len(), plan.recipes.recipes.len());
    let files: usize = plan.recipes.recipes.iter().map(|r| r.def.files.len()).sum();
    assert_eq!(input.records.inputs.guest_rootfs.len(), files);
    assert!(input
        .records
        .inputs
        .guest_rootfs
        .iter()
        .all(|f| f.path.starts_with("guest-rootfs/")));
    let files = release::write_release(&input, dir.path(), None).unwrap();
    let manifest = std::fs::read_to_string(&files.manifest).unwrap();
    assert!(!manifest.contains(env!("CARGO_MANIFEST_DIR")), "{manifest}");
    let v = pyspdxtools(&files.sbom);
    assert_eq!(v.code, 0, "pyspdxtools rejected the SBOM: {}", v.all());
}

/// Damaged signatures are failed checks (3); a signed file that is not a manifest, or a
/// manifest naming files outside its directory, is an error (1) and nothing outside is read.
#[test]
fn garbage_signatures_and_hostile_manifests() {
    let dir = tempfile::tempdir().unwrap();
    let (input, sk, pk) = setup(dir.path());
    let key = eflow_signing::load_secret_key_file(&sk, None).unwrap();
    release::write_release(&input, dir.path(), Some(&key)).unwrap();
    let sig = dir.path().join("demo.vhdx.minisig");
    let good = std::fs::read(&sig).unwrap();
    let vhdx = dir.path().join("demo.vhdx");
    let damaged: Vec<Vec<u8>> = vec![
        Vec::new(),
        good[..good.len() / 2].to_vec(),
        b"\x00\xffgarbage\n".to_vec(),
        {
            let mut b = good.clone();
            let at = b.len() - 10;
            b[at] ^= 0x04;
            b
        },
        String::from_utf8_lossy(&good)
            .replace("file:demo.vhdx", "file:other.vhdx")
            .into_bytes(),
        vec![b'A'; 70 * 1024],
    ];
    for bad in damaged {
        std::fs::write(&sig, &bad).unwrap();
        let r = eflow(&["verify", s(&vhdx), "--pubkey", s(&pk)]);
        assert!(r.code == 3 || r.code == 1, "{}", r.all());
        assert!(r.stderr.contains("demo.vhdx"), "{}", r.all());
        let m = minisign_verify(&vhdx, &pk);
        assert_ne!(m.code, 0, "minisign accepted a damaged signature");
    }
    std::fs::write(&sig, &good).unwrap();

    // A signed file that is not a manifest.
    let fake = dir.path().join("fake.manifest.json");
    std::fs::write(&fake, b"{\"format\": 1, \"outputs\": [").unwrap();
    let r = eflow(&["sign", s(&fake), "--secret-key", s(&sk)]);
    assert_eq!(r.code, 0, "{}", r.all());
    let r = eflow(&["verify", s(&fake), "--pubkey", s(&pk)]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stderr.contains("is not a build manifest"), "{}", r.all());

    // A signed manifest naming a file outside its directory: refused, not read.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), b"x").unwrap();
    let mut m = Manifest::from_json(
        &std::fs::read_to_string(dir.path().join("demo.manifest.json")).unwrap(),
    )
    .unwrap();
    m.outputs.push(eflow_signing::OutputFile {
        name: format!(
            "../{}/secret",
            outside.path().file_name().unwrap().to_str().unwrap()
        ),
        size: 1,
        sha256: sha256_hex(b"x"),
    });
    let hostile = dir.path().join("hostile.manifest.json");
    std::fs::write(&hostile, m.to_json().unwrap()).unwrap();
    let r = eflow(&["sign", s(&hostile), "--secret-key", s(&sk)]);
    assert_eq!(r.code, 0, "{}", r.all());
    let r = eflow(&["verify", s(&hostile), "--pubkey", s(&pk)]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stderr.contains("outside its directory"), "{}", r.all());
    assert!(r.stdout.contains("OK     demo.vhdx: sha256"), "{}", r.all());
}
