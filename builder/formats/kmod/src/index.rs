//! Modules by name, their dependency closure in load order, and depmod's text files.

use std::collections::{BTreeMap, BTreeSet};

use crate::{KmodError, ModInfo};

/// The canonical form of a module name: the kernel treats `-` and `_` alike.
pub fn normalize(name: &str) -> String {
    name.replace('-', "_")
}

/// The module name a path implies: its file name without `.ko` and any compression suffix.
pub fn name_from_path(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = [".ko.xz", ".ko.zst", ".ko.gz", ".ko"]
        .iter()
        .find_map(|s| file.strip_suffix(s))
        .unwrap_or(file);
    normalize(stem)
}

/// The module names listed in a `modules.builtin` file (one path per line).
pub fn parse_builtin(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(name_from_path)
        .collect()
}

struct Module {
    path: String,
    info: ModInfo,
}

/// The modules of one kernel, by normalized name, and those built into it.
pub struct ModuleIndex {
    modules: BTreeMap<String, Module>,
    builtin: BTreeSet<String>,
}

impl ModuleIndex {
    /// Indexes modules given as (path relative to `/lib/modules/<release>`, metadata), with
    /// the names of modules built into the kernel (see [`parse_builtin`]). Two modules with
    /// the same name are an error: which one modprobe would pick is not defined here.
    pub fn new(
        modules: impl IntoIterator<Item = (String, ModInfo)>,
        builtin: impl IntoIterator<Item = String>,
    ) -> Result<ModuleIndex, KmodError> {
        let mut map = BTreeMap::new();
        for (path, info) in modules {
            let name = info
                .name
                .as_deref()
                .map(normalize)
                .unwrap_or_else(|| name_from_path(&path));
            if let Some(old) = map.get(&name) {
                let old: &Module = old;
                return Err(KmodError::Duplicate {
                    name,
                    first: old.path.clone(),
                    second: path,
                });
            }
            map.insert(name, Module { path, info });
        }
        Ok(ModuleIndex {
            modules: map,
            builtin: builtin.into_iter().map(|n| normalize(&n)).collect(),
        })
    }

    /// The path and metadata of a loadable module (`-` and `_` are the same).
    pub fn get(&self, name: &str) -> Option<(&str, &ModInfo)> {
        self.modules
            .get(&normalize(name))
            .map(|m| (m.path.as_str(), &m.info))
    }

    /// True if the module is built into the kernel (needs no loading).
    pub fn is_builtin(&self, name: &str) -> bool {
        self.builtin.contains(&normalize(name))
    }

    /// Number of loadable modules.
    pub fn len(&self) -> usize {
        self.modules.len()
    }

    /// True when no loadable module is indexed.
    pub fn is_empty(&self) -> bool {
        self.modules.is_empty()
    }

    /// The paths to load, in order, so that `wanted` and everything they depend on
    /// (transitively, through `depends=`) are loaded, each after its dependencies.
    ///
    /// Deterministic: wanted modules are taken in the given order, the dependencies of each
    /// in name order, and every module appears once. Built-in modules are satisfied without
    /// loading. A missing module or a dependency cycle is an error naming the chain.
    /// Soft dependencies are not followed (they are optional by definition).
    pub fn load_order(&self, wanted: &[&str]) -> Result<Vec<&str>, KmodError> {
        let mut done: BTreeSet<&str> = BTreeSet::new();
        let mut out = Vec::new();
        for w in wanted {
            let mut chain = Vec::new();
            self.visit(&normalize(w), &mut chain, &mut done, &mut out)?;
        }
        Ok(out)
    }

