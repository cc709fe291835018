//! Turns TOML/serde errors into messages that name the file, the line and the key.

use std::path::Path;

/// A definition file that could not be read or understood.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct DefinitionError {
    /// The file, as the user named it.
    pub file: String,
    /// 1-based line of the offending key or value (1 when unknown).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong, naming the key.
    pub message: String,
}

impl DefinitionError {
    /// An error at a known byte offset of `text`.
    pub fn at(file: &Path, text: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = line_col(text, offset);
        DefinitionError {
            file: file.display().to_string(),
            line,
            column,
            message: message.into(),
        }
    }

    /// An error about the file as a whole (line 1).
    pub fn whole(file: &Path, message: impl Into<String>) -> Self {
        DefinitionError {
            file: file.display().to_string(),
            line: 1,
            column: 1,
            message: message.into(),
        }
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

/// Parses TOML text into `T`, with errors that carry file, line and the key.
pub fn parse<T: serde::de::DeserializeOwned>(
    file: &Path,
    text: &str,
) -> Result<T, DefinitionError> {
    toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        DefinitionError::at(file, text, offset, e.message().trim().to_string())
    })
}

/// The byte offset where `key = ...` is written inside the table `[table]` (or `[[table]]`),
/// for errors found after parsing (unknown recipe, bad size). Falls back to 0.
pub fn find_key(text: &str, key: &str, value_hint: Option<&str>) -> usize {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        let is_key = t
            .strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with('='));
        if is_key && value_hint.is_none_or(|v| line.contains(v)) {
            return offset + (line.len() - t.len());
        }
        offset += line.len();
    }
    // The value may sit on a continuation line of an array: search for it alone.
    if let Some(v) = value_hint {
        if let Some(i) = text.find(v) {
            return i;
        }
    }
    0
}

/// The byte offset of `key = ...` inside the `index`-th `[[array]]` table (counting from 0),
/// else of that table's header; for errors about one partition of several. Falls back to 0.
pub fn find_in_array(text: &str, array: &str, index: usize, key: &str) -> usize {
    let header = format!("[[{array}]]");
    let mut offset = 0;
    let mut seen = 0;
    let mut start = None;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        if t.starts_with('[') {
            if start.is_some() {
                break;
            }
            if t.trim_end() == header {
                if seen == index {
                    start = Some(offset);
                }
                seen += 1;
            }
        } else if start.is_some()
            && t.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        {
            return offset + (line.len() - t.len());
        }
        offset += line.len();
    }
    start.unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("a\nbc\nd", 0), (1, 1));
        assert_eq!(line_col("a\nbc\nd", 3), (2, 2));
        assert_eq!(line_col("a\nbc\nd", 5), (3, 1));
    }

    #[test]
    fn find_key_uses_hint() {
        let text = "[a]\nname = \"x\"\nrecipes = [\n  \"one\",\n  \"two\",\n]\n";
        assert_eq!(
            line_col(text, find_key(text, "recipes", Some("\"two\""))).0,
            5
        );
        assert_eq!(line_col(text, find_key(text, "name", None)).0, 2);
    }
}
