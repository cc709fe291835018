//! The `Release` file of a suite (the signed part of `InRelease`): what the suite is, how long
//! it is valid, and the size and SHA-256 of every index file under it.

use crate::deb822;

/// Why a Release text is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReleaseError {
    /// deb822 syntax error.
    #[error("{0}")]
    Syntax(#[from] deb822::Deb822Error),
    /// The file must hold exactly one stanza.
    #[error("expected one stanza, found {0}")]
    Stanzas(usize),
    /// A field is malformed.
    #[error("line {line}: field {field}: {message}")]
    BadField {
        /// Line of the field.
        line: usize,
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// One entry of the `SHA256` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexFile {
    /// Path relative to `dists/<suite>/`.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, lowercase hex.
    pub sha256: String,
}

/// The fields of a Release file this crate uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Release {
    /// `Suite` (e.g. `oldstable`, `stable-security`).
    pub suite: String,
    /// `Codename` (e.g. `bookworm`, `bookworm-security`).
    pub codename: String,
    /// `Date` as written.
    pub date: String,
    /// `Valid-Until` as written, if present.
    pub valid_until: Option<String>,
    /// `Acquire-By-Hash: yes`: index files can be fetched by their digest.
    pub acquire_by_hash: bool,
    /// `Components`.
    pub components: Vec<String>,
    /// `Architectures`.
    pub architectures: Vec<String>,
    /// The `SHA256` list.
    pub sha256: Vec<IndexFile>,
}

impl Release {
    /// Parses a Release text.
    pub fn parse(text: &str) -> Result<Release, ReleaseError> {
        let stanzas = deb822::parse_all(text)?;
        if stanzas.len() != 1 {
            return Err(ReleaseError::Stanzas(stanzas.len()));
        }
        let st = &stanzas[0];
        let get = |f: &str| st.get(f).unwrap_or("").to_string();
        let words = |f: &str| {
            st.get(f)
                .unwrap_or("")
                .split_ascii_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        let mut rel = Release {
            suite: get("Suite"),
            codename: get("Codename"),
            date: get("Date"),
            valid_until: st.get("Valid-Until").map(str::to_string),
            acquire_by_hash: st.get("Acquire-By-Hash") == Some("yes"),
            components: words("Components"),
            architectures: words("Architectures"),
            sha256: Vec::new(),
        };
        if let Some(f) = st.field("SHA256") {
            for (k, line) in f.value.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                let bad = |m: String| ReleaseError::BadField {
                    line: f.line + k,
                    field: "SHA256",
                    message: m,
                };
                let mut w = line.split_ascii_whitespace();
                let (Some(sha), Some(size), Some(path), None) =
                    (w.next(), w.next(), w.next(), w.next())
                else {
                    return Err(bad(format!("expected 'sha256 size path', found {line:?}")));
                };
                if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(bad(format!("{sha:?} is not a SHA-256 digest")));
                }
                let size = size
                    .parse()
                    .map_err(|_| bad(format!("{size:?} is not a size")))?;
                rel.sha256.push(IndexFile {
                    path: path.to_string(),
                    size,
                    sha256: sha.to_ascii_lowercase(),
                });
            }
        }
        Ok(rel)
    }

    /// The SHA256 entry for `path` (relative to `dists/<suite>/`).
    pub fn file(&self, path: &str) -> Option<&IndexFile> {
        self.sha256.iter().find(|f| f.path == path)
    }
}

