//! `build --timings` and the up-to-date check, on the reference image built for real.
//!
//! One test, in phases that each start from the files the last one left: a full build with
//! `--timings --json` (every stage named, numbers in the JSON); the same build again, reported
//! up to date without touching a file's bytes or mtime; one flipped byte of an output, another
//! set of formats and an edited recipe, each leading to a full rebuild whose outputs are those
//! of the first build. The project is a copy of `recipes/` (so a recipe can be edited) next to
//! a link to `guest-rootfs/`.
//!
//! Needs the package cache or the network; four full builds (about 2 minutes).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::time::SystemTime;

use crate::util::*;
use eflow_testkit::{flip_byte, ok, sha256sum};

/// Every file of `dir`: name -> (SHA-256, mtime).
fn snapshot(dir: &Path) -> BTreeMap<String, (String, SystemTime)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let mtime = e.metadata().unwrap().modified().unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                (sha256sum(&e.path()), mtime),
            )
        })
        .collect()
}

/// `build --json` of `image` into `out` with `formats` and any `extra` flags; the JSON
/// result and the progress lines.
fn build_json(
    image: &Path,
    out: &Path,
    formats: &str,
    extra: &[&str],
) -> (serde_json::Value, String) {
    let o: Output = ok(eflow()
        .args(["--json", "build"])
        .arg(image)
        .args(["--format", formats, "--out"])
        .arg(out)
        .arg("--cache")
        .arg(cache())
        .args(extra));
    let json = serde_json::from_slice(&o.stdout).expect("build --json prints JSON");
    (json, String::from_utf8_lossy(&o.stderr).into_owned())
}

/// The SHA-256 the result reports for the output of `format`.
fn reported(json: &serde_json::Value, format: &str) -> String {
    json["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["format"] == format)
        .unwrap_or_else(|| panic!("no {format} output in {json}"))["sha256"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn timings_then_up_to_date_then_rebuilds() {
    let project = tempfile::tempdir().unwrap();
    ok(std::process::Command::new("cp")
        .arg("-r")
        .arg(root().join("recipes"))
        .arg(project.path()));
    std::os::unix::fs::symlink(
        root().join("guest-rootfs"),
        project.path().join("guest-rootfs"),
    )
    .unwrap();
    let image = project.path().join("recipes/images/minimal.toml");
    let out = project.path().join("out");

    // A full build, timed: every stage in the table on stderr and in the JSON, with numbers.
    let (first, log) = build_json(&image, &out, "tar,vhdx", &["--timings"]);
    assert_eq!(first["up_to_date"], false, "{first}");
    let stages = [
        "plan",
        "check",
        "fetch",
        "assemble",
        "configure",
        "boot",
        "disk",
        "tar",
        "vhdx",
        "sign",
    ];
    let table: Vec<&str> = log
        .lines()
        .skip_while(|l| !l.starts_with("stage "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let mut expected = vec!["stage"];
    expected.extend(stages);
    expected.push("total");
    assert_eq!(table, expected, "the --timings table:\n{log}");
    let timed = first["timings"]["stages"]
        .as_array()
        .expect("timings in the JSON");
    let names: Vec<&str> = timed.iter().map(|s| s["stage"].as_str().unwrap()).collect();
    assert_eq!(names, stages);
    for s in timed.iter().chain([&first["timings"]["total"]]) {
        for key in ["wall_seconds", "cpu_seconds"] {
            let v = s[key].as_f64().unwrap_or_else(|| panic!("{key} of {s}"));
            assert!(v >= 0.0, "{s}");
        }
    }
    let total = first["timings"]["total"]["wall_seconds"].as_f64().unwrap();
    assert!(
        total > 1.0,
        "a full build takes more than a second: {total}"
    );
    let built = snapshot(&out);
    let tar = reported(&first, "tar");
    let vhdx = reported(&first, "vhdx");
    assert_eq!(built["minimal.vhdx"].0, vhdx);

    // Nothing changed: up to date, every file's bytes and mtime as they were. Without
    // --timings the JSON has none.
    let (second, log) = build_json(&image, &out, "tar,vhdx", &[]);
    assert_eq!(second["up_to_date"], true, "{second}\n{log}");
    assert!(log.contains("up to date"), "{log}");
    assert!(second.get("timings").is_none(), "{second}");
    assert_eq!(reported(&second, "tar"), tar);
    assert_eq!(reported(&second, "vhdx"), vhdx);
    assert_eq!(second["manifest"], first["manifest"]);
    assert_eq!(snapshot(&out), built);

    // One flipped byte: a full rebuild writes the output again, identical to the first.
    let disk = out.join("minimal.vhdx");
    flip_byte(&disk, std::fs::metadata(&disk).unwrap().len() / 2, 0x01);
    let (third, log) = build_json(&image, &out, "tar,vhdx", &[]);
    assert!(log.contains("rebuild: minimal.vhdx changed"), "{log}");
    assert_eq!(third["up_to_date"], false);
    let rebuilt = snapshot(&out);
    for (name, (sha, _)) in &built {
        assert_eq!(&rebuilt[name].0, sha, "{name} differs after the rebuild");
    }

    // Another set of formats: a rebuild, whose manifest lists only what was asked for.
    let (fourth, log) = build_json(&image, &out, "vhdx", &[]);
    assert!(log.contains("rebuild: the last build wrote"), "{log}");
    assert_eq!(fourth["up_to_date"], false);
    assert_eq!(reported(&fourth, "vhdx"), vhdx);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("minimal.manifest.json")).unwrap()).unwrap();
    let listed: Vec<&str> = manifest["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["minimal.spdx.json", "minimal.vhdx"]);

    // An edited recipe (a comment: the lockfile stays valid, the image the same): a rebuild,
    // the same disk, the manifest recording the new recipe; then up to date again.
    let recipe = project.path().join("recipes/base.toml");
    let text = std::fs::read_to_string(&recipe).unwrap();
    std::fs::write(&recipe, format!("{text}\n# edited\n")).unwrap();
    let (fifth, log) = build_json(&image, &out, "vhdx", &[]);
    assert!(log.contains("rebuild: recipe base changed"), "{log}");
    assert_eq!(fifth["up_to_date"], false);
    assert_eq!(reported(&fifth, "vhdx"), vhdx);
    assert_eq!(sha256sum(&disk), vhdx);
    let (sixth, log) = build_json(&image, &out, "vhdx", &[]);
    assert_eq!(sixth["up_to_date"], true, "{log}");
}