    fn visit<'s>(
        &'s self,
        name: &str,
        chain: &mut Vec<String>,
        done: &mut BTreeSet<&'s str>,
        out: &mut Vec<&'s str>,
    ) -> Result<(), KmodError> {
        if done.contains(name) || self.builtin.contains(name) {
            return Ok(());
        }
        if chain.iter().any(|c| c == name) {
            let mut cycle = chain.clone();
            cycle.push(name.to_string());
            return Err(KmodError::Cycle(cycle.join(" -> ")));
        }
        let Some((key, m)) = self.modules.get_key_value(name) else {
            return Err(KmodError::Missing {
                name: name.to_string(),
                chain: if chain.is_empty() {
                    "asked for directly".into()
                } else {
                    format!("needed by {}", chain.join(" -> "))
                },
            });
        };
        chain.push(name.to_string());
        let deps: BTreeSet<String> = m.info.depends.iter().map(|d| normalize(d)).collect();
        for d in &deps {
            self.visit(d, chain, done, out)?;
        }
        chain.pop();
        done.insert(key.as_str());
        out.push(m.path.as_str());
        Ok(())
    }

    /// `modules.dep` as depmod writes it: for each module (by path), `path: dep dep ...` with
    /// every transitive dependency, those to load last first (modprobe loads the list from
    /// its end). Built-in dependencies are left out; missing ones and cycles are skipped
    /// here (load_order reports them).
    pub fn modules_dep_text(&self) -> String {
        let mut by_path: Vec<(&str, &str)> = self
            .modules
            .iter()
            .map(|(n, m)| (m.path.as_str(), n.as_str()))
            .collect();
        by_path.sort();
        let mut s = String::new();
        for (path, name) in by_path {
            s.push_str(path);
            s.push(':');
            if let Ok(order) = self.load_order(&[name]) {
                // order ends with the module itself.
                for dep in order[..order.len() - 1].iter().rev() {
                    s.push(' ');
                    s.push_str(dep);
                }
            }
            s.push('\n');
        }
        s
    }

    /// `modules.alias` as depmod writes it: `alias <pattern> <module>` lines.
    pub fn modules_alias_text(&self) -> String {
        let mut s = String::from("# Aliases extracted from modules themselves.\n");
        for (name, m) in &self.modules {
            for a in &m.info.aliases {
                s.push_str(&format!("alias {a} {name}\n"));
            }
        }
        s
    }

    /// `modules.softdep` as depmod writes it: `softdep <module> pre: ... post: ...` lines.
    pub fn modules_softdep_text(&self) -> String {
        let mut s = String::from("# Soft dependencies extracted from modules themselves.\n");
        for (name, m) in &self.modules {
            let sd = &m.info.softdeps;
            if sd.pre.is_empty() && sd.post.is_empty() {
                continue;
            }
            s.push_str(&format!("softdep {name}"));
            if !sd.pre.is_empty() {
                s.push_str(&format!(" pre: {}", sd.pre.join(" ")));
            }
            if !sd.post.is_empty() {
                s.push_str(&format!(" post: {}", sd.post.join(" ")));
            }
            s.push('\n');
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, deps: &[&str]) -> ModInfo {
        ModInfo {
            name: Some(name.into()),
            depends: deps.iter().map(|d| d.to_string()).collect(),
            ..ModInfo::default()
        }
    }

    fn idx(mods: &[(&str, &[&str])], builtin: &[&str]) -> ModuleIndex {
        ModuleIndex::new(
            mods.iter()
                .map(|(n, d)| (format!("kernel/{n}.ko"), info(n, d))),
            builtin.iter().map(|b| b.to_string()),
        )
        .unwrap()
    }

    #[test]
    fn dependencies_come_first() {
        let i = idx(
            &[
                ("virtio_ring", &[]),
                ("virtio", &["virtio_ring"]),
                ("virtio_blk", &["virtio", "virtio_ring"]),
                ("virtio_pci", &["virtio_ring", "virtio"]),
            ],
            &[],
        );
        assert_eq!(
            i.load_order(&["virtio-blk", "virtio_pci"]).unwrap(),
            [
                "kernel/virtio_ring.ko",
                "kernel/virtio.ko",
                "kernel/virtio_blk.ko",
                "kernel/virtio_pci.ko"
            ]
        );
        assert_eq!(
            i.modules_dep_text()
                .lines()
                .find(|l| l.starts_with("kernel/virtio_blk.ko"))
                .unwrap(),
            "kernel/virtio_blk.ko: kernel/virtio.ko kernel/virtio_ring.ko"
        );
    }

    #[test]
    fn builtins_satisfy_dependencies() {
        let i = idx(
            &[("ext4_helper", &["crc16", "mbcache"]), ("mbcache", &[])],
            &["crc16"],
        );
        assert_eq!(
            i.load_order(&["ext4_helper"]).unwrap(),
            ["kernel/mbcache.ko", "kernel/ext4_helper.ko"]
        );
        assert!(i.load_order(&["crc16"]).unwrap().is_empty());
    }

    #[test]
    fn missing_and_cycles_are_reported() {
        let i = idx(
            &[
                ("a", &["b"]),
                ("b", &["c"]),
                ("c", &["a"]),
                ("d", &["nope"]),
            ],
            &[],
        );
        let e = i.load_order(&["a"]).unwrap_err().to_string();
        assert!(e.contains("a -> b -> c -> a"), "{e}");
        let e = i.load_order(&["d"]).unwrap_err().to_string();
        assert!(e.contains("nope") && e.contains("needed by d"), "{e}");
        assert!(i.load_order(&["zzz"]).is_err());
        // The text outputs do not fail on them.
        assert!(i.modules_dep_text().contains("kernel/d.ko:\n"));
    }

    #[test]
    fn duplicates_are_refused() {
        let r = ModuleIndex::new(
            [
                ("a/x.ko".to_string(), info("x", &[])),
                ("b/x.ko".to_string(), info("x", &[])),
            ],
            Vec::new(),
        );
        assert!(matches!(r, Err(KmodError::Duplicate { .. })));
    }

    #[test]
    fn names_from_paths() {
        assert_eq!(name_from_path("kernel/fs/ext4/ext4.ko"), "ext4");
        assert_eq!(name_from_path("kernel/x/amd-uncore.ko.xz"), "amd_uncore");
        assert_eq!(
            parse_builtin("kernel/fs/ext4/ext4.ko\n\nkernel/arch/x86/events/amd/amd-uncore.ko\n"),
            ["ext4", "amd_uncore"]
        );
    }
}
