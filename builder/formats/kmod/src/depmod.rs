//! depmod's output for a kernel's module directory, byte for byte as kmod 30's `depmod`
//! writes it: modules.dep(.bin), modules.alias(.bin), modules.softdep, modules.symbols(.bin),
//! modules.builtin.bin, modules.builtin.alias.bin and modules.devname.
//!
//! What decides the bytes, as depmod does it: the module order is the order of
//! `modules.order` (modules it does not list come first, in the order of depmod's name hash
//! table); a module depends on the modules exporting the symbols it needs (the last one in
//! module order when two export the same symbol); the dependencies of each module are
//! listed in an order from a topological sort; `modules.symbols` lists symbols in the order
//! of depmod's symbol hash table. The index values' priority is the module's position.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::trie::Trie;
use crate::{KmodError, ModInfo, Symbols};

/// One module file of the directory, as depmod reads it.
#[derive(Clone, Debug)]
pub struct KernelModule {
    /// The path relative to `/lib/modules/<release>` (`kernel/fs/overlayfs/overlay.ko`).
    pub path: String,
    /// Its `.modinfo`.
    pub info: ModInfo,
    /// Its exported and needed symbols.
    pub symbols: Symbols,
}

/// The files of the module directory that depmod reads besides the modules.
#[derive(Clone, Copy, Debug, Default)]
pub struct DepmodInputs<'a> {
    /// `modules.order`: the modules' order (one path per line).
    pub order: Option<&'a [u8]>,
    /// `modules.builtin`: the modules built into the kernel (one path per line).
    pub builtin: Option<&'a [u8]>,
    /// `modules.builtin.modinfo`: the built-in modules' `.modinfo` strings.
    pub builtin_modinfo: Option<&'a [u8]>,
}

/// The names of the files [`depmod`] writes, in the order it returns them.
pub const DEPMOD_FILES: [&str; 10] = [
    "modules.dep",
    "modules.dep.bin",
    "modules.alias",
    "modules.alias.bin",
    "modules.softdep",
    "modules.symbols",
    "modules.symbols.bin",
    "modules.builtin.bin",
    "modules.builtin.alias.bin",
    "modules.devname",
];

/// Paul Hsieh's SuperFastHash as kmod's hash table computes it (x86: little-endian reads,
/// signed chars).
fn kmod_hash(key: &[u8]) -> u32 {
    let u16_at = |k: &[u8], i: usize| u16::from_le_bytes([k[i], k[i + 1]]) as u32;
    let signed = |c: u8| c as i8 as i32 as u32;
    let mut h = key.len() as u32;
    let mut chunks = key.chunks_exact(4);
    for k in &mut chunks {
        h = h.wrapping_add(u16_at(k, 0));
        let tmp = (u16_at(k, 2) << 11) ^ h;
        h = (h << 16) ^ tmp;
        h = h.wrapping_add(h >> 11);
    }
    let k = chunks.remainder();
    match k.len() {
        3 => {
            h = h.wrapping_add(u16_at(k, 0));
            h ^= h << 16;
            h ^= signed(k[2]).wrapping_shl(18);
            h = h.wrapping_add(h >> 11);
        }
        2 => {
            h = h.wrapping_add(u16_at(k, 0));
            h ^= h << 11;
            h = h.wrapping_add(h >> 17);
        }
        1 => {
            h = h.wrapping_add(signed(k[0]));
            h ^= h << 10;
            h = h.wrapping_add(h >> 1);
        }
        _ => {}
    }
    h ^= h << 3;
    h = h.wrapping_add(h >> 5);
    h ^= h << 4;
    h = h.wrapping_add(h >> 17);
    h ^= h << 25;
    h = h.wrapping_add(h >> 6);
    h
}

/// The position of a key in the iteration order of a kmod hash table of `buckets` buckets.
fn hash_order(key: &str, buckets: u32) -> (u32, &[u8]) {
    (kmod_hash(key.as_bytes()) & (buckets - 1), key.as_bytes())
}

/// depmod's module name for a path: the file name up to its first `.`, `-` made `_`.
pub fn modname(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    base.split('.').next().unwrap_or("").replace('-', "_")
}

