//! kmod's binary index (`modules.dep.bin`, `modules.alias.bin`, ...): a path-compressed trie
//! of 7-bit ASCII keys, each key holding values ordered by priority, as libkmod reads it.
//!
//! The file: a 12-byte header (magic `0xB007F457`, version 2.1, the root node's offset), then
//! the nodes, children before their parent. A node's offset carries flags in its high nibble
//! saying which parts follow at that position: a prefix (NUL-terminated), children (first and
//! last character, then one offset per character of that range, 0 for none), values (a count,
//! then per value its priority and NUL-terminated text). All integers are big-endian.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

use crate::KmodError;

/// The index file's magic number.
pub const MAGIC: u32 = 0xB007_F457;
/// The index format version (major 2, minor 1).
pub const VERSION: u32 = 0x0002_0001;

const FLAG_PREFIX: u32 = 0x8000_0000;
const FLAG_VALUES: u32 = 0x4000_0000;
const FLAG_CHILDREN: u32 = 0x2000_0000;

#[derive(Default)]
struct Node {
    /// Characters shared by every key below this node, after the character leading to it.
    prefix: Vec<u8>,
    /// (priority, value), lowest priority first.
    values: Vec<(u32, Vec<u8>)>,
    children: BTreeMap<u8, Node>,
}

/// A kmod index being built: keys with prioritized values, written with [`Trie::to_bytes`].
#[derive(Default)]
pub struct Trie {
    root: Node,
}

fn check_ascii(what: &str, s: &str) -> Result<(), KmodError> {
    if s.is_ascii() {
        Ok(())
    } else {
        Err(KmodError::Index(format!(
            "{what} {s:?} is not 7-bit ASCII, which kmod's index cannot hold"
        )))
    }
}

impl Trie {
    /// An empty index.
    pub fn new() -> Trie {
        Trie::default()
    }

    /// Adds `value` under `key`, after the values of lower priority and before those of the
    /// same or higher priority (the order depmod gives them). Non-ASCII text is an error.
    pub fn insert(&mut self, key: &str, value: &str, priority: u32) -> Result<(), KmodError> {
        check_ascii("index key", key)?;
        check_ascii("index value", value)?;
        let mut node = &mut self.root;
        let mut rest = key.as_bytes();
        loop {
            let common = node
                .prefix
                .iter()
                .zip(rest)
                .take_while(|(a, b)| a == b)
                .count();
            if common < node.prefix.len() {
                // The key leaves (or ends inside) this node's prefix: split the node there.
                let tail = node.prefix.split_off(common);
                let lower = Node {
                    prefix: tail[1..].to_vec(),
                    values: std::mem::take(&mut node.values),
                    children: std::mem::take(&mut node.children),
                };
                node.children.insert(tail[0], lower);
            }
            rest = &rest[common..];
            let Some((&c, after)) = rest.split_first() else {
                let at = node.values.partition_point(|(p, _)| *p < priority);
                node.values
                    .insert(at, (priority, value.as_bytes().to_vec()));
                return Ok(());
            };
            match node.children.entry(c) {
                Entry::Vacant(e) => {
                    e.insert(Node {
                        prefix: after.to_vec(),
                        values: vec![(priority, value.as_bytes().to_vec())],
                        children: BTreeMap::new(),
                    });
                    return Ok(());
                }
                Entry::Occupied(e) => node = e.into_mut(),
            }
            rest = after;
        }
    }

    /// The index file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC.to_be_bytes());
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.extend_from_slice(&[0; 4]);
        let root = write_node(&self.root, &mut out);
        out[8..12].copy_from_slice(&root.to_be_bytes());
        out
    }
}

/// Writes `node` after its children; returns its offset with its flags.
fn write_node(node: &Node, out: &mut Vec<u8>) -> u32 {
    let mut child_offsets = Vec::new();
    if let (Some((&first, _)), Some((&last, _))) = (
        node.children.first_key_value(),
        node.children.last_key_value(),
    ) {
        for c in first..=last {
            child_offsets.push(node.children.get(&c).map_or(0, |n| write_node(n, out)));
        }
    }
    let mut offset = u32::try_from(out.len()).expect("a kmod index is below 256 MiB");
    if !node.prefix.is_empty() {
        out.extend_from_slice(&node.prefix);
        out.push(0);
        offset |= FLAG_PREFIX;
    }
    if let (Some((&first, _)), Some((&last, _))) = (
        node.children.first_key_value(),
        node.children.last_key_value(),
    ) {
        out.push(first);
        out.push(last);
        for o in child_offsets {
            out.extend_from_slice(&o.to_be_bytes());
        }
        offset |= FLAG_CHILDREN;
    }
    if !node.values.is_empty() {
        out.extend_from_slice(&(node.values.len() as u32).to_be_bytes());
        for (priority, value) in &node.values {
            out.extend_from_slice(&priority.to_be_bytes());
            out.extend_from_slice(value);
            out.push(0);
        }
        offset |= FLAG_VALUES;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_index_is_a_header_and_a_bare_root() {
        let b = Trie::new().to_bytes();
        assert_eq!(b, [0xB0, 0x07, 0xF4, 0x57, 0, 2, 0, 1, 0, 0, 0, 12]);
    }

    #[test]
    fn one_key() {
        let mut t = Trie::new();
        t.insert("ab", "v", 3).unwrap();
        let b = t.to_bytes();
        // Child 'a' at 12: prefix "b\0", values: count 1, priority 3, "v\0".
        let mut want = vec![0xB0, 0x07, 0xF4, 0x57, 0, 2, 0, 1, 0x20, 0, 0, 24];
        want.extend_from_slice(b"b\0");
        want.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 3, b'v', 0]);
        // Root at 24: children 'a'..'a' with the child's offset and flags.
        want.extend_from_slice(&[b'a', b'a', 0xC0, 0, 0, 12]);
        assert_eq!(b, want);
    }

    #[test]
    fn splits_and_priorities() {
        let mut t = Trie::new();
        t.insert("abcd", "x", 1).unwrap();
        t.insert("ab", "y", 0).unwrap();
        t.insert("abce", "z", 0).unwrap();
        t.insert("ab", "w", 0).unwrap();
        t.insert("ab", "u", 2).unwrap();
        let r = &t.root.children[&b'a'];
        assert_eq!(r.prefix, b"b");
        let vals: Vec<&[u8]> = r.values.iter().map(|(_, v)| v.as_slice()).collect();
        // Same priority: the later one first.
        assert_eq!(vals, [b"w", b"y", b"u"]);
        let c = &r.children[&b'c'];
        assert!(c.prefix.is_empty());
        assert_eq!(c.children.len(), 2);
        assert!(t.insert("é", "x", 0).is_err());
    }
}