/// Parses an RFC 2822 date as used in Release files (`Sat, 11 Jul 2026 10:16:37 UTC`) into
/// seconds since the Unix epoch. Returns None when it doesn't parse.
pub fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    // The weekday is optional and ignored.
    let s = match s.split_once(',') {
        Some((_, rest)) => rest.trim(),
        None => s,
    };
    let mut w = s.split_ascii_whitespace();
    let day: i64 = w.next()?.parse().ok()?;
    let month = match w.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = w.next()?.parse().ok()?;
    let mut hms = w.next()?.split(':');
    let h: i64 = hms.next()?.parse().ok()?;
    let m: i64 = hms.next()?.parse().ok()?;
    let sec: i64 = hms.next().unwrap_or("0").parse().ok()?;
    let offset = match w.next().unwrap_or("UTC") {
        "UTC" | "GMT" | "Z" => 0,
        z if z.len() == 5
            && (z.starts_with('+') || z.starts_with('-'))
            && z[1..].bytes().all(|b| b.is_ascii_digit()) =>
        {
            let hh: i64 = z[1..3].parse().ok()?;
            let mm: i64 = z[3..5].parse().ok()?;
            let o = hh * 3600 + mm * 60;
            if z.starts_with('-') {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    // Each field in its range, negatives included: "-4444444444444444404:0:0" would overflow.
    if !(1..=31).contains(&day)
        || !(0..=23).contains(&h)
        || !(0..=59).contains(&m)
        || !(0..=60).contains(&sec)
        || !(1970..=9999).contains(&year)
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86400 + h * 3600 + m * 60 + sec - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_date("Thu, 01 Jan 1970 00:00:00 UTC"), Some(0));
        assert_eq!(
            parse_date("Sat, 11 Jul 2026 10:16:37 UTC"),
            Some(1_783_765_000 - 1_783_765_000 % 86400 + 10 * 3600 + 16 * 60 + 37)
        );
        assert_eq!(
            parse_date("Tue, 20 May 2025 00:00:00 +0100"),
            Some(1_747_699_200 - 3600)
        );
        assert_eq!(parse_date("29 Feb 2024 12:00:00 UTC"), Some(1_709_208_000));
        assert_eq!(parse_date("garbage"), None);
        assert_eq!(parse_date("Sat, 11 Foo 2026 10:16:37 UTC"), None);
        assert_eq!(parse_date("Sat, 11 Jul 2026 10:16:37 CEST"), None);
        assert_eq!(parse_date(""), None);
        // Found by the `release` fuzz target: a negative hour overflowed the multiplication.
        assert_eq!(parse_date("01 Jan 7787\t-4444444444444444404:0:0:"), None);
        assert_eq!(parse_date("01 Jan 2015 -1:00:00 UTC"), None);
        assert_eq!(parse_date("01 Jan 2015 00:-1:00 UTC"), None);
        assert_eq!(parse_date("01 Jan 2015 00:00:-1 UTC"), None);
        // Offsets are sign and four digits; anything else is refused, never sliced apart.
        assert_eq!(parse_date("01 Jan 2015 00:00:00 +-100"), None);
        assert_eq!(parse_date("01 Jan 2015 00:00:00 +a\u{e9}0"), None);
    }

    #[test]
    fn release_fields() {
        let text = "Origin: Debian\nSuite: stable-security\nCodename: bookworm-security\nDate: Tue, 20 May 2025 00:00:00 UTC\nValid-Until: Tue, 27 May 2025 00:00:00 UTC\nAcquire-By-Hash: yes\nComponents: updates/main updates/contrib\nArchitectures: amd64 all\nSHA256:\n 0000000000000000000000000000000000000000000000000000000000000000 12 main/binary-amd64/Packages.xz\n AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA 0 main/binary-amd64/Release\n";
        let r = Release::parse(text).unwrap();
        assert_eq!(r.codename, "bookworm-security");
        assert!(r.acquire_by_hash);
        assert_eq!(r.components, ["updates/main", "updates/contrib"]);
        assert_eq!(r.file("main/binary-amd64/Packages.xz").unwrap().size, 12);
        assert_eq!(
            r.file("main/binary-amd64/Release").unwrap().sha256,
            "a".repeat(64)
        );
        assert!(r.file("nope").is_none());
        let e = Release::parse("SHA256:\n xyz 1 a\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: field SHA256: \"xyz\" is not a SHA-256 digest"
        );
        assert!(Release::parse("A: 1\n\nB: 2\n").is_err());
        assert!(Release::parse(&format!("SHA256:\n {} x a\n", "0".repeat(64))).is_err());
    }

    #[test]
    fn garbage_never_panics() {
        let base = format!(
            "Suite: s\nCodename: c\nValid-Until: Sat, 11 Jul 2026 10:16:37 UTC\nSHA256:\n {} 12 main/binary-amd64/Packages.xz\n",
            "ab".repeat(32)
        );
        let b = base.as_bytes();
        for n in 0..=b.len() {
            if let Ok(t) = std::str::from_utf8(&b[..n]) {
                let _ = Release::parse(t);
                let _ = parse_date(t);
            }
        }
        for i in 0..b.len() {
            for bit in 0..8 {
                let mut m = b.to_vec();
                m[i] ^= 1 << bit;
                if let Ok(t) = std::str::from_utf8(&m) {
                    if let Ok(r) = Release::parse(t) {
                        if let Some(v) = &r.valid_until {
                            let _ = parse_date(v);
                        }
                    }
                }
            }
        }
        for d in [
            "Sat, 99 Jul 2026 10:16:37 UTC",
            "Sat, 1 Jul 99999999999999 1:1:1",
            "1 Jan 2026 99:99:99",
            "1 Jan 2026 1:1:1 +9",
            "1 Jan 2026 1:1:1 +ab:c",
        ] {
            assert_eq!(parse_date(d), None, "{d}");
        }
    }
}
