//! Hand-made Trees for the configure stage's tests: putting text files in, reading them back.

use std::io::Read;

use eflow_tree::{Entry, Kind, Tree};

/// Puts a 0644 text file at `path`, making its parent directories.
pub fn put(tree: &mut Tree, path: &str, text: &str) {
    tree.mkdir_p(eflow_tree::parent(path)).unwrap();
    tree.insert(path, Entry::file(text, 0o644)).unwrap();
}

/// The content of the file at `path` as text; fails the test if it is missing or not a file.
pub fn file(tree: &Tree, path: &str) -> String {
    let e = tree.get(path).unwrap_or_else(|| panic!("{path} missing"));
    let Kind::File { content, .. } = &e.kind else {
        panic!("{path} is not a file")
    };
    let mut s = String::new();
    content.open().unwrap().read_to_string(&mut s).unwrap();
    s
}
