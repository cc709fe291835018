//! Sizes in definitions: "64MiB", "2GiB", "512KiB", a plain byte count, "content" or "rest".

use serde::Deserialize;

/// A size as written in an image definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// An exact number of bytes.
    Bytes(u64),
    /// Whatever remains of the disk (last partition only).
    Rest,
    /// Just large enough for the filesystem's content, plus the partition's `margin`.
    Content,
}

impl Size {
    /// Parses "64MiB", "1GiB", "4096", "rest", "content". Binary units only, to avoid
    /// MB/MiB confusion.
    pub fn parse(s: &str) -> Result<Size, String> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("rest") {
            return Ok(Size::Rest);
        }
        if t.eq_ignore_ascii_case("content") {
            return Ok(Size::Content);
        }
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: u64 = num
            .parse()
            .map_err(|_| format!("{s:?} is not a size (examples: 64MiB, 2GiB, content, rest)"))?;
        let mult: u64 = match unit.trim() {
            "" | "B" => 1,
            "KiB" | "K" => 1 << 10,
            "MiB" | "M" => 1 << 20,
            "GiB" | "G" => 1 << 30,
            "TiB" | "T" => 1 << 40,
            _ => {
                return Err(format!(
                    "{s:?} has an unknown unit (use B, KiB, MiB, GiB, TiB, or \"rest\")"
                ))
            }
        };
        n.checked_mul(mult)
            .map(Size::Bytes)
            .ok_or_else(|| format!("{s:?} is too large"))
    }

    /// The byte count, if a fixed size.
    pub fn bytes(self) -> Option<u64> {
        match self {
            Size::Bytes(n) => Some(n),
            Size::Rest | Size::Content => None,
        }
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(Size::Bytes(n)),
            Raw::S(s) => Size::parse(&s).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(Size::parse("64MiB").unwrap(), Size::Bytes(64 << 20));
        assert_eq!(Size::parse("2GiB").unwrap(), Size::Bytes(2 << 30));
        assert_eq!(Size::parse("4096").unwrap(), Size::Bytes(4096));
        assert_eq!(Size::parse("rest").unwrap(), Size::Rest);
        assert_eq!(Size::parse("content").unwrap(), Size::Content);
        assert!(Size::parse("2GB").is_err());
        assert!(Size::parse("lots").is_err());
    }
}