/// libkmod's alias normalization: `-` becomes `_` outside brackets; None when the brackets
/// do not match (depmod skips such an alias).
fn alias_normalize(alias: &str) -> Option<String> {
    let mut out = String::with_capacity(alias.len());
    let mut chars = alias.chars();
    while let Some(c) = chars.next() {
        match c {
            '-' => out.push('_'),
            ']' => return None,
            '[' => {
                out.push('[');
                loop {
                    match chars.next() {
                        Some(']') => break,
                        Some(c) => out.push(c),
                        None => return None,
                    }
                }
                out.push(']');
            }
            c => out.push(c),
        }
    }
    Some(out)
}

/// Lines as C's `fgets` gives them: each with its `\n`, the last one possibly without.
fn lines(b: &[u8]) -> impl Iterator<Item = &[u8]> {
    b.split_inclusive(|c| *c == b'\n')
}

struct Mod<'a> {
    m: &'a KernelModule,
    name: String,
    /// Direct dependencies (module positions), first by where depmod found them, then sorted.
    deps: Vec<usize>,
    sort_idx: i64,
}

/// Computes every file depmod writes for `modules` and the directory's `inputs`: (name,
/// bytes) in the order of [`DEPMOD_FILES`]. Two modules with one name, a dependency cycle or
/// a non-ASCII alias or symbol are errors.
pub fn depmod(
    modules: &[KernelModule],
    inputs: DepmodInputs,
) -> Result<Vec<(&'static str, Vec<u8>)>, KmodError> {
    let mut mods: Vec<Mod> = Vec::with_capacity(modules.len());
    let mut by_name: BTreeMap<String, &str> = BTreeMap::new();
    for m in modules {
        let name = modname(&m.path);
        if let Some(first) = by_name.insert(name.clone(), &m.path) {
            return Err(KmodError::Duplicate {
                name,
                first: first.to_string(),
                second: m.path.clone(),
            });
        }
        mods.push(Mod {
            m,
            name,
            deps: Vec::new(),
            sort_idx: 1,
        });
    }
    // depmod's array comes from its name hash table (512 buckets), then is sorted (stably)
    // by the position in modules.order; modules not listed there keep sort_idx 1.
    mods.sort_by(|a, b| hash_order(&a.name, 512).cmp(&hash_order(&b.name, 512)));
    if let Some(order) = inputs.order {
        if order.is_empty() || order.ends_with(b"\n") {
            let uncompressed: HashMap<String, usize> = mods
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let p = m.m.path.as_bytes();
                    let dir_len = p.iter().rposition(|c| *c == b'/').map_or(0, |s| s + 1);
                    let len = (dir_len + m.name.len() + 3).min(p.len());
                    (String::from_utf8_lossy(&p[..len]).into_owned(), i)
                })
                .collect();
            let total = lines(order).count() as i64 + 1;
            for (n, line) in lines(order).enumerate() {
                let line = String::from_utf8_lossy(&line[..line.len() - 1]);
                if let Some(&i) = uncompressed.get(line.as_ref()) {
                    mods[i].sort_idx = n as i64 + 1 - total;
                }
            }
            mods.sort_by_key(|m| m.sort_idx);
        }
    }

    // Exported symbols: the last module exporting a name owns it.
    let mut owner: HashMap<&str, usize> = HashMap::new();
    for (i, m) in mods.iter().enumerate() {
        for s in &m.m.symbols.exports {
            owner.insert(s, i);
        }
    }
    let mut users = vec![0usize; mods.len()];
    for m in &mut mods {
        let mut deps: Vec<usize> = Vec::new();
        for need in &m.m.symbols.needs {
            let need = need.strip_prefix('.').unwrap_or(need);
            if let Some(&o) = owner.get(need) {
                if !deps.contains(&o) {
                    deps.push(o);
                    users[o] += 1;
                }
            }
        }
        m.deps = deps;
    }
    let rank = topological_rank(&mods, users)?;
    for m in &mut mods {
        m.deps.sort_by_key(|d| rank[*d]);
    }

    let all_deps = |i: usize| -> Vec<usize> {
        let mut seen = BTreeSet::new();
        let mut stack = mods[i].deps.clone();
        while let Some(d) = stack.pop() {
            if seen.insert(d) {
                stack.extend(&mods[d].deps);
            }
        }
        let mut v: Vec<usize> = seen.into_iter().collect();
        v.sort_by_key(|d| rank[*d]);
        v
    };

    let mut dep = String::new();
    let mut dep_bin = Trie::new();
    let mut alias = String::from("# Aliases extracted from modules themselves.\n");
    let mut alias_bin = Trie::new();
    let mut softdep = String::from("# Soft dependencies extracted from modules themselves.\n");
    let mut devname = String::new();
    for (i, m) in mods.iter().enumerate() {
        let mut line = format!("{}:", m.m.path);
        for d in all_deps(i) {
            line.push(' ');
            line.push_str(&mods[d].m.path);
        }
        dep.push_str(&line);
        dep.push('\n');
        dep_bin.insert(&m.name, &line, i as u32)?;
        for (k, v) in &m.m.info.fields {
            if k == "alias" {
                alias.push_str(&format!("alias {v} {}\n", m.name));
                if let Some(a) = alias_normalize(v) {
                    alias_bin.insert(&a, &m.name, i as u32)?;
                }
            } else if k == "softdep" {
                softdep.push_str(&format!("softdep {} {v}\n", m.name));
            }
        }
        if let Some(line) = devname_line(&m.name, &m.m.info) {
            if devname.is_empty() {
                devname.push_str("# Device nodes to trigger on-demand module loading.\n");
            }
            devname.push_str(&line);
        }
    }

    // Symbols in the iteration order of depmod's symbol hash table (2048 buckets).
    let mut symbols: Vec<(&str, usize)> = owner.into_iter().collect();
    symbols.sort_by(|a, b| hash_order(a.0, 2048).cmp(&hash_order(b.0, 2048)));
    let mut sym_text = String::from("# Aliases for symbols, used by symbol_request().\n");
    let mut sym_bin = Trie::new();
    for (s, o) in symbols {
        sym_text.push_str(&format!("alias symbol:{s} {}\n", mods[o].name));
        sym_bin.insert(&format!("symbol:{s}"), &mods[o].name, o as u32)?;
    }

    Ok(vec![
        ("modules.dep", dep.into_bytes()),
        ("modules.dep.bin", dep_bin.to_bytes()),
        ("modules.alias", alias.into_bytes()),
        ("modules.alias.bin", alias_bin.to_bytes()),
        ("modules.softdep", softdep.into_bytes()),
        ("modules.symbols", sym_text.into_bytes()),
        ("modules.symbols.bin", sym_bin.to_bytes()),
        ("modules.builtin.bin", builtin_bin(inputs.builtin)?),
        (
            "modules.builtin.alias.bin",
            builtin_alias_bin(inputs.builtin_modinfo)?,
        ),
        ("modules.devname", devname.into_bytes()),
    ])
}

