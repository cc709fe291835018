//! Machine-readable Debian copyright files (DEP-5, `copyright-format/1.0`): the `License:`
//! short names of the `Files:` paragraphs, turned into one SPDX license expression.

use crate::spdx_license::{license_ref, map_exception, map_license, SpdxTerm};

/// A license expression tree.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expr {
    /// A license, rendered as SPDX (id, `LicenseRef-`, or `ID WITH EXCEPTION`).
    Leaf(String),
    /// Parenthesized when it appears under an `AND`.
    Or(Vec<Expr>),
    And(Vec<Expr>),
}

impl Expr {
    /// SPDX text. `AND` binds tighter than `OR` in SPDX, so only an `OR` under an `AND` needs
    /// parentheses.
    fn render(&self) -> String {
        match self {
            Expr::Leaf(s) => s.clone(),
            Expr::Or(items) => items
                .iter()
                .map(Expr::render)
                .collect::<Vec<_>>()
                .join(" OR "),
            Expr::And(items) => items
                .iter()
                .map(|e| match e {
                    Expr::Or(_) => format!("({})", e.render()),
                    _ => e.render(),
                })
                .collect::<Vec<_>>()
                .join(" AND "),
        }
    }

    /// Joins operands, flattening nested operators of the same kind.
    fn join(and: bool, items: Vec<Expr>) -> Expr {
        let mut flat = Vec::new();
        for item in items {
            match (and, item) {
                (true, Expr::And(inner)) | (false, Expr::Or(inner)) => flat.extend(inner),
                (_, other) => flat.push(other),
            }
        }
        let mut seen = Vec::new();
        flat.retain(|e| {
            let r = e.render();
            if seen.contains(&r) {
                false
            } else {
                seen.push(r);
                true
            }
        });
        if flat.len() == 1 {
            flat.remove(0)
        } else if and {
            Expr::And(flat)
        } else {
            Expr::Or(flat)
        }
    }
}

/// Tokens of a DEP-5 license synopsis.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    License(String),
    And,
    Or,
    Comma,
    Open,
    Close,
}

/// Splits a synopsis like `GPL-2+ or Artistic, and BSD-3-clause with Foo exception`.
/// `with NAME exception` is folded into the preceding license token as `LICENSE with NAME`.
fn tokenize(synopsis: &str) -> Vec<Token> {
    let spaced = synopsis
        .replace(',', " , ")
        .replace('(', " ( ")
        .replace(')', " ) ");
    let words: Vec<&str> = spaced.split_whitespace().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        match w.to_ascii_lowercase().as_str() {
            "and" => tokens.push(Token::And),
            "or" => tokens.push(Token::Or),
            "," => tokens.push(Token::Comma),
            "(" => tokens.push(Token::Open),
            ")" => tokens.push(Token::Close),
            "with" if matches!(tokens.last(), Some(Token::License(_))) => {
                // Up to and including the word "exception".
                let mut name = Vec::new();
                i += 1;
                while i < words.len() && !words[i].eq_ignore_ascii_case("exception") {
                    name.push(words[i]);
                    i += 1;
                }
                if let Some(Token::License(l)) = tokens.last_mut() {
                    l.push_str(" with ");
                    l.push_str(&name.join(" "));
                }
            }
            _ => tokens.push(Token::License(w.to_string())),
        }
        i += 1;
    }
    tokens
}

/// One license term to SPDX.
fn leaf(term: &str) -> Expr {
    if let Some((license, exception)) = term.split_once(" with ") {
        return match (map_license(license), map_exception(exception)) {
            (SpdxTerm::Id(id), Some(exc)) => Expr::Leaf(format!("{id} WITH {exc}")),
            _ => Expr::Leaf(license_ref(&format!(
                "{license} with {exception} exception"
            ))),
        };
    }
    match map_license(term) {
        SpdxTerm::Id(id) => Expr::Leaf(id.to_string()),
        SpdxTerm::Expression(e) => {
            Expr::Or(e.split(" OR ").map(|s| Expr::Leaf(s.to_string())).collect())
        }
        SpdxTerm::Ref(r) => Expr::Leaf(r),
    }
}

