//! The deb822 control-file syntax: stanzas (paragraphs) of `Name: value` fields.
//!
//! Used for Packages, Release/InRelease and `.sources` files. Parsing is zero-copy: a field's
//! name and value are slices of the input, and the only allocation per stanza is its field
//! vector, so a 60 MB Packages file parses in one pass without per-field allocations.
//!
//! Syntax accepted (Debian Policy 5.1):
//! - a field starts at column 0 with `Name:`; the value runs to the end of the line and over
//!   the continuation lines that follow (lines starting with a space or a tab);
//! - stanzas are separated by one or more blank lines (whitespace-only lines count as blank);
//! - lines starting with `#` at column 0 are comments (allowed in `.sources` files; in other
//!   files no valid field can start with `#`, so skipping them is harmless);
//! - a field name is ASCII without control characters, space or `:`, and doesn't start with
//!   `#` or `-`; a name appears at most once in a stanza (compared case-insensitively).

/// A syntax error, with the 1-based line number it was found on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct Deb822Error {
    /// 1-based line number in the parsed text.
    pub line: usize,
    /// What is wrong there.
    pub message: String,
}

/// One field of a stanza, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    /// The field name as written.
    pub name: &'a str,
    /// The value: the text after the colon without leading blanks or trailing whitespace; for
    /// multi-line fields it keeps the newlines (including one right after the colon) and the
    /// continuation lines' leading whitespace.
    pub value: &'a str,
    /// 1-based line number of the field's first line.
    pub line: usize,
}

/// One paragraph of fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stanza<'a> {
    /// Fields in the order they appear.
    pub fields: Vec<Field<'a>>,
    /// 1-based line number of the stanza's first field.
    pub line: usize,
}

impl<'a> Stanza<'a> {
    /// The field named `name` (ASCII case-insensitive), if present.
    pub fn field(&self, name: &str) -> Option<&Field<'a>> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The value of the field named `name` (ASCII case-insensitive), if present.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.field(name).map(|f| f.value)
    }
}

/// An iterator over the stanzas of a deb822 text; after the first error it stops.
pub struct Parser<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
    failed: bool,
}

/// Iterates over the stanzas of `text`.
pub fn parse(text: &str) -> Parser<'_> {
    Parser {
        text,
        pos: 0,
        line: 0,
        failed: false,
    }
}

/// Parses all of `text` into stanzas, failing on the first syntax error.
pub fn parse_all(text: &str) -> Result<Vec<Stanza<'_>>, Deb822Error> {
    parse(text).collect()
}

impl<'a> Parser<'a> {
    /// Returns the next line (without its `\n` or `\r\n`), its 1-based number and its offset.
    fn next_line(&mut self) -> Option<(&'a str, usize, usize)> {
        if self.pos >= self.text.len() {
            return None;
        }
        let start = self.pos;
        let rest = &self.text[start..];
        // str::find on a char uses a memchr fast path.
        let (line, adv) = match rest.find('\n') {
            Some(i) => (&rest[..i], i + 1),
            None => (rest, rest.len()),
        };
        self.pos += adv;
        self.line += 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        Some((line, self.line, start))
    }

    /// The first byte of the next line, without consuming it.
    fn peek_first_byte(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn fail(&mut self, line: usize, message: impl Into<String>) -> Deb822Error {
        self.failed = true;
        Deb822Error {
            line,
            message: message.into(),
        }
    }

    /// Reads one stanza; `Ok(None)` at the end of the text.
    fn stanza(&mut self) -> Result<Option<Stanza<'a>>, Deb822Error> {
        let mut fields: Vec<Field<'a>> = Vec::new();
        while let Some((line, n, start)) = self.next_line() {
            if is_blank(line) {
                if fields.is_empty() {
                    continue;
                }
                break;
            }
            if line.starts_with('#') {
                continue;
            }
            if line.starts_with(' ') || line.starts_with('\t') {
                return Err(self.fail(n, "continuation line with no field before it"));
            }
            let Some(colon) = line.find(':') else {
                let m = format!("expected 'Name: value', found {:?}", truncate(line));
                return Err(self.fail(n, m));
            };
            let name = &line[..colon];
            if let Err(m) = valid_name(name) {
                return Err(self.fail(n, m));
            }
            if fields.iter().any(|f| f.name.eq_ignore_ascii_case(name)) {
                let m = format!("field {name:?} appears twice in one stanza");
                return Err(self.fail(n, m));
            }
            // The value spans the rest of this line plus the continuation lines after it.
            let value_start = start + colon + 1;
            let mut value_end = start + line.len();
            let mut stanza_ends = false;
            loop {
                match self.peek_first_byte() {
                    Some(b' ') | Some(b'\t') => {
                        let Some((cont, _, cstart)) = self.next_line() else {
                            break;
                        };
                        if is_blank(cont) {
                            // A whitespace-only line separates stanzas.
                            stanza_ends = true;
                            break;
                        }
                        value_end = cstart + cont.len();
                    }
                    Some(b'#') => {
                        // A comment ends the value, unless a continuation line follows it:
                        // that would split one value around a comment, which we refuse.
                        let save = (self.pos, self.line);
                        self.next_line();
                        let split = self
                            .next_line()
                            .is_some_and(|(l, _, _)| l.starts_with([' ', '\t']) && !is_blank(l));
                        (self.pos, self.line) = save;
                        if split {
                            let m = "continuation line after a comment line (a comment cannot split a field's value)";
                            let at = self.line + 2;
                            return Err(self.fail(at, m));
                        }
                        break;
                    }
                    _ => break,
                }
            }
            // Leading blanks of the first line go; a newline right after the colon stays, so
            // that line k of the value is line `line + k` of the file.
            let value = self.text[value_start..value_end]
                .trim_start_matches([' ', '\t'])
                .trim_end_matches([' ', '\t', '\n', '\r']);
            fields.push(Field {
                name,
                value,
                line: n,
            });
            if stanza_ends {
                break;
            }
        }
        if fields.is_empty() {
            return Ok(None);
        }
        let line = fields[0].line;
        Ok(Some(Stanza { fields, line }))
    }
}