/// depmod's topological sort: modules nobody uses first, taken from a stack; returns each
/// module's rank. A cycle is an error naming the modules left in it.
fn topological_rank(mods: &[Mod], mut users: Vec<usize>) -> Result<Vec<usize>, KmodError> {
    let mut roots: Vec<usize> = (0..mods.len()).filter(|i| users[*i] == 0).collect();
    let mut rank = vec![usize::MAX; mods.len()];
    let mut n = 0;
    while let Some(src) = roots.pop() {
        rank[src] = n;
        n += 1;
        for &d in &mods[src].deps {
            users[d] -= 1;
            if users[d] == 0 {
                roots.push(d);
            }
        }
    }
    if n < mods.len() {
        let left: Vec<&str> = (0..mods.len())
            .filter(|i| rank[*i] == usize::MAX)
            .map(|i| mods[i].name.as_str())
            .collect();
        return Err(KmodError::Cycle(left.join(", ")));
    }
    Ok(rank)
}

/// C's `%u`: optional white space and sign, then digits; the number and what follows it.
fn scan_u32(s: &str) -> Option<(u32, &str)> {
    let s = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (neg, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let v = s[..digits].parse::<u64>().unwrap_or(u64::MAX);
    let v = if neg { v.wrapping_neg() } else { v };
    Some((v as u32, &s[digits..]))
}

/// `char-major-M-N` / `block-major-M-N` as depmod's sscanf reads them.
fn major_minor(alias: &str, prefix: &str) -> Option<(u32, u32)> {
    let (major, rest) = scan_u32(alias.strip_prefix(prefix)?)?;
    let (minor, _) = scan_u32(rest.strip_prefix('-')?)?;
    Some((major, minor))
}

/// The modules.devname line of a module with a `devname:` alias and a device number.
fn devname_line(name: &str, info: &ModInfo) -> Option<String> {
    let mut devname = None;
    let mut dev = None;
    for (k, v) in &info.fields {
        if k != "alias" {
            continue;
        }
        if let Some(d) = v.strip_prefix("devname:") {
            devname = Some(d);
        } else if let Some((a, b)) = major_minor(v, "char-major-") {
            dev = Some(('c', a, b));
        } else if let Some((a, b)) = major_minor(v, "block-major-") {
            dev = Some(('b', a, b));
        }
        if dev.is_some() && devname.is_some() {
            break;
        }
    }
    let (t, major, minor) = dev?;
    Some(format!("{name} {} {t}{major}:{minor}\n", devname?))
}

/// modules.builtin.bin: each line's module name, with an empty value (an empty file when the
/// kernel has no modules.builtin).
fn builtin_bin(builtin: Option<&[u8]>) -> Result<Vec<u8>, KmodError> {
    let Some(text) = builtin else {
        return Ok(Vec::new());
    };
    let mut t = Trie::new();
    for line in lines(text) {
        if !line.first().is_some_and(u8::is_ascii_alphabetic) {
            continue;
        }
        let line = String::from_utf8_lossy(line);
        let base = line.rsplit('/').next().unwrap_or(&line);
        if base.is_empty() {
            continue;
        }
        t.insert(&modname(base), "", 0)?;
    }
    Ok(t.to_bytes())
}

/// Reads up to `end`, stopping early at NUL or the end of input like depmod's
/// flush_stream_to: the bytes read, and whether `end` was what stopped it.
fn read_to<'a>(b: &mut &'a [u8], end: u8) -> (&'a [u8], bool) {
    let stop = b.iter().position(|c| *c == end || *c == 0);
    let (taken, hit) = match stop {
        Some(i) => {
            let hit = b[i] == end;
            let t = &b[..i];
            *b = &b[i + 1..];
            (t, hit)
        }
        None => {
            let t = *b;
            *b = &[];
            (t, false)
        }
    };
    (taken, hit)
}

