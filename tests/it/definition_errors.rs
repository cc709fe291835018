//! Bad input gets a clear error that names what and where, and loses nothing.

use crate::util::*;
use eflow_testkit::{path_str as s, run};
use std::path::Path;

/// Writes an image definition and recipes into a temporary project layout.
fn project(image: &str, recipes: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("recipes/images")).unwrap();
    std::fs::create_dir_all(d.path().join("guest-rootfs")).unwrap();
    std::fs::write(d.path().join("recipes/images/img.toml"), image).unwrap();
    for (name, body) in recipes {
        std::fs::write(d.path().join(format!("recipes/{name}.toml")), body).unwrap();
    }
    d
}

fn image_path(d: &Path) -> std::path::PathBuf {
    d.join("recipes/images/img.toml")
}

/// Runs `eflow-image ARGS`, expects exit status 1, returns stderr.
fn fails(args: &[&str], image: &Path) -> String {
    let out = run(eflow().args(args).arg(image).arg("--cache").arg(cache()));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected exit 1, stderr:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

const HEAD: &str = "[image]\nname = \"img\"\nversion = \"1\"\nrecipes = [\"base\"]\n\
                    [source.debian]\nsuites = [\"bookworm\"]\n";

#[test]
fn bad_toml_names_file_line_and_key() {
    let d = project(
        &format!("{HEAD}[[partition]]\nlabel = \"root\"\ntype = \"linux-root-x86-64\"\nsize = \"1GiB\"\nfilesytem = \"ext4\"\n"),
        &[("base", "[recipe]\nname = \"base\"\n")],
    );
    let e = fails(&["lock"], &image_path(d.path()));
    assert!(e.contains("img.toml:11:"), "{e}");
    assert!(e.contains("filesytem"), "{e}");

    let d = project(
        HEAD,
        &[("base", "[recipe]\nname = \"base\"\npackages = \"bash\"\n")],
    );
    let e = fails(&["lock"], &image_path(d.path()));
    assert!(e.contains("base.toml:3:"), "{e}");
}

#[test]
fn a_relative_path_exclude_is_named_with_its_line() {
    let d = project(
        &HEAD.replace(
            "recipes = [\"base\"]\n",
            "recipes = [\"base\"]\npath-exclude = [\"/usr/share/doc/*\", \"usr/share/man/*\"]\n",
        ),
        &[("base", "[recipe]\nname = \"base\"\n")],
    );
    let e = fails(&["lock"], &image_path(d.path()));
    assert!(e.contains("img.toml:5:"), "{e}");
    assert!(
        e.contains("image.path-exclude") && e.contains("usr/share/man/*"),
        "{e}"
    );
}

#[test]
fn unknown_recipe_and_cycle_are_named() {
    let d = project(
        HEAD,
        &[(
            "base",
            "[recipe]\nname = \"base\"\ndepends = [\"nosuch\"]\n",
        )],
    );
    let e = fails(&["lock"], &image_path(d.path()));
    assert!(e.contains("unknown recipe \"nosuch\""), "{e}");
    assert!(e.contains("base.toml:3:"), "{e}");

    let d = project(
        HEAD,
        &[
            (
                "base",
                "[recipe]\nname = \"base\"\ndepends = [\"kernel\"]\n",
            ),
            (
                "kernel",
                "[recipe]\nname = \"kernel\"\ndepends = [\"base\"]\n",
            ),
        ],
    );
    let e = fails(&["build"], &image_path(d.path()));
    assert!(e.contains("base -> kernel -> base"), "{e}");
}

#[test]
fn unsatisfiable_dependency_shows_the_chain() {
    let d = project(
        HEAD,
        &[(
            "base",
            "[recipe]\nname = \"base\"\npackages = [\"openssh-server\", \"libssl3 (>= 99)\"]\n",
        )],
    );
    let e = fails(&["lock"], &image_path(d.path()));
    assert!(e.contains("libssl3 (>= 99)"), "{e}");
    assert!(e.contains("base"), "names the recipe: {e}");
    assert!(e.contains("available"), "says what is available: {e}");
    assert!(
        !image_path(d.path()).with_extension("lock").exists(),
        "no lockfile on failure"
    );
}

#[test]
fn missing_or_stale_lockfile_says_what_to_run() {
    let d = project(
        HEAD,
        &[("base", "[recipe]\nname = \"base\"\npackages = [\"bash\"]\n")],
    );
    let e = fails(&["build"], &image_path(d.path()));
    assert!(e.contains("eflow-image lock"), "{e}");

    // A lockfile made for other package requests is stale.
    let lock = "version = 1\nimage = \"img\"\ninputs = \"sha256:00\"\nsource-date-epoch = 1\n";
    std::fs::write(image_path(d.path()).with_extension("lock"), lock).unwrap();
    let e = fails(&["build"], &image_path(d.path()));
    assert!(e.contains("lock --update"), "{e}");
}

#[test]
fn checksum_mismatch_discards_the_download_and_writes_nothing() {
    // Take the reference image with its real lockfile, but feed a wrong file for one package
    // through --packages: the build must stop, name the package and both digests, and leave
    // neither a cache entry nor an output under a final name.
    let d = tempfile::tempdir().unwrap();
    let recipes = d.path().join("recipes");
    std::fs::create_dir_all(recipes.join("images")).unwrap();
    for f in [
        "base.toml",
        "kernel.toml",
        "images/minimal.toml",
        "images/minimal.lock",
    ] {
        std::fs::copy(root().join("recipes").join(f), recipes.join(f)).unwrap();
    }
    let lock = lockfile("minimal");
    let first = &locked_packages(&lock)[0];
    let field = |k: &str| first[k].as_str().unwrap().to_string();
    let (name, path, sha) = (field("name"), field("path"), field("sha256"));
    let size = first["size"].as_integer().unwrap() as u64;
    let pkgdir = d.path().join("debs");
    std::fs::create_dir_all(&pkgdir).unwrap();
    let file_name = path.rsplit('/').next().unwrap();
    std::fs::write(pkgdir.join(file_name), vec![0x5a; size as usize]).unwrap();

    let cache_dir = d.path().join("cache");
    let out_dir = d.path().join("out");
    let out = run(eflow()
        .args(["build", "--offline", "--format", "tar", "--packages"])
        .arg(&pkgdir)
        .arg("--cache")
        .arg(&cache_dir)
        .arg("--out")
        .arg(&out_dir)
        .arg(recipes.join("images/minimal.toml")));
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(e.contains(&name) && e.contains(&sha), "{e}");
    assert!(e.contains("checksum mismatch"), "{e}");
    let blob = cache_dir.join("sha256").join(&sha[..2]).join(&sha);
    assert!(!blob.exists(), "a bad download reached the cache");
    let leftovers: Vec<_> = std::fs::read_dir(blob.parent().unwrap())
        .map(|r| r.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    assert!(!out_dir.join("minimal.rootfs.tar").exists());
}

/// A copy of the reference image and its lockfile in a temporary directory (recipes and guest
/// files still from the project), with `edit` applied to the lockfile's text.
fn reference_copy(dir: &Path, edit: impl Fn(&str) -> String) -> std::path::PathBuf {
    let text = std::fs::read_to_string(minimal()).unwrap().replacen(
        "[image]\n",
        &format!(
            "[image]\nrecipe-dir = {:?}\nfiles-dir = {:?}\n",
            root().join("recipes"),
            root().join("guest-rootfs")
        ),
        1,
    );
    let image = dir.join("minimal.toml");
    std::fs::write(&image, text).unwrap();
    let lock = std::fs::read_to_string(root().join("recipes/images/minimal.lock")).unwrap();
    std::fs::write(dir.join("minimal.lock"), edit(&lock)).unwrap();
    image
}

/// A lockfile's sha256 names a file in the cache: one that is not 64 lower-case hex digits
/// (a path such as `../../../tmp/evil.deb`) is refused, naming the line, before any use.
#[test]
fn a_lockfile_digest_that_is_not_a_sha256_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let image = reference_copy(d.path(), |lock| {
        let at = lock.find("sha256 = \"").unwrap() + "sha256 = \"".len();
        let end = at + lock[at..].find('"').unwrap();
        format!("{}../../../tmp/evil.deb{}", &lock[..at], &lock[end..])
    });
    let out = d.path().join("out");
    let e = fails(&["build", "--offline", "--out", s(&out)], &image);
    assert!(e.contains("minimal.lock:") && e.contains("sha256"), "{e}");
    assert!(
        e.contains("../../../tmp/evil.deb") && e.contains("64 lower-case hex"),
        "{e}"
    );
    assert!(!out.exists(), "nothing is written");
}

/// SOURCE_DATE_EPOCH outside 1970 to 9999 is refused before any work, naming the fix.
#[test]
fn source_date_epoch_out_of_range_is_refused_before_any_work() {
    let d = tempfile::tempdir().unwrap();
    let image = reference_copy(d.path(), str::to_string);
    for bad in ["-1", "292277026596", "9999999999999"] {
        let out = d.path().join("out");
        let o = run(eflow()
            .env("SOURCE_DATE_EPOCH", bad)
            .args(["build", "--offline", "--out"])
            .arg(&out)
            .arg(&image)
            .arg("--cache")
            .arg(cache()));
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{bad}: {e}");
        assert!(e.contains(bad) && e.contains("out of range"), "{bad}: {e}");
        assert!(!out.exists(), "{bad}: nothing is written");
    }
}