impl<'a> Iterator for Parser<'a> {
    type Item = Result<Stanza<'a>, Deb822Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        self.stanza().transpose()
    }
}

fn is_blank(line: &str) -> bool {
    line.bytes().all(|b| b == b' ' || b == b'\t')
}

fn valid_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty field name before ':'".into());
    }
    if name.starts_with('-') {
        return Err(format!("field name {name:?} starts with '-'"));
    }
    if let Some(c) = name
        .chars()
        .find(|&c| !c.is_ascii() || c.is_ascii_control() || c == ' ' || c == '\t')
    {
        return Err(format!("field name {name:?} contains {c:?}"));
    }
    Ok(())
}

fn truncate(line: &str) -> String {
    let mut s: String = line.chars().take(60).collect();
    if s.len() < line.len() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_stanzas() {
        let text = "Package: a\nVersion: 1.0\nDescription: short\n long line\n .\n more\n\n\n# comment\nPackage: b\r\nDepends: x,\r\n y\r\n";
        let st = parse_all(text).unwrap();
        assert_eq!(st.len(), 2);
        assert_eq!(st[0].get("package"), Some("a"));
        assert_eq!(st[0].get("Version"), Some("1.0"));
        assert_eq!(
            st[0].get("Description"),
            Some("short\n long line\n .\n more")
        );
        assert_eq!(st[0].line, 1);
        assert_eq!(st[1].line, 10);
        assert_eq!(st[1].get("Package"), Some("b"));
        assert_eq!(st[1].get("Depends"), Some("x,\r\n y"));
        assert_eq!(st[1].field("Depends").unwrap().line, 11);
    }

    #[test]
    fn empty_values_and_whitespace_separators() {
        let text = "A:\nB:   \n  \t\nC: x\n \nD: y";
        let st = parse_all(text).unwrap();
        assert_eq!(st.len(), 3);
        assert_eq!(st[0].get("A"), Some(""));
        assert_eq!(st[0].get("B"), Some(""));
        assert_eq!(st[1].get("C"), Some("x"));
        assert_eq!(st[2].get("D"), Some("y"));
        assert_eq!(st[2].line, 6);
    }

    #[test]
    fn multi_line_first_line_empty() {
        let text = "SHA256:\n abc 12 main/x\n def 13 main/y\nNext: 1\n";
        let st = parse_all(text).unwrap();
        assert_eq!(
            st[0].get("SHA256"),
            Some("\n abc 12 main/x\n def 13 main/y")
        );
        assert_eq!(st[0].get("Next"), Some("1"));
    }

    #[test]
    fn comments_between_fields() {
        let text = "Types: deb\n# a comment\nURIs: http://example.invalid/debian\n";
        let st = parse_all(text).unwrap();
        assert_eq!(st[0].get("URIs"), Some("http://example.invalid/debian"));
        assert_eq!(st[0].field("URIs").unwrap().line, 3);
    }

    fn err_of(text: &str) -> Deb822Error {
        match parse_all(text) {
            Err(e) => e,
            Ok(s) => panic!("expected an error for {text:?}, got {s:?}"),
        }
    }

    #[test]
    fn errors_carry_line_numbers() {
        let e = err_of("A: 1\nB 2\n");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("Name: value"), "{e}");
        let e = err_of("\n\n continuation\n");
        assert_eq!(e.line, 3);
        let e = err_of("A: 1\n\n: x\n");
        assert_eq!(e.line, 3);
        let e = err_of("A: 1\nB: 2\na: 3\n");
        assert_eq!(e.line, 3);
        assert!(e.message.contains("twice"));
        let e = err_of("A: 1\n-B: 2\n");
        assert_eq!(e.line, 2);
        let e = err_of("A: 1\n x\n# c\n y\n");
        assert_eq!(e.line, 4);
        // A whitespace-only line after a comment is a separator, not a split value.
        assert_eq!(parse_all("A: 1\n# c\n \nB: 2\n").unwrap().len(), 2);
        assert_eq!(e.to_string(), format!("line 4: {}", e.message));
    }

    #[test]
    fn stops_after_first_error() {
        let mut p = parse("A: 1\n\nbad\n\nB: 2\n");
        assert!(p.next().unwrap().is_ok());
        assert!(p.next().unwrap().is_err());
        assert!(p.next().is_none());
    }

    #[test]
    fn garbage_never_panics() {
        let base = "Package: a\nVersion: 1.0\nDepends: b (>= 1), c | d\nDescription: x\n y\n\nPackage: b\n";
        let bytes = base.as_bytes();
        // Every truncation.
        for n in 0..=bytes.len() {
            if let Ok(s) = std::str::from_utf8(&bytes[..n]) {
                let _ = parse_all(s);
            }
        }
        // Bit flips at every position (kept when still UTF-8).
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.to_vec();
                b[i] ^= 1 << bit;
                if let Ok(s) = std::str::from_utf8(&b) {
                    let _ = parse_all(s);
                }
            }
        }
        // Pseudo-random garbage from a fixed LCG seed.
        let mut x: u64 = 0x1234_5678;
        for _ in 0..2000 {
            let mut s = String::new();
            for _ in 0..(x % 64) {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let alphabet = b"ab: \n\t#-\r:x";
                s.push(alphabet[(x >> 33) as usize % alphabet.len()] as char);
            }
            let _ = parse_all(&s);
        }
    }
}
