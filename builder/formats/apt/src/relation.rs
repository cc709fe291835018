//! Package relation fields: `Depends`, `Pre-Depends`, `Conflicts`, `Breaks`, `Provides`, ...
//!
//! Syntax (Debian Policy 7.1): a comma-separated list of groups, each a `|`-separated list of
//! alternatives, each `name[:archqual] [(op version)] [[arch ...]] [<profile ...>]...`.
//! Whitespace, including newlines of folded fields, may appear between any two tokens.

use crate::version::{self, Version};
use std::fmt;

/// Why a relation field does not parse; `offset` is the byte offset in the field value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("relation {field:?}: at byte {offset}: {message}")]
pub struct RelationError {
    /// The field value being parsed (shortened when long).
    pub field: String,
    /// Byte offset of the problem in the value.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// A version comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    /// `<<`: strictly earlier.
    Lt,
    /// `<=` (or the obsolete `<`): earlier or equal.
    Le,
    /// `=`: exactly equal.
    Eq,
    /// `>=` (or the obsolete `>`): later or equal.
    Ge,
    /// `>>`: strictly later.
    Gt,
}

impl Op {
    /// The operator's canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<<",
            Op::Le => "<=",
            Op::Eq => "=",
            Op::Ge => ">=",
            Op::Gt => ">>",
        }
    }
}

/// A version constraint `(op version)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    /// The comparison.
    pub op: Op,
    /// The version compared against.
    pub version: Version,
}

impl Constraint {
    /// Whether version `v` satisfies this constraint.
    pub fn matches(&self, v: &str) -> bool {
        let ord = version::compare(v, self.version.as_str());
        use std::cmp::Ordering::*;
        match self.op {
            Op::Lt => ord == Less,
            Op::Le => ord != Greater,
            Op::Eq => ord == Equal,
            Op::Ge => ord != Less,
            Op::Gt => ord == Greater,
        }
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({} {})", self.op.as_str(), self.version)
    }
}

/// One entry of an architecture restriction list `[amd64 !i386 linux-any]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchRestriction {
    /// Written with a leading `!`.
    pub negated: bool,
    /// The architecture or wildcard (`amd64`, `linux-any`, `any-amd64`, `any`).
    pub arch: String,
}

/// One term of a build profile formula `<!nocheck stage1>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileTerm {
    /// Written with a leading `!`.
    pub negated: bool,
    /// The profile name.
    pub name: String,
}

/// One alternative of a relation group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// The package (or virtual package) name.
    pub name: String,
    /// The architecture qualifier after `:` (`any`, `native`, `amd64`), if any.
    pub arch_qualifier: Option<String>,
    /// The version constraint, if any.
    pub constraint: Option<Constraint>,
    /// The architecture restriction list (source-package relations only), if any.
    pub arch_restrictions: Vec<ArchRestriction>,
    /// Build profile formulas (source-package relations only); kept, never evaluated here.
    pub profiles: Vec<Vec<ProfileTerm>>,
}

impl Relation {
    /// Whether the arch restriction list lets this relation apply on `arch` (Debian arch name).
    pub fn applies_to_arch(&self, arch: &str) -> bool {
        if self.arch_restrictions.is_empty() {
            return true;
        }
        let matches = |r: &ArchRestriction| arch_matches(&r.arch, arch);
        if self.arch_restrictions.iter().all(|r| r.negated) {
            !self.arch_restrictions.iter().any(matches)
        } else {
            self.arch_restrictions
                .iter()
                .any(|r| !r.negated && matches(r))
        }
    }
}

/// Matches an architecture wildcard against a Debian architecture. Only Linux architectures
/// are considered (`amd64` is `linux-amd64`); that is all this project builds for.
pub fn arch_matches(pattern: &str, arch: &str) -> bool {
    let (os, cpu) = match arch.split_once('-') {
        Some((o, c)) => (o, c),
        None => ("linux", arch),
    };
    if pattern == arch || pattern == "any" {
        return true;
    }
    match pattern.split_once('-') {
        Some((po, pc)) => (po == "any" || po == os) && (pc == "any" || pc == cpu),
        None => false,
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(q) = &self.arch_qualifier {
            write!(f, ":{q}")?;
        }
        if let Some(c) = &self.constraint {
            write!(f, " {c}")?;
        }
        Ok(())
    }
}