/// Recursive-descent parser. DEP-5 precedence: comma lowest (`A or B, and C` is
/// `(A or B) and C`), then `or`, then `and`.
struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn commas(&mut self, depth: usize) -> Option<Expr> {
        let mut acc = self.or_expr(depth)?;
        while self.peek() == Some(&Token::Comma) {
            self.pos += 1;
            let and = match self.peek() {
                Some(Token::Or) => {
                    self.pos += 1;
                    false
                }
                Some(Token::And) => {
                    self.pos += 1;
                    true
                }
                _ => true,
            };
            let rhs = self.or_expr(depth)?;
            acc = Expr::join(and, vec![acc, rhs]);
        }
        Some(acc)
    }

    fn or_expr(&mut self, depth: usize) -> Option<Expr> {
        let mut items = vec![self.and_expr(depth)?];
        while self.peek() == Some(&Token::Or) {
            self.pos += 1;
            items.push(self.and_expr(depth)?);
        }
        Some(Expr::join(false, items))
    }

    fn and_expr(&mut self, depth: usize) -> Option<Expr> {
        let mut items = vec![self.primary(depth)?];
        while self.peek() == Some(&Token::And) {
            self.pos += 1;
            items.push(self.primary(depth)?);
        }
        Some(Expr::join(true, items))
    }

    fn primary(&mut self, depth: usize) -> Option<Expr> {
        match self.tokens.get(self.pos)?.clone() {
            Token::License(l) => {
                self.pos += 1;
                Some(leaf(&l))
            }
            Token::Open if depth < 32 => {
                self.pos += 1;
                let e = self.commas(depth + 1)?;
                if self.peek() != Some(&Token::Close) {
                    return None;
                }
                self.pos += 1;
                Some(e)
            }
            _ => None,
        }
    }
}

/// Parses a `License:` synopsis; a synopsis that is not a well-formed expression becomes one
/// `LicenseRef-` for the whole text.
fn parse_synopsis(synopsis: &str) -> Option<Expr> {
    let synopsis = synopsis.trim();
    if synopsis.is_empty() {
        return None;
    }
    let mut parser = Parser {
        tokens: tokenize(synopsis),
        pos: 0,
    };
    match parser.commas(0) {
        Some(e) if parser.pos == parser.tokens.len() => Some(e),
        _ => Some(Expr::Leaf(license_ref(synopsis))),
    }
}

/// The fields of one paragraph: (lower-cased name, first line of the value).
fn paragraphs(text: &str) -> Vec<Vec<(String, String)>> {
    let mut result = Vec::new();
    let mut current: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                result.push(std::mem::take(&mut current));
            }
            continue;
        }
        if line.starts_with([' ', '\t']) || line.starts_with('#') {
            // Continuation line (license text) or comment: only first lines matter here.
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            current.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    if !current.is_empty() {
        result.push(current);
    }
    result
}

/// The SPDX license expression of a package from its Debian copyright file, when the file is
/// machine-readable (DEP-5): the `License:` synopses of its `Files:` paragraphs joined with
/// `AND` (the package holds all those files), each mapped to SPDX ids (`GPL-2+` →
/// `GPL-2.0-or-later`, `Expat` → `MIT`, ...) or `LicenseRef-` ids. `None` when the file is not
/// DEP-5 or names no license.
pub fn licenses_from_copyright(text: &str) -> Option<String> {
    let paras = paragraphs(text);
    let header = paras.first()?;
    let format = header.iter().find(|(k, _)| k == "format")?;
    let f = format.1.to_ascii_lowercase();
    if !(f.contains("copyright-format") || f.contains("dep5") || f.contains("dep-5")) {
        return None;
    }
    let field = |p: &Vec<(String, String)>, name: &str| {
        p.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    };
    let mut terms: Vec<Expr> = paras
        .iter()
        .filter(|p| field(p, "files").is_some())
        .filter_map(|p| field(p, "license"))
        .filter_map(|s| parse_synopsis(&s))
        .collect();
    if terms.is_empty() {
        // A header-only summary `License:` field.
        terms.extend(field(header, "license").and_then(|s| parse_synopsis(&s)));
    }
    if terms.is_empty() {
        return None;
    }
    // Sorted so the expression does not depend on paragraph order.
    terms.sort_by_key(Expr::render);
    Some(Expr::join(true, terms).render())
}

