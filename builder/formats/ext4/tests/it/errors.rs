//! What the writer refuses, and that it says what and where.

use eflow_ext4::{write, Error, Options};
use eflow_tree::{Entry, Tree};

fn opts(size: u64) -> Options {
    Options {
        size,
        uuid: [3; 16],
        hash_seed: [4; 16],
        label: "x".into(),
        timestamp: 0,
    }
}

fn unsupported(t: &Tree) -> (String, String) {
    match write(t, &opts(64 << 20)) {
        Err(Error::Unsupported { path, reason }) => (path, reason),
        Err(e) => panic!("unexpected error: {e}"),
        Ok(_) => panic!("accepted"),
    }
}

#[test]
fn bad_sizes_and_labels() {
    assert!(matches!(
        write(&Tree::new(), &opts(1000)),
        Err(Error::InvalidSize { .. })
    ));
    assert!(matches!(
        write(&Tree::new(), &opts(4 << 20)),
        Err(Error::InvalidSize { .. })
    ));
    let mut o = opts(64 << 20);
    o.label = "a label that is too long".into();
    assert!(matches!(
        write(&Tree::new(), &o),
        Err(Error::InvalidSize { .. })
    ));
}

#[test]
fn unknown_xattr_namespace_names_the_file() {
    let mut t = Tree::new();
    let mut e = Entry::file(vec![], 0o644);
    e.xattrs.insert("os2.weird".into(), vec![1]);
    t.insert("/f", e).unwrap();
    let (path, reason) = unsupported(&t);
    assert_eq!(path, "/f");
    assert!(reason.contains("os2.weird"), "{reason}");
}

#[test]
fn xattrs_larger_than_a_block_are_refused() {
    let mut t = Tree::new();
    let mut e = Entry::file(vec![], 0o644);
    e.xattrs.insert("user.huge".into(), vec![0; 5000]);
    t.insert("/f", e).unwrap();
    assert_eq!(unsupported(&t).0, "/f");
}

#[test]
fn symlink_targets_over_4095_bytes_are_refused() {
    let mut t = Tree::new();
    t.insert("/l", Entry::symlink("x".repeat(5000))).unwrap();
    assert_eq!(unsupported(&t).0, "/l");
}

#[test]
fn lost_found_must_be_a_directory() {
    let mut t = Tree::new();
    t.insert("/lost+found", Entry::file(vec![], 0o644)).unwrap();
    assert_eq!(unsupported(&t).0, "/lost+found");
}

#[test]
fn content_too_large_for_the_size_reports_min_size() {
    let mut t = Tree::new();
    t.insert("/big", Entry::file(vec![1u8; 20 << 20], 0o644))
        .unwrap();
    match write(&t, &opts(16 << 20)) {
        Err(Error::NoSpace { min_size, .. }) => {
            assert!(min_size > 20 << 20);
            assert!(write(&t, &opts(min_size)).is_ok());
        }
        Err(e) => panic!("unexpected error: {e}"),
        Ok(_) => panic!("20 MiB fit in 16 MiB?"),
    }
}
