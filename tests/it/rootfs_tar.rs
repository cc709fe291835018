//! The reference image built as a rootfs tarball, checked with GNU tar, and rebuilt under a
//! different directory, umask, TZ and LANG, and without the store of unpacked contents, to the
//! same bytes.

use crate::util::*;
use eflow_testkit::{ok, ok_stdout, sha256sum};
use std::process::Command;

fn listing(tar: &std::path::Path) -> String {
    let out = ok(Command::new("tar")
        .arg("-tvf")
        .arg(tar)
        .arg("--numeric-owner")
        .env("TZ", "UTC"));
    String::from_utf8(out.stdout).expect("tar prints UTF-8 for this image")
}

fn line<'a>(list: &'a str, path: &str) -> &'a str {
    list.lines()
        .find(|l| l.ends_with(&format!(" {path}")) || l.contains(&format!(" {path} -> ")))
        .unwrap_or_else(|| panic!("{path} is not in the tarball"))
}

#[test]
fn rootfs_tar_has_owners_modes_and_links() {
    let dir = tempfile::tempdir().unwrap();
    build_minimal(dir.path(), "tar");
    let tar = dir.path().join("minimal.rootfs.tar");
    let list = listing(&tar);

    assert!(
        line(&list, "etc/shadow").starts_with("-rw-r----- 0/42 "),
        "{}",
        line(&list, "etc/shadow")
    );
    assert!(
        line(&list, "usr/bin/passwd").starts_with("-rwsr-xr-x 0/0 "),
        "{}",
        line(&list, "usr/bin/passwd")
    );
    assert!(line(&list, "bin").starts_with("lrwxrwxrwx 0/0 "));
    assert!(list.contains(" bin -> usr/bin\n"), "merged /usr symlink");
    assert!(
        list.contains(" usr/bin/awk -> /etc/alternatives/awk\n"),
        "recipe symlink"
    );
    assert!(
        list.lines()
            .any(|l| l.starts_with('h') && l.contains(" link to ")),
        "hard links are kept as links"
    );
    // System files are root's.
    for l in list
        .lines()
        .filter(|l| l.contains(" usr/bin/") || l.contains(" usr/lib/systemd/"))
    {
        let owner = l.split_whitespace().nth(1).unwrap();
        assert!(owner.starts_with("0/"), "not root-owned: {l}");
    }
    // First boot: empty machine-id, no SSH host keys.
    assert!(
        line(&list, "etc/machine-id").contains(" 0 "),
        "{}",
        line(&list, "etc/machine-id")
    );
    assert!(
        !list.contains("ssh_host_"),
        "SSH host keys must not be in the image"
    );
    // dpkg database, for `dpkg -l` in the guest.
    assert!(list.contains(" var/lib/dpkg/status\n"));
    // Entries are sorted depth first (a directory, then its subtree; names in byte order) ...
    let keys: Vec<Vec<String>> = list
        .lines()
        .map(|l| {
            let name = l.split_whitespace().nth(5).unwrap();
            name.trim_end_matches('/')
                .trim_start_matches("./")
                .split('/')
                .filter(|c| !c.is_empty() && *c != ".")
                .map(str::to_string)
                .collect()
        })
        .collect();
    for w in keys.windows(2) {
        assert!(
            w[0] < w[1],
            "tar entries out of order: {:?} before {:?}",
            w[0],
            w[1]
        );
    }
    // ... and no mtime is later than SOURCE_DATE_EPOCH (the lockfile's).
    let lock = lockfile("minimal");
    let sde = lock["source-date-epoch"]
        .as_integer()
        .expect("the lockfile has a source-date-epoch");
    let limit =
        ok_stdout(Command::new("date").args(["-u", "-d", &format!("@{sde}"), "+%Y-%m-%d %H:%M"]));
    for l in list.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        let when = format!("{} {}", f[3], f[4]);
        assert!(
            when.as_str() <= limit.trim(),
            "mtime after SOURCE_DATE_EPOCH: {l}"
        );
    }

    // dpkg itself reads the status database we wrote.
    let x = tempfile::tempdir().unwrap();
    ok(Command::new("tar")
        .arg("-xf")
        .arg(&tar)
        .arg("-C")
        .arg(x.path())
        .arg("var/lib/dpkg"));
    let text = ok_stdout(
        Command::new("dpkg-query")
            .arg("--admindir")
            .arg(x.path().join("var/lib/dpkg"))
            .args(["-W", "-f", "${Package} ${db:Status-Abbrev}\n"]),
    );
    assert!(text.lines().any(|l| l.starts_with("systemd ii")), "{text}");
    let locked = locked_packages(&lock).len();
    assert_eq!(
        text.lines().count(),
        locked,
        "every locked package is installed"
    );
}