/// The `LicenseRef-` ids an SPDX expression uses (each needs an extracted licensing info
/// entry in the document).
pub fn license_refs(expression: &str) -> Vec<String> {
    let mut refs: Vec<String> = expression
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter(|w| w.starts_with("LicenseRef-"))
        .map(str::to_string)
        .collect();
    refs.sort();
    refs.dedup();
    refs
}

#[cfg(test)]
mod tests {
    use super::*;

    const COPYRIGHT: &str = "\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: example
Source: the upstream project

Files: *
Copyright: 2001 Someone
License: GPL-2+

Files: lib/*
Copyright: 2002 Someone Else
License: LGPL-2.1+ or BSD-3-clause

Files: doc/*
Copyright: none
License: public-domain
 The documentation is in the public domain.

Files: contrib/openssl.c
Copyright: 2003 Contributor
License: GPL-2+ with OpenSSL exception

Files: m4/*
Copyright: FSF
License: GPL-3+ with Autoconf-3.0 exception

Files: debian/*
Copyright: 2020 Maintainer
License: Expat

License: GPL-2+
 This program is free software...
";

    #[test]
    fn dep5_file_to_spdx_expression() {
        let e = licenses_from_copyright(COPYRIGHT).unwrap();
        assert_eq!(
            e,
            "GPL-2.0-or-later AND GPL-3.0-or-later WITH Autoconf-exception-3.0 AND \
             (LGPL-2.1-or-later OR BSD-3-Clause) AND \
             LicenseRef-GPL-2-plus-with-OpenSSL-exception AND LicenseRef-public-domain AND MIT"
        );
        assert_eq!(
            license_refs(&e),
            vec![
                "LicenseRef-GPL-2-plus-with-OpenSSL-exception".to_string(),
                "LicenseRef-public-domain".to_string()
            ]
        );
    }

    #[test]
    fn precedence_and_commas() {
        let one = |s: &str| parse_synopsis(s).unwrap().render();
        assert_eq!(
            one("GPL-2+ or Artistic and MIT"),
            "GPL-2.0-or-later OR Artistic-1.0-Perl AND MIT"
        );
        assert_eq!(
            one("GPL-2+ or Artistic, and BSD-3-clause"),
            "(GPL-2.0-or-later OR Artistic-1.0-Perl) AND BSD-3-Clause"
        );
        assert_eq!(one("Perl"), "GPL-1.0-or-later OR Artistic-1.0-Perl");
        assert_eq!(one("(MIT or ISC) and Zlib"), "(MIT OR ISC) AND Zlib");
        // Malformed synopses become one LicenseRef rather than failing.
        assert_eq!(one("MIT or"), "LicenseRef-MIT-or");
        assert_eq!(one("(MIT"), "LicenseRef-MIT");
    }

    #[test]
    fn non_dep5_and_garbage() {
        assert_eq!(
            licenses_from_copyright("This package was debianized by...\n"),
            None
        );
        assert_eq!(licenses_from_copyright(""), None);
        assert_eq!(
            licenses_from_copyright("Format: https://x/copyright-format/1.0/\n\nFiles: *\n"),
            None
        );
        assert_eq!(
            licenses_from_copyright("Format: copyright-format/1.0\nLicense: MIT\n"),
            Some("MIT".to_string())
        );
        let deep = format!(
            "Format: dep5\n\nFiles: *\nLicense: {}MIT{}\n",
            "(".repeat(100),
            ")".repeat(100)
        );
        assert!(licenses_from_copyright(&deep).is_some());
        for n in 0..COPYRIGHT.len() {
            if COPYRIGHT.is_char_boundary(n) {
                let _ = licenses_from_copyright(&COPYRIGHT[..n]);
            }
        }
    }
}