/// Formats a group of alternatives as `a | b (>= 1)`.
pub fn display_group(group: &[Relation]) -> String {
    group
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" | ")
}

struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Cursor<'a> {
    fn skip_ws(&mut self) {
        while let Some(b) = self.s.as_bytes().get(self.i) {
            if b.is_ascii_whitespace() {
                self.i += 1;
            } else {
                break;
            }
        }
    }
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }
    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    /// Takes the longest run of bytes accepted by `ok`.
    fn take(&mut self, ok: impl Fn(u8) -> bool) -> &'a str {
        let start = self.i;
        while let Some(b) = self.peek() {
            if ok(b) {
                self.i += 1;
            } else {
                break;
            }
        }
        &self.s[start..self.i]
    }
    fn err(&self, message: impl Into<String>) -> RelationError {
        let mut field: String = self.s.chars().take(200).collect();
        if field.len() < self.s.len() {
            field.push('…');
        }
        RelationError {
            field,
            offset: self.i,
            message: message.into(),
        }
    }
}

fn name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.' | b'_')
}

fn word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'+')
}

/// Parses a relation field into groups of alternatives. An empty (or all-whitespace) value
/// gives no groups; an empty element between commas or bars is an error, as in dpkg.
pub fn parse_relations(s: &str) -> Result<Vec<Vec<Relation>>, RelationError> {
    let mut c = Cursor { s, i: 0 };
    let mut groups = Vec::new();
    c.skip_ws();
    if c.peek().is_none() {
        return Ok(groups);
    }
    loop {
        let mut group = Vec::new();
        loop {
            group.push(parse_one(&mut c)?);
            c.skip_ws();
            if !c.eat(b'|') {
                break;
            }
        }
        groups.push(group);
        c.skip_ws();
        match c.peek() {
            None => break,
            Some(b',') => c.i += 1,
            Some(b) => return Err(c.err(format!("expected ',' or '|', found {:?}", b as char))),
        }
    }
    Ok(groups)
}

fn parse_one(c: &mut Cursor<'_>) -> Result<Relation, RelationError> {
    c.skip_ws();
    let name = c.take(name_byte);
    if name.is_empty() {
        return Err(c.err("expected a package name"));
    }
    if !name.as_bytes()[0].is_ascii_alphanumeric() {
        return Err(c.err(format!(
            "package name {name:?} must start with a letter or digit"
        )));
    }
    let mut rel = Relation {
        name: name.to_string(),
        arch_qualifier: None,
        constraint: None,
        arch_restrictions: Vec::new(),
        profiles: Vec::new(),
    };
    if c.eat(b':') {
        let q = c.take(|b| b.is_ascii_alphanumeric() || b == b'-');
        if q.is_empty() {
            return Err(c.err(format!("empty architecture qualifier after {name:?}:")));
        }
        rel.arch_qualifier = Some(q.to_string());
    }
    c.skip_ws();
    if c.eat(b'(') {
        c.skip_ws();
        let op = if c.eat(b'<') {
            if c.eat(b'<') {
                Op::Lt
            } else {
                // `<=`, or the obsolete `<` which meant `<=`.
                c.eat(b'=');
                Op::Le
            }
        } else if c.eat(b'>') {
            if c.eat(b'>') {
                Op::Gt
            } else {
                c.eat(b'=');
                Op::Ge
            }
        } else if c.eat(b'=') {
            Op::Eq
        } else {
            return Err(c.err("expected a version operator (<<, <=, =, >=, >>)"));
        };
        c.skip_ws();
        let start = c.i;
        let v = c.take(|b| b != b')' && !b.is_ascii_whitespace());
        if v.is_empty() {
            return Err(c.err("expected a version after the operator"));
        }
        let version = Version::parse(v).map_err(|e| {
            let mut err = c.err(e.to_string());
            err.offset = start;
            err
        })?;
        c.skip_ws();
        if !c.eat(b')') {
            return Err(c.err("expected ')' after the version"));
        }
        rel.constraint = Some(Constraint { op, version });
        c.skip_ws();
    }
    if c.eat(b'[') {
        loop {
            c.skip_ws();
            if c.eat(b']') {
                break;
            }
            let negated = c.eat(b'!');
            let a = c.take(word_byte);
            if a.is_empty() {
                return Err(c.err("expected an architecture in [...]"));
            }
            rel.arch_restrictions.push(ArchRestriction {
                negated,
                arch: a.to_string(),
            });
        }
        if rel.arch_restrictions.is_empty() {
            return Err(c.err("empty architecture list []"));
        }
        c.skip_ws();
    }
    while c.eat(b'<') {
        let mut terms = Vec::new();
        loop {
            c.skip_ws();
            if c.eat(b'>') {
                break;
            }
            let negated = c.eat(b'!');
            let p = c.take(word_byte);
            if p.is_empty() {
                return Err(c.err("expected a build profile name in <...>"));
            }
            terms.push(ProfileTerm {
                negated,
                name: p.to_string(),
            });
        }
        if terms.is_empty() {
            return Err(c.err("empty build profile list <>"));
        }
        rel.profiles.push(terms);
        c.skip_ws();
    }
    Ok(rel)
}

