//! The `control` stanza of a binary package: `Field: value` lines, continuation lines starting
//! with a space or tab. Fields keep their order and multi-line values their exact text, so
//! the dpkg status database can reproduce them.

/// A parsed control stanza.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Control {
    /// (field name, value): the text after `Field:`, continuation lines each after a `\n`,
    /// unchanged but for the blanks around the whole value.
    pub fields: Vec<(String, String)>,
}

impl Control {
    /// Parses a single stanza. Blank lines before or after it are allowed, not between fields.
    pub fn parse(text: &str) -> Result<Control, String> {
        let mut fields: Vec<(String, String)> = Vec::new();
        let mut ended = false;
        for (n, line) in text.lines().enumerate() {
            let lineno = n + 1;
            if line.trim().is_empty() {
                if !fields.is_empty() {
                    ended = true;
                }
                continue;
            }
            if ended {
                return Err(format!("line {lineno}: more than one stanza"));
            }
            if line.starts_with(' ') || line.starts_with('\t') {
                let Some(last) = fields.last_mut() else {
                    return Err(format!("line {lineno}: continuation line before any field"));
                };
                last.1.push('\n');
                last.1.push_str(line);
                continue;
            }
            let Some((name, value)) = line.split_once(':') else {
                return Err(format!("line {lineno}: expected `Field: value`"));
            };
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
                return Err(format!("line {lineno}: invalid field name {name:?}"));
            }
            if fields.iter().any(|(f, _)| f.eq_ignore_ascii_case(name)) {
                return Err(format!("line {lineno}: duplicate field {name}"));
            }
            fields.push((name.to_string(), value.trim_start().to_string()));
        }
        // Like dpkg: blanks are trimmed around the whole value, not inside it.
        for (_, v) in fields.iter_mut() {
            v.truncate(v.trim_end().len());
        }
        let c = Control { fields };
        let name = c.get("Package").ok_or("missing the Package field")?;
        if !valid_package_name(name) {
            return Err(format!("invalid package name {name:?}"));
        }
        let version = c.get("Version").ok_or("missing the Version field")?;
        if version.is_empty() || version.chars().any(|ch| ch.is_whitespace() || ch == '/') {
            return Err(format!("invalid version {version:?}"));
        }
        let arch = c
            .get("Architecture")
            .ok_or("missing the Architecture field")?;
        if arch.is_empty()
            || !arch
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(format!("invalid architecture {arch:?}"));
        }
        Ok(c)
    }

    /// A field's value by name (case-insensitive, as dpkg compares field names).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(f, _)| f.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The package name (validated when parsing).
    pub fn name(&self) -> &str {
        self.get("Package").unwrap_or_default()
    }

    /// The version (validated when parsing).
    pub fn version(&self) -> &str {
        self.get("Version").unwrap_or_default()
    }

    /// The architecture, `all` or a Debian architecture name (validated when parsing).
    pub fn architecture(&self) -> &str {
        self.get("Architecture").unwrap_or_default()
    }

    /// The Multi-Arch field, `no` when absent.
    pub fn multi_arch(&self) -> &str {
        self.get("Multi-Arch").unwrap_or("no")
    }
}

/// Debian policy 5.6.1: lowercase letters, digits, `+ - .`, at least two characters, starting
/// with a letter or digit. Checked because the name becomes a file name in the dpkg database.
pub fn valid_package_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 2
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter().all(|&c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'+' | b'-' | b'.')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_multiline_and_keeps_order() {
        let c = Control::parse(
            "Package: hello\nVersion: 1.0-1\nArchitecture: amd64\nDescription: short\n long line\n .\n more\n\n",
        )
        .unwrap();
        assert_eq!(c.name(), "hello");
        assert_eq!(
            c.get("description").unwrap(),
            "short\n long line\n .\n more"
        );
        assert_eq!(c.fields[1].0, "Version");
        assert_eq!(c.multi_arch(), "no");
    }

    #[test]
    fn rejects_bad_stanzas() {
        for bad in [
            "",
            " cont\nPackage: a\n",
            "Package: ../x\nVersion: 1\nArchitecture: all\n",
            "Package: ab\nVersion: 1\n",
            "Package: ab\nVersion: 1\nArchitecture: all\n\nPackage: cd\n",
            "Package: ab\nPackage: cd\nVersion: 1\nArchitecture: all\n",
            "Package ab\n",
        ] {
            assert!(Control::parse(bad).is_err(), "{bad:?}");
        }
    }
}
