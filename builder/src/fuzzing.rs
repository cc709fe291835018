//! One entry point that runs every parser of the builder's own inputs on a text, for the
//! cargo-fuzz target in `builder/fuzz` and for the garbage-input tests below.

use std::path::Path;

use crate::stages::configure::{accounts, sysusers, unit_file};
use crate::stages::plan::image::ImageFile;
use crate::stages::plan::recipe::RecipeFile;
use crate::stages::plan::{toml_error, Lockfile};

/// Parses `text` as every kind of input; panics only if a parser does, or if an error
/// points at a line that is not in the text.
pub fn parse_everything(text: &str) {
    let lines = text.split('\n').count().max(1);
    let file = Path::new("fuzz.toml");
    let check = |e: toml_error::DefinitionError| {
        assert!(
            e.line >= 1 && e.line <= lines,
            "error line {} of {lines}",
            e.line
        );
    };
    if let Err(e) = toml_error::parse::<ImageFile>(file, text) {
        check(e);
    }
    if let Err(e) = toml_error::parse::<RecipeFile>(file, text) {
        check(e);
    }
    if let Err(e) = Lockfile::parse(file, text) {
        check(e);
    }
    let _ = accounts::PasswdLine::parse_file("passwd", text);
    let _ = accounts::GroupLine::parse_file("group", text);
    let _ = accounts::ShadowLine::parse_file("shadow", text);
    let _ = accounts::GshadowLine::parse_file("gshadow", text);
    let _ = sysusers::parse("fuzz.conf", text);
    let _ = unit_file::Install::parse(text);
    for word in text.split_whitespace().take(64) {
        if let Ok(u) = unit_file::UnitName::parse(word) {
            let _ = u.expand("%n %N %p %i %I %j %%");
            let _ = u.full();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_everything;

    /// A small deterministic generator (xorshift), so the test needs no crate and always
    /// feeds the same inputs.
    fn bytes(seed: &mut u64, n: usize) -> Vec<u8> {
        (0..n)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                (*seed >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn garbage_truncations_and_flips_never_panic() {
        let samples = [
            include_str!("../../recipes/images/minimal.toml"),
            include_str!("../../recipes/base.toml"),
            "[[package]]\nname = \"a\"\nversion = \"1\"\n",
            "u sshd - \"OpenSSH\" /run/sshd /usr/sbin/nologin\ng docker 999\nm a b\nr - 500-900\n",
            "root:x:0:0:root:/root:/bin/bash\nshadow:x:42:\n",
            "[Install]\nWantedBy=multi-user.target\nAlso=x.socket\nAlias=%n.alias\n",
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for s in samples {
            for cut in (0..s.len()).step_by(7) {
                if s.is_char_boundary(cut) {
                    parse_everything(&s[..cut]);
                }
            }
            let mut b = s.as_bytes().to_vec();
            for i in 0..b.len().min(400) {
                b[i] ^= 1 << (i % 8);
                if let Ok(t) = std::str::from_utf8(&b) {
                    parse_everything(t);
                }
                b[i] ^= 1 << (i % 8);
            }
        }
        for n in [1usize, 10, 100, 1000] {
            for _ in 0..20 {
                let b = bytes(&mut seed, n);
                parse_everything(&String::from_utf8_lossy(&b));
            }
        }
    }
}