/// Parses a `Provides` field: no alternatives, and only `=` constraints (Policy 7.5).
pub fn parse_provides(s: &str) -> Result<Vec<Relation>, RelationError> {
    let groups = parse_relations(s)?;
    let mut out = Vec::with_capacity(groups.len());
    for mut g in groups {
        if g.len() != 1 {
            return Err(RelationError {
                field: s.chars().take(200).collect(),
                offset: 0,
                message: format!("Provides cannot have alternatives ({})", display_group(&g)),
            });
        }
        let r = g.remove(0);
        if let Some(c) = &r.constraint {
            if c.op != Op::Eq {
                return Err(RelationError {
                    field: s.chars().take(200).collect(),
                    offset: 0,
                    message: format!("Provides allows only '=' versions ({r})"),
                });
            }
        }
        out.push(r);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> Relation {
        let g = parse_relations(s).unwrap();
        assert_eq!(g.len(), 1, "{s}");
        assert_eq!(g[0].len(), 1, "{s}");
        g[0][0].clone()
    }

    #[test]
    fn simple_and_alternatives() {
        let g =
            parse_relations("libc6 (>= 2.34), debconf (>= 0.5) | debconf-2.0, perl:any").unwrap();
        assert_eq!(g.len(), 3);
        assert_eq!(g[0][0].name, "libc6");
        let c = g[0][0].constraint.as_ref().unwrap();
        assert_eq!((c.op, c.version.as_str()), (Op::Ge, "2.34"));
        assert_eq!(g[1].len(), 2);
        assert_eq!(g[1][1].name, "debconf-2.0");
        assert!(g[1][1].constraint.is_none());
        assert_eq!(g[2][0].arch_qualifier.as_deref(), Some("any"));
        assert_eq!(display_group(&g[1]), "debconf (>= 0.5) | debconf-2.0");
    }

    #[test]
    fn all_operators() {
        for (s, op) in [
            ("<<", Op::Lt),
            ("<=", Op::Le),
            ("<", Op::Le),
            ("=", Op::Eq),
            (">=", Op::Ge),
            (">", Op::Ge),
            (">>", Op::Gt),
        ] {
            let r = one(&format!("a ({s} 1.0)"));
            assert_eq!(r.constraint.unwrap().op, op, "{s}");
            let r = one(&format!("a({s}1.0)"));
            assert_eq!(r.constraint.unwrap().op, op, "{s} without spaces");
        }
    }

    #[test]
    fn constraint_matching() {
        let c = |s: &str| one(&format!("a ({s})")).constraint.unwrap();
        assert!(c(">= 1.0").matches("1.0"));
        assert!(c(">= 1.0").matches("1:0.1"));
        assert!(!c(">= 1.0").matches("1.0~rc1"));
        assert!(c("<< 1.0").matches("1.0~rc1"));
        assert!(!c("<< 1.0").matches("1.0"));
        assert!(c("= 1.0").matches("0:1.0"));
        assert!(c(">> 1.0").matches("1.0-1"));
        assert!(c("<= 1.0").matches("1.0"));
        assert!(!c("<= 1.0").matches("1.0+b1"));
    }

    #[test]
    fn qualifiers_restrictions_profiles() {
        let r = one("foo:amd64 (>= 2) [amd64 !i386] <!nocheck> <stage1 cross>");
        assert_eq!(r.arch_qualifier.as_deref(), Some("amd64"));
        assert_eq!(r.arch_restrictions.len(), 2);
        assert!(r.arch_restrictions[1].negated);
        assert_eq!(r.profiles.len(), 2);
        assert!(r.profiles[0][0].negated);
        assert_eq!(r.profiles[1][1].name, "cross");
        let r = one("foo:native");
        assert_eq!(r.arch_qualifier.as_deref(), Some("native"));
        assert_eq!(r.to_string(), "foo:native");
    }

    #[test]
    fn arch_restriction_logic() {
        assert!(one("a [amd64]").applies_to_arch("amd64"));
        assert!(!one("a [i386]").applies_to_arch("amd64"));
        assert!(!one("a [!amd64]").applies_to_arch("amd64"));
        assert!(one("a [!i386]").applies_to_arch("amd64"));
        assert!(one("a [linux-any]").applies_to_arch("amd64"));
        assert!(!one("a [hurd-any]").applies_to_arch("amd64"));
        assert!(one("a [any-amd64]").applies_to_arch("amd64"));
        assert!(one("a").applies_to_arch("amd64"));
    }

    #[test]
    fn folded_whitespace() {
        let g = parse_relations("a,\n b\n | c (\n>= 1 ),\n d  ").unwrap();
        assert_eq!(g.len(), 3);
        assert_eq!(g[1].len(), 2);
        assert_eq!(g[2][0].name, "d");
        assert!(parse_relations("").unwrap().is_empty());
        assert!(parse_relations("  \n ").unwrap().is_empty());
    }

    #[test]
    fn provides() {
        let p = parse_provides("mail-transport-agent, libfoo-abi (= 1.2-3), bar").unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(p[1].constraint.as_ref().unwrap().version.as_str(), "1.2-3");
        assert!(parse_provides("a | b").is_err());
        assert!(parse_provides("a (>= 1)").is_err());
    }

    #[test]
    fn errors() {
        for bad in [
            "a,",
            ",a",
            "a,,b",
            "a |",
            "| a",
            "a (>= )",
            "a (~ 1)",
            "a (>= 1",
            "a >= 1",
            "a (>= 1.0-)",
            "a:",
            "a []",
            "a <>",
            "a [amd64",
            "-a",
            "a (>= 1) b",
            "a b",
            "ä",
            "a (>= 1 2)",
        ] {
            let e = parse_relations(bad);
            assert!(e.is_err(), "{bad:?} should fail, got {e:?}");
            let e = e.unwrap_err();
            assert!(e.offset <= bad.len(), "{bad:?}: {e}");
        }
    }

    #[test]
    fn garbage_never_panics() {
        let base = "libc6 (>= 2.36) [amd64] <!nocheck>, a:any | b (<< 1:2.0~rc1-1+b1)";
        let bytes = base.as_bytes();
        for n in 0..=bytes.len() {
            let _ = parse_relations(&base[..n]);
        }
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.to_vec();
                b[i] ^= 1 << bit;
                if let Ok(s) = std::str::from_utf8(&b) {
                    let _ = parse_relations(s);
                    let _ = parse_provides(s);
                }
            }
        }
        let mut x: u64 = 42;
        for _ in 0..3000 {
            let mut s = String::new();
            for _ in 0..(x % 40) {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let alphabet = b"a1 (<=>)|,:[!]~.-+\n";
                s.push(alphabet[(x >> 33) as usize % alphabet.len()] as char);
            }
            let _ = parse_relations(&s);
        }
    }
}