/// modules.builtin.alias.bin: the `alias=` strings of modules.builtin.modinfo
/// (`module.key=value` NUL-separated), keyed by the normalized alias (an empty file when the
/// kernel has no modules.builtin.modinfo).
fn builtin_alias_bin(modinfo: Option<&[u8]>) -> Result<Vec<u8>, KmodError> {
    let Some(mut b) = modinfo else {
        return Ok(Vec::new());
    };
    let mut t = Trie::new();
    while !b.is_empty() {
        let (module, hit) = read_to(&mut b, b'.');
        if !hit || module.is_empty() {
            continue;
        }
        let (key, hit) = read_to(&mut b, b'=');
        if !hit || key != b"alias" {
            // Skip the rest of this string (depmod skips to the next NUL).
            let _ = read_to(&mut b, 0);
            continue;
        }
        let (value, hit) = read_to(&mut b, 0);
        if !hit || value.is_empty() {
            continue;
        }
        let value = String::from_utf8_lossy(value);
        if let Some(a) = alias_normalize(&value) {
            t.insert(&a, &String::from_utf8_lossy(module), 0)?;
        }
    }
    Ok(t.to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_as_kmod_has_them() {
        assert_eq!(modname("kernel/x/amd-uncore.ko.xz"), "amd_uncore");
        assert_eq!(modname("a.b.ko"), "a");
        assert_eq!(
            alias_normalize("pci:v-[a-b]*").as_deref(),
            Some("pci:v_[a-b]*")
        );
        assert_eq!(alias_normalize("x[ab"), None);
        assert_eq!(alias_normalize("x]"), None);
        assert_eq!(
            major_minor("char-major-10-229", "char-major-"),
            Some((10, 229))
        );
        assert_eq!(major_minor("char-major-10-*", "char-major-"), None);
    }

    #[test]
    fn builtin_modinfo_parsing() {
        let b = b"ext4.alias=fs-ext4\0ext4.license=GPL\0crc.alias=crypto-crc32c\0x=y\0";
        let mut t = Trie::new();
        t.insert("fs_ext4", "ext4", 0).unwrap();
        t.insert("crypto_crc32c", "crc", 0).unwrap();
        assert_eq!(builtin_alias_bin(Some(b)).unwrap(), t.to_bytes());
        assert!(builtin_alias_bin(None).unwrap().is_empty());
    }
}