#[test]
fn two_builds_are_identical_across_dirs_umask_tz_lang() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let b_out = b.path().join("some/other/place");
    // The second build's cache holds the same packages but no unpacked contents: every
    // package is decompressed again, and the outputs must not notice.
    let cold = b.path().join("cache");
    copy_packages(&cache(), &cold);
    let build = |out: &std::path::Path,
                 cache: &std::path::Path,
                 umask: &str,
                 tz: &str,
                 lang: &str,
                 extra: &str| {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(format!(
                "umask {umask} && exec \"$0\" --quiet build \"$1\" --format tar,vhdx --out \"$2\" --cache \"$3\" {extra}"
            ))
            .arg(env!("CARGO_BIN_EXE_eflow-image"))
            .arg(minimal())
            .arg(out)
            .arg(cache)
            .env("TZ", tz)
            .env("LANG", lang)
            .env("LC_ALL", lang)
            .env_remove("SOURCE_DATE_EPOCH");
        ok(&mut c);
    };
    build(a.path(), &cache(), "022", "UTC", "C.UTF-8", "");
    // The second build downloads nothing: with --offline it could not.
    build(
        &b_out,
        &cold,
        "077",
        "Pacific/Kiritimati",
        "POSIX",
        "--offline",
    );
    assert!(
        cold.join("contents").is_dir(),
        "the cold build filled its store"
    );
    for f in [
        "minimal.rootfs.tar",
        "minimal.vhdx",
        "minimal.spdx.json",
        "minimal.manifest.json",
    ] {
        assert_eq!(
            sha256sum(&a.path().join(f)),
            sha256sum(&b_out.join(f)),
            "{f} differs between the two builds"
        );
    }
}

/// A cache at `to` holding copies of the package files of `from` (its `sha256/` blobs), and
/// nothing else.
fn copy_packages(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    ok(Command::new("cp")
        .arg("-r")
        .arg(from.join("sha256"))
        .arg(to));
}

/// A package file in the cache that is not the one the lockfile pins (same name and size,
/// one byte changed) stops the build before it is unpacked, naming the package and the cure.
#[test]
fn a_replaced_package_in_the_cache_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    // Fills the shared cache if this test runs first.
    build_minimal(&dir.path().join("warm"), "tar");
    let cache = dir.path().join("cache");
    copy_packages(&crate::util::cache(), &cache);
    let lock = lockfile("minimal");
    let pkg = locked_packages(&lock)
        .iter()
        .find(|p| p["name"].as_str() == Some("base-files"))
        .expect("base-files is locked");
    let sha = pkg["sha256"].as_str().unwrap();
    let blob = cache.join("sha256").join(&sha[..2]).join(sha);
    let mut bytes = std::fs::read(&blob).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&blob, bytes).unwrap();
    let out = eflow()
        .args(["build", "--offline", "--format", "tar", "--cache"])
        .arg(&cache)
        .arg("--out")
        .arg(dir.path().join("out"))
        .arg(minimal())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("base-files") && err.contains(sha) && err.contains("delete it"),
        "{err}"
    );
    assert!(!dir.path().join("out/minimal.rootfs.tar").exists());
}

