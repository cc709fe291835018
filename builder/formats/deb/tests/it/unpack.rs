//! How packages land in a Tree: merged /usr, shared and conflicting files, Replaces policy.

use std::path::Path;
use std::sync::Arc;

use crate::common::*;
use eflow_deb::{merged_usr, read_control, unpack_into, DebSource, Error, Installed, Owners};
use eflow_tree::{Kind, Tree};

struct Ctx {
    tree: Tree,
    owners: Owners,
    source: Arc<DebSource>,
}

impl Ctx {
    fn new() -> Ctx {
        Ctx {
            tree: Tree::new(),
            owners: Owners::new(),
            source: DebSource::new(),
        }
    }
    fn unpack(
        &mut self,
        deb: &Path,
        policy: &dyn Fn(&str, &str) -> bool,
    ) -> Result<Installed, Error> {
        let pkg = read_control(deb)?;
        let stream = self.source.add(deb.to_path_buf());
        unpack_into(
            &mut self.tree,
            &pkg,
            &self.source,
            stream,
            &mut self.owners,
            policy,
        )
    }
    fn content(&self, path: &str) -> Vec<u8> {
        let Some(Kind::File { content, .. }) = self.tree.get(path).map(|e| &e.kind) else {
            panic!("{path} is not a file");
        };
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut content.open().unwrap(), &mut v).unwrap();
        v
    }
}

fn never(_: &str, _: &str) -> bool {
    false
}

#[test]
fn merged_usr_writes_through_directory_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    let bash = write_deb(
        dir.path(),
        "bash",
        &[
            T::dir("./"),
            T::dir("./bin/"),
            T::file("./bin/bash", b"ELF bash", 0o755),
            T::symlink("./bin/rbash", "bash"),
            T::dir("./lib64"),
            T::symlink(
                "./lib64/ld-linux-x86-64.so.2",
                "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            ),
            T::dir("./usr"),
            T::dir("./usr/bin"),
            T::hardlink("./usr/bin/bash-hard", "./bin/bash"),
        ],
    );
    let mut c = Ctx::new();
    merged_usr(&mut c.tree, "amd64", 1).unwrap();
    let inst = c.unpack(&bash, &never).unwrap();
    // The package's own paths go to the list, as dpkg records them...
    assert_eq!(
        inst.paths,
        [
            "/.",
            "/bin",
            "/bin/bash",
            "/lib64",
            "/usr",
            "/usr/bin",
            "/usr/bin/bash-hard",
            "/bin/rbash",
            "/lib64/ld-linux-x86-64.so.2"
        ]
    );
    // ...while the objects are where the kernel would have put them.
    assert!(matches!(
        c.tree.get("/bin").unwrap().kind,
        Kind::Symlink { .. }
    ));
    assert_eq!(c.content("/usr/bin/bash"), b"ELF bash");
    assert!(
        matches!(&c.tree.get("/usr/bin/rbash").unwrap().kind, Kind::Symlink { target } if target == "bash")
    );
    assert!(
        matches!(&c.tree.get("/usr/bin/bash-hard").unwrap().kind, Kind::HardLink { target } if target == "/usr/bin/bash")
    );
    assert!(c.tree.get("/usr/lib64/ld-linux-x86-64.so.2").is_some());
    assert_eq!(c.owners["/usr/bin/bash"], ["bash"]);
    assert_eq!(inst.physical[2], "/usr/bin/bash");
}

#[test]
fn shared_identical_files_and_conflicts() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_deb(
        dir.path(),
        "pkg-a",
        &[
            T::dir("./usr"),
            T::dir("./usr/share"),
            T::file("./usr/share/same", b"same", 0o644),
            T::file("./usr/share/diff", b"a", 0o644),
        ],
    );
    let b_same = write_deb(
        dir.path(),
        "pkg-b",
        &[
            T::dir("./usr/share"),
            T::file("./usr/share/same", b"same", 0o644),
        ],
    );
    let c_diff = write_deb(
        dir.path(),
        "pkg-c",
        &[T::file("./usr/share/diff", b"c", 0o644)],
    );
    let d_mode = write_deb(
        dir.path(),
        "pkg-d",
        &[T::file("./usr/share/same", b"same", 0o755)],
    );
    let e_alias = write_deb(
        dir.path(),
        "pkg-e",
        &[T::dir("./bin"), T::file("./bin/tool", b"e", 0o755)],
    );
    let f_alias = write_deb(
        dir.path(),
        "pkg-f",
        &[T::dir("./usr/bin"), T::file("./usr/bin/tool", b"f", 0o755)],
    );
    let mut c = Ctx::new();
    merged_usr(&mut c.tree, "amd64", 0).unwrap();
    c.unpack(&a, &never).unwrap();
    c.unpack(&b_same, &never).unwrap();
    assert_eq!(c.owners["/usr/share/same"], ["pkg-a", "pkg-b"]);
    assert_eq!(c.owners["/usr/share"], ["pkg-a", "pkg-b"]);

    let err = c.unpack(&c_diff, &never).unwrap_err().to_string();
    assert!(
        err.contains("pkg-c") && err.contains("pkg-a") && err.contains("/usr/share/diff"),
        "{err}"
    );
    assert_eq!(c.content("/usr/share/diff"), b"a");

    let err = c.unpack(&d_mode, &never).unwrap_err().to_string();
    assert!(
        err.contains("pkg-d") && err.contains("/usr/share/same"),
        "{err}"
    );

    // With Replaces, the new package takes the file over.
    let asked = std::cell::RefCell::new(Vec::new());
    let policy = |path: &str, other: &str| {
        asked
            .borrow_mut()
            .push((path.to_string(), other.to_string()));
        other == "pkg-a"
    };
    c.unpack(&c_diff, &policy).unwrap();
    assert_eq!(
        asked.borrow().as_slice(),
        [("/usr/share/diff".to_string(), "pkg-a".to_string())]
    );
    assert_eq!(c.content("/usr/share/diff"), b"c");
    assert_eq!(c.owners["/usr/share/diff"], ["pkg-c"]);

    // /bin/tool and /usr/bin/tool are the same file under merged /usr: a real conflict.
    c.unpack(&e_alias, &never).unwrap();
    let err = c.unpack(&f_alias, &never).unwrap_err().to_string();
    assert!(
        err.contains("pkg-f") && err.contains("pkg-e") && err.contains("/usr/bin/tool"),
        "{err}"
    );
}

#[test]
fn existing_directories_keep_their_metadata_and_unowned_files_are_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = T::dir("./var/log");
    d.mode = 0o700;
    let deb = write_deb(
        dir.path(),
        "logs",
        &[
            T::dir("./var"),
            d,
            T::file("./etc-file", b"new", 0o644),
            T::symlink("./var/log", "/elsewhere"),
        ],
    );
    let mut c = Ctx::new();
    c.tree.mkdir_p("/var/log").unwrap();
    c.tree.get_mut("/var/log").unwrap().mode = 0o2775;
    c.tree
        .insert("/etc-file", eflow_tree::Entry::file("old", 0o600))
        .unwrap();
    c.unpack(&deb, &never).unwrap();
    let log = c.tree.get("/var/log").unwrap();
    // A directory (and a symlink) over an existing directory keeps what exists, like dpkg.
    assert!(log.is_dir());
    assert_eq!(log.mode, 0o2775);
    assert_eq!(c.content("/etc-file"), b"new");
}

#[test]
fn content_reads_back_in_any_order() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<T> = (0..20)
        .map(|i| {
            T::file(
                &format!("./f{i:02}"),
                format!("content {i}").repeat(i * 50).as_bytes(),
                0o644,
            )
        })
        .collect();
    let deb = write_deb(dir.path(), "many", &files);
    let mut c = Ctx::new();
    c.unpack(&deb, &never).unwrap();
    for i in [5usize, 6, 19, 0, 3, 3, 18, 1] {
        assert_eq!(
            c.content(&format!("/f{i:02}")),
            format!("content {i}").repeat(i * 50).as_bytes()
        );
    }
    // A partly read member does not disturb the next one.
    let Some(Kind::File { content, .. }) = c.tree.get("/f10").map(|e| e.kind.clone()) else {
        panic!()
    };
    let mut r = content.open().unwrap();
    let mut two = [0u8; 2];
    std::io::Read::read_exact(&mut r, &mut two).unwrap();
    drop(r);
    assert_eq!(c.content("/f11"), "content 11".repeat(550).as_bytes());
}

#[test]
fn parallel_scan_gives_the_same_tree() {
    let dir = tempfile::tempdir().unwrap();
    let debs: Vec<_> = (0..5)
        .map(|i| {
            let files: Vec<T> = (0..10)
                .map(|j| {
                    T::file(
                        &format!("./usr/p{i}/f{j}"),
                        format!("{i}-{j}").as_bytes(),
                        0o644,
                    )
                })
                .collect();
            write_deb(dir.path(), &format!("pkg{i}"), &files)
        })
        .collect();
    let pkgs: Vec<_> = debs.iter().map(|d| read_control(d).unwrap()).collect();
    let scanned = eflow_deb::scan_all(&pkgs, &eflow_deb::ContentStore::temporary(), 3);
    let mut par = Ctx::new();
    for (pkg, sc) in pkgs.iter().zip(scanned) {
        let stream = par.source.add(pkg.path.clone());
        eflow_deb::apply(
            &mut par.tree,
            pkg,
            &sc.unwrap(),
            &par.source,
            stream,
            &mut par.owners,
            &never,
        )
        .unwrap();
    }
    let mut seq = Ctx::new();
    for d in &debs {
        seq.unpack(d, &never).unwrap();
    }
    let paths = |t: &Tree| t.iter().map(|(p, _)| p.to_string()).collect::<Vec<_>>();
    assert_eq!(paths(&par.tree), paths(&seq.tree));
    assert_eq!(par.content("/usr/p3/f7"), b"3-7");
    assert_eq!(par.owners, seq.owners);
}

#[test]
fn hard_links_keep_the_old_content_when_their_target_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_deb(
        dir.path(),
        "old-pkg",
        &[
            T::file("./f", b"old", 0o644),
            T::hardlink("./g", "./f"),
            T::hardlink("./h", "./f"),
        ],
    );
    let b = write_deb(dir.path(), "new-pkg", &[T::file("./f", b"new", 0o644)]);
    let mut c = Ctx::new();
    c.unpack(&a, &never).unwrap();
    c.unpack(&b, &|_, _| true).unwrap();
    assert_eq!(c.content("/f"), b"new");
    assert_eq!(c.content("/g"), b"old");
    assert!(matches!(&c.tree.get("/h").unwrap().kind, Kind::HardLink { target } if target == "/g"));
}