/// The image's `path-exclude` patterns, checked against GNU tar's listing with Python's
/// fnmatch (the same globbing as dpkg's fnmatch(3) without flags): every regular file the
/// packages' dpkg file lists name is in the tarball exactly when no pattern leaves it out,
/// copyright files always are, and the file lists still name what was left out (as dpkg's
/// do).
#[test]
fn path_excludes_leave_out_what_dpkg_would_and_keep_copyrights() {
    let dir = tempfile::tempdir().unwrap();
    build_minimal(dir.path(), "tar");
    let tar = dir.path().join("minimal.rootfs.tar");
    let image: toml::Table = toml::from_str(&std::fs::read_to_string(minimal()).unwrap()).unwrap();
    let excludes: Vec<&str> = image["image"]["path-exclude"]
        .as_array()
        .expect("the reference image leaves documentation out")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(excludes.contains(&"/usr/share/doc/*"));
    let script = r#"
import fnmatch, json, subprocess, sys, tarfile
tar, excludes = sys.argv[1], json.loads(sys.argv[2])
members = {}
with tarfile.open(tar) as t:
    for m in t.getmembers():
        members['/' + m.name.lstrip('./')] = m
listed = set()
for name, m in members.items():
    if name.startswith('/var/lib/dpkg/info/') and name.endswith('.list'):
        with tarfile.open(tar) as t:
            listed.update(l for l in t.extractfile(m).read().decode().splitlines() if l != '/.')
def physical(p):
    # merged /usr: /bin/x is /usr/bin/x in the image
    for d in ('/bin', '/sbin', '/lib', '/lib64'):
        if p.startswith(d + '/'):
            return '/usr' + p
    return p
errors, left_out, copyrights = [], 0, 0
for p in sorted(listed):
    q = physical(p)
    excluded = any(fnmatch.fnmatchcase(q, pat) for pat in excludes)
    if fnmatch.fnmatchcase(q, '/usr/share/doc/*/copyright'):
        excluded = False
    m = members.get(q)
    if m is None and q.endswith('.ko'):
        m = members.get(q + '.zst')  # kernel modules are compressed on the root
    if m is not None and not m.isfile():
        continue  # directories and links may be kept for what lies below them
    if excluded and m is not None:
        errors.append('kept although excluded: ' + q)
    if not excluded and m is None:
        errors.append('missing although not excluded: ' + q)
    left_out += excluded
    if fnmatch.fnmatchcase(q, '/usr/share/doc/*/copyright'):
        # Reachable, through the doc directory's symlink when it is one (as the SBOM reads it).
        d = members.get(q.rsplit('/', 1)[0])
        if d is not None and d.issym():
            m = members.get('/usr/share/doc/' + d.linkname + '/copyright')
        if m is None:
            errors.append('copyright not reachable: ' + q)
        copyrights += 1
print(json.dumps({'errors': errors[:20], 'left_out': left_out, 'copyrights': copyrights}))
"#;
    let out = ok_stdout(
        Command::new("python3")
            .args(["-c", script])
            .arg(&tar)
            .arg(serde_json::to_string(&excludes).unwrap()),
    );
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["errors"], serde_json::json!([]), "{report}");
    assert!(report["left_out"].as_u64().unwrap() > 1000, "{report}");
    assert!(report["copyrights"].as_u64().unwrap() > 100, "{report}");

    // The SBOM declares the same licenses as a build that leaves nothing out (the copyright
    // files of packages whose doc directory is a symlink are read through it).
    let plain = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(minimal()).unwrap();
    let start = text
        .find("# What a device never reads")
        .expect("the path-exclude block");
    let end = start + text[start..].find("]\n").unwrap() + 2;
    let images = root().join("recipes/images");
    let unfiltered = format!("{}{}", &text[..start], &text[end..]).replacen(
        "[image]\n",
        &format!(
            "[image]\nrecipe-dir = {:?}\nfiles-dir = {:?}\n",
            root().join("recipes"),
            root().join("guest-rootfs")
        ),
        1,
    );
    assert!(!unfiltered.contains("path-exclude"));
    let image = plain.path().join("minimal.toml");
    std::fs::write(&image, unfiltered).unwrap();
    std::fs::copy(
        images.join("minimal.lock"),
        plain.path().join("minimal.lock"),
    )
    .unwrap();
    build(&image, &plain.path().join("out"), "tar");
    let licenses = |sbom: &std::path::Path| -> Vec<serde_json::Value> {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(sbom).unwrap()).unwrap();
        v["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["licenseDeclared"].clone())
            .collect()
    };
    assert_eq!(
        licenses(&dir.path().join("minimal.spdx.json")),
        licenses(&plain.path().join("out/minimal.spdx.json"))
    );
}
